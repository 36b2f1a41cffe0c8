"""Training works: the ring recipe must cover the modes within the CI budget.

The full protocol (5 runs per backend, ring and grid) is behind the `slow`
marker; `tools/bench/mode_coverage.py` prints the README table.
"""

import numpy as np
import pytest

from ganzoo import recipes
from ganzoo.training import train


def test_ring8_nsgan_learns_the_modes_quickly():
    recipe = recipes.get("ring8-nsgan")
    _, metrics = train(recipe, seed=0, verbose=0)  # 5,000 steps, 10-60 s per backend
    assert metrics["modes"] >= 7, metrics
    assert metrics["high_quality"] >= 0.70, metrics


@pytest.mark.slow
@pytest.mark.parametrize("name,modes,high_quality", [("ring8-nsgan", 8, 0.90), ("grid25-nsgan", 25, 0.85)])
def test_published_protocol_mean_of_five_runs(name, modes, high_quality):
    results = [train(name, seed=seed, verbose=0)[1] for seed in range(5)]
    assert np.mean([r["modes"] for r in results]) >= modes, results
    assert np.mean([r["high_quality"] for r in results]) >= high_quality, results
    assert max(r["seconds"] for r in results) < 120, results
