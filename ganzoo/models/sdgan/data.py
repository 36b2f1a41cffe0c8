"""Real SD-GAN tuples: k images of one identity, from labelled images or an identity-labelled folder.

Example:
    >>> tuples = identity_tuples(images, labels, k=2, per_identity=100, seed=0)
    >>> tuples.shape[1]
    2
"""

import numpy as np


def identity_tuples(images, labels, k=2, per_identity=None, seed=0):
    """`(M, k, H, W, C)` tuples, each of k different images sharing one label (identity).

    Args:
        images: `(N, H, W, C)` float images in [-1, 1].
        labels: `(N,)` identity ids.
        k: images per tuple.
        per_identity: tuples drawn per identity (default: its image count).
        seed: numpy seed of the draw.

    Example:
        >>> identity_tuples(np.zeros((6, 4, 4, 1)), [0, 0, 0, 1, 1, 1], k=2).shape
        (6, 2, 4, 4, 1)
    """
    images, labels = np.asarray(images, "float32"), np.asarray(labels)
    if images.ndim != 4 or len(images) != len(labels):
        raise ValueError(f"identity_tuples needs images (N, H, W, C) and N labels; got {images.shape} and {labels.shape}.")
    rng = np.random.default_rng(seed)
    out = []
    for ident in np.unique(labels):
        idx = np.flatnonzero(labels == ident)
        if len(idx) < k:
            continue  # an identity with fewer than k images cannot make a tuple
        for _ in range(int(per_identity or len(idx))):
            out.append(images[rng.choice(idx, size=k, replace=False)])
    if not out:
        raise ValueError(f"No identity has {k} images; SD-GAN tuples need k images of one identity.")
    return np.stack(out)[rng.permutation(len(out))]


def identity_tuples_from_folder(path, resolution, k=2, per_identity=None, seed=0, channels=None):
    """Tuples from a folder with one sub-folder per identity (read with `ganzoo.data.images(labels=True)`).

    Example:
        >>> tuples = identity_tuples_from_folder("faces/", 64, k=2)      # doctest: +SKIP
    """
    from ganzoo.data import images as load_images

    ds = load_images(path, resolution, batch_size=1, labels=True, shuffle=False, drop_remainder=False, channels=channels)
    xs, ys = zip(*((np.asarray(x[0]), int(np.asarray(y[0]))) for x, y in ds))
    return identity_tuples(np.stack(xs), np.asarray(ys), k=k, per_identity=per_identity, seed=seed)
