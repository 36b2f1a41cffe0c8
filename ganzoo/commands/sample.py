"""`ganzoo sample NAME -n N --out PATH`: sample a pretrained model.

    ganzoo sample dcgan-digits -n 64 --out grid.png
    ganzoo sample hf://me/stylegan2-ffhq -n 16 --truncation 0.7 --out faces.png
    ganzoo sample stylegan2-cifar10 -n 10 --labels 0,1,2,3,4,5,6,7,8,9 --out classes.png
    ganzoo sample biggan-deep-256 -n 4 --labels "golden retriever" --truncation 0.4 --out dogs.png

Latents are drawn with numpy from `--seed`, so a seed gives the same samples
on every backend. Only the generator is loaded (`generator_only=True`).

`--labels` is passed to `generate(labels=...)` of class-conditional models
(`num_classes > 0`, or `conditional` for StyleGAN2); ids outside
`[0, num_classes)` and `--labels` for an unconditional model are one-line
errors. A conditional model sampled without `--labels` does what its
`generate` does without labels (an error naming the valid range, or its
default classes).
"""

import inspect
import os
import sys


def add_parser(subparsers):
    """Register `ganzoo sample` on an argparse subparsers object.

    Example:
        >>> import argparse
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> add_parser(sub).parse_args(["dcgan-digits", "--out", "g.png", "--truncation", "0.7"]).truncation
        0.7
    """
    p = subparsers.add_parser(
        "sample",
        help="sample a model to a PNG grid, a folder of PNGs, or .npz",
        description="Sample a registry model, preset folder, .keras file or hf://org/repo. "
        "PATH ending in .png writes a grid (a scatter for 2-D models), .npz writes the raw "
        "array (samples, seed, labels), anything else becomes a folder of PNG files. "
        "A progress bar is shown on stderr when more than one batch is generated.",
    )
    p.add_argument("name", help="registry name, preset folder, .keras file, or hf://org/repo[@rev]")
    p.add_argument("-n", "--num", type=int, default=16, help="number of samples (default 16)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0); same samples on every backend")
    p.add_argument("--out", required=True, help="grid.png | samples.npz | folder/")
    p.add_argument("--no-ema", action="store_true", help="use the live generator, not its EMA")
    p.add_argument(
        "--truncation",
        type=float,
        help="truncation psi in (0, 1] for models that support it (StyleGAN2): lower = less variety, "
        "higher fidelity; an error for models without truncation",
    )
    p.add_argument(
        "--labels",
        help="class labels for class-conditional models: one id for all samples (e.g. 3) or N comma-"
        "separated ids (e.g. 0,1,2); models with named classes (BigGAN-deep: ImageNet) also take "
        "names (e.g. 'golden retriever'); an error for unconditional models",
    )
    p.add_argument("--batch-size", type=int, default=64, help="samples per generator call (default 64)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--backend", choices=("tensorflow", "jax", "torch"), help="Keras backend")
    p.set_defaults(func=run)
    return p


def parse_labels(text, n):
    """`"3"` -> n copies of 3; `"0,1,2"` -> those n ids (the count must be 1 or n).

    Example:
        >>> parse_labels("3", 2).tolist(), parse_labels("0,1", 2).tolist()
        ([3, 3], [0, 1])
    """
    import numpy as np

    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--labels must be comma-separated integer class ids, got {text!r}") from None
    if not ids or any(i < 0 for i in ids):
        raise ValueError(f"--labels must be non-negative class ids, got {text!r}")
    if len(ids) == 1:
        ids = ids * n
    if len(ids) != n:
        raise ValueError(f"--labels gives {len(ids)} ids for -n {n}; give one id or exactly {n}")
    return np.asarray(ids, dtype="int32")


def split_labels(text, n):
    """`--labels` as n parts, each an int id or (for models with named classes) a class name.

    Example:
        >>> split_labels("golden retriever", 2), split_labels("0, tench", 2)
        (['golden retriever', 'golden retriever'], [0, 'tench'])
    """
    parts = [part.strip() for part in text.split(",") if part.strip()]
    parts = [int(part) if part.lstrip("-").isdigit() else part for part in parts]
    if not parts or any(isinstance(p, int) and p < 0 for p in parts):
        raise ValueError(f"--labels must be non-negative class ids or class names, got {text!r}")
    if len(parts) == 1:
        parts = parts * n
    if len(parts) != n:
        raise ValueError(f"--labels gives {len(parts)} labels for -n {n}; give one or exactly {n}")
    return parts


def num_classes(model):
    """The number of classes of a conditional model; 0 when unconditional, None when unknown.

    Read from `model.num_classes` (ganzoo's GAN); a model that only says
    `conditional` (StyleGAN2) counts as conditional with an unknown number.

    Example:
        >>> import types
        >>> num_classes(types.SimpleNamespace(num_classes=10)), num_classes(types.SimpleNamespace())
        (10, 0)
    """
    import numbers

    k = getattr(model, "num_classes", None)
    if isinstance(k, numbers.Integral) and not isinstance(k, bool) and k > 0:
        return int(k)
    return None if getattr(model, "conditional", False) else 0


def check_args(args):
    """Checks of `ganzoo sample` that need no backend (numbers, --labels, the model spec).

    Example:
        >>> import argparse
        >>> check_args(argparse.Namespace(num=0, batch_size=64, truncation=None, labels=None, name="dcgan-digits"))
        Traceback (most recent call last):
        ValueError: -n must be a positive number of samples, got 0
    """
    if args.num < 1:
        raise ValueError(f"-n must be a positive number of samples, got {args.num}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.truncation is not None and not 0.0 < args.truncation <= 1.0:
        raise ValueError(f"--truncation must lie in (0, 1], got {args.truncation}")
    if args.labels is not None:
        split_labels(args.labels, args.num)
    # The spec check only saves the backend import; once ganzoo.presets is loaded,
    # ganzoo.load (or a stand-in set by a caller) gives the same errors itself.
    if "ganzoo.presets" not in sys.modules:
        from ganzoo.sources import check_model_spec  # framework-free

        check_model_spec(args.name)


def _generate_kwargs(model, args):
    """Keyword arguments for `model.generate`, checked against what it accepts."""
    params = inspect.signature(model.generate).parameters
    kwargs = {}
    if "use_ema" in params:
        kwargs["use_ema"] = not args.no_ema
    elif args.no_ema:
        raise ValueError(f"{args.name} has no EMA switch (--no-ema)")
    if args.truncation is not None:
        if not 0.0 < args.truncation <= 1.0:
            raise ValueError(f"--truncation must lie in (0, 1], got {args.truncation}")
        name = next((k for k in ("truncation", "truncation_psi") if k in params), None)
        if name is None:
            raise ValueError(
                f"{args.name} ({type(model).__name__}) does not support truncation; drop --truncation "
                "(it applies to models with a mapping network, such as StyleGAN2)"
            )
        kwargs[name] = args.truncation
    if args.labels is not None:
        k = num_classes(model)
        if k == 0 or "labels" not in params:
            raise ValueError(
                f"{args.name} ({type(model).__name__}) is not class-conditional; drop --labels"
            )
        parts = split_labels(args.labels, args.num)
        if any(isinstance(p, str) for p in parts):
            if not hasattr(model, "class_ids"):
                raise ValueError(f"{args.name} ({type(model).__name__}) has no class names; give integer ids in --labels")
            kwargs["labels"] = model.class_ids(parts, args.num)  # names -> ids, range-checked
            return kwargs
        labels = parse_labels(args.labels, args.num)
        if k is not None and labels.max() >= k:
            raise ValueError(
                f"--labels has class id {int(labels.max())} but {args.name} has {k} classes; use ids 0..{k - 1}"
            )
        kwargs["labels"] = labels
    return kwargs


def sample(model, args):
    """Generate `args.num` samples in batches, with a progress bar when there are several.

    Example:
        >>> samples = sample(ganzoo.load("dcgan-digits", generator_only=True), args)   # doctest: +SKIP
    """
    import numpy as np

    kwargs = _generate_kwargs(model, args)
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    if "truncation" in kwargs and "truncation" in inspect.signature(model.sample_latents_numpy).parameters:
        # BigGAN's truncation scales the latents themselves (z = t * TN(-2, 2)), not only the network.
        latents = model.sample_latents_numpy(args.num, args.seed, truncation=kwargs["truncation"])
    else:
        latents = model.sample_latents_numpy(args.num, args.seed)
    starts = range(0, args.num, args.batch_size)
    if len(starts) > 1 and not args.quiet:
        from tqdm import tqdm

        starts = tqdm(starts, desc="sampling", unit="batch", leave=False)
    outputs = []
    for start in starts:
        stop = start + args.batch_size
        chunk = {k: (v[start:stop] if k == "labels" else v) for k, v in kwargs.items()}
        try:
            outputs.append(model.generate(latents=latents[start:stop], batch_size=args.batch_size, **chunk))
        except ValueError as e:
            # A conditional model that needs labels says so in its own words; add the CLI's way to give them.
            if "labels" in kwargs or num_classes(model) == 0 or "label" not in str(e).lower():
                raise
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ValueError(
                f"{first.rstrip('.')}; on the command line: --labels ID (one class for all samples) or "
                f"{args.num} comma-separated ids"
            ) from None
    return np.concatenate(outputs, axis=0), kwargs.get("labels")


def run(args):
    """Run `ganzoo sample`; returns the exit status.

    Example:
        >>> from ganzoo.cli import main
        >>> main(["sample", "dcgan-digits", "-n", "64", "--out", "grid.png"])   # doctest: +SKIP
        0
    """
    check_args(args)  # before Keras loads: mistakes are reported at once

    from ganzoo.cli import import_tensorflow_quietly

    if (args.backend or os.environ.get("KERAS_BACKEND", "tensorflow")) == "tensorflow":
        import_tensorflow_quietly()
    import numpy as np

    import ganzoo
    from ganzoo.utils.images import make_grid, save_png, to_uint8

    model = ganzoo.load(args.name, generator_only=True)
    if hasattr(model, "translate"):  # an image-to-image model draws no latents
        raise ValueError(f"{args.name} ({type(model).__name__}) translates images, it draws no samples: use "
                         f"`ganzoo translate {args.name} INPUT --out OUTPUT`.")
    samples, labels = sample(model, args)
    out = args.out
    if os.path.dirname(os.path.abspath(out)):
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if out.endswith(".npz"):
        tmp = out + ".tmp.npz"
        extra = {} if labels is None else {"labels": labels}
        np.savez(tmp, samples=samples, seed=args.seed, **extra)
        os.replace(tmp, out)
    elif samples.ndim == 2 and samples.shape[1] == 2:
        from ganzoo.utils.plot import scatter_png

        if not out.endswith(".png"):
            raise ValueError("2-D samples are written as a scatter: give --out a .png or .npz path.")
        scatter_png(samples, None, out)
    elif out.endswith(".png"):
        # to_uint8 clips: StyleGAN2 outputs overshoot [-1, 1] slightly (see its generate()).
        save_png(out, make_grid(to_uint8(samples)))
    else:
        os.makedirs(out, exist_ok=True)
        for i, image in enumerate(to_uint8(samples)):
            save_png(os.path.join(out, f"{args.seed:04d}_{i:05d}.png"), image)
    print(f"wrote {args.num} samples to {out}")
    return 0
