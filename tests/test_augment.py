"""DiffAugment and ADA (ganzoo/engine/augment*.py): transforms vs numpy, gradients, the p controller."""

import numpy as np
import pytest

import keras
from keras import ops

from ganzoo import backend
from ganzoo.engine import augment as A
from ganzoo.engine import augment_ops as T
from ganzoo.engine.draws import NumpyDraws
from ganzoo.engine.gan import GAN

RNG = np.random.default_rng(0)
X = RNG.uniform(-1, 1, (4, 8, 8, 3)).astype("float32")


def np_(t):
    return np.asarray(ops.convert_to_numpy(t))


# ---------------------------------------------------------------- transforms vs numpy
def test_translate_and_cutout_equal_numpy():
    dy, dx = np.array([1, 0, -2, 3]), np.array([0, 3, 0, -1])
    ref = np.zeros_like(X)
    for n in range(4):
        for i in range(8):
            for j in range(8):
                si, sj = i - dy[n], j - dx[n]
                if 0 <= si < 8 and 0 <= sj < 8:
                    ref[n, i, j] = X[n, si, sj]
    np.testing.assert_array_equal(np_(T.translate(X, dy, dx)), ref)
    cy, cx = np.array([0, 4, 7, 3]), np.array([0, 4, 2, 8])
    ref = X.copy()
    for n in range(4):
        ref[n, max(cy[n] - 2, 0):cy[n] + 2, max(cx[n] - 2, 0):cx[n] + 2] = 0.0
    np.testing.assert_array_equal(np_(T.cutout(X, cy, cx, 4, 4)), ref)


def test_color_ops_equal_numpy():
    b, s, c = np.array([0.1, -0.2, 0.0, 0.3]), np.array([0.0, 1.0, 1.5, 2.0]), np.array([0.5, 1.0, 1.2, 1.5])
    np.testing.assert_allclose(np_(T.brightness(X, b)), X + b[:, None, None, None], atol=1e-6)
    m = X.mean(-1, keepdims=True)
    np.testing.assert_allclose(np_(T.saturation(X, s)), (X - m) * s[:, None, None, None] + m, atol=1e-6)
    m = X.mean((1, 2, 3), keepdims=True)
    np.testing.assert_allclose(np_(T.contrast(X, c)), (X - m) * c[:, None, None, None] + m, atol=1e-6)


def test_affine_is_exact_for_flips_quarter_turns_and_integer_shifts():
    eye = np.tile(np.eye(3, dtype="float32")[None], (4, 1, 1))
    np.testing.assert_allclose(np_(T.affine(X, eye)), X, atol=1e-6)
    quarter = np_(T.rotation_matrix(ops.full((4,), np.pi / 2)))
    out = np_(T.affine(X, quarter))
    assert min(np.abs(out - np.rot90(X, k, axes=(1, 2))).max() for k in (1, 3)) < 1e-5
    flip = np_(T.scale_matrix(-ops.ones((4,)), ops.ones((4,))))
    np.testing.assert_allclose(np_(T.affine(X, flip)), X[:, :, ::-1], atol=1e-6)
    shift = np_(T.translation_matrix(ops.full((4,), 2.0), ops.zeros((4,))))
    # reads the input 2 pixels to the right; the right edge is mirrored (numpy "reflect")
    ref = np.pad(X, ((0, 0), (0, 0), (0, 2), (0, 0)), mode="reflect")[:, :, 2:]
    np.testing.assert_allclose(np_(T.affine(X, shift)), ref, atol=1e-6)


def test_bilinear_half_pixel_shift_averages_neighbours():
    half = np_(T.translation_matrix(ops.full((4,), 0.5), ops.zeros((4,))))
    out = np_(T.affine(X, half))
    np.testing.assert_allclose(out[:, :, :-1], 0.5 * (X[:, :, :-1] + X[:, :, 1:]), atol=1e-6)


# ---------------------------------------------------------------- pipelines
def test_ada_is_identity_at_p_zero_and_changes_images_at_p_one():
    np.testing.assert_array_equal(np_(A.AdaptiveAugment("bgc", p=0.0)(X, seed=0)), X)
    out = np_(A.AdaptiveAugment("bgc", p=1.0)(X, seed=0))
    assert np.isfinite(out).all() and np.abs(out - X).mean() > 0.1


def test_same_seed_same_augmentation_and_pinned_across_backends():
    for aug in (A.get("diffaugment"), A.AdaptiveAugment("bgc", p=1.0)):
        a, b = np_(aug(X, seed=3)), np_(aug(X, seed=3))
        np.testing.assert_array_equal(a, b)
        assert np.abs(a - np_(aug(X, seed=4))).max() > 0.1
    # Parameters come from numpy, the transforms are keras.ops: every backend gives these sums
    # (measured on TensorFlow, JAX and PyTorch alike when this test was written).
    assert float(np_(A.get("diffaugment")(X, seed=1)).sum()) == pytest.approx(116.6794, abs=2e-3)
    assert float(np_(A.AdaptiveAugment("bgc", p=1.0)(X, seed=1)).sum()) == pytest.approx(49.4721, abs=2e-3)


@pytest.mark.parametrize("name", [*A.ADA_TRANSFORMS, "diff:color", "diff:translation", "diff:cutout"])
def test_gradients_flow_through_every_transform(name):
    if name.startswith("diff:"):
        aug = A.DiffAugment(name[5:])
    else:
        aug = A.AdaptiveAugment([name], p=1.0)
    w = ops.convert_to_tensor(RNG.standard_normal(X.shape).astype("float32"))

    def f(x):
        return ops.sum(aug.apply(x, NumpyDraws(5), None) * w, axis=(1, 2, 3))

    _, grad = backend.input_grad(f, ops.convert_to_tensor(X))
    grad = np_(grad)
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 1.0, name


def test_controller_step_equals_numpy():
    ada = A.AdaptiveAugment(target=0.6, speed_kimg=500)
    for p, rt, images in ((0.0, 0.9, 1024), (0.5, 0.1, 4096), (0.999, 1.0, 10**6), (0.0, 0.0, 256)):
        ref = np.clip(p + np.sign(rt - 0.6) * images / 500_000, 0, 1)
        assert float(np_(ada.update_p(p, rt, images))) == pytest.approx(ref, abs=1e-7)


def test_bad_augment_specs_are_one_line_errors():
    with pytest.raises(ValueError, match="Unknown augmentation 'diffaug'.*diffaugment"):
        A.get("diffaug")
    with pytest.raises(ValueError, match="Unknown ADA transform 'rotat'.*Did you mean 'rotate'"):
        A.AdaptiveAugment(["rotat"])
    with pytest.raises(ValueError, match=r"target r_t must lie in \(0, 1\)"):
        A.AdaptiveAugment(target=1.5)
    with pytest.raises(ValueError, match="DiffAugment policy 'colour'"):
        A.DiffAugment("colour,cutout")


# ---------------------------------------------------------------- in the engine
def _tiny_gan(augment, d_lr=1e-3):
    g_in = keras.Input((4,))
    g = keras.Model(g_in, keras.layers.Reshape((8, 8, 1))(keras.layers.Dense(64, activation="tanh")(g_in)))
    d_in = keras.Input((8, 8, 1))
    # Zero kernel, bias +5: D(x) = 5 for every x, so E[sign D(real)] = 1 > target each step.
    d_out = keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(5.0))(
        keras.layers.Flatten()(d_in))
    gan = GAN(g, keras.Model(d_in, d_out), latent_dim=4, augment=augment, seed=0)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.SGD(d_lr))
    return gan


def test_ada_controller_in_training_and_p_survives_save_load(tmp_path):
    # One cheap transform: this checks the controller, not the pipe (compiles fast on JAX).
    gan = _tiny_gan({"name": "ada", "transforms": ["xflip"], "target": 0.6, "interval": 4, "speed_kimg": 1.0},
                    d_lr=0.0)
    x = RNG.uniform(-1, 1, (128, 8, 8, 1)).astype("float32")
    history = gan.fit(x, batch_size=16, epochs=1, verbose=0)  # 8 steps: 2 updates of +16*4/1000
    assert float(np_(gan.ada_p.value)) == pytest.approx(0.128, abs=1e-6)
    assert history.history["ada_rt"][-1] == pytest.approx(1.0)
    path = tmp_path / "ada.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.augment.target == 0.6 and float(np_(loaded.ada_p.value)) == pytest.approx(0.128, abs=1e-6)


def test_diffaugment_gan_trains_and_augments_only_in_training():
    gan = _tiny_gan({"name": "diffaugment", "policy": "color,translation"})
    x = RNG.uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
    history = gan.fit(x, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1]) and np.isfinite(history.history["g_loss"][-1])
    xt = ops.convert_to_tensor(x[:4])
    assert np.allclose(np_(gan.augment_images(xt, training=False)), x[:4])
    assert not np.allclose(np_(gan.augment_images(xt, training=True)), x[:4])
    assert gan.get_config()["augment"] == {"name": "diffaugment", "policy": "color,translation",
                                           "translation_ratio": 0.125, "cutout_ratio": 0.5}
