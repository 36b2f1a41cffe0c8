"""Stacked digits, the CPU mode-collapse benchmark: train a recipe, count modes and KL (26,000 samples).

Trains a stacked-digits recipe (`dcgan-stacked-digits`, `r3gan-stacked-digits`, ...) with
`ganzoo.training.train` on `builtin:stacked-digits` and scores the EMA generator with
`ganzoo.metrics.stacked.stacked_digits_modes` (modes = distinct digit triples among 26,000
samples, KL to uniform over the 1,000 modes), next to the same numbers for 26,000 real
stacked images. Prints one JSON line per run, with the backend, seed, steps and seconds;
with --every-epoch also one line after each epoch (the curve of one run; the scoring time is
left out of train_seconds).

Published Stacked-MNIST rows for comparison (28x28 MNIST, not these 8x8 digits):
DCGAN 99 modes / KL 3.4 (VEEGAN, Table 2), PacDCGAN 1000 / 0.06 (PacGAN),
R3GAN 1000 / 0.078 (Huang et al. 2024).

Example:
    KERAS_BACKEND=jax python tools/bench/stacked_digits.py r3gan-stacked-digits --seed 0
    KERAS_BACKEND=torch python tools/bench/stacked_digits.py dcgan-stacked-digits --epochs 2 --out dcgan.json
    python tools/bench/stacked_digits.py sngan-stacked-digits --epochs 8 --every-epoch --samples 10000
    python tools/bench/stacked_digits.py r3gan-stacked-digits --set model.d_steps=2 --every-epoch
"""

import argparse
import json
import os
import sys
import time

PUBLISHED = {"DCGAN (VEEGAN)": (99, 3.4), "PacDCGAN (PacGAN)": (1000, 0.06), "R3GAN (Huang 2024)": (1000, 0.078)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("recipe")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--samples", type=int, default=26_000)
    p.add_argument("--every-epoch", action="store_true", help="also score the EMA generator after each epoch")
    p.add_argument("--out", help="also write the JSON line(s) here")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe entry (dotted key, YAML value), e.g. model.d_steps=2; repeatable")
    args = p.parse_args(argv)

    import keras

    from ganzoo import recipes
    from ganzoo.metrics.stacked import stacked_digits_modes
    from ganzoo.training import train

    lines, scoring, real = [], [0.0], {}

    def score(gan, seconds, **extra):
        t = time.perf_counter()
        # The real stacks' numbers do not change: computed with the first score only.
        report = stacked_digits_modes(gan.generate(args.samples, seed=args.seed + 1), real_reference=not real)
        real.update(report.get("real") or {})
        scoring[0] += time.perf_counter() - t
        line = {
            "recipe": args.recipe, "overrides": args.set, "backend": keras.backend.backend(), "seed": args.seed, **extra,
            "steps": int(keras.ops.convert_to_numpy(gan.step_counter.value)), "train_seconds": round(seconds, 1),
            "modes": report["modes"], "kl": round(report["kl"], 4), "num_samples": report["num_samples"],
            "real_modes": real["modes"], "real_kl": round(real["kl"], 4),
            "classifier_accuracy": round(report["classifier_accuracy"], 4),
        }
        print(json.dumps(line), flush=True)
        lines.append(line)
        if args.out:  # rewritten whole (atomically) after each line, so a cut-off run keeps its curve
            with open(args.out + ".tmp", "w") as f:
                f.writelines(json.dumps(x) + "\n" for x in lines)
            os.replace(args.out + ".tmp", args.out)

    class EveryEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            score(self.model, time.perf_counter() - start - scoring[0], epoch=epoch + 1)

    start = time.perf_counter()
    callbacks = [EveryEpoch()] if args.every_epoch else None
    recipe = recipes.override(recipes.get(args.recipe), args.set)
    gan, _ = train(recipe, epochs=args.epochs, seed=args.seed, verbose=0, callbacks=callbacks)
    if not args.every_epoch:
        score(gan, time.perf_counter() - start, published=PUBLISHED)
    return 0


if __name__ == "__main__":
    sys.exit(main())
