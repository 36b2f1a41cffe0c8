"""One entry point for FID / IS / KID / precision-recall of a generator.

`evaluate` streams generated images through the feature extractor in batches
(so 50k samples never sit in memory as images), computes the requested
metrics and returns them with the protocol needed to compare numbers: sample
counts, reference, resizer, network and weights hash, metric parameters.

An extractor is anything callable as `extractor(images_uint8_nhwc)` that
returns a dict with `"pool"` (N, d) features and, for IS, `"logits_unbiased"`
or `"logits"`; it may expose `batch_size` and a `protocol` dict. The FID
Inception from `load_inception` is the standard one; tests use small stand-ins.
"""

import warnings

import numpy as np

from ganzoo.metrics.fid import FeatureStatistics
from ganzoo.metrics.fid import frechet_distance
from ganzoo.metrics.inception_score import inception_score
from ganzoo.metrics.kid import kernel_inception_distance
from ganzoo.metrics.precision_recall import precision_recall
from ganzoo.metrics.reference import load_reference

METRICS = ("fid", "is", "kid", "pr", "c2st")


def check_metrics(metrics):
    """Validate a metric list; returns it as a tuple.

    Example:
    >>> check_metrics(["fid", "kid"])
    ('fid', 'kid')
    """
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"unknown metric {unknown[0] if unknown else None!r}; choose from {METRICS}")
    return metrics


def _image_chunks(fake, num_samples, batch_size, seed):
    """Yield uint8 NHWC chunks from an array of images or a `generate(n, seed)` callable."""
    from ganzoo.utils.images import to_uint8

    if callable(fake):
        for i, start in enumerate(range(0, num_samples, batch_size)):
            n = min(batch_size, num_samples - start)
            # A different seed per chunk, fixed across calls: same images each evaluation.
            images = np.asarray(fake(n, seed=seed + i))
            if images.shape[:1] != (n,):
                raise ValueError(f"generate({n}) returned an array of shape {images.shape}")
            yield to_uint8(images)
        return
    images = fake
    if num_samples is not None:
        if len(images) < num_samples:
            raise ValueError(f"asked for {num_samples} samples but only {len(images)} images were given")
        images = images[:num_samples]
    for start in range(0, len(images), batch_size):
        yield images[start : start + batch_size]


def evaluate(
    fake,
    reference=None,
    metrics=("fid",),
    extractor=None,
    num_samples=None,
    seed=0,
    batch_size=None,
    progress=True,
    is_splits=10,
    kid_subsets=100,
    kid_subset_size=1000,
    pr_k=3,
):
    """Compute metrics of generated images against a reference; returns a dict.

    `fake` is an NHWC array of generated images (uint8 or float in [0, 255]) or a
    callable `generate(n, seed=...)` returning float images in [-1, 1] (such as
    `ganzoo.GAN.generate`; `num_samples` is then required). `reference` is an
    `.npz` of statistics, an image folder, an array or `ReferenceStats` (not
    needed for IS alone). `extractor` defaults to `load_inception()`.

    Returns `{"fid", "is", "is_std", "kid", "kid_std", "precision", "recall"}`
    (those requested) plus `"protocol"`. "c2st" adds `"c2st"` (held-out accuracy of
    `ganzoo.metrics.c2st` on the Inception features, 0.5 = indistinguishable) and
    `"c2st_interval"` (Clopper-Pearson 95%).

    Example:
    >>> result = evaluate(gan.generate, "cifar10_train.npz", ("fid", "is"), num_samples=50000)  # doctest: +SKIP
    >>> result["fid"], result["protocol"]["num_fake"]                                           # doctest: +SKIP
    (23.4, 50000)
    """
    from tqdm.auto import tqdm

    metrics = check_metrics(metrics)
    if callable(fake) and not num_samples:
        raise ValueError("num_samples is required when fake is a generate(n, seed) callable")
    if extractor is None:
        from ganzoo.metrics.extractor import load_inception

        extractor = load_inception()
    ref = None
    if any(m in metrics for m in ("fid", "kid", "pr", "c2st")):
        if reference is None:
            raise ValueError(f"metrics {metrics} need a reference (.npz statistics or an image folder)")
        ref = load_reference(reference, extractor, progress=progress)
        if any(m in metrics for m in ("kid", "pr", "c2st")) and ref.features is None:
            raise ValueError(
                "KID, precision/recall and c2st need reference features, but the reference .npz has only "
                "mu/sigma; rebuild it with `ganzoo eval --stats DIR --out stats.npz`"
            )
    batch_size = int(batch_size or getattr(extractor, "batch_size", 64))
    total = num_samples if num_samples is not None else len(fake)
    stats, pools, logits = FeatureStatistics(), [], []
    with tqdm(total=total, desc="generated features", unit="img", disable=not progress, leave=False) as bar:
        for chunk in _image_chunks(fake, num_samples, batch_size, seed):
            feats = extractor(chunk)
            pool = np.asarray(feats["pool"], np.float32)
            stats.update(pool)
            if "kid" in metrics or "pr" in metrics or "c2st" in metrics:
                pools.append(pool)
            if "is" in metrics:
                logits.append(np.asarray(feats.get("logits_unbiased", feats.get("logits")), np.float32))
            bar.update(len(chunk))

    result = {}
    protocol = dict(getattr(extractor, "protocol", {}) or {})
    protocol.update(num_fake=stats.count, seed=seed)
    if ref is not None:
        ours, theirs = protocol.get("weights_sha256"), ref.protocol.get("weights_sha256")
        if ours and theirs and ours != theirs:
            warnings.warn(
                f"the reference statistics were computed with other network weights (sha256 "
                f"{theirs[:12]}...) than the extractor's ({ours[:12]}...); the metrics are not "
                "comparable: rebuild the reference with this extractor",
                stacklevel=2,
            )
        protocol.update(
            num_real=ref.num_samples,
            reference=ref.protocol.get("reference", "array"),
            reference_weights_sha256=ref.protocol.get("weights_sha256"),
        )
    if "fid" in metrics:
        result["fid"] = frechet_distance(stats.mu, stats.sigma, ref.mu, ref.sigma)
        protocol["fid_method"] = "eigh"
    if "is" in metrics:
        result["is"], result["is_std"] = inception_score(np.concatenate(logits), splits=is_splits)
        protocol["is_splits"] = is_splits
    if "kid" in metrics or "pr" in metrics or "c2st" in metrics:
        fake_features = np.concatenate(pools)
    if "kid" in metrics:
        result["kid"], result["kid_std"] = kernel_inception_distance(
            ref.features, fake_features, num_subsets=kid_subsets, subset_size=kid_subset_size
        )
        protocol.update(
            kid_subsets=kid_subsets,
            kid_subset_size=min(kid_subset_size, len(ref.features), len(fake_features)),
            kid_num_real=len(ref.features),
        )
    if "pr" in metrics:
        result.update(precision_recall(ref.features, fake_features, k=pr_k))
        protocol.update(pr_k=pr_k, pr_num_real=len(ref.features))
    if "c2st" in metrics:  # classifier two-sample test on the Inception features (ganzoo.metrics.c2st)
        from ganzoo.metrics.c2st import c2st

        test = c2st(ref.features, fake_features, seed=seed)
        result["c2st"], result["c2st_interval"] = test["accuracy"], test["interval"]
        protocol["c2st"] = {**test["protocol"], "features": "inception pool (reference features)"}
    result["protocol"] = protocol
    return result
