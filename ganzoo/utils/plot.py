"""Sample pictures as PNG, with PIL only (no matplotlib): scatter plots of 2-D
samples and `write_samples`, the one `samples.png` writer of presets and
training runs.

Example:
    >>> scatter_png(samples, centers, "samples.png", std=0.01)
    >>> write_samples(gan, "samples.png", recipe=recipe)
"""

import os
import tempfile

import numpy as np
from PIL import Image, ImageDraw

from ganzoo.utils.images import _umask


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
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=directory)
    os.close(fd)
    try:
        image.save(tmp, format="PNG")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would survive the rename
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


# Recipe `data.source` values of the 2-D toy distributions, and the recipe keys each one reads.
TOY_SOURCES = ("toy:ring", "toy:grid")
_TOY_KEYS = {"ring": ("num_modes", "radius", "std"), "grid": ("size", "spacing", "std")}
# Sample grids: images per row, and at most this many class rows for a conditional model.
_GRID_SIZE = 64
_PER_CLASS = 8
_MAX_CLASS_ROWS = 16


def toy_spec_of(data_cfg):
    """The `ganzoo.data.toy.ToySpec` a recipe's `data` section describes, or None for other data.

    Example:
        >>> toy_spec_of({"source": "toy:ring", "num_modes": 8, "std": 0.02}).centers.shape
        (8, 2)
    """
    source = (data_cfg or {}).get("source")
    if source not in TOY_SOURCES:
        return None
    from ganzoo.data.toy import toy_spec

    kind = source.split(":", 1)[1]
    return toy_spec(kind, **{k: data_cfg[k] for k in _TOY_KEYS[kind] if k in data_cfg})


def class_grid_labels(num_classes, per_row=_PER_CLASS, max_rows=_MAX_CLASS_ROWS):
    """Labels for a class-conditional sample grid: one row of `per_row` samples per class.

    With more than `max_rows` classes, `max_rows` classes spread evenly over
    the label range are shown (a 1000-class grid would not fit a picture).

    Example:
        >>> class_grid_labels(3, per_row=2).tolist()
        [0, 0, 1, 1, 2, 2]
    """
    num_classes = int(num_classes)
    classes = np.arange(num_classes)
    if num_classes > max_rows:
        classes = np.unique(np.linspace(0, num_classes - 1, max_rows).round().astype(int))
    return np.repeat(classes, per_row)


def write_samples(gan, path, recipe=None, seed=0):
    """Write `samples.png` for a GAN: a scatter of 2-D samples, or a grid of images.

    2-D samples (toy data) are drawn over the true modes when `recipe` names a
    toy distribution. Images form an 8x8 grid; a class-conditional model
    (`gan.num_classes > 0`) gets one row per class instead. Other sample
    shapes write nothing. Returns the path written, or None.

    Example:
        >>> write_samples(gan, "out/samples.png", recipe=recipes.get("ring8-nsgan"))
        'out/samples.png'
    """
    if getattr(gan, "latent_shape", ()) is None:  # a translator: no latents to sample from
        return write_translation_samples(gan, path)
    shape = tuple(gan.sample_shape)
    toy = toy_spec_of((recipe or {}).get("data"))
    num_classes = int(getattr(gan, "num_classes", 0) or 0)
    if toy is not None or shape == (2,):
        # A class-conditional 2-D model: every class in turn.
        samples = gan.generate(2500, seed=seed, labels=np.arange(2500) % num_classes if num_classes else None)
        if toy is None:
            return scatter_png(samples, None, path)
        return scatter_png(samples, toy.centers, path, std=toy.std)
    if len(shape) != 3:
        return None
    from ganzoo.utils.images import make_grid, save_png, to_uint8

    if num_classes > 0:
        labels = class_grid_labels(num_classes)
        images = gan.generate(len(labels), seed=seed, labels=labels)
        grid = make_grid(to_uint8(images), nrow=_PER_CLASS)
    else:
        grid = make_grid(to_uint8(gan.generate(_GRID_SIZE, seed=seed)))
    save_png(path, grid)
    return os.fspath(path)


def write_translation_samples(gan, path):
    """A translator's `samples.png`: rows of source | translation for its `preview_sources`.

    A translator has no latents to draw from; training (or a converter) may
    set `gan.preview_sources` (numpy NHWC in [-1, 1]) and this writes them
    beside their translations. Without them no `samples.png` is written
    (returns None).

    Example:
        >>> gan.preview_sources = sources[:8]
        >>> write_translation_samples(gan, "out/samples.png")
        'out/samples.png'
    """
    sources = getattr(gan, "preview_sources", None)
    if sources is None or len(sources) == 0:
        return None
    from ganzoo.utils.images import make_grid, save_png, to_uint8

    sources = np.asarray(sources, "float32")[:8]
    out = gan.translate(sources)
    if out.shape[1:3] != sources.shape[1:3] or out.shape[-1] not in (1, 3) or sources.shape[-1] not in (1, 3):
        return None  # sizes differ (super-resolution) or odd channels: no side-by-side grid
    if sources.shape[-1] != out.shape[-1]:  # grayscale beside RGB
        sources, out = (np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a for a in (sources, out))
    pairs = np.stack([sources, out], axis=1).reshape((-1, *out.shape[1:]))
    save_png(path, make_grid(to_uint8(pairs), nrow=2))
    return os.fspath(path)
