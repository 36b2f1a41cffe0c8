"""BEGAN (ganzoo/models/began): k's update vs numpy, M_global falls, state through save/load."""

import numpy as np
import pytest

import keras

from ganzoo.data import builtin
from ganzoo.models.began import BEGAN, began_discriminator, began_generator


def _began(**kwargs):
    G = began_generator(embedding=16, resolution=16, channels=1, filters=16)
    D = began_discriminator(embedding=16, resolution=16, channels=1, filters=16)
    gan = BEGAN(G, D, seed=0, **kwargs)
    gan.compile(g_optimizer=keras.optimizers.Adam(5e-4, 0.5), d_optimizer=keras.optimizers.Adam(5e-4, 0.5))
    return gan


@pytest.fixture(scope="module")
def data():
    return builtin.load("digits", 16)[:512]


def test_one_step_k_update_equals_numpy(data):
    keras.utils.set_random_seed(0)
    gan = _began(gamma=0.5, lambda_k=0.01, k_init=0.5)
    h = gan.fit(data[:16], batch_size=16, epochs=1, verbose=0).history  # one step: logs are that step's values
    l_real, l_fake = h["l_real"][0], h["l_fake"][0]
    assert h["k"][0] == pytest.approx(0.5)
    assert h["m_global"][0] == pytest.approx(l_real + abs(0.5 * l_real - l_fake), rel=1e-5)
    assert h["d_loss"][0] == pytest.approx(l_real - 0.5 * l_fake, rel=1e-5, abs=1e-6)
    expected = np.clip(0.5 + 0.01 * (0.5 * l_real - l_fake), 0, 1)
    assert float(gan.k.value) == pytest.approx(expected, abs=1e-6)
    assert float(gan.next_k(0.9999, 1.0, 0.0)) == 1.0 and float(gan.next_k(0.0, 0.0, 1.0)) == 0.0  # clipped


@pytest.fixture(scope="module")
def trained(data):
    keras.utils.set_random_seed(0)
    gan = _began(gamma=0.5)
    history = gan.fit(data, batch_size=32, epochs=8, verbose=0).history
    return gan, history


def test_m_global_falls(trained):
    _, h = trained
    m = h["m_global"]
    assert m[-1] < 0.7 * m[0], m
    assert 0.0 <= h["k"][-1] <= 1.0


def test_k_and_samples_survive_save_load(trained, tmp_path):
    gan, _ = trained
    path = tmp_path / "began.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert float(loaded.k.value) == pytest.approx(float(gan.k.value))
    assert loaded.gamma == 0.5 and loaded.lambda_k == 0.001
    np.testing.assert_allclose(loaded.generate(4, seed=1), gan.generate(4, seed=1), atol=1e-5)


def test_bad_arguments_are_one_line_errors():
    G = began_generator(embedding=8, resolution=8, channels=1, filters=4)
    D = began_discriminator(embedding=8, resolution=8, channels=1, filters=4)
    with pytest.raises(ValueError, match=r"gamma must lie in \(0, 1\]"):
        BEGAN(G, D, gamma=1.5)
    with pytest.raises(ValueError, match="no objective"):
        BEGAN(G, D, objective="hinge")
    with pytest.raises(ValueError, match="adaptive ADA"):
        BEGAN(G, D, augment={"name": "ada", "target": 0.6})
    with pytest.raises(ValueError, match=r"8 \* 2\^k pixels"):
        began_generator(resolution=24)
