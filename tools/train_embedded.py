"""Train the presets that ship inside the package (`ganzoo/embedded/<name>/`).

    KERAS_BACKEND=tensorflow python tools/train_embedded.py               # both
    KERAS_BACKEND=tensorflow python tools/train_embedded.py dcgan-digits

Runs on a CPU in minutes: `dcgan-digits` (DCGAN on scikit-learn's digits,
scored with the digits-classifier protocol of `ganzoo.metrics.digits`),
`cgan-digits` (its class-conditional sibling, scored per requested digit)
and `ring8-nsgan` (2-D ring, scored with mode coverage). TensorFlow is the
fastest backend for this on CPU (JAX's stride-2 transposed-convolution
gradient is slow there); the weights load on every backend. Each preset
folder is replaced atomically and stays a few hundred kB.

Embedded presets ship without optimizer state (fine-tuning starts fresh
optimizers; see `ganzoo.finetune`), which halves their size.
`--from-preset DIR` re-saves an already trained preset folder that way,
keeping its recipe, metrics and provenance.

Example:
    $ KERAS_BACKEND=tensorflow python tools/train_embedded.py --epochs 2 --out /tmp/embedded dcgan-digits
    $ python tools/train_embedded.py --from-preset runs/dcgan-digits/preset dcgan-digits
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

PRESETS = ("dcgan-digits", "ring8-nsgan", "cgan-digits")
EVAL_SEED = 1


def _digits_metrics(gan, recipe):
    from ganzoo.metrics.digits import digits_quality

    n = int(recipe["eval"]["num_samples"])
    q = digits_quality(gan.generate(n, seed=EVAL_SEED))
    protocol = (
        f"ganzoo.metrics.digits, {n} samples (seed {EVAL_SEED}) vs scikit-learn's real digits; "
        f"logistic regression fit on half the real digits ({q['classifier_accuracy']:.3f} accuracy on the "
        "other half); not Inception FID (its weights are not available offline)"
    )
    rows = {
        "confident": (q["confident"], f"share labelled with p>=0.9; real held-out digits: {q['confident_real']:.3f}"),
        "classes": (q["classes"], "digits getting >=5% of the samples (10 = all)"),
        "class_kl": (q["class_kl"], "KL(label histogram || uniform), nats"),
        "frechet_pca": (
            q["frechet_pca"],
            f"Frechet distance on PCA-20 of 8x8 gray levels; real held-out: {q['frechet_pca_real']:.2f}, "
            f"blurred noise: {q['frechet_pca_noise']:.0f}",
        ),
    }
    metrics = {k: {"value": round(float(v), 4), "protocol": f"{note}. {protocol}"} for k, (v, note) in rows.items()}
    return metrics, q


def _conditional_digits_metrics(gan, recipe):
    import numpy as np

    from ganzoo.metrics.digits import conditional_digits_quality

    per_class = max(int(recipe["eval"]["num_samples"]) // 10, 10)
    labels = np.repeat(np.arange(10), per_class)
    q = conditional_digits_quality(gan.generate(seed=EVAL_SEED, labels=labels), labels)
    protocol = (
        f"ganzoo.metrics.digits (conditional), {per_class} samples per digit (seed {EVAL_SEED}); a logistic "
        f"regression fit on half of scikit-learn's real digits ({q['classifier_accuracy']:.3f} accuracy on the "
        "other half) labels each sample"
    )
    variety = ("mean pairwise PCA-20 distance between a digit's samples / the same for the held-out real "
               "digits of that class (1 = as varied as real digits, 0 = one image)")
    rows = {
        "min_class_accuracy": (q["min_class_accuracy"], "worst digit's share of samples classified as the digit asked for"),
        "mean_class_accuracy": (q["mean_class_accuracy"], "mean over digits of that share"),
        **{f"accuracy_digit_{c}": (a, f"share of samples asked for digit {c} classified as {c}")
           for c, a in enumerate(q["class_accuracy"])},
        "mean_variety": (q["mean_variety"], f"within-class variety, mean over digits: {variety}"),
        "min_variety": (min(q["variety"]), "within-class variety of the least varied digit"),
    }
    metrics = {k: {"value": round(float(v), 4), "protocol": f"{note}. {protocol}"} for k, (v, note) in rows.items()}
    return metrics, q


def _ring_metrics(train_metrics, recipe):
    protocol = (
        f"ganzoo.metrics.mode_coverage on {recipe['eval']['num_samples']} samples: a mode is covered when a "
        "sample lies within 3 std of it; high_quality = share of samples within 3 std of some mode"
    )
    keys = ("modes", "high_quality", "reverse_kl")
    return {k: {"value": round(float(train_metrics[k]), 4), "protocol": protocol} for k in keys}, {
        k: train_metrics[k] for k in keys
    }


def without_optimizer_state(gan):
    """An uncompiled copy of `gan` (networks, EMA, step counter; no optimizer slots).

    Example:
        >>> small = without_optimizer_state(gan)
    """
    import keras

    config = keras.saving.serialize_keras_object(gan)
    config.pop("compile_config", None)  # else deserializing compiles it again
    clone = keras.saving.deserialize_keras_object(config)
    clone.set_weights(gan.get_weights())
    return clone


def resave(name, preset_dir, out_root, note=None):
    """Re-save a trained preset folder into `out_root/name/` without optimizer state.

    Example:
        >>> resave("dcgan-digits", "runs/digits/preset", "ganzoo/embedded")   # doctest: +SKIP
    """
    from ganzoo.presets import load_preset, save_preset

    meta = json.loads((Path(preset_dir) / "metadata.json").read_text())
    if meta.get("name") != name:
        raise ValueError(f"{preset_dir} holds preset {meta.get('name')!r}, not {name!r}")
    metrics = meta.get("metrics") or {}
    if note and "train_seconds" in metrics:
        metrics["train_seconds"]["protocol"] += f"; {note}"
    gan = without_optimizer_state(load_preset(preset_dir))
    return save_preset(gan, Path(out_root) / name, recipe=meta.get("recipe"), metrics=metrics,
                       license=meta.get("license"), source=meta.get("source"))


def train_one(name, out_root, epochs=None):
    """Train the registry recipe `name` and write `out_root/name/`; return a summary dict.

    Example:
        >>> train_one("ring8-nsgan", Path("/tmp/embedded"), epochs=1)   # doctest: +SKIP
    """
    import keras

    from ganzoo import recipes
    from ganzoo.presets import save_preset
    from ganzoo.training import train

    recipe = recipes.get(name)
    start, cpu_start = time.perf_counter(), time.process_time()
    gan, train_metrics = train(recipe, epochs=epochs, verbose=0)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    protocol = (recipe.get("eval") or {}).get("protocol")  # the card's metrics follow the recipe's protocol
    if protocol == "digits_classifier":
        metrics, raw = _digits_metrics(gan, recipe)
    elif protocol == "digits_classifier_conditional":
        metrics, raw = _conditional_digits_metrics(gan, recipe)
    else:
        metrics, raw = _ring_metrics(train_metrics, recipe)
    metrics["train_seconds"] = {
        "value": round(seconds, 1),
        "protocol": f"wall-clock training time, {keras.backend.backend()} on {os.cpu_count()} CPU cores, "
        f"{train_metrics['steps']} steps, {cpu_seconds:.0f} CPU-seconds, load average {load:.1f} at the end",
    }
    folder = save_preset(
        without_optimizer_state(gan),
        Path(out_root) / name,
        recipe=recipe,
        metrics=metrics,
        license="apache-2.0",
        source=f"trained with tools/train_embedded.py ({keras.backend.backend()}, CPU)",
    )
    return {"name": name, "folder": folder, "seconds": round(seconds, 1), "cpu_seconds": round(cpu_seconds, 1),
            "steps": train_metrics["steps"], **raw}


def main(argv=None):
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description="Train the embedded presets into ganzoo/embedded/.")
    parser.add_argument("names", nargs="*", default=list(PRESETS), help=f"presets to train (default: {', '.join(PRESETS)})")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs (quick checks)")
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parent.parent / "ganzoo" / "embedded"),
        help="folder that receives one preset folder per name (default: ganzoo/embedded)",
    )
    parser.add_argument("--from-preset", metavar="DIR", help="re-save this trained preset folder instead of training")
    parser.add_argument("--note", help="with --from-preset: text appended to the train_seconds protocol")
    args = parser.parse_args(argv)
    for name in args.names:
        if name not in PRESETS:
            parser.error(f"unknown embedded preset {name!r}; choose from {', '.join(PRESETS)}")
    if args.from_preset:
        if len(args.names) != 1:
            parser.error("--from-preset re-saves one preset: name it")
        print(resave(args.names[0], args.from_preset, args.out, note=args.note))
        return 0
    for name in args.names:
        print(json.dumps(train_one(name, args.out, epochs=args.epochs), indent=2, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
