"""Does InfoGAN's categorical code pick out digits? Train a recipe, score the code per value.

    KERAS_BACKEND=tensorflow python tools/infogan_digits.py --epochs 40 --seed 0
    python tools/infogan_digits.py --seeds 0 1 2 --eval-every 10 --set training.batch_size=128

For each seed: trains the recipe (default `infogan-digits`) with
`ganzoo.training.train`, the code path of `ganzoo train`, and every
`--eval-every` epochs generates `--samples` images with the categorical code
fixed at each of its values (other latents drawn from a fixed seed) and
scores them with `ganzoo.metrics.digits.code_digit_purity`: an independent
logistic-regression digit classifier fit on half the real digits labels
each sample; per value, the purity is the share of its most common digit.
The target (issue 14): every value's purity >= 0.8 and the 10 values'
majority digits cover >= 8 different digits. Prints one JSON line per
evaluation and, with several seeds, how many met the target.

`--set KEY=VALUE` overrides a recipe entry (dotted path, YAML value), e.g.
`--set model.extra.info_weights=[2.0,0.1]`.

Example:
    $ python tools/infogan_digits.py --epochs 2 --samples 100
"""

import argparse
import json
import os
import sys
import time


MIN_PURITY = 0.8
MIN_DIGITS = 8
EVAL_SEED = 1000


def code_report(gan, samples=200, seed=EVAL_SEED):
    """`code_digit_purity` of `gan`'s first categorical code, `samples` images per value.

    Example:
        >>> code_report(gan)["distinct_digits"]      # doctest: +SKIP
    """
    from ganzoo.metrics.digits import code_digit_purity

    k = gan.codes.categorical[0]
    report = code_digit_purity([gan.generate(int(samples), seed=seed + v, categorical=v) for v in range(k)])
    report["target_met"] = bool(report["min_purity"] >= MIN_PURITY and report["distinct_digits"] >= MIN_DIGITS)
    return report


def run(recipe, seed, epochs, eval_every, samples):
    """Train one seed; returns the list of evaluation rows (one per `eval_every` epochs and the last)."""
    import keras

    from ganzoo import training

    rows, start = [], time.perf_counter()

    class Evaluate(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            done = epoch + 1
            if done % eval_every and done != epochs:
                return
            report = code_report(self.model, samples)
            row = {"backend": keras.backend.backend(), "seed": seed, "epoch": done,
                   "seconds": round(time.perf_counter() - start, 1),
                   "q_accuracy": round(float((logs or {}).get("q_accuracy", float("nan"))), 3), **report}
            rows.append(row)
            print(json.dumps(row), flush=True)

    training.train(recipe, epochs=epochs, seed=seed, verbose=0, callbacks=[Evaluate()])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", default="infogan-digits", help="registry name or YAML path")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's training.epochs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--samples", type=int, default=200, help="images per categorical value")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)

    from ganzoo import recipes

    recipe = recipes.override(recipes.get(args.recipe), args.set)
    epochs = int(args.epochs or recipe["training"]["epochs"])
    finals = [run(recipe, seed, epochs, max(1, args.eval_every), args.samples)[-1] for seed in args.seeds]
    met = sum(r["target_met"] for r in finals)
    summary = {
        "backend": os.environ.get("KERAS_BACKEND", "tensorflow"), "recipe": recipe["name"], "overrides": args.set,
        "epochs": epochs, "seeds": args.seeds, "target_met": f"{met}/{len(finals)}",
        "mean_purity": [round(r["mean_purity"], 3) for r in finals],
        "min_purity": [round(r["min_purity"], 3) for r in finals],
        "distinct_digits": [r["distinct_digits"] for r in finals],
    }
    print(json.dumps({"summary": summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
