"""Unpaired image domains for CycleGAN: `{"a": images_A, "b": images_B}` batches.

Sources (`unpaired(a, b=None, ...)`):

* a folder with `trainA/` and `trainB/` sub-folders (the CycleGAN datasets'
  layout; `split="test"` reads `testA/` and `testB/`), or two folders `a`, `b`;
* `"tfds:cycle_gan/<name>"` (TFDS's CycleGAN datasets, splits `trainA`,
  `trainB`, `testA`, `testB`), or two TFDS specs;
* two numpy arrays (any lengths).

The two domains are read independently (each shuffled with its own seed)
and zipped; an epoch is as many batches as the larger domain has, the
smaller one repeating (the reference's `max(len(A), len(B))`).

Example:
    >>> from ganzoo.data.unpaired import unpaired
    >>> ds = unpaired("datasets/horse2zebra", resolution=256, batch_size=1)   # doctest: +SKIP
    >>> ds = unpaired("tfds:cycle_gan/horse2zebra", resolution=256, batch_size=1)  # doctest: +SKIP
    >>> gan.fit(ds, epochs=200)                                                # doctest: +SKIP
"""

import os

SPLITS = ("train", "test")


def _tf():
    import tensorflow as tf

    return tf


def domain_sources(a, b=None, split="train"):
    """The two sources `unpaired` reads, resolved from a dataset root or spec.

    Example:
        >>> domain_sources("tfds:cycle_gan/horse2zebra")
        ('tfds:cycle_gan/horse2zebra:trainA', 'tfds:cycle_gan/horse2zebra:trainB')
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}.")
    if b is not None:
        return a, b
    if isinstance(a, str) and a.startswith("tfds:"):
        body = a[len("tfds:"):]
        if ":" in body:
            raise ValueError(f"{a!r} names a split; give the dataset only ('tfds:cycle_gan/horse2zebra') and "
                             "split='train'|'test', or two specs (a, b).")
        return f"{a}:{split}A", f"{a}:{split}B"
    if isinstance(a, (str, os.PathLike)):
        root = os.fspath(a)
        if not os.path.isdir(root):
            raise FileNotFoundError(f"No folder at {root}.")
        dirs = [os.path.join(root, f"{split}{d}") for d in "AB"]
        missing = [d for d in dirs if not os.path.isdir(d)]
        if missing:
            found = sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)))
            raise ValueError(
                f"{root} has no {', '.join(os.path.basename(m) for m in missing)}/ folder: unpaired data is "
                f"{split}A/ and {split}B/ (found {found or 'no sub-folders'}); or pass two folders unpaired(a, b)."
            )
        return dirs[0], dirs[1]
    raise ValueError("unpaired(a, b) takes two arrays/folders/specs, or one dataset root (trainA/, trainB/) or "
                     "'tfds:cycle_gan/<name>'.")


def unpaired(a, b=None, resolution=256, batch_size=1, *, split="train", channels=None, shuffle=True, seed=0,
             crop="center"):
    """A `tf.data.Dataset` of `{"a": (B, R, R, C), "b": (B, R, R, C)}` float32 batches in [-1, 1].

    Args:
        a, b: the two domains (see the module docstring); `b=None` reads `a` as a root or a TFDS name.
        resolution, batch_size, channels, crop: as `ganzoo.data.images`.
        split: "train" or "test" (root folders and TFDS names).
        shuffle, seed: each domain is shuffled with its own seed (`seed`, `seed + 1`).

    Example:
        >>> ds = unpaired(digits, -digits[::-1], resolution=16, batch_size=8)
        >>> sorted(next(iter(ds)))
        ['a', 'b']
    """
    from ganzoo.data.images import images

    tf = _tf()
    src_a, src_b = domain_sources(a, b, split)
    kwargs = dict(channels=channels, shuffle=shuffle, crop=crop, drop_remainder=True)
    ds_a = images(src_a, resolution, batch_size, seed=seed, **kwargs)
    ds_b = images(src_b, resolution, batch_size, seed=None if seed is None else seed + 1, **kwargs)
    n_a, n_b = int(ds_a.cardinality()), int(ds_b.cardinality())
    if n_a < 0 or n_b < 0:  # unknown length: one pass over each tells
        n_a, n_b = sum(1 for _ in ds_a), sum(1 for _ in ds_b)
    steps = max(n_a, n_b)
    ds = tf.data.Dataset.zip((ds_a.repeat(), ds_b.repeat())).take(steps)
    ds = ds.map(lambda x, y: {"a": x, "b": y})
    return ds.apply(tf.data.experimental.assert_cardinality(steps))


def digit_domains(resolution=16, seed=0):
    """scikit-learn's digits (A) and inverted digits (B) in independent random orders (unpaired).

    Example:
        >>> a, b = digit_domains(16)
        >>> a.shape == b.shape, bool(np.allclose(np.sort(b.ravel()), np.sort(-a.ravel())))
        (True, True)
    """
    import numpy as np

    from ganzoo.data import builtin

    a = builtin.load("digits", int(resolution))
    return a, -a[np.random.default_rng(seed).permutation(len(a))]


def _register():
    from ganzoo.engine.registry import register

    @register("dataset", name="unpaired")
    def unpaired_recipe_data(recipe, source, epochs=1, seed=0):
        """`data.kind: unpaired`: a root with trainA/ trainB/, tfds:cycle_gan/NAME, or builtin:digits
        (digits <-> inverted digits); options: split.

        Example:
            >>> ds, fit_kwargs = unpaired_recipe_data(recipes.get("cyclegan-digits"), "builtin:digits")
        """
        options = dict(recipe["data"].get("options") or {})
        unknown = sorted(set(options) - {"split"})
        if unknown:
            raise ValueError(f"{recipe['name']}: unknown data.options key(s) {unknown}; valid: split.")
        if source is None:
            raise ValueError(f"{recipe['name']}: no data; pass --data ROOT (with trainA/ and trainB/) or "
                             "tfds:cycle_gan/NAME.")
        resolution = int(recipe["data"]["resolution"])
        a, b = (digit_domains(resolution, seed) if source == "builtin:digits" else (source, None))
        ds = unpaired(a, b, resolution, int(recipe["training"].get("batch_size", 1)), seed=seed,
                      channels=recipe["data"].get("channels"), **options)
        if "steps_per_epoch" in recipe["training"]:
            return ds.repeat(), {"steps_per_epoch": int(recipe["training"]["steps_per_epoch"])}
        return ds, {}

    return unpaired_recipe_data


unpaired_recipe_data = _register()
