"""Pix2Pix and inpainting (ganzoo/models/pix2pix) on every backend.

Against independent truth: the published parameter counts of
junyanz/pytorch-CycleGAN-and-pix2pix, the PatchGAN's 70x70 receptive field
measured by the support of one output unit, the losses replayed in numpy,
and learning checks on scikit-learn's digits that fail when nothing is
learned (L1 against the identity and mean-target baselines; an SVC trained
on intact digits reading the completed ones).
"""

import numpy as np
import pytest
import keras
from keras import ops

import ganzoo
from ganzoo.data.paired import box_masks, digit_pairs, inpainting
from ganzoo.models.pix2pix import (
    Pix2Pix,
    Pix2PixInpaint,
    patch_discriminator,
    patch_receptive_field,
    unet_generator,
    unet_256,
)


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def to_np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def softplus(t):
    return np.logaddexp(0.0, t)


def test_reference_parameter_counts(monkeypatch):
    # Counting needs no random draws (JAX compiles one per weight shape): zero-initialized copies.
    from ganzoo.models.pix2pix import networks

    monkeypatch.setattr(networks, "_normal", lambda mean, seed: keras.initializers.Constant(mean))
    # junyanz/pytorch-CycleGAN-and-pix2pix: unet_256 G, the basic PatchGAN D on 6 channels (batch norm),
    # and CycleGAN's D on 3 channels with instance norm (no affine; conv biases on).
    assert trainable(unet_256()) == 54_413_955
    assert trainable(patch_discriminator(channels=3, source_channels=3)) == 2_768_705
    assert trainable(patch_discriminator(channels=3, norm="instance")) == 2_764_737


def _support(lo_hi, layers_ks, pad=1):
    """Input rows a unit reaches, walking back through (kernel, stride) layers with padding 1."""
    lo, hi = lo_hi
    for k, s in reversed(layers_ks):
        lo, hi = lo * s - pad, hi * s - pad + k - 1
    return lo, hi


def test_patch_gan_receptive_field_is_70():
    D = patch_discriminator(channels=1, n_layers=3, ndf=4, norm="none", image_size=160)
    convs = [layer for layer in D.layers if isinstance(layer, keras.layers.Conv2D)]
    ks = [(int(c.kernel_size[0]), int(c.strides[0])) for c in convs]
    r = 1
    for k, s in reversed(ks):
        r = r * s + (k - s)
    assert r == 70 == patch_receptive_field(3)
    # Measured: with positive weights, zero biases and a zero image, a unit's output is
    # nonzero exactly when a unit impulse lies in its receptive field.
    for c in convs:
        c.kernel.assign(np.ones(c.kernel.shape, "float32"))
        c.bias.assign(np.zeros(c.bias.shape, "float32"))
    size, unit = 160, 9
    lo, hi = _support((unit, unit), ks)
    col = (lo + hi) // 2
    batch = np.zeros((2 * size, size, size, 1), "float32")
    for r_ in range(size):
        batch[r_, r_, col, 0] = 1.0          # impulses down one column
        batch[size + r_, col, r_, 0] = 1.0   # and along one row
    out = to_np(D(batch, training=False))[:, unit, unit, 0]
    rows = np.flatnonzero(out[:size] != 0)
    cols = np.flatnonzero(out[size:] != 0)
    assert len(rows) == len(cols) == 70
    assert (rows[0], rows[-1]) == (lo, hi) == (cols[0], cols[-1])


def _tiny(model_cls=Pix2Pix, in_channels=1, out_channels=1, **kwargs):
    G = unet_generator(image_size=16, in_channels=in_channels, out_channels=out_channels, depth=3, ngf=4, seed=0)
    D = patch_discriminator(channels=out_channels, source_channels=in_channels, n_layers=1, ndf=4, seed=1)
    return model_cls(G, D, **kwargs)


def test_losses_equal_numpy_with_l1_weight_100():
    rng = np.random.default_rng(0)
    s, t, f = (rng.uniform(-1, 1, (4, 16, 16, 1)).astype("float32") for _ in range(3))
    gan = _tiny()
    assert gan.l1_weight == 100.0
    real = {"source": ops.convert_to_tensor(s), "target": ops.convert_to_tensor(t)}
    fake = {"x": ops.convert_to_tensor(f), "source": real["source"]}
    lf = to_np(gan.discriminate(fake["x"], source=real["source"])["logits"])
    lr = to_np(gan.discriminate(real["target"], source=real["source"])["logits"])
    g_loss, g_logs = gan.generator_loss(real, fake)
    expected_l1 = np.mean(np.abs(f - t))
    np.testing.assert_allclose(float(g_logs["g_l1"]), expected_l1, rtol=1e-5)
    np.testing.assert_allclose(float(g_loss), np.mean(softplus(-lf)) + 100.0 * expected_l1, rtol=1e-5)
    d_loss, _ = gan.discriminator_loss(real, fake)  # halved (Isola et al. Sec. 3.3)
    np.testing.assert_allclose(float(d_loss), 0.5 * (np.mean(softplus(-lr)) + np.mean(softplus(lf))), rtol=1e-5)
    # The weight is lambda itself: 7 gives 7 x L1 on top of the same adversarial term.
    gan7 = Pix2Pix(gan.generator, gan.discriminator, l1_weight=7.0)  # the same networks: the same logits lf
    g7, _ = gan7.generator_loss(real, fake)
    np.testing.assert_allclose(float(g7), np.mean(softplus(-lf)) + 7.0 * expected_l1, rtol=1e-5)


def test_inpainting_l1_counts_the_hole_only():
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (3, 16, 16, 1)).astype("float32")
    masks = box_masks(3, 16, hole=6, border=2, seed=0)
    raw = rng.uniform(-1, 1, (3, 16, 16, 1)).astype("float32")
    gan = _tiny(Pix2PixInpaint, in_channels=2, out_channels=1)
    source = np.concatenate([images * (1 - masks), masks], axis=-1)
    real = {"source": ops.convert_to_tensor(source), "target": ops.convert_to_tensor(images)}
    completed = gan.composite(real["source"], ops.convert_to_tensor(raw))
    np.testing.assert_allclose(to_np(completed), masks * raw + (1 - masks) * images, atol=1e-6)
    l1 = gan.reconstruction_l1(real, {"x": completed, "source": real["source"]})
    np.testing.assert_allclose(float(l1), np.sum(np.abs(raw - images) * masks) / masks.sum(), rtol=1e-5)
    with pytest.raises(ValueError, match="mask channel"):
        _tiny(Pix2PixInpaint, in_channels=1, out_channels=1)


def test_unet_size_errors_say_which_sizes_work():
    with pytest.raises(ValueError, match=r"multiples of 256 \(e.g. 256, 512, 768\); got 100x100"):
        unet_generator(image_size=100, depth=8)
    G = unet_generator(in_channels=1, out_channels=1, depth=3, ngf=4)   # any multiple of 8
    gan = Pix2Pix(G, patch_discriminator(channels=1, source_channels=1, n_layers=1, ndf=4))
    assert gan.translate(np.zeros((1, 24, 16, 1), "float32")).shape == (1, 24, 16, 1)
    with pytest.raises(ValueError, match=r"multiples of 8 .*got 20x16"):
        gan.translate(np.zeros((1, 20, 16, 1), "float32"))
    assert gan.valid_size(20, 30) == (24, 32) and gan.valid_size(3, 3) == (8, 8)
    fixed = _tiny()
    with pytest.raises(ValueError, match="16x16 images only; got 32x32"):
        fixed.translate(np.zeros((1, 32, 32, 1), "float32"))
    with pytest.raises(ValueError, match="one way only"):
        fixed.translate(np.zeros((1, 16, 16, 1), "float32"), direction="b2a")


def reference_linear_lr(step, lr, steps_per_epoch, n_epochs, n_epochs_decay):
    """pytorch-CycleGAN-and-pix2pix's `--lr_policy linear` (LambdaLR stepped after each epoch), in numpy."""
    epoch = np.asarray(step) // steps_per_epoch
    return lr * (1.0 - np.maximum(0, epoch + 1 - n_epochs) / float(n_epochs_decay + 1))


@pytest.mark.parametrize("name, pairs", [("pix2pix-facades", 400), ("pix2pix-map2sat", 1096)])
def test_recipe_lr_schedule_is_the_reference_linear_policy(name, pairs):
    from ganzoo import recipes
    from ganzoo.factory import build_optimizer
    from ganzoo.models.cyclegan import LinearDecay

    recipe = recipes.get(name)
    assert recipe["training"]["epochs"] == 200 and recipe["training"]["batch_size"] == 1
    steps = np.concatenate([np.arange(0, 200 * pairs, pairs // 4), [99 * pairs - 1, 100 * pairs, 200 * pairs - 1,
                                                                     200 * pairs]])
    want = reference_linear_lr(steps, 2e-4, pairs, 100, 100)
    for role in ("generator", "discriminator"):
        opt = build_optimizer(recipe["optimizers"][role], role)
        schedule = opt._learning_rate
        assert isinstance(schedule, LinearDecay) and float(opt.beta_1) == 0.5
        got = ops.convert_to_numpy(schedule(ops.convert_to_tensor(steps, "int32")))  # elementwise over steps
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
    assert want[0] == 2e-4 and want[-1] == 0.0 and abs(want[-2] - 2e-4 / 101) < 1e-12  # last epoch: lr / 101
    with pytest.raises(ValueError, match="whole epochs"):
        LinearDecay(2e-4, total_steps=1000, decay_start=500, steps_per_epoch=300)


# ------------------------------------------------------------------ learning checks
@pytest.fixture(scope="module")
def edges(xla_optimized):
    """Pix2Pix trained briefly on 16x16 digits -> their edge maps (held-out digits evaluated)."""
    a, b = digit_pairs(16, target="edges")
    order = np.random.default_rng(0).permutation(len(a))
    train, test = order[:1024], order[1500:]
    keras.utils.set_random_seed(0)
    G = unet_generator(image_size=16, in_channels=1, out_channels=1, depth=4, ngf=16, seed=0)
    D = patch_discriminator(channels=1, source_channels=1, image_size=16, n_layers=2, ndf=16, seed=1)
    gan = Pix2Pix(G, D, seed=0)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3, 0.5), d_optimizer=keras.optimizers.Adam(2e-4, 0.5))
    history = gan.fit(a[train], b[train], batch_size=32, epochs=3, verbose=0, shuffle=False)
    return gan, a[test], b[test], b[train].mean(axis=0), history.history


def test_pix2pix_learns_edge_maps(edges):
    gan, a, b, mean_b, history = edges
    out = gan.translate(a)
    l1 = float(np.mean(np.abs(out - b)))
    identity = float(np.mean(np.abs(a - b)))     # 0.41: copy the digit
    mean_target = float(np.mean(np.abs(mean_b - b)))  # 0.26: the mean edge map
    assert l1 < 0.6 * mean_target and l1 < 0.4 * identity, (l1, mean_target, identity)
    assert set(history) >= {"d_loss", "g_loss", "g_l1", "d_real", "d_fake"}
    assert history["g_l1"][-1] < history["g_l1"][0]


def test_preset_round_trip_translates_the_same(edges, tmp_path):
    gan, a, *_ = edges
    gan.preview_sources = a[:4]
    folder = gan.save_to_preset(tmp_path / "preset")
    loaded = ganzoo.load(folder)
    assert type(loaded) is Pix2Pix and loaded.l1_weight == 100.0
    np.testing.assert_allclose(loaded.translate(a[:8]), gan.translate(a[:8]), atol=1e-5)
    assert (tmp_path / "preset" / "samples.png").is_file()


class _PooledPixels:
    """A stand-in FID extractor: 4x4 average-pooled pixels as features (no Inception download)."""

    batch_size = 256

    def __call__(self, images):
        x = np.asarray(images, "float64")
        n, h, w, c = x.shape
        return {"pool": x.reshape(n, 4, h // 4, 4, w // 4, c).mean(axis=(2, 4)).reshape(n, -1)}


def test_translation_quality_beats_copying_the_source(edges):
    from ganzoo.metrics.evaluate import evaluate
    from ganzoo.metrics.image_quality import psnr, ssim, translation_quality
    from ganzoo.utils.images import to_uint8

    gan, a, b, *_ = edges
    q = translation_quality(gan, a, b, fid=True, extractor=_PooledPixels())
    assert q["psnr"] > psnr(a, b) + 3.0 and q["ssim"] > ssim(a, b) + 0.1, (q, psnr(a, b), ssim(a, b))
    copied = evaluate(to_uint8(a), to_uint8(b), metrics=("fid",), extractor=_PooledPixels(), progress=False)["fid"]
    assert q["fid"] < 0.5 * copied, (q["fid"], copied)


def _svc_on_intact_digits(x, y):
    from sklearn.svm import SVC

    return SVC().fit(x.reshape(len(x), -1), y)


def _inpainting_check(epochs, ngf, n_train, lr):
    from ganzoo.data import builtin

    x, y = builtin.digits_with_labels(32)
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:1400], order[1400:]
    keras.utils.set_random_seed(0)
    G = unet_generator(image_size=32, in_channels=2, out_channels=1, depth=5, ngf=ngf, seed=0)
    D = patch_discriminator(channels=1, source_channels=2, image_size=32, n_layers=2, ndf=ngf, seed=1)
    gan = Pix2PixInpaint(G, D, seed=0)
    gan.compile(g_optimizer=keras.optimizers.Adam(lr, 0.5), d_optimizer=keras.optimizers.Adam(2e-4, 0.5))
    gan.fit(inpainting(x[train[:n_train]], 32, hole=20, border=4, seed=0), epochs=epochs, verbose=0)
    clf = _svc_on_intact_digits(x[train], y[train])
    masks = box_masks(len(test), 32, hole=20, border=4, seed=1)
    done = gan.inpaint(x[test], masks)
    known = masks == 0
    np.testing.assert_array_equal(done[np.broadcast_to(known, done.shape)], x[test][np.broadcast_to(known, done.shape)])
    mean_fill = masks * x[train].mean(axis=0) + (1 - masks) * x[test]
    score = lambda imgs: float(clf.score(imgs.reshape(len(imgs), -1), y[test]))  # noqa: E731
    return score(done), score(mean_fill), score(x[test])


def test_inpainting_completes_digits_ci(xla_optimized):
    """The issue's check at CI size: 20x20 holes (4-pixel border) in 32x32 digits; the SVC trained on
    intact digits must label >= 80% of the completed ones right (mean-digit fill 32%; intact 99%).
    Measured (3 epochs of 1,400 digits, ngf 16): TF 0.887, JAX 0.904, torch 0.902 (2 epochs of 768:
    TF 0.79, JAX 0.76, torch 0.73, below the target)."""
    accuracy, mean_fill, intact = _inpainting_check(epochs=3, ngf=16, n_train=1400, lr=1e-3)
    assert intact > 0.95 and mean_fill < 0.4, (intact, mean_fill)
    assert accuracy >= 0.8, (accuracy, mean_fill)


@pytest.mark.slow
def test_inpainting_completes_digits_full(xla_optimized):
    """The issue's check: >= 80% of completed digits labelled right (mean fill ~31%, intact ~98%)."""
    accuracy, mean_fill, intact = _inpainting_check(epochs=10, ngf=32, n_train=1400, lr=2e-4)
    assert intact > 0.95 and mean_fill < 0.4
    assert accuracy >= 0.8, (accuracy, mean_fill)
