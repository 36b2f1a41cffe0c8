"""InfoGAN (ganzoo/models/infogan): code layout and loss vs numpy, Q learns the codes, API, save/load."""

import numpy as np
import pytest

import keras
from keras import ops

from ganzoo.architectures import dcgan_discriminator, dcgan_generator
from ganzoo.data import builtin
from ganzoo.models.infogan import (InfoGAN, LatentCodes, clustering_loss, info_loss, infogan_discriminator,
                                   infogan_generator, infogan_q_head)


def test_latent_layout_and_numpy_draws():
    codes = LatentCodes(62, (10,), 2)
    assert codes.latent_dim == 74 and codes.q_dim == 12
    z = codes.sample_numpy(5, seed=0, categorical=[0, 3, 9, 3, 1], continuous=[0.5, -1.0])
    assert z.shape == (5, 74)
    np.testing.assert_array_equal(z[:, 62:72].argmax(1), [0, 3, 9, 3, 1])
    np.testing.assert_array_equal(z[:, 62:72].sum(1), np.ones(5))
    np.testing.assert_array_equal(z[:, 72:], np.tile([0.5, -1.0], (5, 1)))
    # the other latents come from the seed alone: fixing codes leaves them unchanged
    free = codes.sample_numpy(5, seed=0)
    np.testing.assert_array_equal(z[:, :62], free[:, :62])
    np.testing.assert_array_equal(codes.sample_numpy(5, seed=0, categorical=4)[:, 72:], free[:, 72:])
    drawn = codes.sample_numpy(2000, seed=1)
    assert set(drawn[:, 62:72].argmax(1)) == set(range(10))
    assert -1.0 <= drawn[:, 72:].min() and drawn[:, 72:].max() <= 1.0


def test_uniform_noise_draws_and_config():
    codes = LatentCodes(62, (10,), 2, noise="uniform")
    drawn = codes.sample_numpy(2000, seed=1)[:, :62]
    # U(-1, 1): inside [-1, 1], mean 0, variance 1/3; over 124,000 draws the mean's s.e. is 0.0016 and
    # the variance's 0.0008, so 0.01 is > 6 s.e. while N(0, 1) (var 1) or U(0, 1) (mean 0.5) fail it.
    assert -1.0 <= drawn.min() and drawn.max() <= 1.0
    assert abs(drawn.mean()) < 0.01 and abs(drawn.var() - 1 / 3) < 0.01
    np.testing.assert_array_equal(drawn, codes.sample_numpy(2000, seed=1)[:, :62])  # generate(seed=) reproducible
    normal = LatentCodes(62, (10,), 2).sample_numpy(2000, seed=1)[:, :62]
    assert abs(normal.var() - 1.0) < 0.03 and normal.max() > 3  # the default stays N(0, 1)
    config = codes.get_config()
    assert config["noise"] == "uniform" and LatentCodes(**config).get_config() == config
    with pytest.raises(ValueError, match="noise must be one of normal, uniform; got 'gaussian'"):
        LatentCodes(62, (10,), 2, noise="gaussian")
    G = dcgan_generator(latent_dim=74, resolution=16, channels=1, width=16)
    D = dcgan_discriminator(resolution=16, channels=1, width=16, return_features=True)
    gan = InfoGAN(G, D, noise="uniform", seed=0)
    restored = InfoGAN.from_config(gan.get_config())  # what a saved model reloads from
    assert restored.codes.noise == "uniform"
    np.testing.assert_array_equal(restored.sample_latents_numpy(4, seed=3), gan.sample_latents_numpy(4, seed=3))
    legacy = {k: v for k, v in gan.get_config().items() if k != "noise"}  # saved before the option existed
    assert InfoGAN.from_config(legacy).codes.noise == "normal"
    assert InfoGAN.from_config({**gan.get_config(), "real_info_weight": 0.3}).real_info_weight == 0.3
    with pytest.raises(ValueError, match="real_info_weight must be >= 0"):
        InfoGAN(G, D, real_info_weight=-1.0)


class _Draws:
    """The two training draws of `GAN` (random_normal, random_uniform) from one seed, for `LatentCodes.sample`."""

    def __init__(self):
        self.seed = keras.random.SeedGenerator(0)

    def random_normal(self, shape):
        return keras.random.normal(shape, seed=self.seed)

    def random_uniform(self, shape):
        return keras.random.uniform(shape, seed=self.seed)


def test_uniform_noise_in_the_training_sampler():
    z, cat, cont = LatentCodes(62, (10,), 2, noise="uniform").sample(_Draws(), 512)
    noise = ops.convert_to_numpy(z)[:, :62]
    # same bounds as the numpy draws (31,744 values: mean s.e. 0.003, variance s.e. 0.0017)
    assert -1.0 <= noise.min() and noise.max() <= 1.0
    assert abs(noise.mean()) < 0.02 and abs(noise.var() - 1 / 3) < 0.015
    assert ops.convert_to_numpy(z).shape == (512, 74) and tuple(cat.shape) == (512, 1)
    normal = ops.convert_to_numpy(LatentCodes(62, (10,), 2).sample(_Draws(), 512)[0])[:, :62]
    assert abs(normal.var() - 1.0) < 0.05


def test_info_loss_equals_numpy():
    codes = LatentCodes(4, (3, 2), 2)
    rng = np.random.default_rng(0)
    q = rng.standard_normal((6, codes.q_dim)).astype("float32")
    cat = np.stack([rng.integers(0, 3, 6), rng.integers(0, 2, 6)], 1).astype("int32")
    cont = rng.uniform(-1, 1, (6, 2)).astype("float32")

    def ce(logits, y):
        logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        return -logp[np.arange(len(y)), y].mean()

    ref_cat = ce(q[:, :3], cat[:, 0]) + ce(q[:, 3:5], cat[:, 1])
    ref_cont = 0.5 * np.mean((q[:, 5:] - cont) ** 2)
    got_cat, got_cont = info_loss(codes, ops.convert_to_tensor(q), ops.convert_to_tensor(cat), ops.convert_to_tensor(cont))
    assert float(got_cat) == pytest.approx(ref_cat, rel=1e-5)
    assert float(got_cont) == pytest.approx(ref_cont, rel=1e-5)


def test_clustering_loss_equals_numpy():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((8, 5)).astype("float32") * 2
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    ref = -np.mean(np.sum(p * np.log(p), 1)) + np.sum(p.mean(0) * np.log(p.mean(0)))
    assert float(clustering_loss(ops.convert_to_tensor(logits))) == pytest.approx(ref, rel=1e-5)
    # best: confident and balanced (-log 5); one confident category for all: 0 (collapse gains nothing)
    confident_balanced = ops.convert_to_tensor(np.tile(np.eye(5), (2, 1)) * 40.0)
    collapsed = ops.convert_to_tensor(np.tile([[40.0, 0, 0, 0, 0]], (8, 1)))
    assert float(clustering_loss(confident_balanced)) == pytest.approx(-np.log(5), abs=1e-4)
    assert float(clustering_loss(collapsed)) == pytest.approx(0.0, abs=1e-4)


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    x = builtin.load("digits", 16)[:640]
    G = dcgan_generator(latent_dim=74, resolution=16, channels=1, width=16)
    D = dcgan_discriminator(resolution=16, channels=1, width=16, return_features=True)
    gan = InfoGAN(G, D, seed=0)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3, 0.5), d_optimizer=keras.optimizers.Adam(2e-4, 0.5))
    history = gan.fit(x, batch_size=64, epochs=6, verbose=0)
    return gan, history.history


def test_q_learns_to_recover_the_codes(trained):
    gan, history = trained
    # Chance for a 10-way code is 0.1; the mutual-information term must make fakes' codes recoverable.
    assert history["q_accuracy"][-1] > 0.5, history["q_accuracy"]
    assert history["d_info"][-1] < 0.7 * history["d_info"][0], history["d_info"]
    assert set(history) >= {"d_loss", "g_loss", "d_info", "g_info", "q_accuracy"}


def test_generate_with_codes_and_traverse(trained):
    gan, _ = trained
    a = gan.generate(4, seed=0, categorical=3)
    b = gan.generate(4, seed=0, categorical=3, continuous=[1.5, 0.0])
    assert a.shape == (4, 16, 16, 1) and not np.allclose(a, b)
    np.testing.assert_array_equal(a, gan.generate(4, seed=0, categorical=3))
    grid = gan.traverse("categorical:0", rows=2, seed=0)
    assert grid.shape == (20, 16, 16, 1)
    np.testing.assert_allclose(grid[3], gan.generate(2, seed=0, categorical=3)[0], atol=1e-5)
    assert gan.traverse("continuous:1", rows=3, steps=5).shape == (15, 16, 16, 1)


def test_bad_codes_are_one_line_errors(trained):
    gan, _ = trained
    with pytest.raises(ValueError, match=r"categorical code 0 takes values in \[0, 10\); got 10"):
        gan.generate(2, seed=0, categorical=10)
    with pytest.raises(ValueError, match="continuous must have 2 value"):
        gan.generate(2, seed=0, continuous=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="Unknown code 'continuous:2'.*categorical:0, continuous:0, continuous:1"):
        gan.traverse("continuous:2")
    D = dcgan_discriminator(resolution=16, channels=1, width=16)
    with pytest.raises(ValueError, match="return_features=True"):
        InfoGAN(dcgan_generator(latent_dim=74, resolution=16, channels=1, width=16), D)


def test_save_load_same_samples(trained, tmp_path):
    gan, _ = trained
    path = tmp_path / "infogan.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.generate(6, seed=2, categorical=[0, 1, 2, 3, 4, 5]),
                               gan.generate(6, seed=2, categorical=[0, 1, 2, 3, 4, 5]), atol=1e-5)
    assert loaded.codes.get_config() == gan.codes.get_config()
    assert int(loaded.optimizers["discriminator"].iterations) == int(gan.optimizers["discriminator"].iterations)


def test_paper_networks_match_the_hand_count():
    # Chen et al. 2016, appendix C.1 (MNIST: 28x28, G's FC to 7x7x128), here at 8x8 (2x2x128) to keep the
    # build fast; counted by hand from the table (BN: 4 per channel; no biases before BN).
    G = infogan_generator(latent_dim=74, resolution=8)
    D = infogan_discriminator(resolution=8)
    Q = infogan_q_head((1024,), 12)
    s = 2  # resolution / 4
    g = 74 * 1024 + 4 * 1024 + 1024 * s * s * 128 + 4 * s * s * 128 + 16 * 128 * 64 + 4 * 64 + 16 * 64 + 1
    d = 16 * 64 + 64 + 16 * 64 * 128 + 4 * 128 + s * s * 128 * 1024 + 4 * 1024 + 1024 + 1
    q = 1024 * 128 + 4 * 128 + 128 * 12 + 12
    assert (G.count_params(), D.count_params(), Q.count_params()) == (g, d, q)
    assert G.output.shape == (None, 8, 8, 1) and D.output["features"].shape == (None, 1024)
    with pytest.raises(ValueError, match="divisible by 4"):
        infogan_generator(resolution=30)


# 20 epochs of infogan-digits: ~30 s TF, ~110 s JAX, ~90 s torch (2 shared cores); sweep: tools/infogan_digits.py
@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 14's InfoGAN target is not met on seed 0 (min purity 0.36-0.48); "
                   "strict: an XPASS says the recipe now meets it")
def test_recipe_categorical_code_picks_out_digits():
    from ganzoo import training
    from ganzoo.metrics.digits import code_digit_purity

    gan, _ = training.train("infogan-digits", seed=0, verbose=0)
    report = code_digit_purity([gan.generate(100, seed=1000 + v, categorical=v) for v in range(10)])
    # Issue 14's target, read per value: "with each categorical value fixed, the classifier labels >= 80%
    # of the samples as one digit" is a claim about every value, so the minimum over the ten values is
    # asserted (a mean would let one value mixing two digits 50/50 hide behind nine pure ones), plus
    # >= 8 different majority digits (a collapsed G or an ignored code gives 1-3).
    # NOT met robustly, so this test is a strict xfail (seed 0 misses on all three backends): the recipe
    # (uniform noise, G EMA 0.99, clustering weight 0.3) met it on TF in 3 of seeds 0-9 (1, 4, 8; average
    # min 0.67, mean 0.92; the paper's recipe: 1 of 10, average min 0.55), JAX 1 of seeds 0-2 (2)
    # and torch 0 of seeds 0-1; seed 0 measured min 0.48 (TF), 0.48 (JAX), 0.36 (torch), with one or two
    # values mixing 1, 8 and 9 (this test on TF: min 0.48, 23 s). Per-seed numbers and settings tried:
    # zoo_configs/infogan-digits.yaml.
    assert report["min_purity"] >= 0.8 and report["distinct_digits"] >= 8, report
