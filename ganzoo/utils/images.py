"""Image helpers: [-1, 1] floats to uint8, image grids, atomic PNG files.

Generators output float images in [-1, 1] (tanh). Everything that leaves the
model as a picture (sample grids, FID inputs, Hub sample images) goes through
`to_uint8`, the same quantisation the reference FID pipelines use
(StyleGAN's `x * 127.5 + 128`, clipped, truncated), so numbers and pictures
agree.
"""

import os
import tempfile

import numpy as np


def to_uint8(images, value_range=(-1.0, 1.0)):
    """Quantise float images in `value_range` to uint8 [0, 255] (round half up, clip).

    uint8 input is returned unchanged. Works on any shape (NHWC, HWC, HW).

    Example:
    >>> to_uint8(np.array([-1.0, 0.0, 1.0])).tolist()
    [0, 128, 255]
    """
    if hasattr(images, "numpy") and not isinstance(images, np.ndarray):
        images = images.numpy()
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range}")
    if not np.issubdtype(images.dtype, np.number) or images.dtype == bool:
        raise ValueError(f"images must be numeric, got dtype {images.dtype}")
    if images.size and not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or infinity; the generator may have diverged")
    scaled = (images.astype(np.float64) - lo) * (255.0 / (hi - lo)) + 0.5
    return np.clip(np.floor(scaled), 0, 255).astype(np.uint8)


def make_grid(images, nrow=None, padding=2, pad_value=0):
    """Tile a batch `(N, H, W, C)` or `(N, H, W)` into one image `(H', W', C)`.

    `nrow` is the number of images per row (default: ceil(sqrt(N)), a square-ish
    grid); `padding` pixels of `pad_value` separate and surround the tiles. The
    dtype is kept; grayscale stays one channel.

    Example:
    >>> make_grid(np.ones((6, 4, 4, 3), "uint8"), nrow=3, padding=1).shape
    (11, 16, 3)
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(
            f"make_grid needs a non-empty batch of images (N, H, W[, C]), got shape {images.shape}"
        )
    n, h, w, c = images.shape
    nrow = int(nrow) if nrow else int(np.ceil(np.sqrt(n)))
    if nrow < 1:
        raise ValueError(f"nrow must be a positive integer, got {nrow}")
    ncol = int(np.ceil(n / nrow))
    padding = int(padding)
    grid = np.full(
        (ncol * (h + padding) + padding, nrow * (w + padding) + padding, c),
        pad_value,
        dtype=images.dtype,
    )
    for i, image in enumerate(images):
        row, col = divmod(i, nrow)
        top, left = padding + row * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = image
    return grid


def save_png(path, array):
    """Write a uint8 image `(H, W)`, `(H, W, 1)`, `(H, W, 3)` or `(H, W, 4)` as PNG, atomically.

    The file appears complete or not at all (written to a temporary file in the
    same folder, then renamed); missing folders are created.

    Example:
    >>> save_png("/tmp/grid.png", make_grid(to_uint8(np.zeros((4, 8, 8, 3)))))
    """
    from PIL import Image

    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(
            f"save_png needs uint8 pixels, got {array.dtype}; convert [-1, 1] floats with to_uint8(x)"
        )
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
        raise ValueError(
            f"save_png needs an image (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got shape {array.shape}"
        )
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            Image.fromarray(array).save(f, format="PNG")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would survive the rename
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _umask():
    """The process umask (os.umask can only be read by setting it)."""
    old = os.umask(0o022)
    os.umask(old)
    return old
