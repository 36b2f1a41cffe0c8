"""`ganzoo download NAME... [--all]`: fill the cache for later offline runs.

    ganzoo download stylegan2-ffhq fid-inception
    ganzoo download --all
    HF_HUB_OFFLINE=1 ganzoo sample stylegan2-ffhq --out grid.png   # later, on a node without internet

Each NAME is fetched the way `ganzoo.load(NAME)` would (its weight sources in
order; an upstream checkpoint is downloaded and converted once);
`fid-inception` fetches and converts the FID Inception weights the metrics
use. Run it on a machine with internet with the same `GANZOO_CACHE` /
`HF_HOME` as the offline machine (or copy those folders).
"""

import os
import sys


def add_parser(subparsers):
    """Register `ganzoo download` on an argparse subparsers object.

    Example:
        >>> import argparse
        >>> add_parser(argparse.ArgumentParser().add_subparsers()).parse_args(["fid-inception"]).names
        ['fid-inception']
    """
    p = subparsers.add_parser(
        "download",
        help="download (and convert) weights now, for offline use later",
        description="Download and convert what `ganzoo.load(NAME)` needs (a registry name, alias or recipe "
        "YAML), or `fid-inception` for the FID metrics' Inception weights, into the cache "
        "(GANZOO_CACHE, default ~/.cache/ganzoo; Hub files go to the Hugging Face cache, HF_HOME). "
        "A later run with HF_HUB_OFFLINE=1 finds them there. `ganzoo cache list` shows what is cached.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="registry name, alias, recipe YAML, or fid-inception")
    p.add_argument(
        "--all",
        action="store_true",
        help="every registry entry whose weights come over the network, and fid-inception",
    )
    p.set_defaults(func=run)
    return p


def run(args):
    """Download every requested name; returns the exit status (2 if any failed).

    Example:
        >>> from ganzoo.cli import main
        >>> main(["download", "fid-inception"])   # doctest: +SKIP
        fid-inception: /root/.cache/ganzoo/fid/fid_inception-2015-12-05-6726825d.weights.h5
        0
    """
    from ganzoo import download

    if args.all and args.names:
        raise ValueError("give NAMEs or --all, not both")
    names = download.remote_names() if args.all else list(dict.fromkeys(args.names))
    if not names:
        raise ValueError("give at least one NAME (see `ganzoo list`, or fid-inception) or --all")
    for name in names:  # unknown names fail before anything is downloaded
        download.check_prefetch_name(name)
    from ganzoo.cli import import_tensorflow_quietly

    if (getattr(args, "backend", None) or os.environ.get("KERAS_BACKEND", "tensorflow")) == "tensorflow":
        import_tensorflow_quietly()  # conversions build Keras models
    if len(names) == 1:
        print(download.prefetch(names[0]))  # a failure is the command's one-line error
        return 0
    failed = []
    for name in names:
        try:
            print(download.prefetch(name), flush=True)
        except (OSError, ValueError, RuntimeError) as e:
            failed.append(name)
            print(f"ganzoo download: error: {name}: {e}", file=sys.stderr, flush=True)
    if failed:
        print(f"ganzoo download: {len(failed)} of {len(names)} failed: {', '.join(failed)}", file=sys.stderr)
        return 2
    return 0
