"""The translator task base (ganzoo/engine/translation.py) on a tiny paired problem.

The target is the negated source: a 3x3 conv G learns it exactly, so the
L1 of its translations must fall far below the identity map's (2 * mean|x|).
"""

import numpy as np
import pytest

import keras

import ganzoo
from ganzoo.engine.translation import ImageTranslationGAN


class NegationGAN(ImageTranslationGAN):
    """Adds an L1 term so the tiny G has a direct signal (pix2pix's recipe, lambda 10)."""

    def phases(self):
        d, g, *rest = super().phases()
        return [d, g.with_logs("g_l1"), *rest]

    def generator_terms(self, real, fake, fake_out):
        l1 = keras.ops.mean(keras.ops.abs(fake["x"] - real["target"]))
        return 10.0 * l1, {"g_l1": l1}


def _generator():
    i = keras.Input((8, 8, 1))
    return keras.Model(i, keras.layers.Conv2D(1, 3, padding="same")(i))


def _pair_discriminator():
    s, x = keras.Input((8, 8, 1)), keras.Input((8, 8, 1))
    h = keras.layers.Concatenate()([s, x])
    return keras.Model([s, x], keras.layers.Conv2D(1, 3, strides=2, padding="same")(h))  # 4x4 patch logits


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    gan = NegationGAN(_generator(), _pair_discriminator(), ema_decay=None, seed=0)
    gan.compile(g_optimizer=keras.optimizers.Adam(0.02), d_optimizer=keras.optimizers.Adam(1e-3))
    history = gan.fit(a, -a, batch_size=16, epochs=15, verbose=0)
    return gan, a, history.history


def test_translator_learns_the_pairing(trained):
    gan, a, history = trained
    identity_l1 = float(np.mean(np.abs(a - (-a))))
    out = gan.translate(a)
    l1 = float(np.mean(np.abs(out - (-a))))
    assert out.shape == a.shape and out.dtype == np.float32
    assert l1 < 0.1 * identity_l1, (l1, identity_l1)
    assert set(history) >= {"d_loss", "g_loss", "d_real", "d_fake", "g_l1"}
    assert gan.translate(a[0]).shape == a[0].shape  # one image in, one out


def test_preset_round_trip_translates_the_same(trained, tmp_path):
    gan, a, _ = trained
    gan.preview_sources = a[:4]
    folder = gan.save_to_preset(tmp_path / "preset")
    loaded = ganzoo.load(folder)
    assert type(loaded).__name__ == "NegationGAN"
    np.testing.assert_allclose(loaded.translate(a[:8]), gan.translate(a[:8]), atol=1e-6)
    assert (tmp_path / "preset" / "samples.png").exists()  # source | translation rows
    assert loaded.latent_shape is None


def test_translator_errors_are_one_line(trained):
    gan, a, _ = trained
    with pytest.raises(ValueError, match="use translate"):
        gan.generate(2, seed=0)
    with pytest.raises(ValueError, match="8x8x1.*got N x 8x8x3.*Grayscale|8x8x1.*8x8x3"):
        gan.translate(np.zeros((1, 8, 8, 3), "float32"))
    with pytest.raises(ValueError, match="one way only"):
        gan.translate(a[:1], direction="b2a")
    with pytest.raises(ValueError, match="float images"):
        gan.translate(np.zeros((1, 8, 8, 1), "uint8"))
    with pytest.raises(ValueError, match="paired translator"):
        gan.fit(a, batch_size=8)
    with pytest.raises(ValueError, match="no latent_dim"):
        ImageTranslationGAN(_generator(), _pair_discriminator(), latent_dim=8)
    with pytest.raises(ValueError, match="penalties"):
        ImageTranslationGAN(_generator(), _pair_discriminator(), penalties=["r1"])


keras.saving.register_keras_serializable(package="tests")(NegationGAN)


def test_translate_any_batch_with_progress_equals_one_call(trained):
    gan, a, _ = trained
    seen = []
    chunked = gan.translate(a[:5], batch_size=2, progress=lambda done, total: seen.append((done, total)))
    np.testing.assert_allclose(chunked, gan.translate(a[:5], batch_size=64), atol=1e-5)
    assert seen == [(2, 5), (4, 5), (5, 5)]
