"""Convert official StyleGAN2 weights into a ganzoo preset folder.

Usage:
    python tools/convert_stylegan2.py SRC OUT_DIR [--recipe NAME] [--raw]

SRC is an NVIDIA stylegan2-ada-pytorch / stylegan3 `.pkl` (read with a
restricted unpickler: no code from the file is imported or run), a
rosinality `.pt` (torch.load weights_only=True) or a flaxmodels generator
`.h5`. OUT_DIR becomes a preset folder (config.json, model.weights.h5,
metadata.json, README.md, samples.png) that `ganzoo.load(OUT_DIR)` reads;
`--recipe` (e.g. stylegan2-ffhq) records the recipe, license and upstream
source and checks the resolution. `--raw` writes only the networks'
weights (generator.weights.h5, discriminator.weights.h5, config.json).

Example:
    $ python tools/convert_stylegan2.py ffhq.pkl presets/stylegan2-ffhq --recipe stylegan2-ffhq
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
    parser.add_argument("--recipe", help="recipe name or YAML (license, source, resolution check)")
    parser.add_argument("--raw", action="store_true", help="write only the networks' weights, not a preset")
    args = parser.parse_args(argv)
    from ganzoo.convert.stylegan2 import convert, convert_to_preset

    try:
        if args.raw:
            paths = convert(args.src, args.out_dir)
        else:
            paths = {"preset": convert_to_preset(args.src, args.out_dir, recipe=args.recipe)}
    except (OSError, ValueError) as e:  # LayoutError and UnsafePickleError included
        print(f"error: {e}", file=sys.stderr)
        return 1
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
