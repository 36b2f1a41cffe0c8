"""Convert official StyleGAN2 weights to ganzoo Keras weights.

Usage:
    python tools/convert_stylegan2.py SRC OUT_DIR

SRC is an NVIDIA stylegan2-ada-pytorch / stylegan3 `.pkl` (read with a
restricted unpickler: no code from the file is imported or run), a
rosinality `.pt` (torch.load weights_only=True) or a flaxmodels generator
`.h5`. OUT_DIR receives generator.weights.h5, discriminator.weights.h5 (when
the source has D) and config.json.

Example:
    $ python tools/convert_stylegan2.py stylegan2-ffhq-1024x1024.pkl out/ffhq
"""

import argparse
import sys


def main(argv=None):
    """Parse arguments, convert, print the written paths; returns an exit code.

    Example:
        >>> main(["missing.pkl", "/tmp/out"])   # doctest: +SKIP
        1
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", help="NVIDIA .pkl, rosinality .pt or flaxmodels .h5")
    parser.add_argument("out_dir", help="output folder")
    args = parser.parse_args(argv)
    from ganzoo.convert.stylegan2 import convert

    try:
        paths = convert(args.src, args.out_dir)
    except (OSError, ValueError) as e:  # LayoutError and UnsafePickleError included
        print(f"error: {e}", file=sys.stderr)
        return 1
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
