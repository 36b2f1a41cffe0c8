"""`ganzoo train CONFIG --out DIR`: train a recipe and write its outputs.

    ganzoo train ring8-nsgan --out runs/ring8
    ganzoo train ring8-nsgan --out runs/ring8-more --resume runs/ring8 --epochs 5
    ganzoo train dcgan-digits --out runs/mine --resume path/to/preset --data my_digits/
    ganzoo train ring8-nsgan --out runs/r --backend jax --coordinator 10.0.0.1:1234 \
        --num-processes 2 --process-id 0        # and --process-id 1 on the other host
"""

import json
import os


def add_parser(subparsers):
    """Register `ganzoo train` on an argparse subparsers object.

    Example:
        >>> import argparse
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> add_parser(sub).parse_args(["ring8-nsgan", "--out", "o", "--resume", "runs/r"]).resume
        'runs/r'
    """
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
    p.add_argument("--data", help="image data: folder, .npy file, tfds:NAME[:SPLIT] or builtin:digits")
    p.add_argument(
        "--resume",
        metavar="DIR",
        help="continue from a preset folder or a previous `ganzoo train` output folder (its preset/): "
        "weights, EMA, step count and optimizer state; --epochs then counts the epochs to add. With "
        "--data it fine-tunes on new data",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--backend", choices=("tensorflow", "jax", "torch"), help="Keras backend")
    # Defined here, not in ganzoo.distribute, so `ganzoo --help` imports no backend;
    # `ganzoo.distribute.from_cli_args` reads them.
    p.add_argument(
        "--devices",
        type=int,
        default=None,
        help="data-parallel training on N devices (TF/JAX: local devices, the CPU split into N "
        "logical devices when there is no accelerator; torch: the torchrun world size). "
        "Implies --distributed",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training on all local devices (torch: the processes torchrun "
        "launched: torchrun --nproc-per-node N -m ganzoo.cli train ...)",
    )
    jax_job = p.add_argument_group(
        "multi-process JAX (one process per host; TensorFlow reads TF_CONFIG, torch uses torchrun)"
    )
    jax_job.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address; implies --distributed")
    jax_job.add_argument("--num-processes", type=int, metavar="N", help="processes in the job")
    jax_job.add_argument("--process-id", type=int, metavar="I", help="this process's index, 0..N-1")
    p.set_defaults(func=run)
    return p


def run(args):
    """Run `ganzoo train`; returns the exit status.

    Example:
        >>> from ganzoo.cli import main
        >>> main(["train", "ring8-nsgan", "--out", "runs/ring8", "--epochs", "1"])   # doctest: +SKIP
        0
    """
    from ganzoo import distribute
    from ganzoo.training import train

    backend = args.backend or os.environ.get("KERAS_BACKEND", "tensorflow")
    if args.coordinator:
        if backend != "jax":
            raise SystemExit(
                f"--coordinator starts a multi-process JAX job, but the backend is {backend}; "
                "use --backend jax (TensorFlow workers read TF_CONFIG; torch uses torchrun)."
            )
        args.distributed = True
        distribute.initialize_jax(args.coordinator, args.num_processes, args.process_id)
    elif args.devices and backend != "torch":
        # Harmless beside accelerators (they are picked first); on a CPU-only
        # machine N logical CPU devices let the data-parallel path run.
        distribute.simulate_cpu_devices(args.devices)
    _, metrics = train(
        args.config,
        distribute=distribute.from_cli_args(args),
        out_dir=args.out,
        epochs=args.epochs,
        seed=args.seed,
        data=args.data,
        verbose=0 if args.quiet else 1,
        overwrite=args.overwrite,
        resume=args.resume,
    )
    if metrics.get("rank", 0) != 0:
        return 0
    summary = {k: v for k, v in metrics.items() if k != "final_logs"}
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}/metrics.json, {args.out}/samples.png, {args.out}/preset/")
    return 0
