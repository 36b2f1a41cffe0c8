"""Stacked digits: the data's construction and the mode counter against exact counts and closed forms."""

import math

import numpy as np
import pytest

from ganzoo.data import builtin, stacked
from ganzoo.data.builtin import digits_with_labels
from ganzoo.metrics.stacked import classify_channels, mode_statistics, stacked_digits_modes


def test_each_channel_is_one_digit_and_the_mode_is_its_triple():
    x, modes = stacked.stacked_digits(64, resolution=16, seed=3, labels=True)
    assert x.shape == (64, 16, 16, 3) and x.dtype == np.float32 and modes.dtype == np.int32
    images, digits = digits_with_labels(16)
    flat = images[..., 0].reshape(len(images), -1)
    for i in range(8):
        triple = []
        for c in range(3):
            match = np.flatnonzero(np.all(flat == x[i, :, :, c].reshape(1, -1), axis=1))
            assert len(match) >= 1  # the channel is one of the digits, unchanged
            triple.append(int(digits[match[0]]))
        assert modes[i] == 100 * triple[0] + 10 * triple[1] + triple[2]
    np.testing.assert_array_equal(stacked.stacked_digits(64, 16, seed=3), x)  # seeded
    assert not np.array_equal(stacked.stacked_digits(64, 16, seed=4), x)


def test_builtin_source_and_names():
    x, y = builtin.load("stacked-digits", 8, labels=True)
    assert x.shape == (stacked.DEFAULT_SIZE, 8, 8, 3) and y.max() < 1000
    assert builtin.class_names("stacked-digits")[407] == "407"
    assert len(np.unique(y)) == 1000  # 50,000 draws reach every triple
    with pytest.raises(ValueError, match="resolution must be an int >= 8"):
        builtin.load("stacked-digits", 4)
    with pytest.raises(ValueError, match="Did you mean 'stacked-digits'"):
        builtin.load("stacked-digit", 16)


def test_mode_statistics_exact_counts_and_closed_form_kl():
    # k modes, equally often: KL(p || U_1000) = log(1000 / k).
    for k in (1, 10, 250, 1000):
        ids = np.tile(np.arange(k) * (1000 // k), 26)
        out = mode_statistics(ids)
        assert out["modes"] == k and out["num_samples"] == 26 * k
        assert out["kl"] == pytest.approx(math.log(1000 / k), abs=1e-12)
    # p = (1/2, 1/4, 1/4) on triples (1,2,3), (0,0,0), (9,9,9).
    triples = np.array([[1, 2, 3]] * 2 + [[0, 0, 0]] + [[9, 9, 9]])
    out = mode_statistics(triples)
    assert out["modes"] == 3 and out["histogram"][123] == 2 and out["histogram"][999] == 1
    want = 0.5 * math.log(500) + 2 * 0.25 * math.log(250)
    assert out["kl"] == pytest.approx(want, abs=1e-12)
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        mode_statistics(np.zeros((4, 2), int))
    with pytest.raises(ValueError, match="digits 0-9"):
        mode_statistics(np.full((4, 3), 10))


@pytest.fixture(scope="module")
def real_26k():
    return stacked.stacked_digits(26_000, resolution=16, seed=11, labels=True)


def test_channel_classifier_reads_real_stacks(real_26k):
    x, modes = real_26k
    triples = classify_channels(x[:3000])
    assert np.mean(triples[:, 0] == modes[:3000] // 100) > 0.95
    predicted = 100 * triples[:, 0] + 10 * triples[:, 1] + triples[:, 2]
    assert np.mean(predicted == modes[:3000]) > 0.9


def test_protocol_on_real_and_collapsed_samples(real_26k):
    x, _ = real_26k
    real = stacked_digits_modes(x)
    assert real["num_samples"] == 26_000 and real["modes"] >= 995 and real["kl"] < 0.1
    assert real["classifier_accuracy"] > 0.9 and "26000 samples" in real["protocol"]
    # A generator that makes only the stacks of 20 real images covers at most 20 modes.
    collapsed = np.repeat(x[:20], 1300, axis=0)
    out = stacked_digits_modes(collapsed)
    assert out["modes"] <= 20 and out["kl"] > math.log(1000 / 20) - 0.01
    with pytest.raises(ValueError, match="RGB images"):
        stacked_digits_modes(x[..., :1])
