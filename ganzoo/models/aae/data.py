"""Semi-supervised AAE data: a few labelled images among many unlabelled ones, as one batch dict.

`SemiSupervisedAAE.fit` reads dicts `{"x", "y", "labelled"}`: images,
int32 class ids and a 0/1 mask, 1 where `y` is a label. Unlabelled rows
carry `y = -1` (scikit-learn's convention for "no label"); every loss that
reads `y` multiplies by the mask, so their `y` is never used. The few
labelled rows are repeated (`labelled_share`) so that each shuffled batch
holds enough of them for the classification phase.

Example:
    >>> split = semisupervised_digits(per_class=10, seed=0)
    >>> batch = split["train"]                     # dict of numpy arrays
    >>> aae.fit(batch, batch_size=100, epochs=30)  # doctest: +SKIP
    >>> accuracy = (aae.classify(split["test"][0]) == split["test"][1]).mean()  # doctest: +SKIP
"""

import numpy as np

from ganzoo.engine.registry import register

UNLABELLED = -1


def labelled_subset(labels, per_class, seed=0):
    """A 0/1 mask choosing `per_class` labelled rows of every class (at random, from `seed`).

    Example:
        >>> labelled_subset(np.array([0, 0, 1, 1, 1]), 1, seed=0).sum()
        2
    """
    labels = np.asarray(labels)
    if int(per_class) < 1:
        raise ValueError(f"per_class must be >= 1 labelled image per class, got {per_class}.")
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), "float32")
    for k in np.unique(labels):
        rows = np.flatnonzero(labels == k)
        if len(rows) < int(per_class):
            raise ValueError(f"Class {k} has {len(rows)} images, fewer than per_class={per_class}; lower per_class.")
        mask[rng.choice(rows, int(per_class), replace=False)] = 1.0
    return mask


def semisupervised_batches(images, labels, labelled, labelled_share=0.5):
    """The fit data of a `SemiSupervisedAAE`: `{"x", "y", "labelled"}` numpy arrays.

    Args:
        images: (N, ...) float32 images in [-1, 1].
        labels: (N,) class ids; read only where `labelled` is 1.
        labelled: (N,) 0/1 mask (bool or numbers) of the rows whose label is known.
        labelled_share: the labelled rows are repeated until they make up
            about this share of the rows (so a shuffled batch of 100 holds
            ~100 * share of them); None keeps every row once.

    Example:
        >>> data = semisupervised_batches(x, y, labelled_subset(y, 10))
        >>> sorted(data)
        ['labelled', 'x', 'y']
    """
    images = np.asarray(images, "float32")
    labelled = np.asarray(labelled)
    if labelled.shape != (len(images),) or not np.isin(labelled, (0, 1)).all():
        raise ValueError(f"labelled must be a 0/1 mask of shape ({len(images)},), got shape {labelled.shape}.")
    labelled = labelled.astype(bool)
    if not labelled.any():
        raise ValueError("labelled marks no row; a semi-supervised AAE needs some labelled images.")
    y = np.where(labelled, np.asarray(labels).astype("int64"), UNLABELLED).astype("int32")
    rows = np.arange(len(images))
    if labelled_share is not None:
        if not 0.0 < float(labelled_share) < 1.0:
            raise ValueError(f"labelled_share must lie in (0, 1) or be None, got {labelled_share}.")
        n_l, n_u = int(labelled.sum()), int((~labelled).sum())
        copies = max(1, int(round(float(labelled_share) * n_u / ((1.0 - float(labelled_share)) * n_l))))
        rows = np.concatenate([np.flatnonzero(~labelled), np.tile(np.flatnonzero(labelled), copies)])
    return {"x": images[rows], "y": y[rows], "labelled": labelled[rows].astype("float32")}


def semisupervised_digits(per_class=10, resolution=8, test_fraction=0.5, seed=0, labelled_share=0.5):
    """scikit-learn's digits split for the semi-supervised protocol (Makhzani 2016, section 5, on digits).

    A stratified held-out test part (`test_fraction`, split by `seed`); of the
    rest, `per_class` images per class keep their label.

    Returns a dict: `train` (the fit dict, `semisupervised_batches`),
    `labelled` (`(images, labels)` of the labelled images only, for baselines),
    `test` (`(images, labels)`), `unlabelled` (the count).

    Example:
        >>> split = semisupervised_digits(10, seed=0)
        >>> split["labelled"][0].shape, split["test"][0].shape
        ((100, 8, 8, 1), (899, 8, 8, 1))
    """
    from sklearn.model_selection import train_test_split

    from ganzoo.data.builtin import digits_with_labels

    x, y = digits_with_labels(resolution)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=float(test_fraction), stratify=y,
                                                        random_state=int(seed))
    mask = labelled_subset(y_train, per_class, seed=seed)
    keep = mask.astype(bool)
    return {"train": semisupervised_batches(x_train, y_train, mask, labelled_share),
            "labelled": (x_train[keep], y_train[keep]), "test": (x_test, y_test),
            "unlabelled": int((~keep).sum())}


@register("dataset", name="semisupervised")
def semisupervised_recipe_data(recipe, source, epochs=1, seed=0):
    """`data.kind: semisupervised`: builtin:digits with `options.per_class` labels per class.

    Options: per_class (10), test_fraction (0.5, held out, never trained on),
    labelled_share (0.5), split_seed (0).

    Example:
        >>> x, fit_kwargs = semisupervised_recipe_data(recipes.get("aae-digits-semisupervised"), "builtin:digits")
    """
    options = dict(recipe["data"].get("options") or {})
    allowed = ("per_class", "test_fraction", "labelled_share", "split_seed")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{recipe['name']}: data.options has {unknown}; valid: {', '.join(allowed)}.")
    if source != "builtin:digits":
        raise ValueError(f"{recipe['name']}: semisupervised data is builtin:digits; got {source!r}.")
    split = semisupervised_digits(int(options.get("per_class", 10)), int(recipe["data"].get("resolution", 8)),
                                  float(options.get("test_fraction", 0.5)), int(options.get("split_seed", 0)),
                                  options.get("labelled_share", 0.5))
    return split["train"], {"batch_size": int(recipe["training"].get("batch_size", 100)), "shuffle": True}
