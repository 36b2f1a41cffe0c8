"""`ganzoo eval MODEL --metric fid --reference STATS`: sample metrics of a model.

    ganzoo eval dcgan-cifar10 --metric fid,is --reference cifar10_train.npz -n 50000 --out fid.json
    ganzoo eval --stats data/cifar10_train --out cifar10_train.npz

The first form samples the model and prints (and writes) a JSON record with
the metrics and their protocol; the second builds reference statistics
(pytorch-fid's `mu`/`sigma` plus the features KID and precision/recall need)
from a folder of real images.
"""

import json
import os
import sys
import tempfile


def add_parser(subparsers):
    """Register `ganzoo eval` on an argparse subparsers object.

    Example:
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers()
    >>> add_parser(sub).parse_args(["dcgan", "--metric", "fid,kid"]).metric
    'fid,kid'
    """
    p = subparsers.add_parser(
        "eval",
        help="FID / IS / KID / precision-recall of a model, or reference statistics",
        description="Evaluate a registry model, preset folder or hf://org/repo against reference "
        "statistics (an .npz or an image folder), or build statistics with --stats DIR.",
    )
    p.add_argument("model", nargs="?", help="registry name, preset folder or hf://org/repo[@rev]")
    p.add_argument(
        "--metric",
        default="fid",
        help="comma-separated metrics among fid, is, kid, pr, c2st (default: fid)",
    )
    p.add_argument("--reference", help="reference .npz (from --stats or pytorch-fid) or image folder")
    p.add_argument("-n", "--num-samples", type=int, default=50000, help="generated samples (default 50000)")
    p.add_argument("--weights", help="FID Inception weights (.pth or .weights.h5); default: pinned download")
    p.add_argument("--out", help="write the JSON record (or, with --stats, the .npz) here")
    p.add_argument("--stats", metavar="DIR", help="build reference statistics from this image folder")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated samples (default 0)")
    p.add_argument("--batch-size", type=int, default=64, help="images per Inception batch (default 64)")
    p.add_argument(
        "--max-features",
        type=int,
        default=10000,
        help="with --stats: features kept for KID / precision-recall (default 10000)",
    )
    p.set_defaults(func=run)
    return p


def _write_text(path, text):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _build_stats(args):
    from ganzoo.metrics.extractor import load_inception
    from ganzoo.metrics.reference import compute_reference_stats

    if args.model:
        raise ValueError("give either a MODEL to evaluate or --stats DIR, not both")
    if not args.out or not args.out.endswith(".npz"):
        raise ValueError("--stats needs --out PATH.npz for the statistics")
    if not os.path.isdir(args.stats):
        raise FileNotFoundError(f"--stats {args.stats!r} is not an image folder")
    extractor = load_inception(weights=args.weights, batch_size=args.batch_size)
    ref = compute_reference_stats(args.stats, extractor, max_features=args.max_features, cache=False)
    ref.save(args.out)
    kept = 0 if ref.features is None else len(ref.features)
    print(f"wrote {args.out}: {ref.num_samples} images, mu/sigma of {ref.mu.shape[0]}-d features, {kept} kept")
    return 0


def run(args):
    """Run `ganzoo eval`; returns the exit status.

    Example:
    >>> from ganzoo import cli
    >>> cli.main(["eval", "--stats", "data/real", "--out", "real.npz"])  # doctest: +SKIP
    0
    """
    from ganzoo.sources import check_model_spec

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.weights and not os.path.isfile(args.weights):
        raise FileNotFoundError(f"--weights {args.weights}: no such file")
    if args.stats:
        return _build_stats(args)
    if not args.model:
        raise ValueError("give a MODEL to evaluate, or --stats DIR --out stats.npz to build statistics")
    if args.num_samples < 1:
        raise ValueError(f"-n must be a positive number of samples, got {args.num_samples}")
    if args.reference is not None and not os.path.exists(args.reference):
        raise FileNotFoundError(f"--reference {args.reference}: no such .npz file or image folder")
    from ganzoo.metrics.evaluate import check_metrics

    metrics = check_metrics([m.strip() for m in args.metric.split(",") if m.strip()])
    if args.reference is None and any(m in metrics for m in ("fid", "kid", "pr", "c2st")):
        raise ValueError(f"--metric {','.join(metrics)} needs --reference STATS.npz or an image folder")
    if "ganzoo.presets" not in sys.modules:  # else ganzoo.load says the same, at no extra cost
        check_model_spec(args.model)  # before Keras loads

    import ganzoo
    from ganzoo.metrics.evaluate import evaluate
    from ganzoo.metrics.extractor import load_inception

    extractor = load_inception(weights=args.weights, batch_size=args.batch_size)
    model = ganzoo.load(args.model)
    result = evaluate(
        model.generate,
        args.reference,
        metrics,
        extractor,
        num_samples=args.num_samples,
        seed=args.seed,
    )
    record = {"model": args.model, **result}
    text = json.dumps(record, indent=2, sort_keys=True, default=str)
    print(text)
    if args.out:
        _write_text(args.out, text)
    return 0
