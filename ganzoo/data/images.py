"""Image datasets for GAN training: an image folder, a numpy array or a TFDS dataset.

:func:`images` turns any of them into a ``tf.data.Dataset`` of float32 NHWC
batches in ``[-1, 1]``, which ``keras.Model.fit`` accepts on every backend
(TensorFlow, JAX and PyTorch).

Non-square images (and arrays whose size differs from ``resolution``) follow the
``crop`` policy:

``"center"`` (default)
    Crop the largest centred window with the target aspect ratio, then resize.
    Nothing is distorted; the borders of the long side are lost.
``"pad"``
    Resize so the whole image fits, then pad the short side with black (``-1``)
    to the target shape. Nothing is lost; the padding is visible.
``"stretch"``
    Resize to the target shape directly (the aspect ratio changes).

Resizing is bilinear with antialiasing, done in float32 on ``[0, 255]`` values.

Example:
    >>> import numpy as np
    >>> from ganzoo.data import images
    >>> x = np.random.randint(0, 256, (64, 28, 28), dtype=np.uint8)
    >>> ds = images(x, 32, batch_size=16, seed=0)
    >>> next(iter(ds)).shape
    TensorShape([16, 32, 32, 1])
"""

from __future__ import annotations

import logging
import os
import re

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["images", "IMAGE_EXTENSIONS", "CROP_POLICIES"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
CROP_POLICIES = ("center", "pad", "stretch")

# PIL format names that tf.io.decode_image can decode (MPO is a multi-picture JPEG).
_DECODABLE_FORMATS = {"PNG", "JPEG", "MPO", "BMP", "DIB", "GIF", "WEBP"}
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
# Raw (undecoded-size) TFDS examples held for element-level shuffling.
_TFDS_SHUFFLE_BUFFER = 2048
_FLOAT_TOL = 1e-3


def _tf():
    import tensorflow as tf

    return tf


# --------------------------------------------------------------------------- argument checks


def _check_size(resolution):
    if isinstance(resolution, (int, np.integer)) and not isinstance(resolution, bool):
        size = (int(resolution), int(resolution))
    elif (
        isinstance(resolution, (tuple, list))
        and len(resolution) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in resolution)
    ):
        size = (int(resolution[0]), int(resolution[1]))
    else:
        raise ValueError(f"resolution must be an int or a (height, width) pair of ints, got {resolution!r}")
    if min(size) < 1:
        raise ValueError(f"resolution must be positive, got {resolution!r}")
    return size


def _check_args(batch_size, channels, crop, seed):
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1 (grayscale), 3 (RGB) or None (keep the source's), got {channels!r}")
    if crop not in CROP_POLICIES:
        raise ValueError(f"crop must be one of {CROP_POLICIES}, got {crop!r}")
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
        raise ValueError(f"seed must be an int or None, got {seed!r}")


# --------------------------------------------------------------------------- shared tensor ops


def _convert_channels(x, have, want):
    """x: float32 [..., H, W, have] in [0, 255] -> [..., H, W, want]."""
    tf = _tf()
    if have == 4:
        x = x[..., :3]  # drop alpha
        have = 3
    if have == want:
        return x
    if want == 3:
        return tf.image.grayscale_to_rgb(x)
    return tf.image.rgb_to_grayscale(x)


def _fit(x, size, crop):
    """Resize float32 [..., H, W, C] in [0, 255] to ``size`` under the crop policy."""
    tf = _tf()
    th, tw = size
    if crop == "pad":
        out = tf.image.resize_with_pad(x, th, tw, method="bilinear", antialias=True)
    else:
        if crop == "center":
            shape = tf.shape(x)
            h, w = shape[-3], shape[-2]
            hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
            ch = tf.maximum(1, tf.minimum(h, tf.cast(tf.round(wf * th / tw), tf.int32)))
            cw = tf.maximum(1, tf.minimum(w, tf.cast(tf.round(hf * tw / th), tf.int32)))
            oy, ox = (h - ch) // 2, (w - cw) // 2
            x = x[..., oy:oy + ch, ox:ox + cw, :]
        out = tf.image.resize(x, (th, tw), method="bilinear", antialias=True)
    return tf.clip_by_value(out, 0.0, 255.0)


def _finish(ds, n, batch_size, repeat, drop_remainder, what):
    """Check there is at least one full batch, then repeat if asked."""
    if n is not None and drop_remainder and not repeat and n < batch_size:
        raise ValueError(
            f"{what} has only {n} images, fewer than batch_size={batch_size}: lower batch_size, "
            "or pass drop_remainder=False or repeat=True"
        )
    if repeat:
        ds = ds.repeat()
    return ds


# --------------------------------------------------------------------------- folders


def _scan_folder(folder):
    from PIL import Image

    readable, modes = [], []
    skipped = {}  # reason -> [count, example]

    def skip(reason, example):
        entry = skipped.setdefault(reason, [0, example])
        entry[0] += 1

    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder)
            if name.startswith("."):
                skip("hidden", rel)
                continue
            if not name.lower().endswith(IMAGE_EXTENSIONS):
                skip("not an image extension", rel)
                continue
            try:
                with Image.open(path) as im:
                    fmt, mode = im.format, im.mode
            except Exception as err:  # PIL raises many types for bad files
                skip("unreadable", f"{rel}: {str(err).splitlines()[0] if str(err) else type(err).__name__}")
                continue
            if fmt not in _DECODABLE_FORMATS:
                skip(f"format {fmt} not supported", rel)
                continue
            readable.append(path)
            modes.append(mode)
    return readable, modes, skipped


def _skip_summary(skipped):
    parts = [f"{count} {reason} (e.g. {example})" for reason, (count, example) in skipped.items()]
    return ", ".join(parts)


def _from_folder(folder, size, batch_size, channels, shuffle, seed, repeat, crop, drop_remainder):
    tf = _tf()
    paths, modes, skipped = _scan_folder(folder)
    n_skipped = sum(count for count, _ in skipped.values())
    if not paths:
        detail = f": {_skip_summary(skipped)}" if skipped else ""
        raise ValueError(
            f"no readable images in {folder!r}: skipped {n_skipped} files{detail}; "
            f"add {'/'.join(e[1:] for e in IMAGE_EXTENSIONS)} images or pass a numpy array"
        )
    if skipped:
        logger.warning("images(%r): skipped %d of %d files: %s", folder, n_skipped, n_skipped + len(paths),
                       _skip_summary(skipped))
    if channels is None:
        channels = 1 if all(m in _GRAY_MODES for m in modes) else 3

    def load(path):
        data = tf.io.read_file(path)
        img = tf.io.decode_image(data, channels=3, expand_animations=False)
        img.set_shape([None, None, 3])
        img = _convert_channels(tf.cast(img, tf.float32), 3, channels)
        img = _fit(img, size, crop)
        img.set_shape([size[0], size[1], channels])
        return img / 127.5 - 1.0

    ds = tf.data.Dataset.from_tensor_slices(tf.constant(paths))
    if shuffle:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    # A file whose header looked fine but whose data is damaged is skipped with a warning.
    ds = ds.ignore_errors(log_warning=True)
    ds = _finish(ds, len(paths), batch_size, repeat, drop_remainder, f"folder {folder!r}")
    return ds.batch(batch_size, drop_remainder=drop_remainder)


# --------------------------------------------------------------------------- numpy arrays


def _array_scale(arr):
    """Return (description, scale): scale 127.5 for [0, 255], 0.5 for [0, 1], None for [-1, 1]."""
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"image array dtype must be uint8 or float, got {arr.dtype}")
    if arr.dtype == np.uint8:
        return "uint8 [0, 255]", 127.5
    lo, hi = arr.min(), arr.max()
    if np.issubdtype(arr.dtype, np.integer):
        if lo < 0 or hi > 255:
            raise ValueError(
                f"integer image array values span [{lo}, {hi}]; expected [0, 255]: rescale it or pass uint8"
            )
        return "integer [0, 255]", 127.5
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("float image array contains NaN or inf; clean it before training")
    if lo >= -_FLOAT_TOL and hi <= 1 + _FLOAT_TOL:
        return "float [0, 1]", 0.5
    if lo >= -1 - _FLOAT_TOL and hi <= 1 + _FLOAT_TOL:
        return "float [-1, 1]", None
    raise ValueError(
        f"float image array values span [{float(lo):.4g}, {float(hi):.4g}]; expected [0, 1] or [-1, 1]: "
        "divide by 255 (or pass uint8 in [0, 255])"
    )


def _from_array(arr, size, batch_size, channels, shuffle, seed, repeat, crop, drop_remainder):
    tf = _tf()
    arr = np.asarray(arr)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"image array must have shape (N, H, W) or (N, H, W, C) with C in 1, 3 or 4; got {arr.shape}"
        )
    n, h, w, have = arr.shape
    if n == 0 or h == 0 or w == 0:
        raise ValueError(f"image array is empty (shape {arr.shape})")
    kind, scale = _array_scale(arr)
    want = channels if channels is not None else (1 if have == 1 else 3)
    logger.debug("images(): array of shape %s read as %s", arr.shape, kind)
    data = tf.convert_to_tensor(arr)

    def gather(idx):
        x = tf.cast(tf.gather(data, idx), tf.float32)
        if scale is None:  # [-1, 1] -> [0, 255] so one resize path serves all inputs
            x = (tf.clip_by_value(x, -1.0, 1.0) + 1.0) * 127.5
        elif scale == 0.5:
            x = tf.clip_by_value(x, 0.0, 1.0) * 255.0
        x = _convert_channels(x, have, want)
        if (h, w) != size:
            x = _fit(x, size, crop)
        x = x / 127.5 - 1.0
        x.set_shape([None, size[0], size[1], want])
        return x

    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = _finish(ds, n, batch_size, repeat, drop_remainder, "the array")
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE)


# --------------------------------------------------------------------------- TFDS


def _parse_tfds_spec(spec):
    body = spec[len("tfds:"):]
    name, _, split = body.partition(":")
    version = re.match(r"^(\d+\.\d+\.\d+)(?::(.*))?$", split)
    if version:  # tfds:name:1.2.3[:split]
        name, split = f"{name}:{version.group(1)}", version.group(2) or ""
    if not re.match(r"^[a-z0-9_]+(/[A-Za-z0-9_.\-]+)?(:\d+\.\d+\.\d+)?$", name):
        raise ValueError(
            f"malformed TFDS spec {spec!r}: expected 'tfds:<name>[:split]', e.g. 'tfds:mnist' or 'tfds:cifar10:test'"
        )
    return name, split or "train"


def _from_tfds(spec, size, batch_size, channels, shuffle, seed, repeat, crop, drop_remainder):
    tf = _tf()
    name, split = _parse_tfds_spec(spec)
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise ImportError(f"{spec!r} needs tensorflow-datasets: pip install 'ganzoo[data]'") from err
    read_config = tfds.ReadConfig(shuffle_seed=seed) if seed is not None else None
    try:
        ds, info = tfds.load(name, split=split, with_info=True, shuffle_files=shuffle, read_config=read_config)
    except tfds.core.DatasetNotFoundError as err:
        raise ValueError(f"unknown TFDS dataset {name!r} in {spec!r}: see tfds.list_builders() for names") from err
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise RuntimeError(
            f"could not load {spec!r} (dataset {name!r}, split {split!r}): {first}; check the split name and "
            "that the data is prepared (TFDS_DATA_DIR) or downloadable"
        ) from err
    features = info.features
    image_keys = [k for k, f in features.items() if isinstance(f, tfds.features.Image)] if hasattr(
        features, "items") else []
    if not image_keys:
        raise ValueError(f"{spec!r} has no image feature (features: {list(getattr(features, 'keys', list)())})")
    key = "image" if "image" in image_keys else image_keys[0]
    native = features[key].shape[-1]
    have = native if native in (1, 3, 4) else 3
    want = channels if channels is not None else (1 if have == 1 else 3)

    def extract(example):
        return example[key]

    def process(img):
        img = tf.cast(img, tf.float32)
        if native not in (1, 3, 4):
            img = img[..., :1] if img.shape[-1] == 1 else img[..., :3]
        img = _fit(_convert_channels(img, have, want), size, crop)
        img.set_shape([size[0], size[1], want])
        return img / 127.5 - 1.0

    ds = ds.map(extract, num_parallel_calls=tf.data.AUTOTUNE)
    if shuffle:
        ds = ds.shuffle(_TFDS_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(process, num_parallel_calls=tf.data.AUTOTUNE)
    ds = _finish(ds, None, batch_size, repeat, drop_remainder, spec)
    return ds.batch(batch_size, drop_remainder=drop_remainder)


# --------------------------------------------------------------------------- public entry point


def images(
    path_or_spec,
    resolution,
    batch_size,
    *,
    channels=None,
    shuffle=True,
    seed=None,
    repeat=False,
    crop="center",
    drop_remainder=True,
):
    """Return a ``tf.data.Dataset`` of float32 NHWC image batches in ``[-1, 1]``.

    ``path_or_spec`` is one of:

    * an image folder, searched recursively for png/jpg/jpeg/bmp/gif/webp files
      (hidden files and folders are ignored; GIFs give their first frame; alpha is
      dropped). Unreadable files are skipped with a warning; a folder with no
      readable image is an error that counts the skipped files and says why.
    * a numpy array ``(N, H, W)`` or ``(N, H, W, C)`` (C in 1, 3, 4). Its range is
      detected: ``uint8`` (or another integer type) is read as ``[0, 255]``; a float
      array with no value below 0 as ``[0, 1]``, otherwise as ``[-1, 1]``. Anything
      else (e.g. floats in ``[0, 255]``) is an error naming the range found.
    * ``"tfds:<name>[:split]"`` (split defaults to ``train``, e.g.
      ``"tfds:cifar10:test"``): the first image feature of a TensorFlow Datasets
      dataset (needs ``tensorflow-datasets``; data comes from ``TFDS_DATA_DIR``).

    ``resolution`` is an int (square) or ``(height, width)``; other sizes follow
    ``crop`` ("center", "pad" or "stretch", see the module docstring).
    ``channels`` is 1 or 3; None keeps the source's (a folder of only grayscale
    images gives 1, otherwise 3). ``shuffle`` reshuffles each epoch, reproducibly
    with ``seed``. ``repeat=True`` makes the dataset infinite (pass
    ``steps_per_epoch`` to ``fit``).

    Example:
        >>> ds = images("data/faces", 64, batch_size=32, seed=0)            # doctest: +SKIP
        >>> ds = images("tfds:mnist", 32, batch_size=64, channels=1)        # doctest: +SKIP
        >>> gan.fit(ds, epochs=10)                                          # doctest: +SKIP
    """
    size = _check_size(resolution)
    _check_args(batch_size, channels, crop, seed)
    batch_size = int(batch_size)
    args = (size, batch_size, channels, bool(shuffle), None if seed is None else int(seed), bool(repeat), crop,
            bool(drop_remainder))
    if isinstance(path_or_spec, (str, os.PathLike)):
        target = os.fspath(path_or_spec)
        if isinstance(target, str) and target.startswith("tfds:"):
            ds = _from_tfds(target, *args)
        elif os.path.isdir(target):
            ds = _from_folder(target, *args)
        elif os.path.exists(target):
            raise ValueError(f"{target!r} is a file; pass the folder that contains the images")
        else:
            raise FileNotFoundError(
                f"image folder {target!r} does not exist (for TensorFlow Datasets use 'tfds:<name>[:split]')"
            )
    elif isinstance(path_or_spec, np.ndarray) or hasattr(path_or_spec, "__array__"):
        ds = _from_array(np.asarray(path_or_spec), *args)
    else:
        raise TypeError(
            "images() takes an image folder path, a numpy array or 'tfds:<name>[:split]', "
            f"got {type(path_or_spec).__name__}"
        )
    return ds.prefetch(_tf().data.AUTOTUNE)
