"""Datasets for GAN training.

* :func:`images` — an image folder, a numpy array, an ``(x, y)`` pair,
  ``"tfds:<name>[:split]"`` or ``"builtin:digits"`` as a ``tf.data.Dataset`` of
  float32 NHWC batches in ``[-1, 1]``; with ``labels=True``, of ``(images,
  labels)`` batches (int32 class ids) whose classes are ``ds.class_names``.
* :mod:`toy` — 2-D toy distributions (ring, grid) for mode-collapse studies,
  imported on first use.
* :mod:`builtin` — datasets that need no download (``digits``), imported on first use.

``ganzoo.data.images`` is the function; the module that defines it is
``sys.modules["ganzoo.data.images"]`` (importing the package always rebinds the
name to the function, so the two never get mixed up). TensorFlow is imported only
when :func:`images` is called.

Example:
    >>> from ganzoo import data
    >>> ds = data.images("path/to/images", 64, batch_size=32)   # doctest: +SKIP
    >>> ds = data.images("path/to/classes", 64, 32, labels=True) # doctest: +SKIP
    >>> ds.class_names                                           # doctest: +SKIP
    >>> pts = data.toy.ring(1000)                                # doctest: +SKIP
"""

import importlib

# Importing the submodule first binds `images` to the module; the from-import then
# rebinds it to the function. Because the package runs before any submodule can be
# imported, `ganzoo.data.images` is always the function.
from ganzoo.data.images import images  # noqa: E402

_LAZY_MODULES = ("toy", "builtin", "paired", "unpaired", "superres")
# Modules that register recipe data makers (`data.kind`, registry kind "dataset"); see load_data_kinds.
DATA_KIND_MODULES = ("paired", "unpaired", "superres")


def load_data_kinds():
    """Import the modules that register `data.kind` makers (paired, inpaint, ...).

    Example:
        >>> load_data_kinds(); "paired" in ganzoo.engine.registry.entries("dataset")
        True
    """
    for module in DATA_KIND_MODULES:
        importlib.import_module(f"{__name__}.{module}")

__all__ = ["images", *_LAZY_MODULES]


def __getattr__(name):
    if name in _LAZY_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
