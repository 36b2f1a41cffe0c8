"""Datasets that ship with ganzoo's dependencies, so training needs no download.

Recipes name them as ``data: {source: "builtin:<name>"}``. The first is
``digits``: scikit-learn's copy of the UCI optical handwritten digits (1,797
images of 8x8 pixels, 17 gray levels, classes 0-9, roughly 180 per class),
upscaled bilinearly to ``resolution`` and scaled to ``[-1, 1]`` (background
-1, ink +1). It is what the embedded ``dcgan-digits`` preset is trained on.
Its class labels are the digits: int32 ids 0-9, named "0".."9"
(``load(..., labels=True)``, ``class_names("digits")``).
``stacked-digits``: 50,000 RGB images of three digits stacked as the channels
(1,000 modes, labelled by the triple "000".."999"; the Stacked-MNIST protocol,
see ``ganzoo.data.stacked``).

Example:
    >>> from ganzoo.data import builtin
    >>> x = builtin.load("digits", 32)
    >>> x.shape, float(x.min()), float(x.max())
    ((1797, 32, 32, 1), -1.0, 1.0)
    >>> x, y = builtin.load("digits", 32, labels=True)
    >>> y[:5].tolist(), y.dtype.name
    ([0, 1, 2, 3, 4], 'int32')
"""

import difflib

import numpy as np

NAMES = ("digits", "stacked-digits")
DIGITS_MAX = 16.0  # load_digits' gray levels are 0..16
_CLASS_NAMES = {"digits": tuple(str(d) for d in range(10))}
# Stacked digits (ganzoo.data.stacked): three digits as the RGB channels; class = the triple "rgb".
_CLASS_NAMES["stacked-digits"] = tuple(f"{k:03d}" for k in range(1000))


def _sklearn_digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - scikit-learn is a dependency
        raise ImportError("builtin:digits needs scikit-learn: pip install scikit-learn") from err
    return load_digits()


def digits_with_labels(resolution=32):
    """The digits as ``(images, labels)``: float32 ``(N, R, R, 1)`` in [-1, 1] and int32 ``(N,)``.

    Example:
        >>> x, y = digits_with_labels(16)
        >>> x.shape, sorted(set(y.tolist()))[:3]
        ((1797, 16, 16, 1), [0, 1, 2])
    """
    resolution = _check_resolution(resolution)
    bunch = _sklearn_digits()
    raw = np.asarray(bunch.images, dtype="float32") / DIGITS_MAX  # (N, 8, 8) in [0, 1]
    return upscale(raw, resolution) * 2.0 - 1.0, np.asarray(bunch.target, dtype="int32")


def upscale(images01, resolution):
    """Bilinear resize of ``(N, h, w)`` images in [0, 1] to ``(N, R, R, 1)`` (pixel-centre aligned).

    Example:
        >>> upscale(np.ones((2, 8, 8), "float32"), 32).shape
        (2, 32, 32, 1)
    """
    from PIL import Image

    images01 = np.asarray(images01, dtype="float32")
    if images01.ndim != 3:
        raise ValueError(f"upscale expects (N, h, w) grayscale images, got shape {images01.shape}")
    out = np.empty((len(images01), resolution, resolution, 1), dtype="float32")
    for i, image in enumerate(images01):
        resized = Image.fromarray(image, mode="F").resize((resolution, resolution), Image.BILINEAR)
        out[i, :, :, 0] = np.asarray(resized, dtype="float32")
    return np.clip(out, 0.0, 1.0)


def _check_resolution(resolution):
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 8:
        raise ValueError(f"resolution must be an int >= 8 (the digits are 8x8), got {resolution!r}")
    return int(resolution)


def _check_name(name):
    if name not in NAMES:
        close = difflib.get_close_matches(str(name), NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown built-in dataset {name!r}; available: {', '.join(NAMES)}.{hint}")


def class_names(name):
    """The class names of a built-in dataset; id ``k`` is ``class_names(name)[k]``.

    Example:
        >>> class_names("digits")[:3]
        ['0', '1', '2']
    """
    _check_name(name)
    return list(_CLASS_NAMES[name])


def load(name, resolution, labels=False):
    """A built-in dataset as a float32 NHWC array in [-1, 1], or ``(images, labels)``.

    Args:
        name: one of ``NAMES`` (``"digits"``).
        resolution: side of the square output images.
        labels: also return the int32 class ids ``(N,)`` (see ``class_names``).

    Example:
        >>> load("digits", 32).shape
        (1797, 32, 32, 1)
        >>> load("digits", 32, labels=True)[1].shape
        (1797,)
    """
    _check_name(name)
    if name == "stacked-digits":
        from ganzoo.data import stacked

        return stacked.load(_check_resolution(resolution), labels=labels)
    images, ids = digits_with_labels(resolution)
    return (images, ids) if labels else images
