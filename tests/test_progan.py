"""Progressive GAN (ganzoo/models/progan): the fade-in is continuous, alpha follows the schedule,
the step's loss is WGAN-GP + drift, the paper's parameter counts, learning on digits, and a
mid-fade model saved here samples and resumes the same on another backend."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import keras
from keras import ops

import ganzoo
from conftest import BACKEND
from ganzoo import recipes
from ganzoo.data import builtin
from ganzoo.engine.penalties import Drift, GradientPenalty
from ganzoo.factory import build_network
from ganzoo.metrics.digits import digits_quality
from ganzoo.models.progan import (
    ProGAN,
    ProGANGenerator,
    fade_alpha,
    progan_discriminator,
    progan_generator,
    stage_length,
)
from processes import ROOT, env

NEXT_BACKEND = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}[BACKEND]
WIDTHS = {"fmap_base": 128, "fmap_max": 32}  # nf = 32, 32, 32, 16: few distinct shapes (JAX compiles per shape)
LATENT = 32


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def _up(x):  # nearest 2x, numpy
    return x.repeat(2, axis=1).repeat(2, axis=2)


def _pool(x):  # 2x2 average, numpy
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def _gan(**kwargs):
    G = progan_generator(LATENT, 16, 1, **WIDTHS)
    D = progan_discriminator(16, 1, **WIDTHS)
    gan = ProGAN(G, D, seed=0, **kwargs)
    gan.compile(g_optimizer=keras.optimizers.Adam(3e-3, 0.0, 0.99), d_optimizer=keras.optimizers.Adam(3e-3, 0.0, 0.99))
    return gan


# ------------------------------------------------------------------ networks, no training
@pytest.fixture(scope="module")
def nets():
    keras.utils.set_random_seed(0)
    return progan_generator(LATENT, 16, 1, **WIDTHS), progan_discriminator(16, 1, **WIDTHS)


@pytest.mark.parametrize("stage", [1, 2])
def test_fade_in_start_equals_previous_stage(nets, stage):
    G, D = nets
    rng = np.random.default_rng(stage)
    z = rng.normal(size=(8, LATENT)).astype("float32")
    before = _np(G(z, stage=stage - 1, alpha=1.0))
    grown = _np(G(z, stage=stage, alpha=0.0))
    np.testing.assert_allclose(grown, _up(before), atol=1e-6)  # G: the previous output upsampled (nearest)
    assert np.abs(_np(G(z, stage=stage, alpha=1.0)) - grown).max() > 1e-3  # the new block is really there
    r = 4 * 2**stage
    x = rng.uniform(-1, 1, (8, r, r, 1)).astype("float32")
    np.testing.assert_allclose(_np(D(x, stage=stage, alpha=0.0)),
                               _np(D(_pool(x).astype("float32"), stage=stage - 1)), atol=1e-5, rtol=1e-5)
    half = _np(G(z, stage=stage, alpha=0.25))  # and alpha interpolates linearly between the two paths
    np.testing.assert_allclose(half, 0.75 * grown + 0.25 * _np(G(z, stage=stage, alpha=1.0)), atol=1e-5)


def _paper_counts(latent=512, channels=3, resolution=1024):
    """Parameter counts of the paper's Table 2 networks, counted layer by layer (weights + biases)."""
    nf = lambda s: min(int(8192 / 2.0**s), 512)  # noqa: E731
    conv = lambda k, i, o: k * k * i * o + o  # noqa: E731
    top = int(np.log2(resolution))
    g = latent * 16 * nf(1) + nf(1) + conv(3, nf(1), nf(1))  # 4x4: dense (per-channel bias), conv
    d = conv(3, nf(1) + 1, nf(1)) + 16 * nf(1) * nf(0) + nf(0) + nf(0) + 1  # 4x4: mbstd, conv, dense, dense
    for r in range(2, top + 1):
        g += conv(1, nf(r - 1), channels)  # toRGB
        d += conv(1, channels, nf(r - 1))  # fromRGB
        if r > 2:
            g += conv(3, nf(r - 2), nf(r - 1)) + conv(3, nf(r - 1), nf(r - 1))
            d += conv(3, nf(r - 1), nf(r - 1)) + conv(3, nf(r - 1), nf(r - 2))
    return g, d


def test_celebahq1024_recipe_has_the_papers_networks():
    recipe = recipes.get("progan-celebahq1024")
    with keras.StatelessScope(initialize_variables=False):  # shapes only: no 46M random draws
        G = build_network(recipe["model"]["generator"], "generator")
        D = build_network(recipe["model"]["discriminator"], "discriminator")
    g, d = _paper_counts()
    assert (G.count_params(), D.count_params()) == (g, d) == (23_079_115, 23_087_249)
    assert round(g / 1e6, 1) == 23.1 and round(d / 1e6, 1) == 23.1  # the paper: 23.1M each
    assert G.num_stages == 9 and recipe["model"]["extra"]["fade_kimg"] == 600
    assert [G.nf_function()(s + 1) for s in range(9)] == [512, 512, 512, 512, 256, 128, 64, 32, 16]


def test_schedule_numbers():
    assert [fade_alpha(1, n, 600) for n in (0, 150_000, 600_000, 900_000)] == [0.0, 0.25, 1.0, 1.0]
    assert fade_alpha(0, 0, 600) == 1.0 and fade_alpha(3, 10, 0) == 1.0
    assert stage_length(0, 600, 600) == 600_000 and stage_length(4, 600, 600) == 1_200_000


def test_gradient_penalty_and_drift_equal_numpy(nets):
    """GP at x_hat = x (fakes = reals) against central finite differences of sum_j D(x)_j; drift = E[D(x)^2]."""
    G, D = nets
    gan = ProGAN(G, D, seed=0, ema_decay=None)  # stage 0: 4x4x1, 16 inputs per image
    x = np.random.default_rng(3).uniform(-1, 1, (8, 4, 4, 1)).astype("float32")  # 8: the shapes used above
    logits = _np(D(x, stage=0))[:, 0]
    xt = ops.convert_to_tensor(x)
    assert float(_np(Drift(0.001)(gan, {"x": xt}, None))) == pytest.approx(np.mean(logits**2), rel=1e-5)
    # Every one-value perturbation of the 8-image batch, +eps and -eps: 2 * 128 copies of the batch in one
    # call. mbstd couples groups of 4 (image i of N is in group i mod N/4), so copy k's image j sits at
    # j*K + k: each copy forms its own two groups, as the batch does alone.
    eps, k = 3e-4, 2 * x.size  # small: a leaky-ReLU kink within eps of a point biases its difference
    copies = np.repeat(x[None], k, axis=0)
    for i, idx in enumerate(np.ndindex(*x.shape)):
        copies[(2 * i, *idx)] += eps
        copies[(2 * i + 1, *idx)] -= eps
    big = copies.transpose(1, 0, 2, 3, 4).reshape(8 * k, 4, 4, 1)
    sums = _np(D(big, stage=0)).reshape(8, k).sum(0)  # sum_j D(copy)_j per copy
    norms = np.sqrt((((sums[0::2] - sums[1::2]) / (2 * eps)) ** 2).reshape(8, -1).sum(1))
    gp0 = float(_np(GradientPenalty(10.0, target=0.0)(gan, {"x": xt}, {"x": xt})))  # E ||g||^2
    gp1 = float(_np(GradientPenalty(10.0)(gan, {"x": xt}, {"x": xt})))  # E (||g|| - 1)^2, the paper's
    assert gp0 == pytest.approx(np.mean(norms**2), rel=1e-2)
    # E(||g|| - 1)^2 = E||g||^2 - 2 E||g|| + 1: compared through E||g||, as (||g|| - 1)^2 magnifies the
    # finite differences' error.
    assert (gp0 - gp1 + 1.0) / 2.0 == pytest.approx(np.mean(norms), rel=1e-2)


def test_bad_stages_are_one_line_errors(nets):
    G, D = nets
    for bad in (3, -1, 1.5):
        with pytest.raises(ValueError, match=r"stage .* is beyond the final resolution: .* 4x4 to 16x16") as e:
            ProGAN(G, D, stage=bad)
        assert "\n" not in str(e.value)
    gan = ProGAN(G, D, stage=2)
    with pytest.raises(ValueError, match="beyond the final resolution"):
        gan.grow()
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        G(np.zeros((1, LATENT), "float32"), stage=5)
    with pytest.raises(ValueError, match="power of two"):
        ProGANGenerator(resolution=24)
    with pytest.raises(ValueError, match="trains on 16x16 images"):
        gan.check_batch({"x": np.zeros((4, 12, 12, 1), "float32")})


# ------------------------------------------------------------------ training
@pytest.fixture(scope="module")
def trained():
    """Stage 0 (4x4) then stage 1 (8x8, fade + stabilize) on digits: 100 + 200 steps of 16."""
    keras.utils.set_random_seed(0)
    x = builtin.load("digits", 16)
    gan = _gan(fade_kimg=1.6, stable_kimg=1.6, ema_decay=0.99)
    gan.set_stage(1)  # the untrained G's 8x8 samples, then back to 4x4
    before = gan.generate(500, seed=5)
    gan.set_stage(0)
    runs = gan.fit_stages(x, batch_size=16, final_stage=1)
    return {"gan": gan, "x": x, "runs": runs, "before": before, "after": gan.generate(500, seed=5),
            "iterations": {k: int(_np(o.iterations)) for k, o in gan.optimizers.items()}}


def test_fit_stages_runs_the_schedule_and_learns(trained):
    gan, runs = trained["gan"], trained["runs"]
    assert [s for s, _ in runs] == [0, 1] and gan.stage == 1
    assert trained["iterations"] == {"discriminator": 300, "generator": 300}
    assert int(_np(gan.stage_images)) == 3200 and float(_np(gan.current_alpha())) == 1.0
    alpha = runs[1][1].history["alpha"]  # per-epoch means of the logged alpha: 112 steps, then 88
    expected = [fade_alpha(1, 16 * i, 1.6) for i in range(200)]
    np.testing.assert_allclose(alpha, [np.mean(expected[:112]), np.mean(expected[112:])], rtol=1e-5)
    before, after = trained["before"], trained["after"]
    assert before.shape == after.shape == (500, 8, 8, 1)
    q0, q1 = digits_quality(before), digits_quality(after)
    # Frechet distance of PCA-20 digit features: untrained ~1000 (blurred noise ~960), after these 300
    # steps ~300-500, real held-out digits ~10.
    assert q1["frechet_pca"] < 0.6 * q0["frechet_pca"], (q0["frechet_pca"], q1["frechet_pca"])


@pytest.fixture(scope="module")
def grown(trained):
    """The trained model grown to stage 2 and trained 4 one-step epochs (alpha 0 .. 0.03)."""
    gan = trained["gan"]
    out = {"stage1": gan.generate(6, seed=1)}
    gan.grow()
    out["fresh"] = gan.generate(6, seed=1)
    batch = trained["x"][:16]
    faded = _up(_pool(batch)).astype("float32")  # alpha = 0: the reals are their 8x8 version, upsampled
    out["pre_logits"] = _np(gan.discriminator(faded, stage=2, alpha=0.0))[:, 0]
    out["history"] = gan.fit(batch, batch_size=16, epochs=4, shuffle=False, verbose=0).history
    return out


def test_grown_model_starts_where_the_last_stage_ended(grown, trained):
    assert grown["fresh"].shape == (6, 16, 16, 1)
    np.testing.assert_allclose(grown["fresh"], _up(grown["stage1"]), atol=1e-6)


def test_one_step_loss_is_wgan_gp_plus_drift(grown):
    h, logits = grown["history"], grown["pre_logits"]
    assert h["d_real"][0] == pytest.approx(np.mean(logits), rel=1e-4, abs=1e-5)
    assert h["drift"][0] == pytest.approx(np.mean(logits**2), rel=1e-4, abs=1e-6)
    expected = h["d_fake"][0] - h["d_real"][0] + 10.0 * h["gp"][0] + 0.001 * h["drift"][0]
    assert h["d_loss"][0] == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_alpha_follows_the_schedule_in_training(grown, trained):
    gan = trained["gan"]
    np.testing.assert_allclose(grown["history"]["alpha"], [fade_alpha(2, 16 * i, 1.6) for i in range(4)], atol=1e-6)
    assert int(_np(gan.stage_images)) == 64
    assert float(_np(gan.current_alpha())) == pytest.approx(0.04)
    assert int(_np(gan.optimizers["generator"].iterations)) == 304


RESUME = r"""
import json, sys
import numpy as np, keras
import ganzoo
path, preset, data, out = sys.argv[1:5]
gan = keras.saving.load_model(path)
x = np.load(data)
r = {"backend": keras.backend.backend(), "stage": gan.stage, "images": int(np.asarray(gan.stage_images.numpy())),
     "alpha": float(np.asarray(keras.ops.convert_to_numpy(gan.current_alpha()))),
     "samples": gan.generate(4, seed=2).tolist(), "preset": ganzoo.load(preset).generate(4, seed=2).tolist(),
     "loaded": {k: int(keras.ops.convert_to_numpy(o.iterations)) for k, o in gan.optimizers.items()}}
h = gan.fit(x, batch_size=16, epochs=2, verbose=0).history
r.update(alpha_log=h["alpha"], images_after=int(np.asarray(gan.stage_images.numpy())),
         after={k: int(keras.ops.convert_to_numpy(o.iterations)) for k, o in gan.optimizers.items()})
json.dump(r, open(out, "w"))
"""


def test_mid_fade_save_load_resume_on_another_backend(grown, trained, tmp_path):
    gan = trained["gan"]
    path, preset, data, out = tmp_path / "progan.keras", tmp_path / "preset", tmp_path / "x.npy", tmp_path / "o.json"
    gan.save(path)
    gan.save_to_preset(preset, samples=False)
    np.save(data, trained["x"][:16])
    here = gan.generate(4, seed=2)
    np.testing.assert_allclose(ganzoo.load(str(preset)).generate(4, seed=2), here, atol=1e-6)  # this backend
    proc = subprocess.run([sys.executable, "-c", RESUME, str(path), str(preset), str(data), str(out)],
                          env=env(KERAS_BACKEND=NEXT_BACKEND, PYTHONPATH=os.path.join(ROOT, "tests")),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["backend"] == NEXT_BACKEND and r["stage"] == 2 and r["images"] == 64
    assert r["alpha"] == pytest.approx(0.04)
    np.testing.assert_allclose(r["samples"], here, atol=1e-5)
    np.testing.assert_allclose(r["preset"], here, atol=1e-5)
    assert r["loaded"] == {"discriminator": 304, "generator": 304}
    assert r["after"] == {"discriminator": 306, "generator": 306} and r["images_after"] == 96
    np.testing.assert_allclose(r["alpha_log"], [0.04, 0.05], atol=1e-6)


def test_weights_only_resume_regrows_to_the_stored_stage(grown, trained, tmp_path):
    gan = trained["gan"]
    gan.save_weights(tmp_path / "w.weights.h5")
    fresh = _gan(fade_kimg=1.6, stable_kimg=1.6, ema_decay=0.99)  # built at stage 0
    fresh.load_weights(tmp_path / "w.weights.h5")
    fresh.sync_stage()
    assert fresh.stage == 2 and fresh.sample_shape == (16, 16, 1)
    np.testing.assert_allclose(fresh.generate(4, seed=2), gan.generate(4, seed=2), atol=1e-6)


def test_digits_recipe_builds():
    from ganzoo.training import build

    gan = build(recipes.get("progan-digits"), seed=0)
    assert isinstance(gan, ProGAN) and gan.stage == 0 and gan.sample_shape == (4, 4, 1)
    assert gan.resolution == 16 and [type(p).__name__ for p in gan.regularizers] == ["GradientPenalty", "Drift"]
