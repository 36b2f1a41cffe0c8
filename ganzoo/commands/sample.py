"""`ganzoo sample NAME -n N --out PATH`: sample a pretrained model."""

import os


def add_parser(subparsers):
    p = subparsers.add_parser(
        "sample",
        help="sample a model to a PNG grid, a folder of PNGs, or .npz",
        description="Sample a registry model, preset folder, .keras file or hf://org/repo. "
        "PATH ending in .png writes a grid (a scatter for 2-D models), .npz writes the raw "
        "array, anything else becomes a folder of PNG files.",
    )
    p.add_argument("name", help="registry name, preset folder, .keras file, or hf://org/repo[@rev]")
    p.add_argument("-n", "--num", type=int, default=16, help="number of samples (default 16)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--out", required=True, help="grid.png | samples.npz | folder/")
    p.add_argument("--no-ema", action="store_true", help="use the live generator, not its EMA")
    p.add_argument("--backend", choices=("tensorflow", "jax", "torch"), help="Keras backend")
    p.set_defaults(func=run)
    return p


def run(args):
    import numpy as np

    import ganzoo
    from ganzoo.utils.images import make_grid, save_png, to_uint8

    gan = ganzoo.load(args.name)
    samples = gan.generate(args.num, seed=args.seed, use_ema=not args.no_ema)
    out = args.out
    if os.path.dirname(os.path.abspath(out)):
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if out.endswith(".npz"):
        tmp = out + ".tmp.npz"
        np.savez(tmp, samples=samples, seed=args.seed)
        os.replace(tmp, out)
    elif samples.ndim == 2 and samples.shape[1] == 2:
        from ganzoo.utils.plot import scatter_png

        if not out.endswith(".png"):
            raise ValueError("2-D samples are written as a scatter: give --out a .png or .npz path.")
        scatter_png(samples, None, out)
    elif out.endswith(".png"):
        save_png(out, make_grid(to_uint8(samples)))
    else:
        os.makedirs(out, exist_ok=True)
        for i, image in enumerate(to_uint8(samples)):
            save_png(os.path.join(out, f"{args.seed:04d}_{i:05d}.png"), image)
    print(f"wrote {args.num} samples to {out}")
    return 0
