"""Kernel Inception Distance (Bińkowski et al. 2018, arXiv 1801.01401).

KID is the squared MMD between real and generated Inception features under the
cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, estimated without bias. As in
the reference code (and torch-fidelity), it is averaged over 100 random subsets
of 1000 samples each, and its standard deviation over subsets is reported.
"""

import warnings

import numpy as np

from ganzoo.metrics._features import feature_pair


def polynomial_kernel(x, y, degree=3, gamma=None, coef0=1.0):
    """k(x, y) = (gamma x.y + coef0)^degree, with gamma = 1 / dim by default.

    Example:
    >>> float(polynomial_kernel(np.ones((1, 2)), np.ones((1, 2)))[0, 0])   # (2/2 + 1)^3
    8.0
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (x @ y.T * gamma + coef0) ** degree


def mmd2_unbiased(k_xx, k_yy, k_xy):
    """Unbiased MMD^2 from kernel matrices of two equal-size samples.

    The within-sample sums leave out the diagonals (k(x_i, x_i)); the cross
    term keeps all m^2 pairs, as in Bińkowski et al.'s `mmd2` ("unbiased").

    Example:
    >>> k = np.ones((3, 3))
    >>> mmd2_unbiased(k, k, k)
    0.0
    """
    m = k_xx.shape[0]
    if k_xx.shape != (m, m) or k_yy.shape != (m, m) or k_xy.shape != (m, m):
        raise ValueError(
            f"kernel matrices must all be ({m}, {m}); got {k_xx.shape}, {k_yy.shape}, {k_xy.shape}"
        )
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kernel_inception_distance(
    real_features, fake_features, num_subsets=100, subset_size=1000, seed=2020
):
    """KID `(mean, std)` over `num_subsets` random subsets of `subset_size`.

    Subsets are drawn without replacement with `np.random.RandomState(seed)`.
    With fewer than `subset_size` samples on either side, the subsets shrink to
    the smaller sample count (with a warning): the estimate stays unbiased, its
    variance grows.

    Example:
    >>> x = np.random.default_rng(0).normal(size=(200, 8))
    >>> mean, std = kernel_inception_distance(x[:100], x[100:], num_subsets=10, subset_size=50)
    >>> abs(mean) < 3 * std + 1e-3
    True
    """
    real, fake = feature_pair(real_features, fake_features)
    size = min(int(subset_size), len(real), len(fake))
    if size < 2:
        raise ValueError(
            f"KID needs at least 2 samples on each side, got {len(real)} real and {len(fake)} fake"
        )
    if size < subset_size:
        warnings.warn(
            f"KID: only {len(real)} real / {len(fake)} fake samples, so subsets have {size} "
            f"samples instead of {subset_size}; the estimate is noisier",
            stacklevel=2,
        )
    if int(num_subsets) < 1:
        raise ValueError(f"num_subsets must be a positive integer, got {num_subsets}")
    rng = np.random.RandomState(seed)
    values = np.empty(int(num_subsets))
    for i in range(len(values)):
        x = real[rng.choice(len(real), size, replace=False)]
        y = fake[rng.choice(len(fake), size, replace=False)]
        values[i] = mmd2_unbiased(
            polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
        )
    return float(values.mean()), float(values.std())
