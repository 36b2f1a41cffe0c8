"""Inception features of images: the FID pipeline around `FIDInceptionV3`.

`load_inception()` returns an `InceptionExtractor`: uint8 quantisation of
float images, TF1 legacy bilinear resize to 299x299, the FID Inception network,
batching, numpy float32 outputs. This is what TTUR / pytorch-fid's published
statistics / torch-fidelity / clean-fid "legacy_tensorflow" compute.
"""

import os
import warnings

import keras
import numpy as np
from keras import ops

from ganzoo import backend
from ganzoo.metrics.inception import INPUT_SIZE
from ganzoo.metrics.inception import NUM_CLASSES
from ganzoo.metrics.inception import POOL_DIM
from ganzoo.metrics.inception import build_fid_inception
from ganzoo.metrics.resize import resize_bilinear_tf1


class InceptionExtractor:
    """Inception features of images: `{"pool", "logits", "logits_unbiased"}`.

    Call it on NHWC images of any size, uint8 or float in [0, 255], RGB or
    grayscale (repeated to RGB). Float images are first quantised to uint8
    (rounded), because reference statistics are computed from 8-bit files;
    pass generator output in [-1, 1] through `ganzoo.utils.images.to_uint8`
    first. Images are resized to 299x299 with TF1 legacy bilinear resampling,
    run in batches of `batch_size`, and returned as float32 numpy arrays:
    `pool` (N, 2048) for FID/KID/PR, `logits` (N, 1008), and `logits_unbiased`
    (logits without the fc bias, which the original Inception Score code uses).

    `protocol` describes the pipeline for metric records.

    Example:
    >>> extractor = ganzoo.metrics.load_inception()           # doctest: +SKIP
    >>> feats = extractor(np.zeros((4, 32, 32, 3), "uint8"))  # doctest: +SKIP
    >>> feats["pool"].shape                                   # doctest: +SKIP
    (4, 2048)
    """

    resizer = "tf1-legacy-bilinear (align_corners=False, half_pixel_centers=False)"

    def __init__(self, network, batch_size=64, weights_sha256=None, weights_source=None):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.network = network
        self.batch_size = int(batch_size)
        self.weights_sha256 = weights_sha256
        self.weights_source = weights_source
        self._compiled = set()

    @property
    def protocol(self):
        """A dict describing the feature pipeline (stored with every metric)."""
        return {
            "network": "inception-2015-12-05 (FID Inception, pytorch-fid port)",
            "resizer": self.resizer,
            "input": "uint8 RGB, normalised (x - 128) / 128",
            "weights_sha256": self.weights_sha256,
            "weights_source": self.weights_source,
            "backend": keras.backend.backend(),
        }

    def __call__(self, images, batch_size=None, progress=None):
        """Return `{"pool", "logits", "logits_unbiased"}` float32 numpy arrays.

        `progress` is an optional callable called with the number of images
        done after each batch (for progress bars).
        """
        images = check_images(images)
        batch_size = int(batch_size or self.batch_size)
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        n = len(images)
        # JAX compiles the network once per batch size: a short last batch is
        # padded to a size already compiled rather than compiled anew.
        pad = backend.COMPILES_PER_BATCH_SIZE
        pools, logits = [], []
        for start in range(0, n, batch_size):
            batch = images[start : start + batch_size]
            size = len(batch)
            if pad and size < batch_size and batch_size in self._compiled:
                filler = np.zeros((batch_size - size,) + batch.shape[1:], batch.dtype)
                batch = np.concatenate([batch, filler])
            self._compiled.add(len(batch))
            # The legacy resize runs eagerly: it needs the static input size,
            # while the network is compiled once for 299x299.
            resized = resize_bilinear_tf1(batch.astype("float32"), (INPUT_SIZE, INPUT_SIZE))
            p, l = self.network.predict_on_batch(resized)
            pools.append(np.asarray(p, "float32")[:size])
            logits.append(np.asarray(l, "float32")[:size])
            if progress is not None:
                progress(min(start + batch_size, n))
        bias = np.asarray(ops.convert_to_numpy(self.network.fc.bias), "float32")
        logits = np.concatenate(logits) if logits else np.zeros((0, NUM_CLASSES), "float32")
        return {
            "pool": np.concatenate(pools) if pools else np.zeros((0, POOL_DIM), "float32"),
            "logits": logits,
            "logits_unbiased": logits - bias,
        }


def check_images(images, name="images"):
    """Validate NHWC images in [0, 255] and return them as a uint8 numpy array.

    Accepts uint8, or floats in [0, 255] (rounded to the nearest integer, as
    writing an 8-bit image file would). Raises a one-line `ValueError` for a
    wrong rank, channel count or value range.

    Example:
    >>> check_images(np.full((2, 8, 8, 3), 254.6, "float32"))[0, 0, 0].tolist()
    [255, 255, 255]
    """
    if hasattr(images, "numpy") and not isinstance(images, np.ndarray):
        images = images.numpy()  # tf / torch tensors (on CPU)
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"{name} must be a batch of NHWC images of rank 4, got shape {images.shape}; "
            "add a batch axis with x[None] for a single image"
        )
    if images.shape[-1] not in (1, 3):
        raise ValueError(
            f"{name} must have 1 (grayscale) or 3 (RGB) channels last (NHWC), got shape "
            f"{images.shape}; transpose NCHW images with x.transpose(0, 2, 3, 1)"
        )
    if images.shape[1] < 1 or images.shape[2] < 1:
        raise ValueError(f"{name} have an empty spatial size: shape {images.shape}")
    if images.dtype == np.uint8:
        return images
    if images.dtype == bool or not np.issubdtype(images.dtype, np.number):
        raise ValueError(f"{name} must be uint8 or float in [0, 255], got dtype {images.dtype}")
    if images.size:
        lo, hi = float(np.min(images)), float(np.max(images))
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -0.5 or hi > 255.5:
            hint = (
                "; for generator output in [-1, 1] use ganzoo.utils.images.to_uint8(x)"
                if lo >= -1.0 - 1e-6 and hi <= 1.0 + 1e-6
                else ""
            )
            raise ValueError(
                f"{name} must be in [0, 255] (uint8 or float), found values in "
                f"[{lo:.4g}, {hi:.4g}]{hint}"
            )
        if hi <= 1.0 and lo >= 0.0 and hi > 0.0:
            warnings.warn(
                f"{name} are float in [{lo:.3g}, {hi:.3g}]: they are read as [0, 255] values, "
                "so they are almost black; multiply [0, 1] images by 255 first",
                stacklevel=3,
            )
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def load_inception(weights=None, batch_size=64, data_format=None):
    """Build the FID Inception feature extractor with weights.

    `weights` is a path to pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`
    (read with `torch.load(weights_only=True)`), the same tensors as
    `.safetensors`, or the Keras `.weights.h5` that
    `tools/convert_fid_inception.py` converts it to (needs no torch). With
    `weights=None` the pinned default is taken from the cache or the Hub (see
    `ganzoo.metrics.inception_weights.resolve_default_weights`); offline
    without a cached copy, the error says where to put the file.

    Example:
    >>> extractor = load_inception("pt_inception-2015-12-05-6726825d.pth")  # doctest: +SKIP
    >>> extractor(images)["pool"].shape                                      # doctest: +SKIP
    (16, 2048)
    """
    from ganzoo.metrics import inception_weights

    path = inception_weights.resolve_default_weights() if weights is None else weights
    network = build_fid_inception(data_format)
    sha256 = inception_weights.load_weights(network, path)
    return InceptionExtractor(
        network, batch_size=batch_size, weights_sha256=sha256, weights_source=os.fspath(path)
    )
