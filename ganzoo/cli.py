"""The `ganzoo` command line.

Each subcommand lives in its own module under `ganzoo.commands` and exposes
`add_parser(subparsers)`, which registers the parser and sets `func`. Heavy
imports (Keras, backends) happen inside the command, after its arguments are
checked, so `ganzoo --help` and mistyped commands answer at once.

Errors: a ganzoo error (bad input, missing file, failed download) prints one
line, `ganzoo CMD: error: ...`, and exits 2 (as argparse's usage errors);
Ctrl-C prints `ganzoo CMD: interrupted` and exits 130. Anything else is a bug
and keeps its traceback. `--debug` or `GANZOO_DEBUG=1` shows every traceback
and the backends' start-up logs.

Example:
    $ ganzoo list
    $ ganzoo train zoo_configs/ring8-nsgan.yaml --out runs/ring
    $ ganzoo --debug train ring8-nsgan --out runs/ring --steps 100
"""

import argparse
import contextlib
import importlib
import importlib.util
import os
import re
import sys
import tempfile

# Order shown in `ganzoo --help`.
COMMANDS = ("list", "info", "sample", "translate", "train", "eval", "push", "download", "cache")


def _pre_parse_backend(argv):
    """Honour `--backend B` before Keras is imported anywhere."""
    for i, arg in enumerate(argv):
        if arg == "--backend" and i + 1 < len(argv):
            os.environ["KERAS_BACKEND"] = argv[i + 1]
        elif arg.startswith("--backend="):
            os.environ["KERAS_BACKEND"] = arg.split("=", 1)[1]


# Exceptions ganzoo raises for bad input or a failing environment: shown as one line.
# TypeError, KeyError, AttributeError, ... are bugs and keep their traceback.
USER_ERRORS = (ValueError, OSError, RuntimeError, FloatingPointError)
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def debug_enabled(args=None):
    """True when tracebacks should be shown: `--debug` or GANZOO_DEBUG set to anything but 0/empty.

    Example:
        >>> import argparse
        >>> debug_enabled(argparse.Namespace(debug=True))
        True
    """
    if args is not None and getattr(args, "debug", False):
        return True
    return os.environ.get("GANZOO_DEBUG", "") not in ("", "0")


def quiet_backend_logs():
    """Quiet TensorFlow's C++ INFO/WARNING logs and absl's Python warnings for this process.

    Sets `TF_CPP_MIN_LOG_LEVEL=2` (errors still shown) and absl's verbosity to
    ERROR, unless the user set `TF_CPP_MIN_LOG_LEVEL` (then nothing changes).
    Must run before TensorFlow is imported. Returns whether it quieted.

    Example:
        >>> quiet_backend_logs()   # doctest: +SKIP
        True
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return False
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    os.environ["_GANZOO_QUIET_TF"] = "1"  # read by import_tensorflow_quietly
    try:
        from absl import logging as absl_logging
    except ImportError:
        return True
    absl_logging.set_verbosity(absl_logging.ERROR)
    return True


# Lines TensorFlow 2.x writes to fd 2 while it loads, before its log level applies:
# absl's "before InitializeLog" banner and INFO lines (oneDNN, CPU features).
_STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} .*|To enable the following instructions: .*rebuild TensorFlow.*)$"
)


@contextlib.contextmanager
def _drop_startup_noise():
    """Capture fd 2 while the block runs, then replay it without `_STARTUP_NOISE` lines."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile() as buf:
        os.dup2(buf.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            buf.seek(0)
            lines = buf.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not _STARTUP_NOISE.match(line.rstrip("\r\n")))
            if kept:
                os.write(2, kept.encode("utf-8"))


def import_tensorflow_quietly():
    """Import TensorFlow (when installed) without its start-up INFO lines; warnings and errors stay.

    Only after `quiet_backend_logs()` quieted this process; otherwise, or when
    TensorFlow is already imported or absent, it does nothing. Commands call
    it after checking their arguments, when they are about to load TensorFlow.

    Example:
        >>> import_tensorflow_quietly()   # doctest: +SKIP
    """
    if os.environ.get("_GANZOO_QUIET_TF") != "1" or "tensorflow" in sys.modules:
        return
    if importlib.util.find_spec("tensorflow") is None:
        return
    with _drop_startup_noise():
        import tensorflow  # noqa: F401


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
        "Run `ganzoo COMMAND --help` for each command's options.\n"
        "errors: bad input prints one line `ganzoo CMD: error: ...` and exits 2; Ctrl-C exits 130;\n"
        "an unexpected exception (a bug) still prints its traceback. --debug or GANZOO_DEBUG=1\n"
        "shows every traceback and TensorFlow's start-up logs (hidden otherwise: TF_CPP_MIN_LOG_LEVEL=2\n"
        "unless you set it).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--backend",
        choices=("tensorflow", "jax", "torch"),
        help="Keras backend to use (default: $KERAS_BACKEND, else tensorflow).",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show tracebacks of errors and the backends' start-up logs (also GANZOO_DEBUG=1)",
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
    """Entry point of the `ganzoo` console script; returns the exit status.

    0: success; 2: a usage or ganzoo error (one line on stderr); 130: interrupted.

    Example:
        >>> main(["train", "no-such-recipe", "--out", "x"])   # doctest: +SKIP
        2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if a in COMMANDS), None)
    try:
        _pre_parse_backend(argv)
        if not debug_enabled() and "--debug" not in argv:
            quiet_backend_logs()
        parser = build_parser()
        args = parser.parse_args(argv)
        command = args.command or command
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_ERROR
        return args.func(args) or 0
    except KeyboardInterrupt:
        if debug_enabled() or "--debug" in argv:
            raise
        print(f"\n{_prog(command)}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except USER_ERRORS as e:
        # Errors raised for bad input are written to be read: one line, no trace.
        if debug_enabled() or "--debug" in argv:
            raise
        print(f"{_prog(command)}: error: {e}", file=sys.stderr)
        # Training stopped by Ctrl-C raises an error with a resume hint, chained to the interrupt.
        interrupted = isinstance(e.__cause__ or e.__context__, KeyboardInterrupt)
        return EXIT_INTERRUPTED if interrupted else EXIT_ERROR


def _prog(command):
    return f"ganzoo {command}" if command else "ganzoo"


if __name__ == "__main__":
    sys.exit(main())
