"""R3GAN against independent truth: numpy losses, finite-difference R1 + R2, the official
configs' parameter counts, PyTorch's resampling convolutions, and a learning test."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import ganzoo
from ganzoo import recipes
from ganzoo.engine import objectives, penalties
from ganzoo.factory import build_network
from ganzoo.models.r3gan import R3GAN, r3gan_discriminator, r3gan_generator
from ganzoo.models.r3gan.networks import ACTIVATION_GAIN, Resample


def to_np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def softplus(x):
    return np.logaddexp(0.0, np.asarray(x, "float64"))


# ------------------------------------------------------------------ the loss
def test_relativistic_pairing_matches_numpy():
    rng = np.random.default_rng(0)
    real, fake = (rng.normal(size=32) * 3).astype("float32"), (rng.normal(size=32) * 3).astype("float32")
    obj = objectives.get("relativistic_pairing")
    assert objectives.get("rpgan").name == obj.name and obj.needs_real
    d = to_np(obj.d_loss(ops.convert_to_tensor(real), ops.convert_to_tensor(fake)))
    g = to_np(obj.g_loss(ops.convert_to_tensor(fake), real=ops.convert_to_tensor(real)))
    np.testing.assert_allclose(d, np.mean(softplus(fake - real)), rtol=1e-6)  # -log sigmoid(D(x) - D(G(z)))
    np.testing.assert_allclose(g, np.mean(softplus(real - fake)), rtol=1e-6)
    with pytest.raises(ValueError, match="needs D's logits on real data"):
        obj.g_loss(ops.convert_to_tensor(fake))


def _randomize(model, seed=0, scale=0.4):
    # Fix-up init makes every block the identity (a linear D); random weights test the nonlinear case.
    rng = np.random.default_rng(seed)
    for v in model.trainable_variables:
        v.assign(rng.normal(size=v.shape).astype("float32") * scale)


def _fd_grad(fn, x, eps=1e-3):
    """Central finite differences of per-sample scores fn(x) (N,) w.r.t. every input value, one batch."""
    n, d = len(x), int(np.prod(x.shape[1:]))
    flat = x.reshape(n, 1, d)
    steps = np.eye(d, dtype=np.float64)[None] * eps
    plus = (flat + steps).reshape(n * d, *x.shape[1:]).astype("float32")
    minus = (flat - steps).reshape(n * d, *x.shape[1:]).astype("float32")
    diff = fn(plus).astype("float64") - fn(minus).astype("float64")
    return diff.reshape(n, d) / (2 * eps)


@pytest.fixture(scope="module")
def tiny_d_gan():
    keras.utils.set_random_seed(3)
    G = r3gan_generator(latent_dim=8, resolution=8, widths=[8, 8], cardinalities=2, blocks_per_stage=1)
    D = r3gan_discriminator(resolution=8, widths=[8, 8], cardinalities=2, blocks_per_stage=1)
    _randomize(D, scale=0.3)
    return R3GAN(G, D, latent_dim=8, gamma=0.7)


def test_discriminator_loss_with_r1_and_r2_equals_numpy_and_finite_differences(tiny_d_gan):
    gan = tiny_d_gan
    assert [type(p).__name__ for p in gan.regularizers] == ["R1", "R2"]
    rng = np.random.default_rng(1)
    real = rng.uniform(-1, 1, size=(3, 8, 8, 3))
    fake = rng.uniform(-1, 1, size=(3, 8, 8, 3))
    score = lambda x: to_np(gan.discriminator_logits(ops.convert_to_tensor(x)))  # noqa: E731
    r1 = np.mean(np.sum(_fd_grad(score, real) ** 2, axis=1))
    r2 = np.mean(np.sum(_fd_grad(score, fake) ** 2, axis=1))
    assert r1 > 1e-3 and r2 > 1e-3  # a critic with non-trivial gradients
    adv = np.mean(softplus(score(fake) - score(real)))
    rt = {"x": ops.convert_to_tensor(real.astype("float32"))}
    ft = {"x": ops.convert_to_tensor(fake.astype("float32"))}
    np.testing.assert_allclose(to_np(penalties.R1(0.7)(gan, rt, ft)), r1, rtol=2e-3)
    np.testing.assert_allclose(to_np(penalties.R2(0.7)(gan, rt, ft)), r2, rtol=2e-3)
    loss, logs = gan.discriminator_loss(rt, ft)
    np.testing.assert_allclose(to_np(loss), adv + 0.7 / 2 * (r1 + r2), rtol=2e-3)
    np.testing.assert_allclose(to_np(logs["r1"]), r1, rtol=2e-3)


# ------------------------------------------------------------------ networks
def _official_counts(widths, cards, blocks, expansion, z, num_classes=0, g_embed=0, d_embed=0):
    """Parameter counts of the official R3GAN Generator / Discriminator, written from its module list."""

    def block(c, card):
        e = c * expansion
        return c * e + e * (e // card) * 9 + e * c + 2 * e  # 1x1, grouped 3x3, 1x1 (no conv bias), 2 act biases

    g = (z + g_embed) * widths[0] + widths[0] * 16  # GenerativeBasis: linear + 4x4 basis
    for s, (w, k, b) in enumerate(zip(widths, cards, blocks)):
        if s and widths[s - 1] != w:
            g += widths[s - 1] * w  # UpsampleLayer's 1x1 conv
        g += b * block(w, k)
    g += widths[-1] * 3 + num_classes * g_embed
    d = 3 * widths[-1] + sum(b * block(w, k) for w, k, b in zip(widths, cards, blocks))
    d += sum(widths[s] * widths[s - 1] for s in range(1, len(widths)) if widths[s] != widths[s - 1])
    d += widths[0] * 16 + widths[0] * (d_embed if num_classes else 1) + num_classes * d_embed
    return g, d


def test_parameter_counts_of_the_paper_configs():
    # CIFAR-10 (official preset "CIFAR10", --cond=1): the paper's ~20.78 M / 21.28 M.
    cifar = recipes.get("r3gan-cifar10")["model"]
    g = build_network(cifar["generator"], "generator").count_params()
    d = build_network(cifar["discriminator"], "discriminator").count_params()
    assert (g, d) == _official_counts([768] * 4, [96] * 4, [2] * 4, 2, 64, 10, 64, 768)
    assert (g, d) == (20_781_952, 21_280_512)
    assert round(g / 1e6, 2) == 20.78 and round(d / 1e6, 2) == 21.28


@pytest.mark.slow
def test_parameter_counts_of_the_ffhq64_config():
    ffhq = recipes.get("r3gan-ffhq64")["model"]
    g = build_network(ffhq["generator"], "generator").count_params()
    d = build_network(ffhq["discriminator"], "discriminator").count_params()
    assert (g, d) == _official_counts([768] * 4 + [384], [96] * 4 + [48], [2] * 5, 2, 64)
    assert (g, d) == (22_429_824, 22_381_440)


def test_fixup_init_blocks_start_as_identity():
    keras.utils.set_random_seed(0)
    G = r3gan_generator(latent_dim=16, resolution=8, widths=[64, 64], cardinalities=4, blocks_per_stage=2)
    weights = {w.path: to_np(w.value) for w in G.weights}
    projections = [v for k, v in weights.items() if "project" in k]
    assert len(projections) == 4 and all(np.all(p == 0) for p in projections)
    expand = weights[next(k for k in weights if "stage1_block0_expand" in k)]  # fan-in 64
    want = ACTIVATION_GAIN * 4 ** -0.25 / math.sqrt(64)  # L = 4 blocks in all
    assert abs(expand.std() / want - 1) < 0.05
    grouped = weights[next(k for k in weights if "stage1_block0_grouped" in k)]
    assert grouped.shape == (3, 3, 32, 128)  # 128 / 4 groups in per group
    assert abs(grouped.std() / (ACTIVATION_GAIN * 4 ** -0.25 / math.sqrt(9 * 32)) - 1) < 0.05


def test_resampling_equals_the_official_torch_convolutions():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).normal(size=(2, 6, 6, 3)).astype("float32")
    k1 = np.convolve([1, 2, 1], [1, 1]).astype("float32")
    kernel = np.outer(k1, k1) / np.outer(k1, k1).sum()
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).reshape(6, 1, 6, 6).copy())
    kt = torch.from_numpy(kernel[None, None].copy())
    up = torch.nn.functional.conv_transpose2d(xt, 4 * kt, stride=2, padding=1).numpy()
    down = torch.nn.functional.conv2d(xt, kt, stride=2, padding=1).numpy()
    up = up.reshape(2, 3, 12, 12).transpose(0, 2, 3, 1)
    down = down.reshape(2, 3, 3, 3).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(to_np(Resample("up")(x)), up, atol=1e-5)
    np.testing.assert_allclose(to_np(Resample("down")(x)), down, atol=1e-5)


def test_bad_configs_are_one_line_errors():
    with pytest.raises(ValueError, match="needs 3 stages"):
        r3gan_generator(resolution=16, widths=[32, 32])
    with pytest.raises(ValueError, match="power of two"):
        r3gan_discriminator(resolution=24, widths=[32, 32, 32])
    with pytest.raises(ValueError, match="cardinality 5"):
        r3gan_generator(resolution=8, widths=[16, 16], cardinalities=5)
    G = r3gan_generator(latent_dim=4, resolution=8, widths=[8, 8], cardinalities=2, blocks_per_stage=1)
    D = r3gan_discriminator(resolution=8, widths=[8, 8], cardinalities=2, blocks_per_stage=1)
    with pytest.raises(ValueError, match="not both"):
        R3GAN(G, D, latent_dim=4, gamma=1.0, penalties=["r1"])


# ------------------------------------------------------------------ learning
COLOURS = np.array([[1.0, -1.0, -1.0], [-1.0, -1.0, 1.0]], "float32")  # red, blue


@pytest.fixture(scope="module")
def trained():
    """A small conditional R3GAN on two constant-colour classes (4x4): it must learn colour and class."""
    keras.utils.set_random_seed(0)
    G = r3gan_generator(latent_dim=8, resolution=4, widths=[16], cardinalities=2, blocks_per_stage=1,
                        num_classes=2, embedding_dim=8)
    D = r3gan_discriminator(resolution=4, widths=[16], cardinalities=2, blocks_per_stage=1,
                            num_classes=2, embedding_dim=16)
    gan = R3GAN(G, D, latent_dim=8, num_classes=2, gamma=0.1, ema_kimg=0.5, seed=0)
    gan.compile(g_optimizer=keras.optimizers.Adam(2e-3, 0.0, 0.99), d_optimizer=keras.optimizers.Adam(2e-3, 0.0, 0.99))
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2048).astype("int32")
    x = np.broadcast_to(COLOURS[y][:, None, None, :], (2048, 4, 4, 3)).copy()
    x += rng.normal(scale=0.05, size=x.shape).astype("float32")
    before = gan.generate(labels=np.repeat([0, 1], 100), seed=1)
    gan.fit(x, y, batch_size=32, epochs=3, verbose=0)  # 192 steps
    return gan, before


def _colour_error(images, labels):
    return float(np.mean(np.abs(images.mean(axis=(1, 2)) - COLOURS[labels])))


def test_small_r3gan_learns_the_class_colours(trained):
    gan, before = trained
    labels = np.repeat([0, 1], 100)
    after = gan.generate(labels=labels, seed=1)
    assert _colour_error(before, labels) > 0.6  # untrained: nowhere near
    # < 0.2 needs the class too: one colour mix for both classes scores 0.67.
    assert _colour_error(after, labels) < 0.2, _colour_error(after, labels)
    assert float(np.mean(after.std(axis=(1, 2)))) < 0.3  # flat images, like the data


def test_ema_half_life_and_preset_roundtrip(trained, tmp_path):
    gan, _ = trained
    assert float(ops.convert_to_numpy(gan.ema_decay_at(500))) == pytest.approx(0.5)
    path = gan.save_to_preset(tmp_path / "r3", samples=False)
    back = ganzoo.load(str(path))
    assert type(back).__name__ == "R3GAN" and back.ema_kimg == 0.5
    assert [p.name for p in back.regularizers] == ["r1", "r2"] and back.objective.name == "relativistic_pairing"
    np.testing.assert_allclose(back.generate(8, seed=3, labels=1), gan.generate(8, seed=3, labels=1), atol=1e-5)
