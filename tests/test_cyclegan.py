"""CycleGAN: reference parameter counts, the image pool's rule, the cycle/identity losses against
numpy, learning digits <-> inverted digits, and save/load/resume on another backend."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

from conftest import BACKEND
from ganzoo.data.builtin import digits_with_labels
from ganzoo.models.cyclegan import CycleGAN, ImagePool, LinearDecay, pool_query, resnet_generator
from ganzoo.models.pix2pix.networks import patch_discriminator
from processes import ROOT, env

NEXT_BACKEND = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}[BACKEND]
R = 16  # digits at 16x16: the digits classifier reads any multiple of 8


def trainable(model):
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))


def test_reference_parameter_counts():
    # junyanz/pytorch-CycleGAN-and-pix2pix: resnet_9blocks / resnet_6blocks G, basic D with instance norm.
    assert trainable(resnet_generator(n_blocks=9)) == 11_378_179
    assert trainable(resnet_generator(n_blocks=6)) == 7_837_699
    assert trainable(patch_discriminator(channels=3, norm="instance")) == 2_764_737


def numpy_pool(images, buffer, count, u, idx):
    """util/image_pool.py's rule, image by image (written from its description)."""
    buffer, out = buffer.copy(), []
    for image, ui, ii in zip(images, u, idx):
        if count < len(buffer):
            buffer[count] = image
            count += 1
            out.append(image)
        elif ui > 0.5:
            out.append(buffer[ii].copy())
            buffer[ii] = image
        else:
            out.append(image)
    return np.stack(out), buffer, count


def test_pool_swap_rule_matches_numpy():
    rng = np.random.default_rng(0)
    size, buffer, count = 5, np.zeros((5, 2, 2, 1), "float32"), 0
    ours_buf, ours_count = ops.convert_to_tensor(buffer), ops.convert_to_tensor(0, "int32")
    swaps = 0
    for step in range(6):  # batches of 3: fills the pool mid-batch, then swaps
        images = rng.normal(size=(3, 2, 2, 1)).astype("float32")
        u, idx = rng.uniform(size=3).astype("float32"), rng.integers(0, size, 3).astype("int32")
        want, buffer, count = numpy_pool(images, buffer, count, u, idx)
        got, ours_buf, ours_count = pool_query(images, ours_buf, ours_count, u, idx)
        np.testing.assert_array_equal(ops.convert_to_numpy(got), want)
        np.testing.assert_array_equal(ops.convert_to_numpy(ours_buf), buffer)
        assert int(ops.convert_to_numpy(ours_count)) == count
        swaps += int(np.sum((u > 0.5) & (step > 1)))
    assert swaps > 0  # the swap branch ran


def test_pool_layer_is_seeded_state_and_swaps_half_the_time():
    def run(seed):
        pool = ImagePool(4, (1, 1, 1), seed=seed)
        images = np.arange(4 * 64, dtype="float32").reshape(4, 64, 1, 1, 1)  # every image unique
        outs = [ops.convert_to_numpy(pool(batch))[:, 0, 0, 0] for batch in images]
        return np.stack(outs), images[..., 0, 0, 0], pool

    a, images, pool = run(3)
    b, _, _ = run(3)
    np.testing.assert_array_equal(a, b)  # seeded: the same history
    assert {v.name for v in pool.non_trainable_variables} >= {"images", "count"}
    # Once the pool is full (after 4 images) an output differs from its input exactly when it was swapped.
    swapped = (a != images).reshape(-1)[4:]
    assert 0.4 < swapped.mean() < 0.6


def test_pool_state_threaded_through_stateless_calls_matches_eager():
    # A compiled step (JAX's stateless train step) carries the pool as state: buffer, count and the
    # seed generator must come back updated, giving the eager history draw for draw.
    images = np.arange(4 * 6, dtype="float32").reshape(6, 4, 1, 1, 1)
    eager = ImagePool(4, (1, 1, 1), seed=3)
    want = [ops.convert_to_numpy(eager(batch)) for batch in images]
    pool = ImagePool(4, (1, 1, 1), seed=3)
    state = [v.value for v in pool.non_trainable_variables]
    assert len(state) == 3  # images, count, seed-generator state
    for batch, expected in zip(images, want):
        out, state = pool.stateless_call([], state, ops.convert_to_tensor(batch))
        np.testing.assert_array_equal(ops.convert_to_numpy(out), expected)
    assert int(ops.convert_to_numpy(state[1])) == 4


def small_gan(seed=0, pool_size=8, identity_weight=0.5, channels=1, ngf=8, n_blocks=1, n_downsampling=2,
              d_norm="instance"):
    keras.utils.set_random_seed(seed)
    G = lambda: resnet_generator(image_size=R, in_channels=channels, out_channels=channels, ngf=ngf,  # noqa: E731
                                 n_blocks=n_blocks, n_downsampling=n_downsampling, seed=seed)
    D = lambda: patch_discriminator(channels=channels, image_size=R, n_layers=1, ndf=ngf,  # noqa: E731
                                    norm=d_norm, seed=seed)
    return CycleGAN(G(), D(), G(), D(), pool_size=pool_size, identity_weight=identity_weight, seed=seed)


def test_cycle_and_identity_losses_equal_numpy():
    gan = small_gan()
    rng = np.random.default_rng(1)
    real = {"a": rng.uniform(-1, 1, (2, R, R, 1)).astype("float32"),
            "b": rng.uniform(-1, 1, (2, R, R, 1)).astype("float32")}
    G = lambda x: ops.convert_to_numpy(gan.generator(x, training=True))  # noqa: E731
    F = lambda x: ops.convert_to_numpy(gan.generator_ba(x, training=True))  # noqa: E731
    ab, ba = G(real["a"]), F(real["b"])
    fake = {"ab": ops.convert_to_tensor(ab), "ba": ops.convert_to_tensor(ba)}
    cycle_a, cycle_b = (float(v) for v in gan.cycle_losses(real, fake))
    assert abs(cycle_a - np.abs(F(ab) - real["a"]).mean()) < 1e-5
    assert abs(cycle_b - np.abs(G(ba) - real["b"]).mean()) < 1e-5
    idt_a, idt_b = (float(v) for v in gan.identity_losses(real))
    assert abs(idt_a - np.abs(F(real["a"]) - real["a"]).mean()) < 1e-5
    assert abs(idt_b - np.abs(G(real["b"]) - real["b"]).mean()) < 1e-5
    loss, logs = gan.generator_loss(real, fake)
    d_b = ops.convert_to_numpy(gan.discriminator(ab, training=True))
    d_a = ops.convert_to_numpy(gan.discriminator_a(ba, training=True))
    # The reference's total: MSE(D_B(G(a)), 1) + MSE(D_A(F(b)), 1) + 10 (cycles) + 5 (identities).
    want = (np.mean((d_b - 1) ** 2) + np.mean((d_a - 1) ** 2) + 10 * (cycle_a + cycle_b) + 5 * (idt_a + idt_b))
    assert abs(float(loss) - want) < 1e-4 * max(1.0, abs(want))



# Measured (shared 2-core machine, 2026-12-02): TF 0.3 s, JAX 1.8 s, torch 0.1 s.
def test_discriminator_loss_equals_numpy():
    # The reference (cycle_gan_model.py backward_D_basic): for each D, (MSE(D(real), 1) + MSE(D(fake), 0)) / 2,
    # D_B on real B vs fakes G(a), D_A on real A vs fakes F(b); pool_size=0 hands the fakes over as they are.
    keras.utils.set_random_seed(0)
    def G(s):
        return resnet_generator(image_size=R, in_channels=1, out_channels=1, ngf=4, n_blocks=1, seed=s)

    def D(s):
        return patch_discriminator(channels=1, image_size=R, n_layers=1, ndf=4, norm="instance", seed=s)

    gan = CycleGAN(G(0), D(2), G(1), D(3), pool_size=0)
    # Weights N(0, 0.3) from numpy, one draw per D: at the N(0, 0.02) init every logit is ~0 and the loss ~1
    # whatever the pairing (measured: a D_A/D_B swap moved it by 4e-4 on torch); these give logits of O(1)
    # and the same numbers on every backend, and two distinct Ds, so a D_A/D_B mix-up changes the loss.
    wr = np.random.default_rng(3)
    for net in (gan.discriminator, gan.discriminator_a):
        for v in net.weights:
            v.assign(wr.normal(0, 0.3, v.shape).astype("float32"))
    rng = np.random.default_rng(2)
    real = {"a": rng.uniform(-1, 1, (2, R, R, 1)).astype("float32"),
            "b": rng.uniform(-1, 1, (2, R, R, 1)).astype("float32")}
    # Fakes unrelated to the reals (and to each other), so swapping real/fake or ab/ba shows.
    fake = {"ab": rng.uniform(-1, 1, (2, R, R, 1)).astype("float32"),
            "ba": 0.5 * rng.uniform(-1, 1, (2, R, R, 1)).astype("float32")}
    d_b = lambda x: ops.convert_to_numpy(gan.discriminator(x, training=True)).astype("float64")  # noqa: E731
    d_a = lambda x: ops.convert_to_numpy(gan.discriminator_a(x, training=True)).astype("float64")  # noqa: E731
    b_real, b_fake, a_real, a_fake = d_b(real["b"]), d_b(fake["ab"]), d_a(real["a"]), d_a(fake["ba"])
    want = (0.5 * (np.mean((b_real - 1) ** 2) + np.mean(b_fake ** 2))
            + 0.5 * (np.mean((a_real - 1) ** 2) + np.mean(a_fake ** 2)))
    fake_t = {k: ops.convert_to_tensor(v) for k, v in fake.items()}
    loss, logs = gan.discriminator_loss(real, fake_t)
    loss = float(ops.convert_to_numpy(loss))  # (torch: the loss carries a graph)
    assert abs(loss - want) < 1e-5 * max(1.0, abs(want)), (loss, want)
    for key, value in (("d_b_real", b_real), ("d_b_fake", b_fake), ("d_a_real", a_real), ("d_a_fake", a_fake)):
        assert abs(float(ops.convert_to_numpy(logs[key])) - value.mean()) < 1e-5, key
    # A wrong pairing misses by far more than the tolerance. Measured, the same on TF, JAX and torch:
    # loss 8.872; D_A/D_B swapped 7.495; fakes ab/ba swapped 7.658; real/fake roles swapped 9.350; no 1/2 17.74.
    def total(d1, r1, f1, d2, r2, f2):
        return 0.5 * (np.mean((d1(r1) - 1) ** 2) + np.mean(d1(f1) ** 2)) + 0.5 * (
            np.mean((d2(r2) - 1) ** 2) + np.mean(d2(f2) ** 2))

    assert abs(total(d_b, real["b"], fake["ab"], d_a, real["a"], fake["ba"]) - want) < 1e-9
    for wrong in ((d_a, real["b"], fake["ab"], d_b, real["a"], fake["ba"]),
                  (d_b, real["b"], fake["ba"], d_a, real["a"], fake["ab"]),
                  (d_b, fake["ab"], real["b"], d_a, fake["ba"], real["a"])):
        assert abs(total(*wrong) - loss) > 0.3


def test_linear_decay_schedule_and_its_serialization():
    lr = LinearDecay(2e-4, total_steps=200, decay_start=100)
    assert [round(float(lr(s)), 8) for s in (0, 99, 100, 150, 199, 200, 300)] == [2e-4, 2e-4, 2e-4, 1e-4, 2e-6, 0.0, 0.0]
    opt = keras.optimizers.deserialize(keras.optimizers.serialize(keras.optimizers.Adam(lr, beta_1=0.5)))
    assert isinstance(opt._learning_rate, LinearDecay) and opt._learning_rate.decay_start == 100
    with pytest.raises(ValueError, match="decay_start < total_steps"):
        LinearDecay(1e-3, total_steps=10, decay_start=10)


def test_bad_inputs_are_one_line_errors():
    gan = small_gan(pool_size=0)
    gan.compile()
    x = np.zeros((4, R, R, 1), "float32")
    with pytest.raises(ValueError, match=r"keys \['a', 'b'\]; got \['a'\]") as e:
        gan.fit(x, epochs=1, verbose=0)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="direction must be one of a2b, b2a"):
        gan.translate(x, direction="ab")
    with pytest.raises(ValueError, match="takes images of shape N x 16x16x1"):
        gan.translate(np.zeros((1, R, R, 3), "float32"))
    with pytest.raises(ValueError, match="pool_shape"):
        CycleGAN(resnet_generator(ngf=4, n_blocks=0), patch_discriminator(norm="instance", ndf=4),
                 resnet_generator(ngf=4, n_blocks=0), patch_discriminator(norm="instance", ndf=4))


def test_recipe_builds_four_networks_through_the_factory():
    from ganzoo import recipes
    from ganzoo.factory import build_gan, build_optimizers

    recipe = recipes.get("cyclegan-horse2zebra")
    spec = json.loads(json.dumps(recipe["model"]))
    for net in (spec["generator"], spec["networks"]["generator_ba"]):
        net.update(image_size=32, ngf=4, n_blocks=1)
    for net in (spec["discriminator"], spec["networks"]["discriminator_a"]):
        net.update(image_size=32, ndf=4)
    gan = build_gan(spec)
    assert isinstance(gan, CycleGAN) and gan.network_names() == (
        "generator", "generator_ba", "discriminator", "discriminator_a")
    gan.compile(**build_optimizers(recipe["optimizers"], gan))
    assert isinstance(gan.optimizers["generator"]._learning_rate, LinearDecay)
    assert recipe["weights"]["sources"][0]["url"].endswith("/cyclegan/pretrained_models/horse2zebra.pth")
    # The reference's `--n_epochs 100 --n_epochs_decay 100` LambdaLR, stepped per epoch (epoch_count 1):
    # epoch e trains at 2e-4 * (1 - max(0, e + 1 - 100) / 101); an epoch is max(|trainA|, |trainB|) =
    # max(1067, 1334) images at batch 1.
    for name in ("generator", "discriminator"):
        schedule = gan.optimizers[name]._learning_rate
        for epoch in (0, 98, 99, 100, 149, 199):
            want = 2e-4 * (1 - max(0, epoch + 1 - 100) / 101)
            for step in (epoch * 1334, epoch * 1334 + 1333):
                assert abs(float(ops.convert_to_numpy(schedule(step))) - want) < 1e-10, (name, epoch, step)


# ------------------------------------------------------------------ learning
STEPS = 150
LOCAL_STEPS = 60
LOCAL_HOLD = 20  # G's learning rate is 0 for these first steps (see `local`)


@pytest.fixture(scope="module")
def short():
    """A small CycleGAN after 3 steps (pool of 8, filled): what the resume check saves."""
    from ganzoo.data.unpaired import digit_domains

    a, b = digit_domains(R, seed=0)
    gan = small_gan(seed=0, pool_size=8)
    gan.compile()
    gan.fit(a[:48], b[:48], batch_size=16, epochs=1, verbose=0)
    return gan


def _reads_as_the_digit(gan):
    """Fractions of held-out digits the reference classifier reads right after a2b (inverted back) and b2a."""
    from ganzoo.metrics.digits import _reference, to_digits8

    x, y = digits_with_labels(R)
    held, labels = x[1500:], y[1500:]  # not among the training images
    clf = _reference(R)[0]
    a2b = gan.translate(held, direction="a2b")
    b2a = gan.translate(-held, direction="b2a")
    return (float(np.mean(clf.predict(to_digits8(-a2b)) == labels)),  # G(a) is the inverted digit
            float(np.mean(clf.predict(to_digits8(b2a)) == labels)))   # F(b) is the digit


@pytest.fixture(scope="module")
def local():
    """CycleGAN with full-resolution generators (n_downsampling=0, n_blocks=0: 7x7 conv, norm, ReLU, 7x7
    conv; a 13x13 receptive field) and 1-layer PatchGANs with instance norm, trained 60 steps on digits
    (A) <-> inverted digits (B), unpaired.

    The paper-like networks can fall into maps that are cycle-consistent but wrong. (1) A digit
    permutation (the slow test's JAX seed 0): designed out, a 13x13 local map (plus instance norm's
    per-image statistics) cannot move shapes around. (2) The wrong polarity (bright strokes on grey):
    designed out by the start. Each G's last conv kernel is zeroed and its bias set to atanh(mean of
    its target domain), so G starts as the target's mean colour; G is held (learning rate 0) for the
    first 20 steps while the Ds learn; then its first gradients come from a D that already tells
    dark-on-light strokes from the constant image, and the polarity they set is the right one. Each
    piece is needed (TF/torch seeds 0-5, fraction read right): without the hold, TF s1 .01 and s3 .58;
    a 10-step hold, torch s1 .00; D without norm (its mean-brightness cue couples to polarity at
    random), TF s2, s3, s5 .00 even at lambda 1, so it is the adversarial landscape that holds the wrong
    polarity, not only the cycle loss. Identity loss off: with a near-pixelwise map it asks G(b) = b
    and G(a) = -a at once.
    """
    from ganzoo.data.unpaired import digit_domains

    a, b = digit_domains(R, seed=0)
    gan = small_gan(seed=0, pool_size=50, identity_weight=0.0, n_blocks=0, n_downsampling=0)
    for G, target in ((gan.generator, b), (gan.generator_ba, a)):
        out = G.get_layer("out_conv")
        out.kernel.assign(ops.zeros(out.kernel.shape))
        out.bias.assign(ops.full(out.bias.shape, float(np.arctanh(target.mean()))))
    hold = keras.optimizers.schedules.PiecewiseConstantDecay([LOCAL_HOLD - 1], [0.0, 2e-3])
    gan.compile(optimizers={"generator": keras.optimizers.Adam(hold, beta_1=0.5),
                            "discriminator": keras.optimizers.Adam(2e-3, beta_1=0.5)})
    n = LOCAL_STEPS // 3 * 16
    history = gan.fit(a[:n], b[:n], batch_size=16, epochs=3, verbose=0)
    return gan, history.history


def _assert_learned_inversion(gan, history):
    """Cycle losses fall, translations read as the digit both ways, and the history pool filled."""
    assert history["cycle_a"][-1] < 0.7 * history["cycle_a"][0]
    assert history["cycle_b"][-1] < 0.7 * history["cycle_b"][0]
    a2b, b2a = _reads_as_the_digit(gan)
    assert a2b >= 0.7 and b2a >= 0.7, (a2b, b2a)
    assert int(ops.convert_to_numpy(gan.pool_b.count.value)) == 50


# Robust across seeds (2026-12-02, this start; 60 steps, G held 20; fraction read right a2b/b2a, seeds 0-5):
#   TF   .87/.83 .95/.94 .93/.96 .92/.95 .94/.94 .95/.93
#   JAX  .88/.91 .95/.94 .97/.93 .88/.82 .94/.95 .95/.94
#   torch .96/.94 .95/.95 .96/.94 .93/.93 .87/.93 .96/.94
# (the test runs seed 0). Before this start, 3 of 6 TF seeds kept the wrong polarity (.00-.01).
def test_cyclegan_learns_digit_inversion_ci(local):
    _assert_learned_inversion(*local)


@pytest.fixture(scope="module")
def trained():
    """digits (A) <-> inverted digits (B), unpaired; identity loss off (it pulls G toward the identity map)."""
    from ganzoo.data.unpaired import digit_domains

    a, b = digit_domains(R, seed=0)
    gan = small_gan(seed=0, pool_size=50, identity_weight=0.0)
    gan.compile(optimizers={"generator": keras.optimizers.Adam(2e-3, beta_1=0.5),
                            "discriminator": keras.optimizers.Adam(2e-3, beta_1=0.5)})
    n = STEPS // 3 * 16
    history = gan.fit(a[:n], b[:n], batch_size=16, epochs=3, verbose=0)
    return gan, history.history


# Slow, the paper-like generator (two downsamplings, one residual block): ~150 steps of four networks
# (~90-120 s). Measured (shared CPU): torch seed 0 reads 92%/91%; JAX seed 0 falls into a cycle-consistent
# wrong bijection (cycle losses fall as on torch, but 0.7%/1.7% read right, far below chance), while JAX
# seeds 1 and 2 read 88%/84% and 92%/87%, and JAX seed 0 without the pool 90%/92%. The pool is checked
# equal to its eager history under stateless (compiled) calls: seed luck, not a backend bug. The default
# run's `local` check above is built so that it can learn neither a digit swap nor the wrong polarity.
@pytest.mark.slow
@pytest.mark.xfail(BACKEND == "jax", strict=False,
                   reason="JAX seed 0 learns a cycle-consistent digit permutation (0.7%/1.7% read right)")
def test_cyclegan_learns_digit_inversion(trained):
    _assert_learned_inversion(*trained)


RESUME = r"""
import json, sys
import numpy as np, keras
import ganzoo.models  # registers the classes
path, data, out = sys.argv[1:4]
gan = keras.saving.load_model(path)
d = np.load(data)
result = {"backend": keras.backend.backend(), "a2b": gan.translate(d["a"][:4], direction="a2b").tolist(),
          "b2a": gan.translate(d["b"][:4], direction="b2a").tolist(),
          "pool": int(keras.ops.convert_to_numpy(gan.pool_b.count.value)),
          "pool_images": float(np.abs(keras.ops.convert_to_numpy(gan.pool_b.images.value)).sum()),
          "loaded": {k: int(keras.ops.convert_to_numpy(o.iterations)) for k, o in gan.optimizers.items()}}
gan.fit(d["a"][:32], d["b"][:32], batch_size=16, epochs=1, verbose=0)
result["after"] = {k: int(keras.ops.convert_to_numpy(o.iterations)) for k, o in gan.optimizers.items()}
json.dump(result, open(out, "w"))
"""


def test_save_load_resume_on_another_backend(short, tmp_path):
    gan = short
    path, data, out = tmp_path / "cyclegan.keras", tmp_path / "x.npz", tmp_path / "out.json"
    gan.save(path)
    x = digits_with_labels(R)[0][1700:1732]
    np.savez(data, a=x, b=-x[::-1])
    steps = {k: int(ops.convert_to_numpy(o.iterations)) for k, o in gan.optimizers.items()}
    proc = subprocess.run([sys.executable, "-c", RESUME, str(path), str(data), str(out)],
                          env=env(KERAS_BACKEND=NEXT_BACKEND, PYTHONPATH=os.path.join(ROOT, "tests")),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["backend"] == NEXT_BACKEND
    np.testing.assert_allclose(result["a2b"], gan.translate(x[:4], direction="a2b"), atol=1e-5)
    np.testing.assert_allclose(result["b2a"], gan.translate(-x[::-1][:4], direction="b2a"), atol=1e-5)
    assert result["pool"] == 8  # the history pool came along
    assert abs(result["pool_images"] - float(np.abs(ops.convert_to_numpy(gan.pool_b.images.value)).sum())) < 1e-2
    assert result["loaded"] == steps
    assert result["after"] == {k: v + 2 for k, v in steps.items()}


# ---------------------------------------------------------------------- data
def test_unpaired_folders_arrays_and_errors(tmp_path):
    from ganzoo.data.unpaired import unpaired
    from ganzoo.utils.images import save_png

    rng = np.random.default_rng(0)
    for domain, count in (("trainA", 5), ("trainB", 3)):
        (tmp_path / domain).mkdir()
        for i in range(count):
            save_png(tmp_path / domain / f"{i}.png", rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
    ds = unpaired(tmp_path, resolution=8, batch_size=1)
    batches = list(ds)
    assert len(batches) == 5  # max(|A|, |B|): the smaller domain repeats
    assert batches[0]["a"].shape == (1, 8, 8, 3) and batches[0]["b"].shape == (1, 8, 8, 3)
    ds = unpaired(np.zeros((6, 8, 8, 1), "float32"), np.ones((2, 8, 8, 1), "float32"), resolution=8, batch_size=2)
    assert [float(np.asarray(b["b"]).mean()) for b in ds] == [1.0, 1.0, 1.0]
    (tmp_path / "trainB").rename(tmp_path / "B")
    with pytest.raises(ValueError, match=r"has no trainB/ folder") as e:
        unpaired(tmp_path, resolution=8)
    assert "\n" not in str(e.value)


def test_unpaired_tfds_cycle_gan_names():
    tfds = pytest.importorskip("tensorflow_datasets")
    from ganzoo.data.unpaired import domain_sources, unpaired

    assert domain_sources("tfds:cycle_gan/horse2zebra", split="test") == (
        "tfds:cycle_gan/horse2zebra:testA", "tfds:cycle_gan/horse2zebra:testB")
    with tfds.testing.mock_data(num_examples=4):
        batch = next(iter(unpaired("tfds:cycle_gan/horse2zebra", resolution=16, batch_size=2)))
    assert batch["a"].shape == (2, 16, 16, 3) and batch["b"].shape == (2, 16, 16, 3)
