"""Metric statistics against closed forms, scipy and brute-force references."""

import os
import warnings

import numpy as np
import pytest
from scipy import linalg
from scipy import stats as scipy_stats

from ganzoo.metrics import fid as fid_module
from ganzoo.metrics.evaluate import evaluate
from ganzoo.metrics.fid import FeatureStatistics
from ganzoo.metrics.fid import fid_from_features
from ganzoo.metrics.fid import frechet_distance
from ganzoo.metrics.inception_score import inception_score
from ganzoo.metrics.kid import kernel_inception_distance
from ganzoo.metrics.kid import mmd2_unbiased
from ganzoo.metrics.kid import polynomial_kernel
from ganzoo.metrics.precision_recall import knn_radii
from ganzoo.metrics.precision_recall import precision_recall
from ganzoo.metrics.reference import ReferenceStats
from ganzoo.metrics.reference import compute_reference_stats
from ganzoo.metrics.reference import load_reference
from ganzoo.utils.images import save_png


def _random_cov(rng, dim, n):
    return np.cov(rng.normal(size=(n, dim)) @ rng.normal(size=(dim, dim)), rowvar=False)


def _pytorch_fid_reference(mu1, s1, mu2, s2):
    # pytorch-fid's calculate_frechet_distance (scipy sqrtm of the product).
    covmean = linalg.sqrtm(s1.dot(s2))
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


# ---------------------------------------------------------------- FID


def test_fid_two_gaussians_closed_form():
    # 2x2: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) for M = S1 S2 (non-commuting here).
    s1 = np.array([[2.0, 0.7], [0.7, 1.0]])
    s2 = np.array([[1.5, -0.4], [-0.4, 0.5]])
    mu1, mu2 = np.array([0.3, -1.0]), np.array([1.0, 2.0])
    m = s1 @ s2
    tr_sqrt = np.sqrt(np.trace(m) + 2 * np.sqrt(np.linalg.det(m)))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    for method in ("eigh", "sqrtm"):
        assert frechet_distance(mu1, s1, mu2, s2, method=method) == pytest.approx(expected, rel=1e-12)
    # Shared eigenbasis, 64-d: tr sqrt(S1 S2) = sum sqrt(d1 d2).
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(64, 64)))
    d1, d2 = rng.uniform(0.1, 3.0, 64), rng.uniform(0.1, 3.0, 64)
    expected = np.sum(d1) + np.sum(d2) - 2 * np.sum(np.sqrt(d1 * d2))
    value = frechet_distance(np.zeros(64), (q * d1) @ q.T, np.zeros(64), (q * d2) @ q.T)
    assert value == pytest.approx(expected, rel=1e-9)


def test_fid_matches_scipy_sqrtm_reference():
    rng = np.random.default_rng(1)
    for dim, n in ((16, 100), (128, 300)):
        s1, s2 = _random_cov(rng, dim, n), _random_cov(rng, dim, n)
        mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
        expected = _pytorch_fid_reference(mu1, s1, mu2, s2)
        for method in ("eigh", "sqrtm"):
            assert frechet_distance(mu1, s1, mu2, s2, method=method) == pytest.approx(expected, rel=1e-6)


def test_fid_same_samples_is_zero_even_rank_deficient():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 8)) * 3 + 5
    assert fid_from_features(x, x) < 1e-9
    # 40 samples of 128-d features: rank 39 covariances.
    x = rng.normal(size=(40, 128))
    with pytest.warns(UserWarning, match="only 40 samples"):
        value = fid_from_features(x, x)
    assert value < 1e-9 * np.trace(np.cov(x, rowvar=False))


def test_fid_from_samples_approaches_population_value():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 4))
    s1, s2 = a @ a.T + np.eye(4), np.diag([1.0, 2.0, 3.0, 4.0])
    mu1, mu2 = np.zeros(4), np.full(4, 0.5)
    truth = frechet_distance(mu1, s1, mu2, s2)
    x = rng.multivariate_normal(mu1, s1, size=200_000)
    y = rng.multivariate_normal(mu2, s2, size=200_000)
    assert fid_from_features(x, y) == pytest.approx(truth, rel=0.02)


def test_fid_sqrtm_eps_fallback_and_imaginary_check(monkeypatch):
    rng = np.random.default_rng(4)
    s1, s2 = _random_cov(rng, 8, 50), _random_cov(rng, 8, 50)
    mu = np.zeros(8)
    real_sqrtm = linalg.sqrtm
    calls = []

    def singular_once(m):  # what scipy returns for a singular product
        calls.append(m)
        return np.full_like(m, np.nan) if len(calls) == 1 else real_sqrtm(m)

    monkeypatch.setattr(fid_module.linalg, "sqrtm", singular_once)
    with pytest.warns(UserWarning, match="adding 0.01 to the covariance diagonals"):
        value = frechet_distance(mu, s1, mu, s2, method="sqrtm", eps=0.01)
    off = np.eye(8) * 0.01
    tr = np.trace(real_sqrtm((s1 + off) @ (s2 + off)).real)
    assert value == pytest.approx(np.trace(s1) + np.trace(s2) - 2 * tr, rel=1e-10)
    monkeypatch.undo()
    # An indefinite "covariance": sqrtm is complex, eigh sees a negative eigenvalue.
    bad = np.diag([-1.0, 1.0])
    with pytest.raises(ValueError, match="imaginary part"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), bad, method="sqrtm")
    with pytest.raises(ValueError, match="sigma2 is not positive semi-definite"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), bad)


def test_fid_bad_shapes():
    with pytest.raises(ValueError, match=r"sigma1 must be a \(3, 3\) matrix"):
        frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="different dimensions: 3 and 2"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full(2, np.nan), np.eye(2), np.zeros(2), np.eye(2))


def test_streaming_statistics_equal_numpy():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(1001, 12)) * rng.uniform(0.01, 10, 12) + 1e4  # large offset
    stats = FeatureStatistics()
    for lo, hi in ((0, 1), (1, 300), (300, 301), (301, 1001)):
        stats.update(x[lo:hi])
    assert stats.count == 1001
    np.testing.assert_allclose(stats.mu, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.sigma, np.cov(x, rowvar=False), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="dimension 3, earlier batches had 12"):
        stats.update(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="at least 2 samples, got 1"):
        one = FeatureStatistics()
        one.update(x[:1])
        one.sigma


# ---------------------------------------------------------------- Inception Score


def test_inception_score_known_values():
    assert inception_score(np.zeros((100, 1008))) == (pytest.approx(1.0, abs=1e-12), pytest.approx(0.0, abs=1e-12))
    # Confident and all classes distinct: IS = number of classes.
    one_hot = np.eye(1008)[np.arange(1008)] * 1e3
    assert inception_score(one_hot, splits=1)[0] == pytest.approx(1008, rel=1e-9)
    # 10 splits, each holding each of 5 classes once (no shuffle): 5 per split.
    labels = np.tile(np.arange(5), 10)
    mean, std = inception_score(np.eye(5)[labels] * 1e3, splits=10, shuffle=False)
    assert (mean, std) == (pytest.approx(5.0, rel=1e-9), pytest.approx(0.0, abs=1e-9))


def test_inception_score_equals_scipy_entropy_reference():
    logits = np.random.default_rng(6).normal(size=(200, 30)) * 3
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    order = np.random.RandomState(7).permutation(200)
    scores = []
    for part in np.array_split(p[order], 4):
        kl = scipy_stats.entropy(part.T, part.mean(0)[:, None])  # KL(p_i || p_bar) per column
        scores.append(np.exp(kl.mean()))
    mean, std = inception_score(logits, splits=4, seed=7)
    assert mean == pytest.approx(np.mean(scores), rel=1e-10)
    assert std == pytest.approx(np.std(scores), rel=1e-8)
    with pytest.raises(ValueError, match="at least 10 samples, got 5"):
        inception_score(logits[:5])


# ---------------------------------------------------------------- KID


def test_mmd2_unbiased_equals_pairwise_sums():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(30, 5)) + 0.2
    k = lambda a, b: (a @ b / 5 + 1) ** 3  # noqa: E731
    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    value = mmd2_unbiased(polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y))
    assert value == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_zero_on_equal_distributions_positive_otherwise():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
    same, same_std = kernel_inception_distance(x, y, num_subsets=100, subset_size=100)
    shifted, _ = kernel_inception_distance(x, y + 0.3, num_subsets=100, subset_size=100)
    # The biased estimator would give ~0.15 here; the unbiased one is ~0.
    assert abs(same) < 0.01 and same_std > 0
    assert shifted > 0.2
    with pytest.warns(UserWarning, match="subsets have 50 samples instead of 1000"):
        kernel_inception_distance(x[:50], y, num_subsets=3)


# ---------------------------------------------------------------- precision / recall


def test_precision_recall_known_configurations():
    real = np.arange(100.0)[:, None]  # spacing 1: 3rd-neighbour radius 2 (3 at the ends)
    fake = np.arange(0.0, 50.0, 0.5)[:, None]  # spacing 0.5 on [0, 49.5]: radius 1 (1.5 at the ends)
    np.testing.assert_array_equal(knn_radii(real)[:3], [3.0, 2.0, 2.0])
    pr = precision_recall(real, fake, k=3)
    # Every fake point is inside the real manifold; real points 0..51 are covered
    # (51 is 1.5 from the end point 49.5, whose radius is 1.5).
    assert pr == {"precision": 1.0, "recall": 0.52}
    x = np.random.default_rng(10).normal(size=(200, 3))
    assert precision_recall(x, x) == {"precision": 1.0, "recall": 1.0}
    assert precision_recall(x, x + 100.0) == {"precision": 0.0, "recall": 0.0}
    with pytest.raises(ValueError, match="at least 4 samples, got 3"):
        precision_recall(x[:3], x)


# ---------------------------------------------------------------- resize


def _tf1_resize_numpy(images, out_h, out_w):
    # TF1 legacy bilinear: src = i * in/out (float32), floor/ceil neighbours, x lerp then y.
    def axis(in_size, out_size):
        src = np.arange(out_size, dtype=np.float32) * (np.float32(in_size) / np.float32(out_size))
        lo = np.floor(src).astype(int)
        return lo, np.minimum(np.ceil(src).astype(int), in_size - 1), (src - lo).astype(np.float32)

    y0, y1, ly = axis(images.shape[1], out_h)
    x0, x1, lx = axis(images.shape[2], out_w)
    im = images.astype(np.float32)
    lx = lx[None, None, :, None]
    top = im[:, y0][:, :, x0] + (im[:, y0][:, :, x1] - im[:, y0][:, :, x0]) * lx
    bottom = im[:, y1][:, :, x0] + (im[:, y1][:, :, x1] - im[:, y1][:, :, x0]) * lx
    return top + (bottom - top) * ly[None, :, None, None]


@pytest.mark.parametrize("size", [(7, 13, 299, 299), (33, 31, 299, 299), (301, 403, 299, 299), (5, 5, 3, 11)])
def test_resize_equals_tf1_legacy_bilinear(size):
    import keras

    from ganzoo.metrics.resize import resize_bilinear_tf1

    h, w, oh, ow = size
    x = np.random.default_rng(11).uniform(0, 255, (2, h, w, 3)).astype(np.float32)
    ours = keras.ops.convert_to_numpy(resize_bilinear_tf1(x, (oh, ow)))
    np.testing.assert_allclose(ours, _tf1_resize_numpy(x, oh, ow), rtol=0, atol=1e-4)
    try:
        import tensorflow as tf
    except ImportError:
        return
    tf_out = tf.raw_ops.ResizeBilinear(images=x, size=[oh, ow], align_corners=False, half_pixel_centers=False)
    np.testing.assert_allclose(ours, tf_out.numpy(), rtol=0, atol=1e-4)


# ---------------------------------------------------------------- reference stats and evaluate


class BlockMeanExtractor:
    """A tiny deterministic stand-in for Inception: 4x4 block means as 'pool' features."""

    batch_size = 8
    protocol = {"network": "block-mean", "weights_sha256": "0" * 64}

    def __init__(self):
        self.calls = 0

    def __call__(self, images):
        self.calls += 1
        x = np.asarray(images, np.float32)
        n, h, w, c = x.shape
        pool = x.reshape(n, 4, h // 4, 4, w // 4, c).mean((2, 4)).reshape(n, -1) / 255.0
        return {"pool": pool, "logits": pool[:, :10] * 20}


def test_reference_stats_folder_cache_and_npz_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    images = np.random.default_rng(12).integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        save_png(tmp_path / "real" / f"{i:03d}.png", image)
    extractor = BlockMeanExtractor()
    with pytest.warns(UserWarning, match="from only 20 samples"):
        ref = compute_reference_stats(str(tmp_path / "real"), extractor, max_features=15, progress=False)
    feats = extractor(images)["pool"].astype(np.float64)
    np.testing.assert_allclose(ref.mu, feats.mean(0), rtol=1e-6)
    np.testing.assert_allclose(ref.sigma, np.cov(feats, rowvar=False), rtol=1e-5, atol=1e-9)
    assert ref.num_samples == 20 and ref.features.shape == (15, 48)
    assert ref.protocol["reference"] == str(tmp_path / "real")
    calls = extractor.calls
    again = compute_reference_stats(str(tmp_path / "real"), extractor, max_features=15, progress=False)
    assert extractor.calls == calls  # served from the cache
    np.testing.assert_array_equal(again.sigma, ref.sigma)
    # pytorch-fid's layout (mu, sigma only) loads too.
    np.savez(tmp_path / "pytorch_fid.npz", mu=ref.mu, sigma=ref.sigma)
    plain = load_reference(str(tmp_path / "pytorch_fid.npz"))
    assert plain.features is None and plain.num_samples is None
    with pytest.raises(ValueError, match="need reference features"):
        evaluate(images, plain, ("kid",), extractor, progress=False)
    with pytest.raises(FileNotFoundError, match="neither an image folder nor a .npz"):
        load_reference(str(tmp_path / "nothing"))


def test_evaluate_records_protocol_and_streams_a_generator():
    images = np.random.default_rng(13).integers(0, 256, (64, 8, 8, 3), dtype=np.uint8)
    extractor = BlockMeanExtractor()
    ref = compute_reference_stats(images, extractor, progress=False)

    def generate(n, seed):  # returns [-1, 1] floats, like GAN.generate
        rng = np.random.default_rng(seed)
        return images[rng.integers(0, 64, n)].astype(np.float32) / 127.5 - 1.0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample warnings
        same = evaluate(images, ref, ("fid", "kid", "pr"), extractor, progress=False)
        result = evaluate(generate, ref, ("fid", "is", "kid"), extractor, num_samples=40, progress=False)
    assert same["fid"] < 1e-9 and same["precision"] == 1.0 and same["recall"] == 1.0
    assert result["fid"] > 0 and result["is"] >= 1.0
    protocol = result["protocol"]
    assert protocol["num_fake"] == 40 and protocol["num_real"] == 64
    assert protocol["network"] == "block-mean" and protocol["weights_sha256"] == "0" * 64
    assert protocol["kid_subset_size"] == 40 and protocol["is_splits"] == 10
    with pytest.raises(ValueError, match="num_samples is required"):
        evaluate(generate, ref, ("fid",), extractor)
    with pytest.raises(ValueError, match="unknown metric 'lpips'"):
        evaluate(images, ref, ("lpips",), extractor)


def test_reference_stats_save_is_atomic_and_roundtrips(tmp_path):
    ref = ReferenceStats(np.arange(3.0), np.eye(3), num_samples=7, features=np.ones((2, 3)), protocol={"a": 1})
    path = tmp_path / "stats.npz"
    ref.save(path)
    assert os.listdir(tmp_path) == ["stats.npz"]
    back = ReferenceStats.load(path)
    np.testing.assert_array_equal(back.mu, ref.mu)
    assert back.num_samples == 7 and back.protocol["a"] == 1 and back.features.shape == (2, 3)
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="no 'mu' and 'sigma'"):
        ReferenceStats.load(tmp_path / "other.npz")


# ---------------------------------------------------------------- CLI


def test_cli_eval_stats_and_model(tmp_path, monkeypatch, capsys):
    import json

    import ganzoo
    from ganzoo import cli

    extractor = BlockMeanExtractor()
    monkeypatch.setattr("ganzoo.metrics.extractor.load_inception", lambda weights=None, batch_size=64: extractor)
    images = np.random.default_rng(14).integers(0, 256, (24, 8, 8, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        save_png(tmp_path / "real" / f"{i:02d}.png", image)
    stats = str(tmp_path / "stats.npz")
    with pytest.warns(UserWarning, match="only 24 samples"):
        assert cli.main(["eval", "--stats", str(tmp_path / "real"), "--out", stats]) == 0
    ref = ReferenceStats.load(stats)
    np.testing.assert_allclose(ref.mu, extractor(images)["pool"].mean(0), rtol=1e-6)

    class Model:
        def generate(self, n, seed):
            return images[np.random.default_rng(seed).integers(0, 24, n)] / 127.5 - 1.0

    monkeypatch.setattr(ganzoo, "load", lambda name: Model(), raising=False)
    out = str(tmp_path / "result.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = cli.main(["eval", "toy", "--metric", "fid,kid", "--reference", stats, "-n", "30", "--out", out])
    assert code == 0
    record = json.load(open(out))
    assert record == json.loads(capsys.readouterr().out.split("\n", 1)[1])  # printed == written
    assert record["model"] == "toy" and record["fid"] > 0
    assert record["protocol"]["num_fake"] == 30 and record["protocol"]["num_real"] == 24
    assert cli.main(["eval", "toy", "--metric", "fid"]) == 2  # no --reference: one-line error
    assert "needs --reference" in capsys.readouterr().err
