"""Stacked digits: the Stacked-MNIST mode-collapse benchmark on scikit-learn's digits.

Stacked MNIST (Metz et al. 2017, "Unrolled GANs"; VEEGAN, PacGAN, R3GAN)
stacks three independently drawn MNIST digits as the red, green and blue
channels of one image, so the data has 10^3 = 1,000 modes (digit triples).
Here the digits are scikit-learn's 8x8 digits (``ganzoo.data.builtin``,
upscaled bilinearly to ``resolution``), which ship with the dependencies and
make the benchmark CPU-sized. Image ``i`` stacks three digit images drawn
uniformly (with replacement) from the 1,797, so a triple's probability is
the product of the digits' frequencies (about 1/1000 each, from 174 to 183
images per digit). Its mode is ``100 * red + 10 * green + blue``.

Measure a generator with ``ganzoo.metrics.stacked.stacked_digits_modes``.

Example:
    >>> from ganzoo.data import stacked
    >>> x, modes = stacked.stacked_digits(1000, resolution=16, seed=0, labels=True)
    >>> x.shape, x.dtype.name, int(modes.max()) < 1000
    ((1000, 16, 16, 3), 'float32', True)
"""

import numpy as np

NUM_MODES = 1000
DEFAULT_SIZE = 50_000  # images in the built-in training set (`builtin:stacked-digits`)
DEFAULT_SEED = 0


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an int >= 0 (the number of stacked images), got {n!r}.")
    return int(n)


def stacked_digits(n, resolution=16, seed=None, labels=False):
    """``n`` stacked-digit images, float32 ``(n, R, R, 3)`` in [-1, 1] (and their int32 modes).

    Args:
        n: number of images.
        resolution: side of the images (>= 8; the digits are upscaled bilinearly).
        seed: seed of the draw (numpy); the same seed gives the same images.
        labels: also return the mode of each image, ``100 r + 10 g + b`` (int32, ``(n,)``).

    Example:
        >>> x = stacked_digits(4, resolution=8, seed=1)
        >>> x.shape
        (4, 8, 8, 3)
    """
    from ganzoo.data.builtin import digits_with_labels

    n = _check_n(n)
    images, digits = digits_with_labels(resolution)  # checks the resolution
    rng = np.random.default_rng(seed)
    index = rng.integers(len(images), size=(n, 3))
    # (n, 3, R, R, 1) -> (n, R, R, 3): channel c is digit image index[:, c].
    x = np.ascontiguousarray(np.moveaxis(images[index][..., 0], 1, -1), dtype=np.float32)
    if not labels:
        return x
    d = digits[index]
    return x, (100 * d[:, 0] + 10 * d[:, 1] + d[:, 2]).astype(np.int32)


def mode_names():
    """The 1,000 mode names "000".."999" (red, green, blue digit), mode ``k`` is ``mode_names()[k]``.

    Example:
        >>> mode_names()[123]
        '123'
    """
    return [f"{k:03d}" for k in range(NUM_MODES)]


def load(resolution=16, labels=False, n=DEFAULT_SIZE, seed=DEFAULT_SEED):
    """The built-in training set (``builtin:stacked-digits``): ``n`` images drawn with ``seed``.

    Example:
        >>> load(16).shape
        (50000, 16, 16, 3)
    """
    return stacked_digits(n, resolution, seed=seed, labels=labels)
