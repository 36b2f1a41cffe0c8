"""Convert a published CycleGAN / pix2pix generator (.pth) into a ganzoo preset folder.

Usage:
    python tools/convert_pix2pix.py SRC.pth OUT_DIR [--recipe NAME]

SRC is a generator state dict published with junyanz/pytorch-CycleGAN-and-pix2pix
(e.g. http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/horse2zebra.pth),
read with torch.load(weights_only=True). The architecture (ResNet or U-Net,
blocks or depth, ngf, channels, batch or instance norm) is inferred from the
file, so no flags are needed. OUT_DIR becomes a preset that
`ganzoo.load(OUT_DIR).translate(images)` uses. `--recipe` (e.g.
cyclegan-horse2zebra) records the recipe, license and upstream address.

Example:
    $ python tools/convert_pix2pix.py horse2zebra.pth presets/cyclegan-horse2zebra --recipe cyclegan-horse2zebra
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    """Parse arguments, convert, print the architecture and the preset path; returns an exit code.

    Example:
        >>> main(["missing.pth", "/tmp/out"])   # doctest: +SKIP
        1
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", help="a published generator .pth (state dict)")
    parser.add_argument("out_dir", help="output preset folder")
    parser.add_argument("--recipe", help="recipe name or YAML (license, upstream source)")
    args = parser.parse_args(argv)
    from ganzoo.models.pix2pix.convert import convert_to_preset, infer_architecture, read_state_dict

    try:
        arch, _ = infer_architecture(read_state_dict(args.src), path=os.path.basename(args.src))
        path = convert_to_preset(args.src, args.out_dir, recipe=args.recipe)
    except (OSError, ValueError) as e:  # LayoutError included
        print(f"error: {e}", file=sys.stderr)
        return 1
    print("architecture: " + ", ".join(f"{k}={v}" for k, v in arch.items()))
    print(f"preset: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
