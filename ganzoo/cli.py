"""The `ganzoo` command line.

Each subcommand lives in its own module under `ganzoo.commands` and exposes
`add_parser(subparsers)`, which registers the parser and sets `func`. Heavy
imports (Keras, backends) happen inside the command, so `ganzoo --help` is
fast.

Example:
    $ ganzoo list
    $ ganzoo train zoo_configs/ring8-nsgan.yaml --out runs/ring
"""

import argparse
import importlib
import os
import sys

# Order shown in `ganzoo --help`.
COMMANDS = ("list", "info", "sample", "train", "eval", "push")


def _pre_parse_backend(argv):
    """Honour `--backend B` before Keras is imported anywhere."""
    for i, arg in enumerate(argv):
        if arg == "--backend" and i + 1 < len(argv):
            os.environ["KERAS_BACKEND"] = argv[i + 1]
        elif arg.startswith("--backend="):
            os.environ["KERAS_BACKEND"] = arg.split("=", 1)[1]


def build_parser():
    """Return the top-level `argparse` parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="ganzoo",
        description="GAN model zoo for Keras 3 (TensorFlow, JAX, PyTorch). "
        "The backend is chosen with KERAS_BACKEND or --backend.",
        epilog="examples:\n"
        "  ganzoo list\n"
        "  ganzoo sample dcgan-digits -n 64 --out grid.png      # embedded, works offline\n"
        "  ganzoo train ring8-nsgan --out runs/ring8\n"
        "  ganzoo train ring8-nsgan --out runs/ring8b --resume runs/ring8 --epochs 5\n"
        "  ganzoo train ring8-nsgan --out runs/r2 --devices 2          # TF / JAX data parallel\n"
        "  torchrun --nproc-per-node 2 -m ganzoo.cli --backend torch train ring8-nsgan --out runs/r2 --distributed\n"
        "  ganzoo push runs/ring8/preset me/ring8-nsgan --private --token-file ~/.hf_token\n"
        "Run `ganzoo COMMAND --help` for each command's options; GANZOO_DEBUG=1 shows tracebacks.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--backend",
        choices=("tensorflow", "jax", "torch"),
        help="Keras backend to use (default: $KERAS_BACKEND, else tensorflow).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"ganzoo.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"ganzoo.commands.{name}":
                continue  # command not shipped in this build
            raise
        module.add_parser(sub)
    return parser


def main(argv=None):
    """Entry point of the `ganzoo` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _pre_parse_backend(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except (ValueError, OSError, KeyError, RuntimeError, FloatingPointError) as e:
        # Errors raised for bad input are written to be read: one line, no trace.
        if os.environ.get("GANZOO_DEBUG"):
            raise
        print(f"ganzoo {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
