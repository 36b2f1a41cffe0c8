"""Input checks shared by the feature-based metrics (KID, precision/recall)."""

import numpy as np


def feature_pair(real_features, fake_features):
    """Both feature sets as float64 (N, D) arrays of equal D, or a clear error.

    Example:
        >>> real, fake = feature_pair(np.zeros((4, 8)), np.ones((3, 8)))
    """
    real = np.asarray(real_features, np.float64)
    fake = np.asarray(fake_features, np.float64)
    for name, f in (("real_features", real), ("fake_features", fake)):
        if f.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array (num_samples, dim), got shape {f.shape}")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real and fake features have different dimensions: {real.shape[1]} and {fake.shape[1]}"
        )
    return real, fake
