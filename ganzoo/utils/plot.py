"""Scatter plots of 2-D samples as PNG, with PIL only (no matplotlib).

Example:
    >>> scatter_png(samples, centers, "samples.png", std=0.01)
"""

import os
import tempfile

import numpy as np
from PIL import Image, ImageDraw


def scatter_png(samples, centers=None, path="samples.png", std=None, size=512, margin=0.15):
    """Draw `samples` (N, 2) as dots over the true mode `centers` (K, 2).

    Each mode gets a red circle of radius 3*std (the high-quality region of
    the mode-coverage protocol) when `std` is given, else a cross.

    Example:
        >>> scatter_png(np.random.randn(100, 2), np.zeros((1, 2)), "out.png", std=0.5)
    """
    samples = np.asarray(samples, dtype="float64")
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"scatter_png needs samples of shape (N, 2), got {samples.shape}.")
    ref = np.asarray(centers, dtype="float64") if centers is not None else samples
    finite = samples[np.all(np.isfinite(samples), axis=1)]
    lo, hi = ref.min(axis=0), ref.max(axis=0)
    span = float(max(hi - lo)) or 1.0
    mid = (lo + hi) / 2.0
    half = span * (0.5 + margin)

    def to_px(points):
        unit = (points - (mid - half)) / (2.0 * half)
        return np.stack([unit[:, 0] * (size - 1), (1.0 - unit[:, 1]) * (size - 1)], axis=1)

    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    for x, y in to_px(finite):
        if 0 <= x < size and 0 <= y < size:
            draw.point((x, y), fill=(30, 80, 200))
    if centers is not None:
        radius_px = 3.0 * float(std) / (2.0 * half) * (size - 1) if std else 4.0
        for x, y in to_px(ref):
            r = max(radius_px, 2.0)
            draw.ellipse((x - r, y - r, x + r, y + r), outline=(220, 30, 30))
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=directory)
    os.close(fd)
    try:
        image.save(tmp, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path
