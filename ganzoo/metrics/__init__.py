"""Sample-quality metrics: FID, Inception Score, KID, precision/recall, mode coverage.

All image metrics run on the FID Inception network (the 2015 TF graph, ported
from pytorch-fid to Keras layers) on every backend; the statistics are numpy
float64. Results carry their protocol (sample counts, reference, resizer,
weights hash), because metrics are only comparable under the same protocol.

Example:
    >>> import ganzoo
    >>> extractor = ganzoo.metrics.load_inception()                      # doctest: +SKIP
    >>> ref = ganzoo.metrics.compute_reference_stats("data/real", extractor)  # doctest: +SKIP
    >>> ganzoo.metrics.evaluate(gan.generate, ref, ("fid", "kid"), extractor,
    ...                         num_samples=10000)                         # doctest: +SKIP
"""

import importlib

# The function shadows its module name (as ganzoo.data.images): import the module first.
from ganzoo.metrics.c2st import c2st
from ganzoo.metrics.evaluate import METRICS
from ganzoo.metrics.evaluate import evaluate
from ganzoo.metrics.fid import FeatureStatistics
from ganzoo.metrics.fid import fid_from_features
from ganzoo.metrics.fid import frechet_distance
from ganzoo.metrics.fid import trace_sqrt_product
from ganzoo.metrics.inception_score import inception_score
from ganzoo.metrics.kid import kernel_inception_distance
from ganzoo.metrics.kid import mmd2_unbiased
from ganzoo.metrics.kid import polynomial_kernel
from ganzoo.metrics.precision_recall import precision_recall
from ganzoo.metrics.reference import ReferenceStats
from ganzoo.metrics.reference import compute_reference_stats
from ganzoo.metrics.reference import load_reference

# Keras-dependent names load on first use, so the numpy metrics import fast.
_LAZY = {
    "load_inception": ("ganzoo.metrics.extractor", "load_inception"),
    "InceptionExtractor": ("ganzoo.metrics.extractor", "InceptionExtractor"),
    "build_fid_inception": ("ganzoo.metrics.inception", "build_fid_inception"),
    "FIDInceptionV3": ("ganzoo.metrics.inception", "FIDInceptionV3"),
    "resize_bilinear_tf1": ("ganzoo.metrics.resize", "resize_bilinear_tf1"),
    # Written separately; resolved when asked for, so this package imports without it.
    "mode_coverage": ("ganzoo.metrics.mode_coverage", "mode_coverage"),
    "stacked_digits_modes": ("ganzoo.metrics.stacked", "stacked_digits_modes"),
}

__all__ = [
    "METRICS",
    "c2st",
    "evaluate",
    "FeatureStatistics",
    "fid_from_features",
    "frechet_distance",
    "trace_sqrt_product",
    "inception_score",
    "kernel_inception_distance",
    "mmd2_unbiased",
    "polynomial_kernel",
    "precision_recall",
    "ReferenceStats",
    "compute_reference_stats",
    "load_reference",
    *_LAZY,
]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'ganzoo.metrics' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name:
            raise
        raise AttributeError(f"ganzoo.metrics.{name} is unavailable: {module_name} is missing") from e
    value = getattr(module, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
