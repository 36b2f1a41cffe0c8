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

Class labels (for conditional GANs) are int32 class ids ``(N,)``. With
``labels=True`` the dataset yields ``(images, labels)`` batches, which
``keras.Model.fit`` unpacks as ``(x, y)``; without it, images only (an
unconditional model given labels raises). The class names are on the returned
dataset as ``ds.class_names`` (a list of str, id ``k`` is ``class_names[k]``;
``None`` when unlabelled), as on ``keras.utils.image_dataset_from_directory``'s
datasets. Labels come from:

* a folder's class sub-folders, sorted by name (exactly Keras's ``class_names``);
* an ``(x, y)`` pair, or a mapping with ``"x"`` and ``"y"`` (e.g. ``np.load`` of
  an ``.npz``): ``y`` holds class ids, or one-hot rows;
* a TFDS dataset's class-label feature (its supervised key, else ``label``);
* ``"builtin:digits"``: the digit, 0-9.

Example:
    >>> import numpy as np
    >>> from ganzoo.data import images
    >>> x = np.random.randint(0, 256, (64, 28, 28), dtype=np.uint8)
    >>> ds = images(x, 32, batch_size=16, seed=0)
    >>> next(iter(ds)).shape
    TensorShape([16, 32, 32, 1])
    >>> y = np.arange(64) % 10
    >>> ds = images((x, y), 32, batch_size=16, seed=0)
    >>> [tuple(t.shape) for t in next(iter(ds))], len(ds.class_names)
    ([(16, 32, 32, 1), (16,)], 10)
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

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


def _check_label_args(labels, class_names):
    if not (labels is None or isinstance(labels, (bool, np.bool_))):
        raise ValueError(
            f"labels must be True, False or None, got {labels!r}; pass label arrays with the images as (x, y)"
        )
    labels = None if labels is None else bool(labels)
    if class_names is None:
        return labels, None
    if isinstance(class_names, str) or not all(isinstance(c, str) for c in class_names):
        raise ValueError(f"class_names must be a list of str, got {class_names!r}")
    class_names = list(class_names)
    if len(set(class_names)) != len(class_names) or not class_names:
        raise ValueError(f"class_names must be a non-empty list of distinct names, got {class_names!r}")
    return labels, class_names


# --------------------------------------------------------------------------- labels


def _check_labels(y, n, class_names=None):
    """Validate class labels for ``n`` images; return (int32 ids (n,), class names).

    Accepts ids ``(n,)`` or ``(n, 1)`` (any integer dtype, or floats holding whole
    numbers) and one-hot rows ``(n, K)``. Without ``class_names`` there are
    ``max(id) + 1`` classes, named ``"0"``, ``"1"``, ...
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 0 or y.ndim > 2 or len(y) != n:
        raise ValueError(
            f"labels must be {n} class ids (one per image, shape ({n},)) or one-hot rows ({n}, K); "
            f"got shape {y.shape}"
        )
    if y.dtype == np.bool_ or not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ValueError(
            f"labels must be integer class ids, got dtype {y.dtype}; map names to ids first, e.g. "
            "names, ids = np.unique(y, return_inverse=True)"
        )
    if y.ndim == 1 and np.issubdtype(y.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if bad.size:
            raise ValueError(
                f"float labels must hold whole class ids; found {y[bad[0]].item()!r} at index {int(bad[0])}: "
                "pass integer class ids (e.g. y.astype('int32')) or one-hot rows"
            )
    if y.ndim == 2:  # one-hot rows: exactly one 1 per row, the rest 0
        ok = np.all((y == 0) | (y == 1), axis=1) & (np.sum(y == 1, axis=1) == 1)
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise ValueError(
                f"2-D labels must be one-hot rows (one 1, the rest 0); row {row} is {y[row].tolist()}: "
                f"pass class ids of shape ({n},) instead"
            )
        num, y = y.shape[1], np.argmax(y, axis=1)
    else:
        num = None
    if y.min() < 0:
        raise ValueError(f"labels must be class ids >= 0, found {int(y.min())}: number the classes 0..K-1")
    top = int(y.max())
    if top >= np.iinfo(np.int32).max:
        raise ValueError(f"label {top} does not fit int32; number the classes 0..K-1")
    if class_names is not None:
        if num is not None and num != len(class_names):
            raise ValueError(f"one-hot labels have {num} classes but class_names has {len(class_names)}")
        if top >= len(class_names):
            raise ValueError(
                f"label {top} is out of range for {len(class_names)} class_names; ids must lie in "
                f"[0, {len(class_names)})"
            )
        names = list(class_names)
    else:
        names = [str(k) for k in range(num if num is not None else top + 1)]
    return y.astype(np.int32), names


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


def _finish(ds, n, batch_size, repeat, drop_remainder, what, note=""):
    """Check there is at least one full batch, then repeat if asked (``note`` joins the error)."""
    if n is not None and drop_remainder and not repeat and n < batch_size:
        raise ValueError(
            f"{what} has only {n} images, fewer than batch_size={batch_size}: lower batch_size, "
            f"or pass drop_remainder=False or repeat=True{note}"
        )
    if repeat:
        ds = ds.repeat()
    return ds


# --------------------------------------------------------------------------- folders


def _scan_folder(folder, rel_to=None):
    from PIL import Image

    readable, modes = [], []
    skipped = {}  # reason -> [count, examples]

    def skip(reason, example):
        entry = skipped.setdefault(reason, [0, []])
        entry[0] += 1
        entry[1].append(example)

    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, rel_to or folder)
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


# Reasons whose every file is named in the warning (damage the user should fix); the rest
# (hidden files, other extensions) are expected in a folder and shown by one example.
_NAMED_REASONS = ("unreadable",)
_MAX_NAMED = 20


def _skip_summary(skipped):
    parts = []
    for reason, (count, examples) in skipped.items():
        if reason in _NAMED_REASONS:
            shown = "; ".join(examples[:_MAX_NAMED])
            more = f"; and {count - _MAX_NAMED} more" if count > _MAX_NAMED else ""
            parts.append(f"{count} {reason} ({shown}{more})")
        else:
            parts.append(f"{count} {reason} (e.g. {examples[0]})")
    return ", ".join(parts)


def _decode(path):
    """The one decoder for folder images: uint8 (H, W, 3), first frame of an animation."""
    tf = _tf()
    img = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    img.set_shape([None, None, 3])
    return img


def _undecodable(paths):
    """Indices of ``paths`` that ``_decode`` fails on (e.g. a truncated PNG, whose header PIL reads).

    Decodes every file once, in parallel, with the decoder training uses, so the
    dataset built from the rest never meets a bad file and keeps a known length.

    Example:
        >>> _undecodable(["ok.png", "truncated.png"])        # doctest: +SKIP
        [1]
    """
    tf = _tf()
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(paths)).enumerate()
    # Only the index comes back; decode errors drop the element, which is how a failure is seen.
    ds = ds.map(lambda i, path: (i, tf.shape(_decode(path))[0]), num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=False)
    ok = {int(i) for i, _ in ds.ignore_errors(log_warning=False).as_numpy_iterator()}
    return [i for i in range(len(paths)) if i not in ok]


def _class_folders(folder, class_names):
    """The class sub-folders, by Keras's rule (``image_dataset_from_directory``, labels="inferred"):
    every non-hidden sub-folder of the top level, sorted by name, or ``class_names`` in its order."""
    found = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)) and not d.startswith("."))
    if class_names is not None:
        missing = [c for c in class_names if c not in found]
        if missing:
            raise ValueError(
                f"class_names {missing} are not sub-folders of {folder!r} (found {found}); "
                "name existing sub-folders or drop class_names"
            )
        found = list(class_names)
    # Keras ignores images lying directly in the folder; a conditional model would silently lose them
    # (unless class_names picked the classes on purpose).
    loose = [] if class_names is not None else sorted(
        f for f in os.listdir(folder)
        if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(os.path.join(folder, f))
    )
    if loose:
        raise ValueError(
            f"labels=True takes class ids from sub-folder names, but {folder!r} has {len(loose)} images directly "
            f"in it (e.g. {loose[0]}): move each image into a sub-folder named after its class "
            f"({os.path.join(folder, '<class>', loose[0])}), or pass labels=False"
        )
    if len(found) < 2:
        listed = f" ({', '.join(map(repr, found))})" if found else ""
        raise ValueError(
            f"a conditional recipe needs at least two class sub-folders; found {len(found)}{listed} in {folder!r}: "
            f"put each class's images in its own sub-folder ({os.path.join(folder, '<class>')}/...), "
            "or pass labels=False"
        )
    return found


def _from_folder(folder, size, batch_size, channels, shuffle, seed, repeat, crop, drop_remainder, labels,
                 class_names):
    tf = _tf()
    if labels:
        names = _class_folders(folder, class_names)
        paths, modes, ids, skipped = [], [], [], {}
        for k, name in enumerate(names):
            p, m, s = _scan_folder(os.path.join(folder, name), rel_to=folder)
            paths += p
            modes += m
            ids += [k] * len(p)
            for reason, (count, examples) in s.items():
                entry = skipped.setdefault(reason, [0, []])
                entry[0] += count
                entry[1] += examples
    else:
        if class_names is not None:
            raise ValueError("class_names needs labels=True")
        names = None
        paths, modes, skipped = _scan_folder(folder)
        ids = [0] * len(paths)
    # A header can look fine over damaged data: drop such files now, by name, rather than
    # let tf.data skip them mid-epoch (fewer images than counted, an unknown dataset length).
    bad = set(_undecodable(paths)) if paths else set()
    if bad:
        entry = skipped.setdefault("unreadable", [0, []])
        entry[0] += len(bad)
        entry[1] += [f"{os.path.relpath(paths[i], folder)}: damaged, fails to decode" for i in sorted(bad)]
        keep = [i for i in range(len(paths)) if i not in bad]
        paths, modes, ids = [paths[i] for i in keep], [modes[i] for i in keep], [ids[i] for i in keep]
    present = set(ids)
    empty = [f"{name!r} (id {k})" for k, name in enumerate(names or []) if k not in present]
    n_skipped = sum(count for count, _ in skipped.values())
    if not paths:
        detail = f": {_skip_summary(skipped)}" if skipped else ""
        raise ValueError(
            f"no readable images in {folder!r}: skipped {n_skipped} files{detail}; "
            f"add {'/'.join(e[1:] for e in IMAGE_EXTENSIONS)} images or pass a numpy array"
        )
    if channels is None:
        channels = 1 if all(m in _GRAY_MODES for m in modes) else 3

    def load(path):
        img = _convert_channels(tf.cast(_decode(path), tf.float32), 3, channels)
        img = _fit(img, size, crop)
        img.set_shape([size[0], size[1], channels])
        return img / 127.5 - 1.0

    if labels:
        ds = tf.data.Dataset.from_tensor_slices((tf.constant(paths), tf.constant(ids, tf.int32)))
    else:
        ds = tf.data.Dataset.from_tensor_slices(tf.constant(paths))
    if shuffle:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    if labels:
        ds = ds.map(lambda path, y: (load(path), y), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    # No ignore_errors: every file decoded above, and a dataset that may drop elements has an
    # unknown length, for which Keras's TensorFlow loop runs one extra, empty step per epoch
    # (the step counter and optimizer iterations advance while no batch is trained).
    note = f"; skipped {n_skipped} files: {_skip_summary(skipped)}" if skipped else ""
    ds = _finish(ds, len(paths), batch_size, repeat, drop_remainder, f"folder {folder!r}", note)
    # One warning line, after the too-few check whose error already carries the same summary.
    if skipped:
        logger.warning("images(%r): skipped %d of %d files: %s", folder, n_skipped, n_skipped + len(paths),
                       _skip_summary(skipped))
    if empty:  # kept as classes, as Keras does, so the ids still match the folder order
        logger.warning("images(%r): class sub-folders with no readable image: %s", folder, ", ".join(empty))
    return ds.batch(batch_size, drop_remainder=drop_remainder), names


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


def _from_array(arr, size, batch_size, channels, shuffle, seed, repeat, crop, drop_remainder, y, class_names):
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
    names = None
    if y is not None:
        y, names = _check_labels(y, n, class_names)
    elif class_names is not None:
        raise ValueError("class_names needs labels: pass the images as (x, y)")
    want = channels if channels is not None else (1 if have == 1 else 3)
    logger.debug("images(): array of shape %s read as %s", arr.shape, kind)
    data = tf.convert_to_tensor(arr)
    ids = None if y is None else tf.convert_to_tensor(y)

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
        return x if ids is None else (x, tf.gather(ids, idx))

    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = _finish(ds, n, batch_size, repeat, drop_remainder, "the array")
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE), names


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


def _tfds_label_key(spec, info, tfds):
    """The class-label feature: a ClassLabel among the supervised keys, else one named ``label``."""
    features = info.features
    supervised = info.supervised_keys if isinstance(info.supervised_keys, (tuple, list)) else ()
    for k in [*[k for k in supervised if isinstance(k, str)], "label"]:
        if k in features and isinstance(features[k], tfds.features.ClassLabel):
            return k
    kinds = ", ".join(f"{k}: {type(f).__name__}" for k, f in features.items())
    raise ValueError(
        f"{spec!r} has no class-label feature (a ClassLabel; its features are {kinds}): pass labels=False "
        "(an unconditional recipe), or choose a dataset with class labels"
    )


def _from_tfds(spec, size, batch_size, channels, shuffle, seed, repeat, crop, drop_remainder, labels,
               class_names):
    tf = _tf()
    if class_names is not None:
        raise ValueError(f"class_names applies to folders and arrays; {spec!r} names its own classes")
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
    label_key = _tfds_label_key(spec, info, tfds) if labels else None
    names = list(features[label_key].names) if label_key else None

    def extract(example):
        if label_key:
            return example[key], tf.cast(example[label_key], tf.int32)
        return example[key]

    def process(img, y=None):
        img = tf.cast(img, tf.float32)
        if native not in (1, 3, 4):
            img = img[..., :1] if img.shape[-1] == 1 else img[..., :3]
        img = _fit(_convert_channels(img, have, want), size, crop)
        img.set_shape([size[0], size[1], want])
        img = img / 127.5 - 1.0
        return img if y is None else (img, y)

    ds = ds.map(extract, num_parallel_calls=tf.data.AUTOTUNE)
    if shuffle:
        ds = ds.shuffle(_TFDS_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(process, num_parallel_calls=tf.data.AUTOTUNE)
    ds = _finish(ds, None, batch_size, repeat, drop_remainder, spec)
    return ds.batch(batch_size, drop_remainder=drop_remainder), names


# --------------------------------------------------------------------------- public entry point


def _split_pair(source, labels):
    """(x, y) from an ``(x, y)`` pair or a mapping with "x" (and "y"); y is None when unlabelled."""
    if isinstance(source, Mapping):
        if "x" not in source:
            raise ValueError(
                f"a mapping of arrays (e.g. an .npz file) needs an 'x' entry with the images (and 'y' with the "
                f"labels); found {sorted(source)}"
            )
        x, y = source["x"], (source["y"] if "y" in source else None)
        missing = "has no 'y' entry"
    else:
        if len(source) != 2:
            raise ValueError(
                f"a tuple source must be (images, labels), got {len(source)} items; pass one array for images only"
            )
        x, y = source
        missing = "has labels None"
    if labels is False:
        return x, None  # asked for images only: the labels stay out of the batches
    if y is None and labels:
        raise ValueError(f"labels=True but the source {missing}: pass (x, y) or {{'x': x, 'y': y}} with class ids")
    return x, y


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
    labels=None,
    class_names=None,
):
    """Return a ``tf.data.Dataset`` of float32 NHWC image batches in ``[-1, 1]``,
    or of ``(images, labels)`` batches (int32 class ids ``(B,)``) when labelled.

    ``path_or_spec`` is one of:

    * an image folder, searched recursively for png/jpg/jpeg/bmp/gif/webp files
      (hidden files and folders are ignored; GIFs give their first frame; alpha is
      dropped). Every file is decoded once up front; unreadable or damaged
      ones (e.g. a truncated PNG) are skipped and named in one warning line,
      so the dataset's length (``ds.cardinality()``) is the batches it yields.
      A folder with no readable image, or fewer than one batch, is an error
      that counts the skipped files and says why.
      With ``labels=True`` each top-level sub-folder is a class: sorted by name
      and numbered 0..K-1 exactly as ``keras.utils.image_dataset_from_directory``
      does; there must be at least two and no images directly in the folder.
    * a numpy array ``(N, H, W)`` or ``(N, H, W, C)`` (C in 1, 3, 4). Its range is
      detected: ``uint8`` (or another integer type) is read as ``[0, 255]``; a float
      array with no value below 0 as ``[0, 1]``, otherwise as ``[-1, 1]``. Anything
      else (e.g. floats in ``[0, 255]``) is an error naming the range found.
    * a labelled pair ``(x, y)`` or a mapping ``{"x": x, "y": y}`` (such as
      ``np.load("data.npz")``): ``y`` holds ``N`` class ids (integers, or floats
      that are whole numbers) or one-hot rows ``(N, K)``. There are
      ``max(y) + 1`` classes (named "0", "1", ...) unless ``class_names`` says.
    * ``"tfds:<name>[:split]"`` (split defaults to ``train``, e.g.
      ``"tfds:cifar10:test"``): the first image feature of a TensorFlow Datasets
      dataset (needs ``tensorflow-datasets``; data comes from ``TFDS_DATA_DIR``);
      its labels are its ClassLabel feature (a supervised key, else ``label``).
    * ``"builtin:digits"``: scikit-learn's 8x8 digits (see ``ganzoo.data.builtin``);
      its labels are the digits 0-9.

    ``resolution`` is an int (square) or ``(height, width)``; other sizes follow
    ``crop`` ("center", "pad" or "stretch", see the module docstring).
    ``channels`` is 1 or 3; None keeps the source's (a folder of only grayscale
    images gives 1, otherwise 3). ``shuffle`` reshuffles each epoch, reproducibly
    with ``seed``. ``repeat=True`` makes the dataset infinite (pass
    ``steps_per_epoch`` to ``fit``).

    ``labels``: True yields ``(images, labels)`` batches, False images only, and
    None (the default) labels only for an ``(x, y)`` pair or a mapping holding
    ``"y"``. ``class_names`` (list of str) picks and orders a folder's class
    sub-folders (as Keras's ``class_names``), or names an array's classes (its
    length is the number of classes). The returned dataset's ``class_names``
    attribute lists the class names (``len(ds.class_names)`` is the number of
    classes, to check against a conditional model's ``num_classes``); it is
    None when unlabelled. Like any attribute it does not survive
    ``ds.repeat()``, ``ds.map()`` and so on: read it first.

    Example:
        >>> ds = images("data/faces", 64, batch_size=32, seed=0)            # doctest: +SKIP
        >>> ds = images("tfds:mnist", 32, batch_size=64, channels=1)        # doctest: +SKIP
        >>> gan.fit(ds, epochs=10)                                          # doctest: +SKIP
        >>> ds = images("data/animals", 64, batch_size=32, labels=True)     # doctest: +SKIP
        >>> ds.class_names                                                  # doctest: +SKIP
        ['cat', 'dog', 'fox']
        >>> cgan.fit(ds, epochs=10)                   # batches are (images, labels)  # doctest: +SKIP
    """
    size = _check_size(resolution)
    _check_args(batch_size, channels, crop, seed)
    labels, class_names = _check_label_args(labels, class_names)
    batch_size = int(batch_size)
    args = (size, batch_size, channels, bool(shuffle), None if seed is None else int(seed), bool(repeat), crop,
            bool(drop_remainder))
    if isinstance(path_or_spec, (str, os.PathLike)):
        target = os.fspath(path_or_spec)
        if isinstance(target, str) and target.startswith("tfds:"):
            ds, names = _from_tfds(target, *args, bool(labels), class_names)
        elif isinstance(target, str) and target.startswith("builtin:"):
            from ganzoo.data import builtin

            if class_names is not None:
                raise ValueError(f"class_names applies to folders and arrays; {target!r} names its own classes")
            name = target.split(":", 1)[1]
            # Loaded at the longer side; a non-square resolution is then cropped like any array.
            x = builtin.load(name, max(size), labels=bool(labels))
            x, y = x if labels else (x, None)
            ds, names = _from_array(x, *args, y, builtin.class_names(name) if labels else None)
        elif os.path.isdir(target):
            ds, names = _from_folder(target, *args, bool(labels), class_names)
        elif os.path.exists(target):
            raise ValueError(f"{target!r} is a file; pass the folder that contains the images")
        else:
            raise FileNotFoundError(
                f"image folder {target!r} does not exist (for TensorFlow Datasets use 'tfds:<name>[:split]')"
            )
    elif isinstance(path_or_spec, (tuple, Mapping)):
        x, y = _split_pair(path_or_spec, labels)
        ds, names = _from_array(np.asarray(x), *args, y, class_names)
    elif isinstance(path_or_spec, np.ndarray) or hasattr(path_or_spec, "__array__"):
        if labels:
            raise ValueError("labels=True needs class ids with the array: pass (x, y) or {'x': x, 'y': y}")
        ds, names = _from_array(np.asarray(path_or_spec), *args, None, class_names)
    else:
        raise TypeError(
            "images() takes an image folder path, a numpy array, an (x, y) pair, 'tfds:<name>[:split]' or "
            f"'builtin:<name>', got {type(path_or_spec).__name__}"
        )
    ds = ds.prefetch(_tf().data.AUTOTUNE)
    # Keras's image_dataset_from_directory exposes its classes the same way.
    ds.class_names = names
    return ds
