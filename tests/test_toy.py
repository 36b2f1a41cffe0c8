"""Toy mixtures (ganzoo.data.toy) and the mode-coverage metric. numpy only."""

import itertools
import math

import numpy as np
import pytest

from ganzoo.data.toy import (
    TOY_DATASETS,
    ToySpec,
    grid,
    grid_centers,
    ring,
    ring_centers,
    toy_spec,
)
from ganzoo.metrics.mode_coverage import mode_coverage


def test_ring_centers_are_distinct_and_on_the_circle():
    c = ring_centers()
    assert c.shape == (8, 2) and c.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 1.0, rtol=1e-6)
    angles = np.mod(np.arctan2(c[:, 1], c[:, 0]), 2 * np.pi)
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-6)
    pairwise = np.linalg.norm(c[:, None] - c[None], axis=-1) + np.eye(8) * 10
    # Neighbours on a unit circle with 8 modes are 2 sin(pi/8) apart.
    assert pairwise.min() == pytest.approx(2 * math.sin(math.pi / 8), rel=1e-5)
    np.testing.assert_allclose(np.linalg.norm(ring_centers(5, radius=2.0), axis=1), 2.0, rtol=1e-6)


def test_grid_centers_default_is_minus4_to_4():
    c = grid_centers()
    assert c.shape == (25, 2) and c.dtype == np.float32
    expected = {(i, j) for i, j in itertools.product(range(-4, 5, 2), repeat=2)}
    assert {tuple(map(float, p)) for p in c} == expected
    np.testing.assert_allclose(c.mean(axis=0), 0.0, atol=1e-7)
    assert grid_centers(4, spacing=1.0).min() == -1.5


@pytest.mark.parametrize("sampler, centers, std", [(ring, ring_centers(), 0.01), (grid, grid_centers(), 0.05)])
def test_samples_follow_the_mixture(sampler, centers, std):
    x = sampler(40000, seed=0)
    assert x.shape == (40000, 2) and x.dtype == np.float32
    nearest = np.argmin(np.linalg.norm(x[:, None] - centers[None], axis=-1), axis=1)
    counts = np.bincount(nearest, minlength=len(centers))
    expected = len(x) / len(centers)
    # Equal weights: every mode's count within 5 binomial standard deviations.
    assert np.all(np.abs(counts - expected) < 5 * math.sqrt(expected))
    residual = x - centers[nearest]
    np.testing.assert_allclose(residual.mean(axis=0), 0.0, atol=5 * std / math.sqrt(len(x)))
    np.testing.assert_allclose(residual.std(axis=0), std, rtol=0.02)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=0.05)


def test_seed_reproducible():
    np.testing.assert_array_equal(ring(100, seed=3), ring(100, seed=3))
    assert not np.array_equal(grid(100, seed=3), grid(100, seed=4))


def test_toy_spec():
    spec = toy_spec("ring")
    assert isinstance(spec, ToySpec) and spec.std == 0.01
    np.testing.assert_array_equal(spec.centers, ring_centers())
    np.testing.assert_array_equal(spec.sample(50, seed=1), ring(50, seed=1))
    spec = toy_spec("grid", std=0.1, size=3)
    assert spec.centers.shape == (9, 2) and spec.std == 0.1
    assert set(TOY_DATASETS) == {"ring", "grid"}
    with pytest.raises(ValueError, match="ring"):
        toy_spec("spiral")


def test_toy_input_errors():
    with pytest.raises(ValueError, match="num_modes"):
        ring(10, num_modes=0)
    with pytest.raises(ValueError, match="std"):
        grid(10, std=-1.0)
    with pytest.raises(ValueError, match="n must be an integer"):
        ring(2.5)


# -- mode_coverage ---------------------------------------------------------------


def test_exact_centers_cover_everything():
    for centers, std in [(ring_centers(), 0.01), (grid_centers(), 0.05)]:
        r = mode_coverage(np.repeat(centers, 4, axis=0), centers, std)
        assert r == {"modes": len(centers), "high_quality": 1.0, "reverse_kl": 0.0,
                     "num_samples": 4 * len(centers)}


def test_true_samples_score_well():
    r = mode_coverage(grid(20000, seed=0), grid_centers(), 0.05)
    assert r["modes"] == 25
    # 2-D Gaussian: P(||x - mu|| <= 3 std) = 1 - exp(-9/2).
    assert r["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.003)
    assert r["reverse_kl"] < 0.005


def test_single_mode_collapse():
    centers = ring_centers()
    x = centers[3] + 0.01 * np.random.default_rng(0).standard_normal((500, 2))
    r = mode_coverage(x, centers, 0.01)
    assert r["modes"] == 1
    assert r["reverse_kl"] == pytest.approx(math.log(8), rel=1e-12)


def test_reverse_kl_of_a_known_histogram():
    centers = grid_centers(2, spacing=1.0)  # K = 4
    x = centers[[0, 0, 0, 1]]
    r = mode_coverage(x, centers, 0.1)
    q = np.array([0.75, 0.25])
    assert r["modes"] == 2
    assert r["reverse_kl"] == pytest.approx(float(np.sum(q * np.log(q * 4))), rel=1e-12)


def test_low_quality_samples_count_against_quality_not_histogram():
    centers = ring_centers(4)
    # One sample on each mode, plus 4 samples 5 std away from mode 0.
    x = np.concatenate([centers, centers[:1] + [[0.05, 0.0]] * 4])
    r = mode_coverage(x, centers, 0.01)
    assert r["modes"] == 4 and r["high_quality"] == 0.5 and r["reverse_kl"] == 0.0
    # Exactly 3 std is still high quality (exact binary values); per-mode std is honoured.
    centers = grid_centers(2, spacing=4.0)
    on_edge = mode_coverage(centers + [[0.0, 0.75]], centers, 0.25)
    assert on_edge["high_quality"] == 1.0
    assert mode_coverage(centers + [[0.0, 0.76]], centers, 0.25)["high_quality"] == 0.0
    per_mode = mode_coverage(centers + [[0.0, 0.75]], centers, [0.25, 0.1, 0.25, 0.1])
    assert per_mode["high_quality"] == 0.5 and per_mode["modes"] == 2


def test_far_away_samples():
    r = mode_coverage(np.full((100, 2), 50.0), grid_centers(), 0.05)
    assert r["modes"] == 0 and r["high_quality"] == 0.0 and r["num_samples"] == 100
    assert math.isnan(r["reverse_kl"])


def test_mode_coverage_input_errors():
    c = ring_centers()
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        mode_coverage(np.zeros((5, 3)), c, 0.01)
    with pytest.raises(ValueError, match="std must be > 0"):
        mode_coverage(np.zeros((5, 2)), c, 0.0)
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        mode_coverage(np.zeros((5, 2)), c, [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        mode_coverage(np.full((5, 2), np.nan), c, 0.01)
    with pytest.raises(ValueError, match="centers"):
        mode_coverage(np.zeros((5, 2)), np.zeros((0, 2)), 0.01)
