"""Fréchet Inception Distance (Heusel et al. 2017, arXiv 1706.08500).

FID is the Fréchet (2-Wasserstein) distance between two Gaussians fitted to
Inception pool features of real and generated images:

    FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))

Statistics are accumulated in float64, batch by batch, with the pairwise
update of Chan et al. (exact, no catastrophic cancellation), so no feature
matrix of all samples is ever needed.
"""

import warnings

import numpy as np
from scipy import linalg


class FeatureStatistics:
    """Streaming mean and covariance (ddof=1, as `np.cov`) of feature vectors.

    Example:
    >>> stats = FeatureStatistics()
    >>> x = np.random.default_rng(0).normal(size=(100, 4))
    >>> stats.update(x[:30]); stats.update(x[30:])
    >>> bool(np.allclose(stats.sigma, np.cov(x, rowvar=False)))
    True
    """

    def __init__(self):
        self.count = 0
        self._mean = None
        self._m2 = None  # sum of outer products of deviations from the mean

    def update(self, features):
        """Add a batch `(n, d)` of feature vectors."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"features must be a 2-D array (num_samples, dim), got shape {x.shape}")
        if self._mean is not None and x.shape[1] != self._mean.shape[0]:
            raise ValueError(
                f"features have dimension {x.shape[1]}, earlier batches had {self._mean.shape[0]}"
            )
        if not np.all(np.isfinite(x)):
            raise ValueError("features contain NaN or infinity; check the images and the network")
        n = x.shape[0]
        if n == 0:
            return
        mean = x.mean(axis=0)
        centered = x - mean
        m2 = centered.T @ centered
        if self._mean is None:
            self.count, self._mean, self._m2 = n, mean, m2
            return
        total = self.count + n
        delta = mean - self._mean
        self._m2 = self._m2 + m2 + np.outer(delta, delta) * (self.count * n / total)
        self._mean = self._mean + delta * (n / total)
        self.count = total

    @property
    def mu(self):
        """Mean vector (float64)."""
        if self._mean is None:
            raise ValueError("no features were added: call update() first")
        return self._mean.copy()

    @property
    def sigma(self):
        """Unbiased covariance matrix (float64); warns when it is rank-deficient."""
        if self.count < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {self.count}")
        dim = self._mean.shape[0]
        if self.count < dim:
            warnings.warn(
                f"covariance of {dim}-dim features from only {self.count} samples is "
                f"rank-deficient (needs at least {dim}); FID is then biased upward and not "
                "comparable to published numbers, which use 10000-50000 samples",
                stacklevel=2,
            )
        return self._m2 / (self.count - 1)


def _check_stats(mu, sigma, which):
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
    if mu.ndim != 1:
        raise ValueError(f"mu{which} must be a vector, got shape {mu.shape}")
    if sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(
            f"sigma{which} must be a ({mu.shape[0]}, {mu.shape[0]}) matrix to match mu{which}, "
            f"got shape {sigma.shape}"
        )
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise ValueError(f"mu{which} / sigma{which} contain NaN or infinity")
    return mu, sigma


def _psd_sqrt(sigma, which):
    # Symmetric square root from the eigendecomposition; rounding can leave
    # tiny negative eigenvalues in rank-deficient covariances: clip them.
    sigma = (sigma + sigma.T) / 2
    w, v = linalg.eigh(sigma)
    scale = max(float(np.max(np.abs(w))), np.finfo(np.float64).tiny)
    if w.min() < -1e-6 * scale:
        raise ValueError(
            f"sigma{which} is not positive semi-definite (eigenvalue {w.min():.3g}, largest "
            f"{w.max():.3g}): pass a covariance matrix"
        )
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def trace_sqrt_product(sigma1, sigma2):
    """tr((S1 S2)^(1/2)) of two covariance matrices, stably.

    The eigenvalues of S1 S2 are those of the symmetric PSD matrix
    S1^(1/2) S2 S1^(1/2), so two symmetric eigendecompositions give the trace
    with no complex arithmetic, also for the singular covariances of fewer
    samples than dimensions (where `scipy.linalg.sqrtm(S1 @ S2)` can fail).

    Example:
    >>> float(trace_sqrt_product(np.diag([4.0, 9.0]), np.eye(2)))
    5.0
    """
    root = _psd_sqrt(np.asarray(sigma1, np.float64), "1")
    m = root @ np.asarray(sigma2, np.float64) @ root
    ev = linalg.eigvalsh((m + m.T) / 2)
    scale = max(float(np.max(np.abs(ev))), np.finfo(np.float64).tiny)
    if ev.min() < -1e-6 * scale:
        raise ValueError(
            f"sigma2 is not positive semi-definite (S1^1/2 S2 S1^1/2 has eigenvalue "
            f"{ev.min():.3g}): pass a covariance matrix"
        )
    return float(np.sum(np.sqrt(np.clip(ev, 0, None))))


def _trace_sqrtm_scipy(sigma1, sigma2, eps):
    # pytorch-fid's recipe: sqrtm of the product, eps on the diagonals if the
    # product is singular, and a check that rounding left no real imaginary part.
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.all(np.isfinite(covmean)):
        warnings.warn(
            f"FID: S1 S2 is singular; adding {eps} to the covariance diagonals", stacklevel=3
        )
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(
                f"FID: sqrtm(S1 S2) has an imaginary part up to {np.max(np.abs(covmean.imag)):.3g}; "
                "the covariances are too ill-conditioned (use more samples or method='eigh')"
            )
        covmean = covmean.real
    return float(np.trace(covmean))


def frechet_distance(mu1, sigma1, mu2, sigma2, method="eigh", eps=1e-6):
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    `method="eigh"` (default) takes the trace of the matrix square root from two
    symmetric eigendecompositions (`trace_sqrt_product`): stable for rank-
    deficient covariances (fewer samples than feature dimensions).
    `method="sqrtm"` follows pytorch-fid (`scipy.linalg.sqrtm`, `eps` added to
    the diagonals when the product is singular, an error when the result has a
    significant imaginary part). Both agree to ~1e-10 on well-conditioned input.

    Example:
    >>> mu, s = np.zeros(2), np.eye(2)
    >>> round(frechet_distance(mu, s, mu + 1.0, 4.0 * s), 6)   # |1,1|^2 + 2 + 8 - 2*2*2
    4.0
    """
    mu1, sigma1 = _check_stats(mu1, sigma1, "1")
    mu2, sigma2 = _check_stats(mu2, sigma2, "2")
    if mu1.shape != mu2.shape:
        raise ValueError(
            f"the two Gaussians have different dimensions: {mu1.shape[0]} and {mu2.shape[0]}; "
            "compute both with the same feature layer"
        )
    if method == "eigh":
        tr_covmean = trace_sqrt_product(sigma1, sigma2)
    elif method == "sqrtm":
        tr_covmean = _trace_sqrtm_scipy(sigma1, sigma2, eps)
    else:
        raise ValueError(f"method must be 'eigh' or 'sqrtm', got {method!r}")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean
    # Rounding can give -1e-12 for identical statistics; FID is a squared distance.
    return float(max(value, 0.0))


def fid_from_features(features1, features2, method="eigh"):
    """FID between two feature arrays `(n, d)`; a convenience over `frechet_distance`.

    Example:
    >>> x = np.random.default_rng(0).normal(size=(500, 3))
    >>> fid_from_features(x, x) < 1e-9
    True
    """
    stats = []
    for features in (features1, features2):
        s = FeatureStatistics()
        s.update(features)
        stats += [s.mu, s.sigma]
    return frechet_distance(*stats, method=method)
