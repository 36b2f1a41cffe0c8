"""Convert a pytorch-pretrained-biggan BigGAN-deep folder into a ganzoo preset folder.

Usage:
    python tools/convert_biggan.py SRC OUT_DIR [--recipe NAME] [--samples N]

SRC is the port's folder (config.json + pytorch_model.bin, or
model.safetensors) or its weights file alone (then config.json beside it,
else --recipe, gives the architecture). The weights are read with
torch.load(weights_only=True) or safetensors: nothing in the file is run.
OUT_DIR becomes a preset (config.json, model.weights.h5, metadata.json,
README.md, samples.png) that `ganzoo.load(OUT_DIR)` reads; --recipe (e.g.
biggan-deep-128) records the recipe, license and upstream source and checks
the resolution. `ganzoo.load("biggan-deep-128")` runs this conversion itself
on first use.

Example:
    $ python tools/convert_biggan.py biggan-deep-128/ presets/biggan-deep-128 --recipe biggan-deep-128
"""

import argparse
import sys


def main(argv=None):
    """Parse arguments, convert, print the preset path; returns an exit code.

    Example:
        >>> main(["missing/", "/tmp/out"])   # doctest: +SKIP
        1
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", help="pytorch-pretrained-biggan folder (config.json + pytorch_model.bin) or weights file")
    parser.add_argument("out_dir", help="output preset folder")
    parser.add_argument("--recipe", help="recipe name (license, source, resolution check, architecture fallback)")
    parser.add_argument("--samples", type=int, default=4, help="images in samples.png (0: none)")
    args = parser.parse_args(argv)
    from ganzoo.convert.biggan import convert_to_preset

    try:
        path = convert_to_preset(args.src, args.out_dir, recipe=args.recipe, num_samples=args.samples)
    except (OSError, ValueError) as e:  # LayoutError included
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"preset: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
