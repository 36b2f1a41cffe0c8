"""Mode coverage on Gaussian mixtures (VEEGAN / PacGAN / GDPP protocol).

Each generated sample is assigned to its nearest mixture mean. A sample is
*high quality* when that distance is at most ``3 * std`` (VEEGAN,
arXiv 1705.07761, Sec. 5.1). A mode is *captured* when at least one
high-quality sample is assigned to it. The reverse KL is ``KL(q || p)`` with
``p`` uniform over the ``K`` modes and ``q`` the histogram of the
high-quality samples' modes: the PacGAN reference code (``MetricLogger`` in
fjxmlzn/PacGAN) builds its coverage histogram from high-quality samples only,
so samples between modes count against ``high_quality`` but do not distort
``q``. Empty bins contribute ``0 * log 0 = 0``; with no high-quality sample
``q`` is undefined and ``reverse_kl`` is NaN.

numpy only: usable from any backend and from callbacks without Keras.
"""

import numpy as np

_CHUNK = 65536  # rows per distance block, bounds memory at CHUNK * K floats


def mode_coverage(samples, centers, std):
    """Modes captured, share of high-quality samples and reverse KL.

    Args:
        samples: ``(n, d)`` generated samples.
        centers: ``(K, d)`` mixture means.
        std: the mixture's standard deviation, a scalar or one per mode ``(K,)``.

    Returns:
        ``{"modes": int, "high_quality": float in [0, 1], "reverse_kl": float,
        "num_samples": int}``.

    Example:
        >>> centers = np.array([[0.0, 0.0], [1.0, 0.0]])
        >>> r = mode_coverage(centers[[0, 0, 1]], centers, 0.01)
        >>> r["modes"], r["high_quality"], round(r["reverse_kl"], 4)
        (2, 1.0, 0.0566)
    """
    samples = np.asarray(samples, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or len(centers) == 0:
        raise ValueError(f"centers must have shape (K, d) with K >= 1, got {centers.shape}.")
    if samples.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples must have shape (n, {centers.shape[1]}) to match centers "
            f"{centers.shape}, got {samples.shape}."
        )
    if len(samples) == 0:
        raise ValueError("samples is empty; pass at least one sample.")
    if not np.all(np.isfinite(samples)):
        raise ValueError("samples contain NaN or inf; the generator diverged.")
    num_modes = len(centers)
    std = np.asarray(std, dtype=np.float64)
    if std.ndim > 1 or (std.ndim == 1 and len(std) != num_modes):
        raise ValueError(f"std must be a scalar or have shape ({num_modes},), got {std.shape}.")
    if not np.all(std > 0):
        raise ValueError(f"std must be > 0, got {std}.")
    std = np.broadcast_to(std, (num_modes,))

    nearest = np.empty(len(samples), dtype=np.int64)
    distance = np.empty(len(samples))
    for start in range(0, len(samples), _CHUNK):
        block = samples[start:start + _CHUNK]
        d2 = np.sum((block[:, None, :] - centers[None, :, :]) ** 2, axis=-1)
        idx = np.argmin(d2, axis=1)
        nearest[start:start + _CHUNK] = idx
        distance[start:start + _CHUNK] = np.sqrt(d2[np.arange(len(block)), idx])

    good = distance <= 3.0 * std[nearest]
    counts = np.bincount(nearest[good], minlength=num_modes)
    num_good = int(counts.sum())
    if num_good:
        q = counts[counts > 0] / num_good
        reverse_kl = float(np.sum(q * np.log(q * num_modes)))
    else:
        reverse_kl = float("nan")
    return {
        "modes": int(np.count_nonzero(counts)),
        "high_quality": num_good / len(samples),
        "reverse_kl": max(reverse_kl, 0.0) if num_good else reverse_kl,
        "num_samples": int(len(samples)),
    }
