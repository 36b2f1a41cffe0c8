"""DiffAugment and ADA (ganzoo/engine/augment*.py): transforms vs numpy, gradients, the p controller,
and a DCGAN that must learn the digits with each."""

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


# ---------------------------------------------------------------- anti-aliased warp
def _cosine(size, fu, fv, matrix=None):
    """cos(2 pi (fu u + fv v)) at the pixel centres, read through `matrix` (centred coordinates)."""
    c = (size - 1) / 2.0
    v, u = np.meshgrid(np.arange(size) - c, np.arange(size) - c, indexing="ij")
    if matrix is not None:
        u, v = (matrix[0, 0] * u + matrix[0, 1] * v + matrix[0, 2], matrix[1, 0] * u + matrix[1, 1] * v + matrix[1, 2])
    return np.cos(2 * np.pi * (fu * u + fv * v)).astype("float32")[None, :, :, None]


def _rotation(theta):
    return np.asarray([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]], "float32")


# One image shape for every anti-aliasing test: eager JAX compiles each op once per shape.
X16 = RNG.uniform(-1, 1, (2, 16, 16, 1)).astype("float32")
INNER = (slice(None), slice(4, 12), slice(4, 12))  # away from the mirrored edges


def test_sym6_up_then_down_is_the_identity_inside():
    # The orthonormal wavelet's low-pass branch reconstructs perfectly (sum_k h[k] h[k + 2m] = delta_m),
    # so upsample2x then downsample2x returns any image away from the mirrored edges: checks the
    # zero insertion, the gains and the half-pixel alignment of both.
    y = np_(T.downsample2x(T.upsample2x(X16)))
    assert y.shape == X16.shape
    np.testing.assert_allclose(y[INNER], X16[INNER], atol=1e-5)


def test_antialiased_warp_removes_aliasing_and_keeps_low_frequencies():
    # Patterns whose warped frequency lies above Nyquist (0.5 cycles/px): a band-limited warp
    # outputs nothing there, so all output energy is aliasing. Rotating (0.47, 0.47) cycles/px by
    # 45 degrees gives 0.66 along one axis; zooming out 1.5x turns (0.45, 0) into 0.68.
    m = np.stack([_rotation(np.pi / 4), np.diag([1.5, 1.5, 1.0]).astype("float32")])
    high = np.concatenate([_cosine(16, 0.47, 0.47), _cosine(16, 0.45, 0.0)])

    def energy(y):
        y = y[INNER]
        return np.mean((y - y.mean(axis=(1, 2, 3), keepdims=True)) ** 2, axis=(1, 2, 3))

    # Input energy 0.5 each. Measured: rotate 0.085 -> 0.0057, zoom-out 0.134 -> 0.0044.
    plain, smooth = energy(np_(T.affine(high, m))), energy(np_(T.affine_antialiased(high, m)))
    assert (plain > 0.02).all() and (smooth < 0.25 * plain).all(), (plain, smooth)
    # A low frequency goes through both warps as the exactly warped pattern (the closed form);
    # measured max errors 0.020 (bilinear at 1x) and 0.012 (at 2x, sym6's delay compensated; its
    # wider support reaches the mirrored edges sooner).
    low = np.concatenate([_cosine(16, 0.06, 0.03)] * 2)
    truth = np.concatenate([_cosine(16, 0.06, 0.03, mi) for mi in m])
    err_plain = np.abs(np_(T.affine(low, m)) - truth)[INNER].max()
    err_smooth = np.abs(np_(T.affine_antialiased(low, m)) - truth)[INNER].max()
    assert err_plain < 0.03 and err_smooth < 0.015 and err_smooth < 0.75 * err_plain, (err_plain, err_smooth)


def test_antialiased_ada_keeps_identity_exact_maps_and_gradients():
    aa = A.AdaptiveAugment("bg", p=0.0, antialias=True)
    np.testing.assert_array_equal(np_(aa(X16, seed=0)), X16)
    exact = np.stack([np.eye(3), np_(T.rotation_matrix(ops.full((1,), np.pi / 2)))[0],
                      np.diag([-1.0, 1.0, 1.0]), np_(T.translation_matrix(ops.full((1,), 2.0), ops.full((1,), -1.0)))[0]])
    exact = exact.astype("float32")
    np.testing.assert_array_equal(np_(T.is_pixel_exact(exact)), [True] * 4)
    for pair in (exact[:2], exact[2:]):  # pixel-exact maps skip the filters: lossless
        np.testing.assert_allclose(np_(T.affine_antialiased(X16, pair)), np_(T.affine(X16, pair)), atol=1e-6)
    assert not np_(T.is_pixel_exact(np.diag([2.0, 2.0, 1.0]).astype("float32")[None]))[0]
    w = ops.convert_to_tensor(RNG.standard_normal(X16.shape).astype("float32"))
    ada = A.AdaptiveAugment(["rotate"], p=1.0, antialias=True)
    _, grad = backend.input_grad(lambda x: ops.sum(ada.apply(x, NumpyDraws(5), None) * w, axis=(1, 2, 3)),
                                 ops.convert_to_tensor(X16))
    grad = np_(grad)
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 1.0
    # Same seed, same output on every backend (numpy parameters, keras.ops transforms).
    out = np_(A.AdaptiveAugment("bg", p=1.0, antialias=True)(X16, seed=1))
    assert float(out.sum()) == pytest.approx(-5.0917, abs=2e-3)
    assert A.get({"name": "ada", "antialias": True}).get_config()["antialias"] is True
    with pytest.raises(ValueError, match="antialias must be true or false"):
        A.AdaptiveAugment(antialias="yes")


# ---------------------------------------------------------------- learning with augmentation
# Issue 14: training with augmentation must learn, within the CI budget. A DCGAN on the 8x8
# digits (width 16, latent 16, Adam 2e-3, EMA 0.99, batch 64), scored by ganzoo.metrics.digits'
# Fréchet distance in PCA-20 space (`frechet_pca`; real held-out digits ~10, this untrained
# generator ~1442). Measured trained/untrained ratios are in the tests; both must stay under 0.4.
# They can fail: with a stop_gradient on the augmented images (G learns nothing through them) or
# with the images replaced by noise, both ended at 0.90 (TF, seed 0). Time per backend here (two
# cores shared with another suite, compiling included; DiffAugment + ADA, two runs each):
# JAX 5.9-6.4 + 5.4-7.1 s, TF 3.4-3.8 + 5.2-6.9 s, torch 5.7-15.5 + 4.7-5.8 s.
LEARN_SEED, LEARN_BATCH, DIFF_STEPS = 0, 64, 300
# ADA on a 256-image subset, where D learns the images by heart and r_t rises above the target:
# 4 batches per epoch = one p update per epoch (interval 4), so each epoch's mean r_t is exactly
# the r_t its update used. 50 epochs = 200 steps; p moves 256 / 5,000 = 0.0512 per update.
ADA_IMAGES, ADA_EPOCHS, ADA_TARGET, ADA_SPEED_KIMG = 256, 50, 0.6, 5.0
ADA_STEP = ADA_IMAGES / (ADA_SPEED_KIMG * 1000)


@pytest.fixture(scope="module")
def digits8():
    from ganzoo.data.builtin import digits_with_labels

    return digits_with_labels(8)[0]


def _digits_gan(augment, seed):
    from ganzoo.architectures import dcgan_discriminator, dcgan_generator

    keras.utils.set_random_seed(seed)
    G = dcgan_generator(latent_dim=16, resolution=8, channels=1, width=16)
    D = dcgan_discriminator(resolution=8, channels=1, width=16)
    gan = GAN(G, D, latent_dim=16, ema_decay=0.99, augment=augment, seed=seed)
    gan.compile(g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
                d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5))
    return gan


def _frechet(gan):
    from ganzoo.metrics.digits import digits_quality

    return digits_quality(np_(gan.generate(1000, seed=1)))["frechet_pca"]


class _EpochP(keras.callbacks.Callback):
    """ADA's p after every epoch (the `model` property syncs JAX's state first) and the epoch's mean r_t."""

    def __init__(self):
        super().__init__()
        self.p, self.rt = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.p.append(float(np_(self.model.ada_p.value)))
        self.rt.append(float(logs["ada_rt"]))


def _learn(kind, x, seed):
    """(untrained FD, trained FD, p after each epoch, each epoch's mean r_t) for "diffaugment" or "ada"."""
    rng = np.random.default_rng(seed)
    record = None
    if kind == "diffaugment":
        gan = _digits_gan("diffaugment", seed)
        # All 1,797 digits, repeated to whole batches (a partial batch would recompile on JAX).
        data, epochs = x[rng.permutation(len(x))[np.arange(DIFF_STEPS * LEARN_BATCH) % len(x)]], 1
    else:
        # "b" (xflip, rotate90, integer translation): the cheap preset; "bgc" compiles ~20 s on JAX.
        gan = _digits_gan({"name": "ada", "transforms": "b", "target": ADA_TARGET, "interval": 4,
                           "speed_kimg": ADA_SPEED_KIMG}, seed)
        data, epochs, record = x[rng.choice(len(x), ADA_IMAGES, replace=False)], ADA_EPOCHS, _EpochP()
    before = _frechet(gan)
    gan.fit(data, batch_size=LEARN_BATCH, epochs=epochs, verbose=0, callbacks=[record] if record else None)
    return before, _frechet(gan), (record.p if record else None), (record.rt if record else None)


def test_diffaugment_gan_learns_the_digits(digits8, xla_optimized):
    # 300 steps on all digits. Measured trained/untrained FD (seeds 0/1/2): TF 0.22/0.24/0.22,
    # JAX 0.22/0.22/0.20, torch 0.24/0.23/0.22 (after 200 steps JAX seed 0 was still 0.36).
    before, after, _, _ = _learn("diffaugment", digits8, LEARN_SEED)
    assert before > 1000, before  # an untrained generator is far from the digits
    assert after < 0.4 * before, (before, after)


def test_ada_gan_learns_the_digits_and_p_follows_rt(digits8, xla_optimized):
    # Measured trained/untrained FD (seeds 0/1/2): TF 0.26/0.26/0.30, JAX 0.29/0.25/0.27,
    # torch 0.27/0.27/0.26. p climbs while D memorises the 256 images (r_t ~ 1), peaks at
    # TF 0.67/0.61/0.77, JAX 0.67/0.61/0.51, torch 0.77/0.82/0.61 and returns to ~0 as r_t falls.
    before, after, p, rt = _learn("ada", digits8, LEARN_SEED)
    assert after < 0.4 * before, (before, after)
    assert len(p) == ADA_EPOCHS and max(p) >= 0.25, p
    # The controller in training: each epoch's update is +-ADA_STEP by the sign of its r_t - target, clipped.
    expected = np.clip(np.concatenate([[0.0], p[:-1]]) + np.sign(np.asarray(rt) - ADA_TARGET) * ADA_STEP, 0, 1)
    np.testing.assert_allclose(p, expected, atol=1e-5, err_msg=f"r_t {np.round(rt, 3).tolist()}")
    assert min(np.diff(p)) < 0 < max(np.diff(p)), p  # both directions were exercised
