"""Paired image-to-image data: `(source, target)` batches for Pix2Pix and inpainting.

* `paired(...)` reads a folder with `A/` and `B/` of matching file names, a
  folder of pix2pix's side-by-side `AB` images (A on the left half), or an
  `(a, b)` pair of arrays, with pix2pix's random jitter as an option
  (resize to `load_size`, e.g. 286, then the same random `resolution` crop
  and the same horizontal flip for source and target).
* `inpainting(...)` turns images into `(masked image + mask channel, image)`
  pairs with a fresh random mask per example: boxes (`box_masks`) or
  free-form strokes (`stroke_masks`). Mask 1 marks the hole.
* `digit_pairs(...)`: scikit-learn's digits paired with their edge maps or
  their inversions (a CPU-sized paired problem, no download).

Bad pairings are one-line errors naming the file: a file without its
partner, A/B sizes that differ, an `AB` image of odd width; an unpaired
folder (`trainA/`, `trainB/`) given to a paired recipe is refused.
Recipes name these makers with `data.kind: paired | inpaint` (registry kind
"dataset", read by `ganzoo.training.make_dataset`).

Example:
    >>> from ganzoo.data.paired import paired, inpainting, box_masks
    >>> ds = paired("facades/train", 256, batch_size=1, load_size=286, direction="b2a")  # doctest: +SKIP
    >>> masks = box_masks(4, 32, hole=20, border=4, seed=0)
    >>> masks.shape, float(masks[0].sum())
    ((4, 32, 32, 1), 400.0)
"""

import os
from pathlib import Path

import numpy as np

from ganzoo.engine.registry import register

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
UNPAIRED_FOLDERS = ("trainA", "trainB", "testA", "testB")
DIRECTIONS = ("a2b", "b2a")
MASK_KINDS = ("box", "free_form")


def _image_files(folder):
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS)


def find_pairs(folder, split=None):
    """The `(source_file, target_file)` pairs of a paired folder, and its layout ("A/B" or "AB").

    Layouts: `folder/[split/]A/*` and `folder/[split/]B/*` with the same file
    names (also `A/split/`, `B/split/` as pix2pix's combine script expects),
    or `folder/[split/]*.jpg` side-by-side `AB` images. For "AB" both
    entries of a pair are the same file. Errors (one line) name the file
    without a partner, or say that a `trainA/trainB` folder is unpaired.

    Example:
        >>> pairs, layout = find_pairs("facades", split="train")   # doctest: +SKIP
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"paired data: {os.fspath(folder)} is not a folder; give a folder with A/ and B/ "
                         "(matching file names) or side-by-side AB images.")
    if split and (root / split).is_dir():
        root = root / split
    unpaired = [name for name in UNPAIRED_FOLDERS if (root / name).is_dir() or (Path(folder) / name).is_dir()]
    a_dir, b_dir = root / "A", root / "B"
    if a_dir.is_dir() and b_dir.is_dir():
        if split and (a_dir / split).is_dir() and (b_dir / split).is_dir():
            a_dir, b_dir = a_dir / split, b_dir / split
        a_files, b_files = _image_files(a_dir), _image_files(b_dir)
        if not a_files:
            raise ValueError(f"paired data: {a_dir} holds no PNG/JPEG images.")
        by_name = {p.name: p for p in b_files}
        by_stem = {p.stem: p for p in b_files}
        pairs, used = [], set()
        for a in a_files:
            b = by_name.get(a.name) or by_stem.get(a.stem)
            if b is None:
                raise ValueError(f"paired data: {a} has no partner {b_dir / a.name} (A/ and B/ need the same "
                                 "file names); add it or remove the file.")
            pairs.append((a, b))
            used.add(b)
        extra = [b for b in b_files if b not in used]
        if extra:
            raise ValueError(f"paired data: {extra[0]} has no partner {a_dir / extra[0].name} (A/ and B/ need "
                             f"the same file names; {len(extra)} unmatched in B/).")
        return pairs, "A/B"
    if unpaired:
        raise ValueError(f"paired data: {os.fspath(folder)} holds unpaired domains ({', '.join(unpaired)}); a paired "
                         "recipe (Pix2Pix) needs A/ and B/ with matching file names or AB images. Unpaired "
                         "domains train CycleGAN.")
    files = _image_files(root)
    if not files:
        raise ValueError(f"paired data: {root} has neither A/ and B/ sub-folders nor side-by-side AB images "
                         "(PNG/JPEG).")
    return [(f, f) for f in files], "AB"


def check_pair_sizes(pairs, layout):
    """Refuse pairs whose images differ in size (A/B) or whose width is odd (AB), naming the file.

    Reads only the image headers. Returns the (width, height) of the first source.

    Example:
        >>> check_pair_sizes(*find_pairs("maps/train"))   # doctest: +SKIP
        (256, 256)
    """
    from PIL import Image

    first = None
    for a, b in pairs:
        try:
            with Image.open(a) as im:
                size_a = im.size
            if layout == "AB":
                if size_a[0] % 2:
                    raise ValueError(f"paired data: {a} is {size_a[0]}x{size_a[1]}; a side-by-side AB image needs "
                                     "an even width (A on the left half, B on the right).")
                size_a = (size_a[0] // 2, size_a[1])
                size_b = size_a
            else:
                with Image.open(b) as im:
                    size_b = im.size
        except OSError as e:
            raise ValueError(f"paired data: cannot read {a if layout == 'AB' else f'{a} or {b}'}: {e}") from None
        if size_a != size_b:
            raise ValueError(f"paired data: {a} is {size_a[0]}x{size_a[1]} but its partner {b} is "
                             f"{size_b[0]}x{size_b[1]}; paired images need the same size.")
        first = first or size_a
    return first


def _to_float(x, what):
    """Arrays in [0, 255] (integers) or [-1, 1] (floats) -> float32 NHWC in [-1, 1]."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"paired data: {what} must be images (N, H, W[, C]), got shape {x.shape}.")
    if np.issubdtype(x.dtype, np.integer):
        return x.astype("float32") / 127.5 - 1.0
    return x.astype("float32")


def _check_direction(direction):
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}.")


def _jitter(tf, a, b, resolution, load_size, flip, seed):
    """The same resize -> random crop -> random flip of `a` and `b` (HWC float in [0, 1]).

    `seed` is a stateless seed (2 int64s); pix2pix resizes bicubically.
    """
    ca = a.shape[-1]
    both = tf.concat([a, b], axis=-1)
    if load_size:
        both = tf.image.resize(both, (load_size, load_size), method="bicubic")
        seeds = tf.random.experimental.stateless_split(seed, 2)
        both = tf.image.stateless_random_crop(both, (resolution, resolution, both.shape[-1]), seed=seeds[0])
        seed = seeds[1]
    elif tuple(both.shape[:2]) != (resolution, resolution):
        both = tf.image.resize(both, (resolution, resolution), method="bicubic")
    if flip:
        both = tf.image.stateless_random_flip_left_right(both, seed=seed)
    both = tf.clip_by_value(both, 0.0, 1.0) * 2.0 - 1.0
    return both[..., :ca], both[..., ca:]


def paired(
    source,
    resolution,
    batch_size,
    *,
    channels=3,
    target_channels=None,
    direction="a2b",
    load_size=None,
    flip=False,
    split=None,
    shuffle=True,
    seed=0,
    drop_remainder=True,
):
    """A `tf.data.Dataset` of `(source, target)` float32 NHWC batches in [-1, 1].

    Args:
        source: a paired folder (see `find_pairs`) or an `(a, b)` pair of
            arrays (uint8 in [0, 255] or float in [-1, 1], same length).
        resolution: side of the images given to the model.
        batch_size: pairs per batch (pix2pix: 1).
        channels: channels of the A images (1 or 3); `target_channels` of
            the B images (default the same).
        direction: "a2b" (A is the source) or "b2a".
        load_size: pix2pix's jitter: resize to this side (286) and take the
            same random `resolution` crop of both; None resizes to
            `resolution`.
        flip: the same random horizontal flip of both.
        split: a sub-folder to read when present (e.g. "train").
        shuffle, seed: order and jitter (stateless: the same seed, the same
            stream on every run).

    Returns:
        The dataset, with `preview_sources` (up to 8 un-jittered sources,
        numpy) and `num_pairs`.

    Example:
        >>> a, b = digit_pairs(16, target="edges")
        >>> ds = paired((a, b), 16, batch_size=32)
        >>> [x.shape for x in next(iter(ds))]
        [TensorShape([32, 16, 16, 1]), TensorShape([32, 16, 16, 1])]
    """
    import tensorflow as tf

    _check_direction(direction)
    resolution = int(resolution)
    if load_size is not None and int(load_size) < resolution:
        raise ValueError(f"load_size ({load_size}) must be >= resolution ({resolution}): the crop is taken from it.")
    load_size = int(load_size) if load_size else None
    target_channels = int(target_channels or channels)
    channels = int(channels)
    if isinstance(source, (tuple, list)) and len(source) == 2 and hasattr(source[0], "shape"):
        a, b = _to_float(source[0], "a"), _to_float(source[1], "b")
        if len(a) != len(b):
            raise ValueError(f"paired data: {len(a)} A images but {len(b)} B images; pairs need one of each.")
        if a.shape[1:3] != b.shape[1:3]:
            raise ValueError(f"paired data: A images are {a.shape[1]}x{a.shape[2]} but B images are "
                             f"{b.shape[1]}x{b.shape[2]}; paired images need the same size.")
        files = tf.data.Dataset.from_tensor_slices(((a + 1.0) / 2.0, (b + 1.0) / 2.0))
        count = len(a)

        def load(pair):
            return pair
    else:
        pairs, layout = find_pairs(source, split=split)
        check_pair_sizes(pairs, layout)
        count = len(pairs)
        files = tf.data.Dataset.from_tensor_slices(
            ([os.fspath(p) for p, _ in pairs], [os.fspath(q) for _, q in pairs]))

        def decode(path, c):
            image = tf.io.decode_image(tf.io.read_file(path), channels=c, expand_animations=False)
            return tf.cast(image, tf.float32) / 255.0

        def load(pair):
            path_a, path_b = pair
            if layout == "AB":
                ab = decode(path_a, channels)
                half = tf.shape(ab)[1] // 2
                # AB images carry both halves in one file: B gets A's channel count.
                return ab[:, :half], ab[:, half:]
            return decode(path_a, channels), decode(path_b, target_channels)

    if count < batch_size and drop_remainder:
        raise ValueError(f"paired data: {count} pairs, fewer than one batch of {batch_size}; lower the batch size.")

    def prepare(pair, seed_pair, jitter=True):
        a, b = load(pair)
        if direction == "b2a":
            a, b = b, a
        a.set_shape((None, None, a.shape[-1]))
        b.set_shape((None, None, b.shape[-1]))
        return _jitter(tf, a, b, resolution, load_size if jitter else None, flip and jitter, seed_pair)

    preview = files.take(8).map(lambda *p: prepare(p if len(p) > 1 else p[0], tf.constant([0, 0], tf.int64), False))
    preview_sources = np.stack([s.numpy() for s, _ in preview])
    ds = files
    if shuffle:
        ds = ds.shuffle(min(count, 10_000), seed=seed, reshuffle_each_iteration=True)
    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    ds = tf.data.Dataset.zip((ds, seeds)).map(
        lambda pair, s: prepare(pair, s), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
    ds.preview_sources = preview_sources
    ds.num_pairs = count
    return ds


# ---------------------------------------------------------------- masks
def _hole_range(hole, size):
    if hole is None:
        hole = (size // 4, size // 2)
    lo, hi = (hole, hole) if np.isscalar(hole) else (int(hole[0]), int(hole[1]))
    if not 1 <= lo <= hi:
        raise ValueError(f"hole must be a size >= 1 or a (min, max) range; got {hole!r}.")
    return int(lo), int(hi)


def box_masks(n, size, hole=None, border=0, seed=0):
    """`n` masks (N, size, size, 1) float32, 1 inside one random square hole, 0 elsewhere.

    Args:
        hole: side of the square (int) or a (min, max) range; default size/4..size/2.
        border: the hole stays this many pixels away from every edge.

    Example:
        >>> m = box_masks(2, 32, hole=20, border=4, seed=0)
        >>> int(m[:, :4].sum()), int(m[0].sum())    # nothing in the border
        (0, 400)
    """
    size, border = int(size), int(border)
    lo, hi = _hole_range(hole, size)
    if hi > size - 2 * border:
        raise ValueError(f"a {hi}x{hi} hole does not fit a {size}x{size} image with a {border}-pixel border.")
    rng = np.random.default_rng(seed)
    masks = np.zeros((int(n), size, size, 1), "float32")
    for i in range(int(n)):
        side = int(rng.integers(lo, hi + 1))
        top, left = (int(rng.integers(border, size - border - side + 1)) for _ in range(2))
        masks[i, top:top + side, left:left + side] = 1.0
    return masks


def stroke_masks(n, size, strokes=(1, 4), width=None, vertices=(4, 10), seed=0):
    """`n` free-form masks (N, size, size, 1): random thick poly-lines (1 = hole).

    Each stroke is a random walk of `vertices` segments (random angles,
    lengths up to size/4) drawn with a disc of random `width` (default
    size/16 .. size/6), after the free-form masks of Yu et al. 2019
    (DeepFill v2).

    Example:
        >>> m = stroke_masks(3, 64, seed=0)
        >>> m.shape, 0.0 < float(m.mean()) < 0.5
        ((3, 64, 64, 1), True)
    """
    size = int(size)
    w_lo, w_hi = width if width is not None else (max(2, size // 16), max(3, size // 6))
    rng = np.random.default_rng(seed)
    masks = np.zeros((int(n), size, size, 1), "float32")
    for i in range(int(n)):
        for _ in range(int(rng.integers(strokes[0], strokes[1] + 1))):
            radius = max(1, int(rng.integers(w_lo, w_hi + 1)) // 2)
            yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
            disc = (yy ** 2 + xx ** 2) <= radius ** 2
            y, x = rng.uniform(0, size, 2)
            for _ in range(int(rng.integers(vertices[0], vertices[1] + 1))):
                angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(size / 16, size / 4)
                y2 = float(np.clip(y + length * np.sin(angle), 0, size - 1))
                x2 = float(np.clip(x + length * np.cos(angle), 0, size - 1))
                for t in np.linspace(0.0, 1.0, max(2, int(length / max(radius, 1)) * 2)):
                    cy, cx = int(round(y + t * (y2 - y))), int(round(x + t * (x2 - x)))
                    y0, y1 = max(cy - radius, 0), min(cy + radius + 1, size)
                    x0, x1 = max(cx - radius, 0), min(cx + radius + 1, size)
                    patch = disc[y0 - cy + radius:y1 - cy + radius, x0 - cx + radius:x1 - cx + radius]
                    masks[i, y0:y1, x0:x1, 0] = np.maximum(masks[i, y0:y1, x0:x1, 0], patch)
                y, x = y2, x2
    return masks


def make_masks(kind, n, size, *, hole=None, border=0, seed=0):
    """`box_masks` or `stroke_masks` by name ("box" | "free_form").

    Example:
        >>> make_masks("box", 2, 16, hole=8).shape
        (2, 16, 16, 1)
    """
    if kind == "box":
        return box_masks(n, size, hole=hole, border=border, seed=seed)
    if kind == "free_form":
        return stroke_masks(n, size, seed=seed)
    raise ValueError(f"mask must be one of {', '.join(MASK_KINDS)}; got {kind!r}.")


def masked_source(images, masks, fill=0.0):
    """The inpainting source: `concat([image with the hole set to fill, mask])` on channels.

    Works on numpy arrays and tensors (keras.ops); masks (N, H, W, 1), 1 = hole.

    Example:
        >>> s = masked_source(np.ones((1, 8, 8, 3), "float32"), box_masks(1, 8, hole=4))
        >>> s.shape
        (1, 8, 8, 4)
    """
    from keras import ops

    if isinstance(images, np.ndarray) and isinstance(masks, np.ndarray):
        masks = masks.astype(images.dtype)
        return np.concatenate([images * (1.0 - masks) + fill * masks, masks], axis=-1)
    masks = ops.cast(masks, images.dtype)
    return ops.concatenate([images * (1.0 - masks) + fill * masks, masks], axis=-1)


def inpainting(images, batch_size, *, mask="box", hole=None, border=0, fill=0.0, bank_size=2048,
               shuffle=True, seed=0, drop_remainder=True):
    """A `tf.data.Dataset` of `(masked image + mask, image)` batches with fresh random masks.

    Masks are drawn from a bank of `bank_size` masks (numpy, seeded) by a
    stateless random index per example, so every epoch pairs each image
    with new holes.

    Args:
        images: float32 NHWC array in [-1, 1] (e.g. `ganzoo.data.builtin.load("digits", 32)`).
        mask: "box" (`box_masks`, with `hole` and `border`) or "free_form".
        fill: value written into the hole of the source image.

    Example:
        >>> x = np.zeros((64, 32, 32, 1), "float32")
        >>> src, tgt = next(iter(inpainting(x, 16, hole=20, border=4)))
        >>> tuple(src.shape), tuple(tgt.shape)
        ((16, 32, 32, 2), (16, 32, 32, 1))
    """
    import tensorflow as tf

    images = _to_float(images, "images")
    if images.shape[1] != images.shape[2]:
        raise ValueError(f"inpainting data: square images only, got {images.shape[1]}x{images.shape[2]}.")
    if len(images) < batch_size and drop_remainder:
        raise ValueError(f"inpainting data: {len(images)} images, fewer than one batch of {batch_size}.")
    bank = tf.constant(make_masks(mask, bank_size, images.shape[1], hole=hole, border=border, seed=seed))
    ds = tf.data.Dataset.from_tensor_slices(images)
    if shuffle:
        ds = ds.shuffle(min(len(images), 10_000), seed=seed, reshuffle_each_iteration=True)
    seeds = tf.data.Dataset.random(seed=seed + 1).batch(2)

    def add_mask(image, s):
        index = tf.random.stateless_uniform((), seed=s, maxval=bank_size, dtype=tf.int32)
        m = bank[index]
        return tf.concat([image * (1.0 - m) + fill * m, m], axis=-1), image

    ds = tf.data.Dataset.zip((ds, seeds)).map(add_mask, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
    preview_masks = make_masks(mask, min(8, len(images)), images.shape[1], hole=hole, border=border, seed=seed + 2)
    ds.preview_sources = masked_source(images[:8], preview_masks, fill)
    return ds


# ---------------------------------------------------------------- digits
def edge_map(images):
    """Sobel gradient magnitude of NHWC images in [-1, 1], scaled to [-1, 1] (edges +1).

    Example:
        >>> edge_map(np.zeros((1, 8, 8, 1), "float32")).max()
        -1.0
    """
    x = (np.asarray(images, "float32") + 1.0) / 2.0
    p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = x.shape[1:3]

    def at(dy, dx):
        return p[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]

    gx = (at(-1, 1) + 2 * at(0, 1) + at(1, 1)) - (at(-1, -1) + 2 * at(0, -1) + at(1, -1))
    gy = (at(1, -1) + 2 * at(1, 0) + at(1, 1)) - (at(-1, -1) + 2 * at(-1, 0) + at(-1, 1))
    magnitude = np.sqrt(gx ** 2 + gy ** 2) / 4.0  # a unit step gives 1
    return (np.clip(magnitude, 0.0, 1.0) * 2.0 - 1.0).astype("float32")


def digit_pairs(resolution=16, target="edges"):
    """scikit-learn's digits (A) paired with their edge maps or inversions (B), NHWC in [-1, 1].

    Example:
        >>> a, b = digit_pairs(16, target="invert")
        >>> a.shape, bool(np.allclose(b, -a))
        ((1797, 16, 16, 1), True)
    """
    from ganzoo.data import builtin

    a = builtin.load("digits", int(resolution))
    if target == "edges":
        return a, edge_map(a)
    if target == "invert":
        return a, -a
    raise ValueError(f"digit_pairs target must be 'edges' or 'invert'; got {target!r}.")


# ---------------------------------------------------------------- recipes
def _options(recipe, allowed):
    options = dict(recipe["data"].get("options") or {})
    for key in options:
        if key not in allowed:
            raise ValueError(f"{recipe['name']}: unknown data.options key {key!r}; valid: {', '.join(allowed)}.")
    return options


def _fit_kwargs(recipe, ds):
    if "steps_per_epoch" in recipe["training"]:
        extra = {k: getattr(ds, k) for k in ("preview_sources", "num_pairs") if hasattr(ds, k)}
        ds = ds.repeat()
        for k, v in extra.items():
            setattr(ds, k, v)
        return ds, {"steps_per_epoch": int(recipe["training"]["steps_per_epoch"])}
    return ds, {}


def _resolution(recipe):
    value = recipe["data"].get("resolution")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{recipe['name']}: data.resolution must be a positive int, got {value!r}.")
    return value


@register("dataset", name="paired")
def paired_recipe_data(recipe, source, epochs=1, seed=0):
    """`data.kind: paired`: a paired folder, an `(a, b)` pair, or `builtin:digits` paired by
    `options.target` (edges | invert); options: load_size, flip, direction, split, target.

    Example:
        >>> ds, fit_kwargs = paired_recipe_data(recipes.get("pix2pix-digits"), "builtin:digits")
    """
    options = _options(recipe, ("load_size", "flip", "direction", "split", "target", "target_channels"))
    if source is None:
        raise ValueError(f"{recipe['name']}: no data; pass --data FOLDER (A/ and B/, or side-by-side AB images).")
    target = options.pop("target", "edges")
    if isinstance(source, str) and source.startswith("builtin:"):
        if source != "builtin:digits":
            raise ValueError(f"{recipe['name']}: paired builtin data is builtin:digits; got {source!r}.")
        source = digit_pairs(_resolution(recipe), target=target)
    ds = paired(source, _resolution(recipe), int(recipe["training"].get("batch_size", 1)),
                channels=int(recipe["data"].get("channels") or 3), seed=seed, **options)
    return _fit_kwargs(recipe, ds)


@register("dataset", name="inpaint")
def inpaint_recipe_data(recipe, source, epochs=1, seed=0):
    """`data.kind: inpaint`: images (any `ganzoo.data.images` source) with random holes;
    options: mask (box | free_form), hole, border, fill.

    Example:
        >>> ds, fit_kwargs = inpaint_recipe_data(recipes.get("pix2pix-inpaint"), "builtin:digits")
    """
    options = _options(recipe, ("mask", "hole", "border", "fill"))
    if source is None:
        raise ValueError(f"{recipe['name']}: no data; pass --data PATH (an image folder, .npy file or tfds:NAME).")
    resolution = _resolution(recipe)
    if isinstance(source, str) and source == "builtin:digits":
        from ganzoo.data import builtin

        images = builtin.load("digits", resolution)
    elif isinstance(source, np.ndarray):
        images = source
    else:
        from ganzoo.data import images as load_images

        ds = load_images(source, resolution, batch_size=256, channels=recipe["data"].get("channels"),
                         shuffle=False, drop_remainder=False)
        images = np.concatenate([np.asarray(b) for b in ds])
    hole = options.pop("hole", None)
    ds = inpainting(images, int(recipe["training"].get("batch_size", 1)), seed=seed,
                    hole=tuple(hole) if isinstance(hole, list) else hole, **options)
    return _fit_kwargs(recipe, ds)
