"""Improved precision and recall (Kynkäänniemi et al. 2019, arXiv 1904.06991).

Each sample set approximates its manifold by the union of balls around its
points, the radius of each ball being the distance to the point's k-th nearest
neighbour in the same set (k = 3). Precision is the fraction of generated
samples inside the real manifold (quality); recall is the fraction of real
samples inside the generated manifold (coverage). The paper uses VGG-16
features; ganzoo feeds whatever features it is given (Inception pool features
by default, as torch-fidelity's default extractor does).
"""

import numpy as np

from ganzoo.metrics._features import feature_pair


def _pairwise_distances(a, b):
    # |a|^2 + |b|^2 - 2 a.b in float64, clipped at 0 against rounding.
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(d2, 0.0))


def knn_radii(features, k=3, batch_size=2000):
    """Distance from each row to its k-th nearest other row.

    Example:
    >>> knn_radii(np.array([[0.0], [1.0], [3.0], [6.0]]), k=1).tolist()
    [1.0, 1.0, 2.0, 3.0]
    """
    x = np.asarray(features, np.float64)
    if not 1 <= k < len(x):
        raise ValueError(f"k={k} nearest neighbours need at least {k + 1} samples, got {len(x)}")
    radii = np.empty(len(x))
    for start in range(0, len(x), batch_size):
        d = _pairwise_distances(x[start : start + batch_size], x)
        # Index k of the sorted row: index 0 is the point itself (distance 0).
        radii[start : start + batch_size] = np.partition(d, k, axis=1)[:, k]
    return radii


def _coverage(points, centers, radii, batch_size):
    inside = np.zeros(len(points), dtype=bool)
    for start in range(0, len(points), batch_size):
        d = _pairwise_distances(points[start : start + batch_size], centers)
        inside[start : start + batch_size] = np.any(d <= radii[None, :], axis=1)
    return float(inside.mean())


def precision_recall(real_features, fake_features, k=3, batch_size=2000):
    """`{"precision", "recall"}` of generated vs real features (Kynkäänniemi 2019).

    Example:
    >>> real = np.random.default_rng(0).normal(size=(300, 2))
    >>> pr = precision_recall(real, real[::-1] + 100.0)   # far away: neither covers the other
    >>> pr["precision"], pr["recall"]
    (0.0, 0.0)
    """
    real, fake = feature_pair(real_features, fake_features)
    real_radii = knn_radii(real, k, batch_size)
    fake_radii = knn_radii(fake, k, batch_size)
    return {
        "precision": _coverage(fake, real, real_radii, batch_size),
        "recall": _coverage(real, fake, fake_radii, batch_size),
    }
