"""Objectives against numpy formulas written from the papers."""

import numpy as np
import pytest
from keras import ops

from ganzoo.engine import objectives

rng = np.random.default_rng(0)
REAL = rng.normal(size=32).astype("float32") * 3
FAKE = rng.normal(size=32).astype("float32") * 3


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype("float64")))


def np_reference(name, **kw):
    dr, df = sigmoid(REAL), sigmoid(FAKE)
    if name in ("minimax", "non_saturating", "maximum_likelihood"):
        t_r, t_f = kw.get("real_label", 1.0), kw.get("fake_label", 0.0)
        d = -np.mean(t_r * np.log(dr) + (1 - t_r) * np.log(1 - dr)) - np.mean(
            t_f * np.log(df) + (1 - t_f) * np.log(1 - df)
        )
        g = {
            "minimax": np.mean(np.log(1 - df)),
            "non_saturating": -np.mean(np.log(df)),
            "maximum_likelihood": -0.5 * np.mean(np.exp(np.log(df / (1 - df)))),
        }[name]
        return d, g
    if name == "wasserstein":
        return np.mean(FAKE) - np.mean(REAL), -np.mean(FAKE)
    if name == "hinge":
        return np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE)), -np.mean(FAKE)
    if name == "least_squares":
        a, b, c = kw.get("a", 0.0), kw.get("b", 1.0), kw.get("c", 1.0)
        return 0.5 * np.mean((REAL - b) ** 2) + 0.5 * np.mean((FAKE - a) ** 2), 0.5 * np.mean((FAKE - c) ** 2)
    raise AssertionError(name)


CASES = [
    ("minimax", {}),
    ("non_saturating", {}),
    ("non_saturating", {"real_label": 0.9}),  # one-sided label smoothing
    ("non_saturating", {"real_label": 0.9, "fake_label": 0.1}),  # two-sided
    ("maximum_likelihood", {}),
    ("wasserstein", {}),
    ("hinge", {}),
    ("least_squares", {}),
    ("least_squares", {"a": -1.0, "b": 1.0, "c": 0.0}),
]


@pytest.mark.parametrize("name,kw", CASES)
def test_objective_matches_numpy(name, kw):
    obj = objectives.get({"name": name, "config": kw})
    d_ref, g_ref = np_reference(name, **kw)
    d = float(ops.convert_to_numpy(obj.d_loss(ops.convert_to_tensor(REAL), ops.convert_to_tensor(FAKE))))
    g = float(ops.convert_to_numpy(obj.g_loss(ops.convert_to_tensor(FAKE))))
    np.testing.assert_allclose(d, d_ref, rtol=1e-5)
    np.testing.assert_allclose(g, g_ref, rtol=1e-5)


def test_softplus_form_is_finite_for_large_logits():
    obj = objectives.get("non_saturating")
    big = ops.convert_to_tensor(np.array([100.0, -100.0], "float32"))
    assert np.isfinite(float(ops.convert_to_numpy(obj.d_loss(big, big))))
    np.testing.assert_allclose(float(ops.convert_to_numpy(obj.g_loss(big))), 50.0, rtol=1e-5)


def test_feature_matching_is_squared_distance_of_means():
    obj = objectives.get("feature_matching")
    fr = rng.normal(size=(16, 5)).astype("float32")
    ff = rng.normal(size=(16, 5)).astype("float32")
    got = obj.g_loss(ops.convert_to_tensor(FAKE[:16]), real_features=ops.convert_to_tensor(fr),
                     fake_features=ops.convert_to_tensor(ff))
    ref = np.sum((fr.mean(0) - ff.mean(0)) ** 2)
    np.testing.assert_allclose(float(ops.convert_to_numpy(got)), ref, rtol=1e-5)


def test_aliases_and_serialization_round_trip():
    from ganzoo.engine import registry

    for alias, name in registry.aliases("objective").items():
        assert objectives.get(alias).name == name
    obj = objectives.get({"name": "least_squares", "config": {"a": -1.0, "b": 1.0, "c": 0.0}})
    assert objectives.get(objectives.serialize(obj)).get_config() == obj.get_config()


def test_unknown_objective_lists_valid_names():
    with pytest.raises(ValueError, match="Valid names: .*hinge"):
        objectives.get("hingeloss")


def test_bad_label_smoothing():
    with pytest.raises(ValueError, match="real_label"):
        objectives.get({"name": "non_saturating", "config": {"real_label": 1.5}})
