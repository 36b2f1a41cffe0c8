"""Reference statistics of a real dataset, computed once and cached as `.npz`.

The file layout is pytorch-fid's (`mu`, `sigma`), so its `.npz` files and ours
are interchangeable for FID. ganzoo adds `num_samples`, the pipeline
`protocol` (a JSON string) and, for KID and precision/recall, which need the
samples themselves, `features`: the pool features of up to `max_features`
images (a seeded random subset).
"""

import hashlib
import json
import os
import tempfile

import numpy as np

from ganzoo.metrics.fid import FeatureStatistics

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


class ReferenceStats:
    """Feature statistics of real images: `mu`, `sigma`, `num_samples`, `features`.

    Example:
    >>> ref = ReferenceStats(np.zeros(2), np.eye(2), num_samples=10)
    >>> ref.save("/tmp/ref.npz"); ReferenceStats.load("/tmp/ref.npz").num_samples
    10
    """

    def __init__(self, mu, sigma, num_samples=None, features=None, protocol=None):
        self.mu = np.asarray(mu, np.float64)
        self.sigma = np.asarray(sigma, np.float64)
        self.num_samples = None if num_samples is None else int(num_samples)
        self.features = None if features is None else np.asarray(features, np.float32)
        self.protocol = dict(protocol or {})

    def save(self, path):
        """Write an `.npz` (pytorch-fid keys `mu`, `sigma` plus ganzoo's) atomically."""
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        arrays = {"mu": self.mu, "sigma": self.sigma}
        if self.num_samples is not None:
            arrays["num_samples"] = np.array(self.num_samples)
        if self.features is not None:
            arrays["features"] = self.features
        arrays["protocol"] = np.array(json.dumps(self.protocol, sort_keys=True))
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    @classmethod
    def load(cls, path):
        """Read an `.npz` from `save` or from pytorch-fid (`mu`, `sigma` only)."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"reference statistics file {path!r} does not exist")
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ValueError(f"{path} is not a readable .npz file ({e})") from None
        with data:
            if "mu" not in data or "sigma" not in data:
                raise ValueError(
                    f"{path} has no 'mu' and 'sigma' arrays (found {sorted(data.files)}); "
                    "build one with `ganzoo eval --stats DIR --out stats.npz`"
                )
            protocol = json.loads(str(data["protocol"])) if "protocol" in data else {}
            protocol.setdefault("reference", path)
            return cls(
                data["mu"],
                data["sigma"],
                num_samples=int(data["num_samples"]) if "num_samples" in data else None,
                features=data["features"] if "features" in data else None,
                protocol=protocol,
            )


def list_images(folder):
    """Sorted paths of the image files under `folder` (recursively).

    Example:
    >>> list_images("data/celeba")[:2]  # doctest: +SKIP
    ['data/celeba/000001.png', 'data/celeba/000002.png']
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"image folder {folder!r} does not exist")
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        paths += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS)]
    if not paths:
        raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {folder!r}")
    return paths


def read_images(paths):
    """Decode image files to a list of uint8 RGB arrays (H, W, 3).

    Example:
    >>> read_images(["a.png"])[0].shape  # doctest: +SKIP
    (64, 64, 3)
    """
    from PIL import Image

    images = []
    for path in paths:
        with Image.open(path) as im:
            images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
    return images


def _by_shape(images):
    # Batches must be rectangular: group same-size images (usually all of them).
    groups = {}
    for image in images:
        groups.setdefault(image.shape, []).append(image)
    return [np.stack(g) for g in groups.values()]


def iter_image_batches(source, batch_size):
    """Yield uint8/float NHWC batches from an image folder or an array of images.

    Example:
    >>> [b.shape for b in iter_image_batches(np.zeros((5, 8, 8, 3), "uint8"), 2)]
    [(2, 8, 8, 3), (2, 8, 8, 3), (1, 8, 8, 3)]
    """
    if isinstance(source, (str, os.PathLike)):
        paths = list_images(source)
        for start in range(0, len(paths), batch_size):
            yield from _by_shape(read_images(paths[start : start + batch_size]))
        return
    array = np.asarray(source)
    if array.ndim != 4:
        raise ValueError(
            f"reference images must be an image folder or an NHWC array of rank 4, got shape {array.shape}"
        )
    for start in range(0, len(array), batch_size):
        yield array[start : start + batch_size]


def _num_images(source):
    if isinstance(source, (str, os.PathLike)):
        return len(list_images(source))
    return len(source)


def _folder_fingerprint(folder):
    digest = hashlib.sha256()
    for path in list_images(folder):
        st = os.stat(path)
        digest.update(f"{os.path.relpath(path, folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def default_cache_path(folder, extractor, max_features):
    """Cache file for a folder's statistics under ganzoo's cache (keyed by content and network).

    Example:
    >>> default_cache_path("data/celeba", extractor, 10000)  # doctest: +SKIP
    '~/.cache/ganzoo/fid/reference/celeba-3f2a9c1d0b7e.npz'
    """
    from ganzoo.metrics.inception_weights import cache_dir

    key = json.dumps(
        {
            "folder": os.path.abspath(os.fspath(folder)),
            "files": _folder_fingerprint(folder),
            "extractor": getattr(extractor, "protocol", type(extractor).__name__),
            "max_features": max_features,
        },
        sort_keys=True,
        default=str,
    )
    name = os.path.basename(os.path.normpath(os.fspath(folder))) or "images"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return os.path.join(cache_dir(), "reference", f"{name}-{digest}.npz")


def compute_reference_stats(
    source, extractor, max_features=10000, seed=0, cache=True, batch_size=None, progress=True
):
    """Compute (or load from cache) the reference statistics of real images.

    `source` is an image folder (read recursively, decoded to RGB) or an NHWC
    array (uint8 or float in [0, 255]). `cache`: True keeps folder statistics
    under ganzoo's cache, keyed by the folder's files and the network; a path
    saves them there (and reuses it when it exists); False computes every time.
    Up to `max_features` pool features (a subset seeded by `seed`) are kept for
    KID and precision/recall.

    Example:
    >>> ref = compute_reference_stats("data/celeba64", load_inception())  # doctest: +SKIP
    >>> ref.mu.shape, ref.num_samples                                       # doctest: +SKIP
    ((2048,), 202599)
    """
    from tqdm.auto import tqdm

    is_folder = isinstance(source, (str, os.PathLike))
    if cache is True:
        cache = default_cache_path(source, extractor, max_features) if is_folder else None
    elif cache is False:
        cache = None
    if cache is not None and os.path.isfile(cache):
        return ReferenceStats.load(cache)
    batch_size = int(batch_size or getattr(extractor, "batch_size", 64))
    stats = FeatureStatistics()
    kept = []
    total = _num_images(source)
    with tqdm(total=total, desc="reference features", unit="img", disable=not progress, leave=False) as bar:
        for batch in iter_image_batches(source, batch_size):
            pool = np.asarray(extractor(batch)["pool"], np.float32)
            stats.update(pool)
            kept.append(pool)
            bar.update(len(batch))
    features = np.concatenate(kept)
    if max_features is not None and len(features) > max_features:
        index = np.sort(np.random.RandomState(seed).choice(len(features), max_features, replace=False))
        features = features[index]
    protocol = dict(getattr(extractor, "protocol", {}) or {})
    protocol.update(
        reference=os.path.abspath(os.fspath(source)) if is_folder else "array",
        num_samples=stats.count,
    )
    ref = ReferenceStats(stats.mu, stats.sigma, stats.count, features, protocol)
    if cache is not None:
        ref.save(cache)
        ref.protocol.setdefault("cache", os.fspath(cache))
    return ref


def load_reference(reference, extractor=None, **kwargs):
    """Turn `reference` into `ReferenceStats`: an `.npz` path, a folder, an array or stats.

    Folders and arrays need `extractor` (their features are computed, and
    folders cached; `kwargs` go to `compute_reference_stats`).

    Example:
    >>> ref = load_reference("cifar10_train.npz")  # doctest: +SKIP
    """
    if isinstance(reference, ReferenceStats):
        return reference
    if isinstance(reference, (str, os.PathLike)) and os.fspath(reference).endswith(".npz"):
        return ReferenceStats.load(reference)
    if isinstance(reference, (str, os.PathLike)) and not os.path.isdir(reference):
        raise FileNotFoundError(
            f"reference {os.fspath(reference)!r} is neither an image folder nor a .npz statistics file"
        )
    if extractor is None:
        raise ValueError("computing reference statistics from images needs an extractor")
    return compute_reference_stats(reference, extractor, **kwargs)
