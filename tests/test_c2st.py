"""The classifier two-sample test: chance on identical distributions, ~1 on different ones, exact intervals."""

import numpy as np
import pytest

import ganzoo
from ganzoo.data.builtin import digits_with_labels
from ganzoo.metrics import c2st
from ganzoo.metrics.c2st import clopper_pearson
from ganzoo.metrics.evaluate import check_metrics, evaluate
from ganzoo.metrics.reference import ReferenceStats


def test_clopper_pearson_equals_scipy_and_closed_forms():
    from scipy.stats import binomtest

    for k, n in ((0, 20), (7, 20), (50, 100), (100, 100), (613, 1000)):
        ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        np.testing.assert_allclose(clopper_pearson(k, n), (ref.low, ref.high), atol=1e-12)
    # Closed forms at the edges: (alpha/2)^(1/n).
    assert clopper_pearson(0, 20)[1] == pytest.approx(1 - 0.025 ** (1 / 20))
    assert clopper_pearson(20, 20)[0] == pytest.approx(0.025 ** (1 / 20))


def test_identical_distributions_are_at_chance():
    rng = np.random.default_rng(0)
    result = c2st(rng.normal(size=(1500, 8)), rng.normal(size=(1500, 8)), seed=0)
    low, high = result["interval"]
    assert low <= 0.5 <= high and abs(result["accuracy"] - 0.5) < 0.05
    assert result["num_test"] == 1500 and result["p_value"] > 0.05
    protocol = result["protocol"]
    assert protocol["seed"] == 0 and protocol["test_fraction"] == 0.5 and protocol["epochs"] == 100
    assert protocol["interval"].startswith("Clopper-Pearson")


def test_real_digits_halves_are_at_chance_and_noise_is_not():
    images, _ = digits_with_labels(16)
    order = np.random.default_rng(1).permutation(len(images))
    a, b = images[order[:898]], images[order[898:1796]]
    same = c2st(a, b, features="digits", seed=0)
    assert same["interval"][0] <= 0.5 <= same["interval"][1] and same["protocol"]["features"] == "digits"
    blurred = np.clip(b + np.random.default_rng(2).normal(scale=0.3, size=b.shape), -1, 1).astype("float32")
    different = c2st(a, blurred, features="digits", seed=0)
    assert different["accuracy"] > 0.95 and different["interval"][0] > 0.9


def test_clearly_different_distributions_are_told_apart():
    rng = np.random.default_rng(3)
    result = c2st(rng.normal(size=(800, 8)), rng.normal(size=(800, 8)) + 2.0, seed=0)
    assert result["accuracy"] > 0.97 and result["interval"][0] > 0.95 and result["p_value"] < 1e-10


def test_bad_input_is_a_one_line_error():
    x = np.zeros((50, 4))
    with pytest.raises(ValueError, match="one shape"):
        c2st(x, np.zeros((50, 5)))
    with pytest.raises(ValueError, match="at least 10 samples"):
        c2st(x[:5], x[:5])
    with pytest.raises(ValueError, match="features must be one of"):
        c2st(x, x, features="lpips")
    with pytest.raises(ValueError, match="test_fraction"):
        c2st(x, x, test_fraction=1.0)


class _Features:
    """A stand-in for Inception: the images' 2x2 block means, as 'pool' features."""

    batch_size = 32
    protocol = {"network": "block-mean", "weights_sha256": "0" * 64}

    def __call__(self, images):
        x = np.asarray(images, np.float32) / 255.0
        n, h, w, c = x.shape
        return {"pool": x.reshape(n, 2, h // 2, 2, w // 2, c).mean((2, 4)).reshape(n, -1)}


def test_evaluate_and_cli_know_c2st():
    assert "c2st" in check_metrics(["c2st"]) and ganzoo.metrics.c2st is c2st
    rng = np.random.default_rng(4)
    real = rng.integers(0, 128, (400, 4, 4, 3), dtype=np.uint8)
    extractor = _Features()
    feats = extractor(real)["pool"].astype(np.float64)
    ref = ReferenceStats(feats.mean(0), np.cov(feats, rowvar=False), num_samples=400, features=feats)
    fake = rng.integers(128, 256, (400, 4, 4, 3), dtype=np.uint8)  # brighter: easy to tell
    result = evaluate(fake, ref, ("c2st",), extractor, progress=False)
    assert result["c2st"] > 0.95 and result["c2st_interval"][0] > 0.9
    assert result["protocol"]["c2st"]["seed"] == 0
    with pytest.raises(ValueError, match="need a reference"):
        evaluate(fake, None, ("c2st",), extractor, progress=False)
    from ganzoo.callbacks import GANMetrics

    with pytest.raises(ValueError, match="needs reference="):
        GANMetrics(metrics=("c2st",))
