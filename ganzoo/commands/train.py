"""`ganzoo train CONFIG --out DIR`: train a recipe and write its outputs."""

import json


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train",
        help="train a recipe (zoo_configs name or YAML path)",
        description="Train a recipe and write DIR/metrics.json, DIR/samples.png and a loadable "
        "DIR/preset/. The folder appears only when training finished.",
    )
    p.add_argument("config", help="registry name (see `ganzoo list`) or path to a recipe YAML")
    p.add_argument("--out", required=True, help="output folder (must not exist, unless --overwrite)")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--seed", type=int, help="seed for weights, data and noise (default: recipe's)")
    p.add_argument("--data", help="image data: folder, .npy file, or tfds:NAME[:SPLIT]")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--backend", choices=("tensorflow", "jax", "torch"), help="Keras backend")
    p.set_defaults(func=run)
    return p


def run(args):
    from ganzoo.training import train

    _, metrics = train(
        args.config,
        out_dir=args.out,
        epochs=args.epochs,
        seed=args.seed,
        data=args.data,
        verbose=0 if args.quiet else 1,
        overwrite=args.overwrite,
    )
    summary = {k: v for k, v in metrics.items() if k != "final_logs"}
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}/metrics.json, {args.out}/samples.png, {args.out}/preset/")
    return 0
