"""`ganzoo train CONFIG --out DIR`: train a recipe and write its outputs.

    ganzoo train ring8-nsgan --out runs/ring8
    ganzoo train ring8-nsgan --out runs/ring8-more --resume runs/ring8 --epochs 5
    ganzoo train dcgan-digits --out runs/mine --resume path/to/preset --data my_digits/
    ganzoo train ring8-nsgan --out runs/r --backend jax --coordinator 10.0.0.1:1234 \
        --num-processes 2 --process-id 0        # and --process-id 1 on the other host
    ganzoo train dcgan-digits --out runs/small --data my_10_images/ --batch-size 8 --steps 200 \
        --lr 1e-4 --set model.ema_decay=0.99

Arguments are checked (recipe, overrides, files, device split) before Keras
or a backend is imported, so a mistake is reported in a fraction of a second.
"""

import argparse
import inspect
import json
import math
import os
import re

from ganzoo.utils.batching import batch_split_error  # noqa: F401  (also checked by distribute)


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
    p.add_argument("--epochs", type=int, help="override training.epochs (>= 1)")
    p.add_argument("--batch-size", type=positive_int, metavar="N", help="override training.batch_size (the global batch)")
    length = p.add_mutually_exclusive_group()
    length.add_argument(
        "--steps",
        type=positive_int,
        metavar="N",
        help="train exactly N steps (with --resume: N more): sets training.steps_per_epoch = N / epochs, "
        "where epochs is --epochs or the recipe's when it divides N, else 1 epoch of N steps. Image data "
        "is then repeated as needed",
    )
    length.add_argument(
        "--kimg",
        type=positive_float,
        metavar="K",
        help="train on K thousand images: --steps ceil(1000 K / batch size)",
    )
    p.add_argument(
        "--lr",
        metavar="LR",
        help="learning rate of every optimizer (e.g. 2e-4), or per optimizer by name "
        "(e.g. generator=1e-4,discriminator=4e-4; names as in the recipe's optimizers section)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override a recipe key (dotted path, YAML value), repeatable: --set model.ema_decay=0.99 "
        "--set training.epochs=3. Applied before the flags above, which win. See `ganzoo info NAME`",
    )
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
    p.add_argument(
        "--checkpoint-every",
        type=positive_int,
        metavar="N",
        help="also write a resumable checkpoint every N steps (when this ganzoo's training supports it)",
    )
    p.add_argument(
        "--checkpoint-minutes",
        type=positive_float,
        metavar="M",
        help="write a resumable checkpoint at least every M minutes (default: training's, 10)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--precision", choices=("fp32", "bf16"),
        help="override training.precision: fp32 (default) or bf16 mixed precision (bfloat16 compute; "
        "variables, optimizer state, EMA, losses and penalties float32)",
    )
    p.add_argument("--backend", choices=("tensorflow", "jax", "torch"), help="Keras backend")
    # Defined here, not in ganzoo.distribute, so `ganzoo --help` imports no backend;
    # `ganzoo.distribute.from_cli_args` reads them.
    p.add_argument(
        "--devices",
        type=positive_int,
        default=None,
        help="data-parallel training on N devices (TF/JAX: local devices, the CPU split into N "
        "logical devices when there is no accelerator; torch: the torchrun world size). "
        "The global batch must be divisible by N (checked before anything starts). Implies --distributed",
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


def positive_int(text):
    """argparse type: an int >= 1.

    Example:
        >>> positive_int("3")
        3
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text):
    """argparse type: a finite float > 0.

    Example:
        >>> positive_float("1e-4")
        0.0001
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def parse_lr(text, names):
    """`--lr` text -> {optimizer name: learning rate}; `names` are the recipe's optimizers.

    Example:
        >>> parse_lr("2e-4", ["generator", "discriminator"])
        {'generator': 0.0002, 'discriminator': 0.0002}
        >>> parse_lr("generator=1e-4,discriminator=4e-4", ["generator", "discriminator"])
        {'generator': 0.0001, 'discriminator': 0.0004}
    """
    names = list(names)

    def number(value, what):
        try:
            return positive_float(value)
        except argparse.ArgumentTypeError:
            raise ValueError(f"--lr {what}: expected a positive learning rate, got {value!r}") from None

    if "=" not in text:
        rate = number(text.strip(), text)
        return {name: rate for name in names}
    rates = {}
    for item in (part.strip() for part in text.split(",") if part.strip()):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in names:
            raise ValueError(
                f"--lr {item!r}: expected NAME=RATE with NAME one of {', '.join(names)} "
                "(or a single rate for every optimizer)"
            )
        rates[name] = number(value.strip(), item)
    return rates


def steps_plan(steps, epochs):
    """(epochs, steps_per_epoch) that make exactly `steps` steps, keeping `epochs` when it divides them.

    Example:
        >>> steps_plan(1000, 10), steps_plan(7, 10)
        ((10, 100), (1, 7))
    """
    epochs = int(epochs or 1)
    if epochs >= 1 and steps % epochs == 0:
        return epochs, steps // epochs
    return 1, steps


def apply_overrides(recipe, args):
    """A copy of `recipe` with `--set`, `--batch-size`, `--epochs`, `--steps`/`--kimg` and `--lr` applied, validated.

    Raises a one-line ValueError for unknown keys (with a suggestion, from
    `ganzoo.recipes.validate`) or bad values.

    Example:
        >>> import argparse
        >>> from ganzoo import recipes
        >>> args = argparse.Namespace(overrides=["training.epochs=3"], batch_size=None, epochs=None,
        ...                           steps=None, kimg=None, lr=None)
        >>> apply_overrides(recipes.get("ring8-nsgan"), args)["training"]["epochs"]
        3
    """
    from ganzoo import recipes

    overrides = getattr(args, "overrides", None) or []
    recipe = recipes.override(recipe, overrides, source="--set" if overrides else recipe.get("name", "recipe"))
    training = recipe["training"]
    if getattr(args, "batch_size", None) is not None:
        training["batch_size"] = args.batch_size
    if getattr(args, "precision", None) is not None:
        training["precision"] = args.precision
    if getattr(args, "epochs", None) is not None:
        if args.epochs < 1:
            raise ValueError(f"--epochs must be >= 1, got {args.epochs}")
        training["epochs"] = args.epochs
    batch = training.get("batch_size", 64)
    epochs = training.get("epochs", 1)
    for key, value in (("training.batch_size", batch), ("training.epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
    steps = getattr(args, "steps", None)
    if getattr(args, "kimg", None) is not None:
        steps = max(1, math.ceil(args.kimg * 1000 / batch))
    if steps is not None:
        training["epochs"], training["steps_per_epoch"] = steps_plan(steps, epochs)
    if getattr(args, "lr", None):
        optimizers = recipe.get("optimizers") or {}
        if not isinstance(optimizers, dict) or not optimizers:
            raise ValueError(f"--lr: recipe {recipe.get('name')!r} has no optimizers section to change")
        for name, rate in parse_lr(args.lr, optimizers).items():
            spec = optimizers[name]
            spec = dict(spec) if isinstance(spec, dict) else {"name": spec}
            spec["learning_rate"] = rate
            optimizers[name] = spec
    return recipe


_LOCAL_DATA_PREFIXES = ("tfds:", "builtin:", "toy:", "hf://")


def check_args(args, recipe):
    """Checks of `ganzoo train` that need no backend: files, folders, the device split.

    Example:
        >>> check_args(args, recipe)   # doctest: +SKIP
    """
    if os.path.exists(args.out) and not args.overwrite:
        raise FileExistsError(f"{args.out} already exists; choose another --out or pass --overwrite.")
    if args.data and not args.data.startswith(_LOCAL_DATA_PREFIXES) and not os.path.exists(args.data):
        raise FileNotFoundError(
            f"--data {args.data}: no such file or folder (give an image folder, .npy/.npz file, "
            "tfds:NAME[:SPLIT] or builtin:digits)"
        )
    if args.resume and not os.path.isdir(args.resume):
        raise FileNotFoundError(
            f"--resume {args.resume}: no such folder (give a preset folder or a `ganzoo train` output folder)"
        )
    backend = args.backend or os.environ.get("KERAS_BACKEND", "tensorflow")
    if args.coordinator and backend != "jax":
        raise ValueError(
            f"--coordinator starts a multi-process JAX job, but the backend is {backend}; "
            "use --backend jax (TensorFlow workers read TF_CONFIG; torch uses torchrun)."
        )
    message = batch_split_error(int(recipe["training"].get("batch_size", 64)), args.devices)
    if message:
        raise ValueError(message)


_FEW_IMAGES = re.compile(r"^(?P<head>.*?only (?P<n>\d+) images.*?), fewer than batch_size=(?P<b>\d+)")


def _cli_wording(error, devices):
    """Rewrite library advice (batch_size=, drop_remainder=) into the flags of `ganzoo train`."""
    match = _FEW_IMAGES.match(str(error))
    if not match:
        return None
    n, step = int(match["n"]), max(1, devices or 1)
    fit = n - n % step
    hint = f"--batch-size {fit}" if fit else f"at least {step} images (one per device)"
    return ValueError(
        f"{match['head']}, fewer than the batch size {match['b']}; use {hint} or smaller "
        "(or --set training.batch_size=N)"
    )


def run(args):
    """Run `ganzoo train`; returns the exit status.

    Example:
        >>> from ganzoo.cli import main
        >>> main(["train", "ring8-nsgan", "--out", "runs/ring8", "--steps", "200"])   # doctest: +SKIP
        0
    """
    from ganzoo import recipes
    from ganzoo.cli import import_tensorflow_quietly

    # Everything below up to the imports runs without Keras: mistakes are reported at once.
    recipe = apply_overrides(recipes.get(args.config), args)
    check_args(args, recipe)

    import_tensorflow_quietly()  # tf.data feeds training on every backend
    from ganzoo import distribute
    from ganzoo.training import train

    if args.coordinator:
        args.distributed = True
        distribute.initialize_jax(args.coordinator, args.num_processes, args.process_id)
    elif args.devices and (args.backend or os.environ.get("KERAS_BACKEND", "tensorflow")) != "torch":
        # Harmless beside accelerators (they are picked first); on a CPU-only
        # machine N logical CPU devices let the data-parallel path run.
        distribute.simulate_cpu_devices(args.devices)
    dp = distribute.from_cli_args(args, batch_size=int(recipe["training"].get("batch_size", 64)))
    extra = {}
    accepted = inspect.signature(train).parameters
    for name in ("checkpoint_every", "checkpoint_minutes"):
        value = getattr(args, name, None)
        if value is None:
            continue
        if name not in accepted:
            raise ValueError(f"--{name.replace('_', '-')} is not supported by this ganzoo's training loop")
        extra[name] = value
    try:
        _, metrics = train(
            recipe,
            distribute=dp,
            out_dir=args.out,
            epochs=recipe["training"].get("epochs"),
            seed=args.seed,
            data=args.data,
            verbose=0 if args.quiet else 1,
            overwrite=args.overwrite,
            resume=args.resume,
            **extra,
        )
    except ValueError as e:
        reworded = _cli_wording(e, getattr(dp, "num_replicas", 1))
        if reworded is None:
            raise
        raise reworded from None
    if metrics.get("rank", 0) != 0:
        return 0
    summary = {k: v for k, v in metrics.items() if k != "final_logs"}
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}/metrics.json, {args.out}/samples.png, {args.out}/preset/")
    return 0
