"""2-D Gaussian mixtures for mode-collapse experiments.

The 8-mode ring and the 5x5 grid of VEEGAN (arXiv 1705.07761), PacGAN and
GDPP: equal-weight mixtures of isotropic Gaussians. Measure a generator on
them with ``ganzoo.metrics.mode_coverage.mode_coverage``. (Some reference
code places the ring at ``linspace(0, 2*pi, 8)``, which repeats the first
angle and has only 7 distinct modes; here mode ``k`` is at ``2*pi*k/K``.)
"""

import dataclasses
import itertools

import numpy as np


def _check(name, value, low, integer=False):
    if integer and int(value) != value:
        raise ValueError(f"{name} must be an integer, got {value!r}.")
    if not value >= low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}.")


def ring_centers(num_modes=8, radius=1.0):
    """Means of the ring mixture: ``radius * (cos, sin)(2*pi*k / num_modes)``.

    Example:
        >>> ring_centers(4).round(6).tolist()
        [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [-0.0, -1.0]]
    """
    _check("num_modes", num_modes, 1, integer=True)
    if not radius > 0:
        raise ValueError(f"radius must be > 0, got {radius!r}.")
    angles = 2.0 * np.pi * np.arange(int(num_modes)) / int(num_modes)
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(np.float32)


def grid_centers(size=5, spacing=2.0):
    """Means of the ``size x size`` grid, centred at 0 (defaults: {-4,-2,0,2,4}^2).

    Example:
        >>> grid_centers(2, spacing=2.0).tolist()
        [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
    """
    _check("size", size, 1, integer=True)
    if not spacing > 0:
        raise ValueError(f"spacing must be > 0, got {spacing!r}.")
    axis = (np.arange(int(size)) - (int(size) - 1) / 2.0) * spacing
    return np.array(list(itertools.product(axis, axis)), dtype=np.float32)


def sample_mixture(n, centers, std, seed=None, labels=False):
    """``n`` draws from the equal-weight mixture of ``N(center, std^2 I)``.

    With ``labels=True`` also returns each draw's mode as int32 class ids
    ``(n,)`` (mode ``k`` is ``centers[k]``); the points are the same either way.

    Example:
        >>> sample_mixture(3, np.zeros((2, 2)), 0.1, seed=0).shape
        (3, 2)
        >>> x, modes = sample_mixture(3, np.zeros((2, 2)), 0.1, seed=0, labels=True)
        >>> modes.dtype.name
        'int32'
    """
    _check("n", n, 0, integer=True)
    if not std >= 0:
        raise ValueError(f"std must be >= 0, got {std!r}.")
    centers = np.asarray(centers, dtype=np.float64)
    rng = np.random.default_rng(seed)
    modes = rng.integers(len(centers), size=int(n))
    noise = rng.standard_normal((int(n), centers.shape[1]))
    points = (centers[modes] + std * noise).astype(np.float32)
    return (points, modes.astype(np.int32)) if labels else points


def ring(n, num_modes=8, radius=1.0, std=0.01, seed=None):
    """``n`` samples (float32, ``(n, 2)``) from the ring of Gaussians.

    Example:
        >>> ring(1000, seed=0).shape
        (1000, 2)
    """
    return sample_mixture(n, ring_centers(num_modes, radius), std, seed)


def grid(n, size=5, spacing=2.0, std=0.05, seed=None):
    """``n`` samples (float32, ``(n, 2)``) from the grid of Gaussians.

    Example:
        >>> grid(1000, seed=0).shape
        (1000, 2)
    """
    return sample_mixture(n, grid_centers(size, spacing), std, seed)


@dataclasses.dataclass(frozen=True)
class ToySpec:
    """A named toy mixture: its means, per-mode std, and a sampler.

    Example:
        >>> spec = toy_spec("grid")
        >>> spec.centers.shape, spec.std, spec.sample(10, seed=0).shape
        ((25, 2), 0.05, (10, 2))
    """

    name: str
    centers: np.ndarray
    std: float

    def sample(self, n, seed=None, labels=False):
        """``n`` float32 samples ``(n, 2)`` from the mixture (and their int32 modes with ``labels``)."""
        return sample_mixture(n, self.centers, self.std, seed, labels=labels)


def toy_spec(name, **kwargs):
    """The ``ToySpec`` for ``"ring"`` or ``"grid"``; ``kwargs`` override defaults.

    Example:
        >>> toy_spec("ring", num_modes=6).centers.shape
        (6, 2)
    """
    if name == "ring":
        std = kwargs.pop("std", 0.01)
        return ToySpec("ring", ring_centers(**kwargs), float(std))
    if name == "grid":
        std = kwargs.pop("std", 0.05)
        return ToySpec("grid", grid_centers(**kwargs), float(std))
    raise ValueError(f"Unknown toy dataset {name!r}; use one of {sorted(TOY_DATASETS)}.")


TOY_DATASETS = {"ring": ring, "grid": grid}
