"""Convert pytorch-fid's FID Inception weights to a Keras `.weights.h5`.

    python tools/convert_fid_inception.py pt_inception-2015-12-05-6726825d.pth \\
        fid_inception-2015-12-05-6726825d.weights.h5

The source is read with `torch.load(weights_only=True)` (or as `.safetensors`);
the output loads on TensorFlow, JAX and PyTorch without torch installed:
`ganzoo.metrics.load_inception(weights="....weights.h5")`. The SHA-256 of the
source is stored in the output, so metric records name the same weights
however they were converted. Prints both files' SHA-256.
"""

import argparse
import os
import sys


def convert(source, output):
    """Convert `source` (.pth / .safetensors) to `output` (.weights.h5); return both SHA-256.

    Example:
    >>> convert("pt_inception-2015-12-05-6726825d.pth", "fid.weights.h5")  # doctest: +SKIP
    """
    from ganzoo.hub import sha256_file
    from ganzoo.metrics.inception_weights import SOURCE_SHA256, convert_file

    source_sha = sha256_file(source)
    if source_sha != SOURCE_SHA256:
        print(
            f"note: {source} is not pytorch-fid's published file (sha256 {source_sha[:12]}... "
            f"instead of {SOURCE_SHA256[:12]}...); converting it anyway",
            file=sys.stderr,
        )
    return convert_file(source, output, source_sha256=source_sha)


def main(argv=None):
    """Command-line entry point; returns the exit status.

    Example:
    >>> main(["pt_inception-2015-12-05-6726825d.pth", "fid.weights.h5"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="pt_inception-2015-12-05-6726825d.pth (or .safetensors)")
    parser.add_argument("output", help="output path ending in .weights.h5")
    args = parser.parse_args(argv)
    try:
        source_sha, output_sha = convert(args.source, args.output)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"convert_fid_inception: error: {e}", file=sys.stderr)
        return 1
    print(f"source  {args.source}  sha256 {source_sha}")
    print(f"output  {args.output}  sha256 {output_sha}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
