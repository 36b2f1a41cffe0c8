"""SNGAN, SAGAN and BigGAN on every backend: the reference parameter counts of the recipes
(mimicry's sngan_32, BigGAN-PyTorch's CIFAR defaults and ImageNet 128x128, counted from a
symbolic build), hierarchical z splits as specified, a small BigGAN that must learn two
class colours, preset round trips with the truncation trick, and one-line errors."""

import contextlib

import keras
import numpy as np
import pytest
from keras import ops

import ganzoo
from ganzoo import recipes
from ganzoo.engine import latents as latents_lib
from ganzoo.factory import build_network
from ganzoo.models.biggan import BigGAN, OrthogonalRegularization, biggan_discriminator, biggan_generator
from ganzoo.models.sngan import sngan_discriminator, sngan_generator


def trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def to_np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


@contextlib.contextmanager
def shapes_only():
    """Build networks whose variables have shapes but no values (never initialized).

    Keras defers the values of variables made in a StatelessScope and, by default, fills
    them in at its exit; here they are left out and dropped from Keras's pending list, so
    counting 158 M parameters costs neither memory nor initialization time.
    """
    from keras.src.backend.common import global_state  # the pending list has no public API

    before = list(global_state.get_global_attribute("uninitialized_variables", None) or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        global_state.set_global_attribute("uninitialized_variables", before)


# ----------------------------------------------------------------------------- parameter counts
@pytest.mark.parametrize(
    "recipe, g_count, d_count",
    [
        ("sngan-cifar10", 4_276_739, 1_053_825),  # mimicry sngan_32
        ("biggan-cifar10", 4_304_387, 4_207_361),  # BigGAN-PyTorch CIFAR defaults
        ("biggan-imagenet128", 70_433_988, 87_982_370),  # BigGAN-PyTorch ImageNet 128x128
    ],
)
def test_recipe_networks_have_the_reference_parameter_counts(recipe, g_count, d_count):
    model = recipes.get(recipe)["model"]
    with shapes_only():
        G = build_network(model["generator"], "generator")
        D = build_network(model["discriminator"], "discriminator")
    assert (trainable(G), trainable(D)) == (g_count, d_count)


def test_projection_and_sagan_counts_follow_from_their_extra_layers():
    with shapes_only():
        plain = sngan_discriminator(resolution=32)
        projection = sngan_discriminator(resolution=32, num_classes=10)
        sagan = recipes.get("sagan-cifar10")["model"]
        G = build_network(sagan["generator"], "generator")
        D = build_network(sagan["discriminator"], "discriminator")
    assert trainable(projection) - trainable(plain) == 10 * 128  # the class embedding
    # One attention layer on 256 channels: theta, phi (256 -> 32), g (256 -> 128), o (128 -> 256), gamma.
    attention = 2 * 256 * 32 + 256 * 128 + 128 * 256 + 1
    assert trainable(G) == 4_304_387 + attention and trainable(D) == 4_207_361 + attention


# ----------------------------------------------------------------------------- hierarchical latents
def test_hierarchical_z_feeds_one_chunk_to_the_input_and_one_per_block():
    G = biggan_generator(latent_dim=24, resolution=16, width=2, num_classes=3, shared_dim=5, attention=(), init="N02")
    blocks = 2  # 16x16: two up blocks -> z in 3 chunks of 8
    probe = keras.Model(G.inputs, [G.get_layer("linear_sn").input, G.get_layer("shared").output]
                        + [G.get_layer(f"cond{i}").output for i in range(blocks)])
    z = np.random.default_rng(0).normal(size=(4, 24)).astype("float32")
    y = np.array([0, 2, 1, 2], "int32")
    first, shared, *conds = [to_np(t) for t in probe([z, y])]
    np.testing.assert_allclose(first, z[:, :8], atol=1e-6)
    for i, c in enumerate(conds):
        np.testing.assert_allclose(c, np.concatenate([shared, z[:, 8 * (i + 1) : 8 * (i + 2)]], axis=1), atol=1e-6)
    np.testing.assert_allclose(shared, to_np(G.get_layer("shared").embeddings)[y], atol=1e-6)
    # Every block's batch norms read its own condition: 5 (shared) + 8 (chunk) inputs.
    assert tuple(G.get_layer("block0").bn1.gain.layer.kernel.shape) == (13, 8)
    with pytest.raises(ValueError, match="latent_dim=25 is not divisible by 3"):
        biggan_generator(latent_dim=25, resolution=16, width=2, num_classes=3, shared_dim=5, attention=())


# ----------------------------------------------------------------------------- learning
COLOURS = np.array([[0.8, -0.8, -0.8], [-0.8, -0.8, 0.8]], "float32")  # class 0 red, class 1 blue


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    G = biggan_generator(latent_dim=24, resolution=16, width=4, num_classes=2, shared_dim=8, attention=(16,),
                         init="N02")
    D = biggan_discriminator(resolution=16, width=4, num_classes=2, attention=(8,), init="N02")
    gan = BigGAN(G, D, latent_dim=24, num_classes=2, objective="hinge", d_steps=1, ema_decay=0.9,
                 penalties=[OrthogonalRegularization(1e-4)], seed=0)
    gan.compile(g_optimizer=keras.optimizers.Adam(2e-3, 0.0, 0.9), d_optimizer=keras.optimizers.Adam(2e-3, 0.0, 0.9))
    y = (np.arange(256) % 2).astype("int32")
    x = np.broadcast_to(COLOURS[y][:, None, None, :], (256, 16, 16, 3)).astype("float32")
    before = [gan.generate(32, seed=1, labels=c).mean(axis=(0, 1, 2)) for c in (0, 1)]
    history = gan.fit(x, y, batch_size=32, epochs=EPOCHS, verbose=0)
    return gan, before, history.history


EPOCHS = 8  # 64 steps of batch 32


def test_small_biggan_learns_the_colour_of_each_class(trained):
    gan, before, history = trained
    assert np.isfinite(history["orthogonal"][-1]) and history["orthogonal"][-1] > 0
    means = [gan.generate(64, seed=2, labels=c).mean(axis=(0, 1, 2)) for c in (0, 1)]
    for c in (0, 1):
        assert np.abs(before[c] - COLOURS[c]).max() > 0.5  # untrained: nowhere near the colours
        assert np.abs(means[c] - COLOURS[c]).max() < 0.45, (c, means[c])
    # The label steers the colour: red minus blue is (+1.6, 0, -1.6) in the data, ~0 untrained.
    shift = means[0] - means[1]
    assert shift[0] > 0.8 and shift[2] < -0.8 and abs(before[0] - before[1]).max() < 0.3, (shift, before)


def test_preset_round_trip_gives_the_same_samples_with_and_without_truncation(trained, tmp_path):
    gan = trained[0]
    gan.save_to_preset(tmp_path / "biggan", samples=False)
    back = ganzoo.load(str(tmp_path / "biggan"))
    assert type(back) is BigGAN and back.num_classes == 2
    assert [p.name for p in back.regularizers] == ["orthogonal"] and back.regularizers[0].beta == 1e-4
    labels = [0, 1, 1, 0]
    np.testing.assert_allclose(back.generate(4, seed=3, labels=labels), gan.generate(4, seed=3, labels=labels),
                               atol=1e-5)
    np.testing.assert_allclose(back.generate(4, seed=3, labels=labels, truncation=0.4),
                               gan.generate(4, seed=3, labels=labels, truncation=0.4), atol=1e-5)


def test_truncation_draws_scaled_truncated_normals(trained):
    gan = trained[0]
    z = gan.sample_latents_numpy(2000, seed=0, truncation=0.5)
    assert np.abs(z).max() <= 1.0 + 1e-6 and np.abs(z).max() > 0.99
    np.testing.assert_array_equal(z, latents_lib.sample_truncated_normal(2000, 24, 0.5, seed=0))
    np.testing.assert_array_equal(gan.sample_latents_numpy(3, seed=0), latents_lib.sample_normal(3, 24, seed=0))
    # Truncation is applied to the latents the images come from.
    z4 = gan.sample_latents_numpy(4, seed=5, truncation=0.3)
    np.testing.assert_allclose(gan.generate(4, seed=5, labels=1, truncation=0.3),
                               gan.generate(latents=z4, labels=1), atol=1e-6)


def test_bad_sampling_input_is_a_one_line_error(trained):
    gan = trained[0]
    for bad in (0.0, 1.5, -0.2, "high"):
        with pytest.raises(ValueError, match=r"truncation.*\(0, 1\]") as err:
            gan.generate(2, seed=0, labels=0, truncation=bad)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"labels must be class ids in \[0, 2\); got \[2, 5\]"):
        gan.generate(3, seed=0, labels=[0, 2, 5], truncation=0.5)
    with pytest.raises(ValueError, match="latents= are used as given"):
        gan.generate(latents=np.zeros((2, 24), "float32"), labels=0, truncation=0.5)


# ----------------------------------------------------------------------------- SNGAN
def test_conditional_sngan_trains_a_few_steps_and_round_trips(tmp_path):
    G = sngan_generator(latent_dim=8, resolution=16, channels=1, width=8, num_classes=3)
    D = sngan_discriminator(resolution=16, channels=1, width=8, num_classes=3)
    # d_steps=1 here: five unrolled D phases cost minutes of graph compilation on TF for a smoke test.
    gan = ganzoo.GAN(G, D, latent_dim=8, objective="hinge", d_steps=1, num_classes=3)
    gan.compile(g_optimizer=keras.optimizers.Adam(2e-4, 0.0, 0.9), d_optimizer=keras.optimizers.Adam(2e-4, 0.0, 0.9))
    x = np.random.default_rng(0).uniform(-1, 1, size=(16, 16, 16, 1)).astype("float32")
    history = gan.fit(x, np.arange(16) % 3, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])
    sngan = recipes.get("sngan-cifar10")
    assert sngan["model"]["d_steps"] == 5 and sngan["model"]["objective"] == "hinge"
    assert sngan["optimizers"]["generator"] == {"name": "adam", "learning_rate": 2e-4, "beta_1": 0.0, "beta_2": 0.9}
    gan.save_to_preset(tmp_path / "sngan", samples=False)
    back = ganzoo.load(str(tmp_path / "sngan"))
    np.testing.assert_allclose(back.generate(3, seed=1, labels=[0, 1, 2]), gan.generate(3, seed=1, labels=[0, 1, 2]),
                               atol=1e-5)


# ----------------------------------------------------------------------------- bad configurations
def test_unmakeable_architectures_are_one_line_errors():
    cases = [
        (lambda: sngan_generator(resolution=48), "power of two >= 16 .* got resolution=48"),
        (lambda: sngan_discriminator(resolution=8), "power of two >= 16 .* got resolution=8"),
        (lambda: biggan_generator(resolution=48), r"resolutions 16, 32, 64, 128, 256, 512; got resolution=48"),
        (lambda: biggan_discriminator(resolution=100), "got resolution=100"),
        (lambda: biggan_generator(resolution=32, latent_dim=128, num_classes=10, shared_dim=0, hierarchical=False,
                                  attention=(64,)), r"attention at \[64\].* blocks run at 8, 16, 32"),
        (lambda: biggan_generator(resolution=32, latent_dim=128, num_classes=10, shared_dim=0),
         "hierarchical=True .* set shared_dim > 0"),
        (lambda: biggan_generator(resolution=32, num_classes=1), "num_classes must be an integer >= 2"),
        (lambda: biggan_generator(resolution=32, init="he"), "init must be one of ortho, N02, glorot"),
    ]
    for build, message in cases:
        with pytest.raises(ValueError, match=message) as err:
            build()
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="BigGAN is class-conditional: num_classes must be an integer >= 2"):
        BigGAN(None, None, latent_dim=24, num_classes=0)  # checked before the networks are touched
