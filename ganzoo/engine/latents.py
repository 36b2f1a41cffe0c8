"""Latent-space helpers in numpy: seeded sampling, interpolation, arithmetic.

Latents are drawn with numpy from a seed, so the same seed gives the same
latents (and, with the same weights, the same images) on every backend.

Example:
    >>> z = sample_normal(4, 128, seed=0)
    >>> path = interpolate(z[0], z[1], steps=8, method="slerp")  # (8, 128)
"""

import numpy as np

METHODS = ("lerp", "slerp")


def sample_normal(n, latent_shape, seed=None):
    """`n` standard-normal latents of shape `latent_shape`, float32.

    Example:
        >>> sample_normal(2, 3, seed=0).shape
        (2, 3)
    """
    shape = (latent_shape,) if isinstance(latent_shape, int) else tuple(latent_shape)
    rng = np.random.default_rng(seed)
    return rng.standard_normal((int(n), *shape)).astype("float32")


def sample_truncated_normal(n, latent_shape, truncation=1.0, seed=None, bound=2.0):
    """BigGAN's truncation trick: `truncation * TN(-bound, bound)` latents, float32.

    The standard normal truncated to [-bound, bound] (values outside are
    redrawn, as scipy's `truncnorm(-2, 2)` in the BigGAN TF-Hub colab and
    pytorch-pretrained-biggan's `truncated_noise_sample`), scaled by
    `truncation` in (0, 1]: smaller is less varied and more faithful
    (Brock et al. 2019, section 3.1).

    Example:
        >>> z = sample_truncated_normal(4, 128, truncation=0.4, seed=0)
        >>> bool(abs(z).max() <= 0.8)
        True
    """
    t = check_truncation(truncation)
    shape = (latent_shape,) if isinstance(latent_shape, int) else tuple(latent_shape)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((int(n), *shape))
    bad = np.abs(z) > bound
    while bad.any():  # rejection: exact truncated normal, a few rounds at most
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > bound
    return (t * z).astype("float32")


def check_truncation(truncation):
    """`truncation` as a float in (0, 1], or a one-line error saying what is valid.

    Example:
        >>> check_truncation(0.4)
        0.4
    """
    try:
        t = float(truncation)
    except (TypeError, ValueError):
        raise ValueError(f"truncation must be a number in (0, 1], got {truncation!r}.") from None
    if not 0.0 < t <= 1.0:
        raise ValueError(
            f"truncation={truncation} lies outside (0, 1]: it scales a truncated normal latent "
            "(1.0 = no truncation, 0.4 = typical for BigGAN's best-looking samples)."
        )
    return t


def lerp(a, b, t):
    """Linear interpolation `(1 - t) a + t b` for each t (broadcast on axis 0).

    Example:
        >>> lerp(np.zeros(2), np.ones(2), np.array([0.5]))
        array([[0.5, 0.5]])
    """
    t = np.asarray(t, dtype="float64").reshape((-1,) + (1,) * np.ndim(a))
    return ((1.0 - t) * a + t * b).astype(np.result_type(a, "float32"))


def slerp(a, b, t):
    """Spherical interpolation (Shoemake 1985; White 2016 for GAN latents).

    Falls back to `lerp` when `a` and `b` are (anti)parallel.

    Example:
        >>> slerp(np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([0.5]))
        array([[0.70710677, 0.70710677]], dtype=float32)
    """
    a64, b64 = np.asarray(a, "float64"), np.asarray(b, "float64")
    na, nb = np.linalg.norm(a64), np.linalg.norm(b64)
    if na == 0 or nb == 0:
        return lerp(a, b, t)
    cos = np.clip(np.sum(a64 * b64) / (na * nb), -1.0, 1.0)
    omega = np.arccos(cos)
    so = np.sin(omega)
    if so < 1e-6:
        return lerp(a, b, t)
    t = np.asarray(t, dtype="float64").reshape((-1,) + (1,) * np.ndim(a))
    out = np.sin((1.0 - t) * omega) / so * a64 + np.sin(t * omega) / so * b64
    return out.astype("float32")


def interpolate(a, b, steps=8, method="slerp"):
    """`steps` latents from `a` to `b` (both included).

    Example:
        >>> interpolate(np.zeros(4), np.ones(4), steps=3, method="lerp").shape
        (3, 4)
    """
    if method not in METHODS:
        raise ValueError(f"Unknown interpolation method {method!r}; use one of {METHODS}.")
    if int(steps) < 2:
        raise ValueError(f"steps must be >= 2 to include both end points, got {steps}.")
    t = np.linspace(0.0, 1.0, int(steps))
    return (slerp if method == "slerp" else lerp)(a, b, t)


def vector_arithmetic(positive, negative=()):
    """Latent vector arithmetic (Radford et al. 2016, section 6.3).

    Each term is a group of latents (array of shape (k, ...)) that is
    averaged first, as in the DCGAN paper, which averages three exemplars
    per concept: result = sum(mean(p)) - sum(mean(n)).

    Example:
        >>> man_glasses, man, woman = (sample_normal(3, 100, seed=s) for s in range(3))
        >>> z = vector_arithmetic([man_glasses, woman], [man])  # "woman with glasses"
    """
    if not positive:
        raise ValueError("vector_arithmetic needs at least one positive term.")
    means = lambda groups: [np.mean(np.atleast_2d(g), axis=0) for g in groups]  # noqa: E731
    result = np.sum(means(positive), axis=0)
    if negative:
        result = result - np.sum(means(negative), axis=0)
    return result.astype("float32")
