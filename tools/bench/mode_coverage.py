"""The 2-D mode-coverage benchmark: recipes x backends x seeds.

Runs each recipe with `ganzoo.training.train` in a fresh process per
backend (the backend is fixed at import), and prints a markdown table of
the mean (and min) modes, high-quality share and reverse KL over seeds,
with seconds per run. JSON goes to --out.

Example:
    python tools/bench/mode_coverage.py --recipes ring8-nsgan grid25-nsgan --seeds 0 1 2 3 4
    # two backends side by side, one core each, each with its own --out:
    python tools/bench/mode_coverage.py --backends jax --cpus 0 --out mc_jax.json &
    python tools/bench/mode_coverage.py --backends tensorflow --cpus 1 --out mc_tf.json
"""

import argparse
import json
import os
import subprocess
import sys

RUNNER = """
import json, sys
from ganzoo.training import train
recipe, seed = sys.argv[1], int(sys.argv[2])
_, m = train(recipe, seed=seed, verbose=0)
print("RESULT " + json.dumps({k: m[k] for k in ("modes", "high_quality", "reverse_kl", "seconds")}))
"""


def run_one(recipe, backend, seed, cpus=None):
    """One training run in a fresh process (pinned to `cpus`, e.g. "0", with taskset)."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-c", RUNNER, recipe, str(seed)]
    if cpus:
        command = ["taskset", "-c", cpus, *command]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
            print(f"  {recipe} {backend} seed {seed}: {result}", file=sys.stderr, flush=True)
            return result
    raise RuntimeError(f"{recipe} on {backend} seed {seed} failed:\n{out.stderr[-2000:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", nargs="+", default=["ring8-nsgan", "grid25-nsgan"])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", default="mode_coverage.json")
    parser.add_argument("--cpus", default=None, help="pin each run to these CPUs (taskset -c), e.g. 0 or 0,1")
    args = parser.parse_args()
    rows = []
    for recipe in args.recipes:
        for backend in args.backends:
            runs = [run_one(recipe, backend, s, args.cpus) for s in args.seeds]
            row = {
                "recipe": recipe,
                "backend": backend,
                "runs": runs,
                "modes": sum(r["modes"] for r in runs) / len(runs),
                "min_modes": min(r["modes"] for r in runs),
                "high_quality": sum(r["high_quality"] for r in runs) / len(runs),
                "min_high_quality": min(r["high_quality"] for r in runs),
                "reverse_kl": sum(r["reverse_kl"] for r in runs) / len(runs),
                "seconds": sum(r["seconds"] for r in runs) / len(runs),
            }
            rows.append(row)
            print(
                f"| {recipe} | {backend} | {row['modes']:.1f} (min {row['min_modes']}) | "
                f"{100 * row['high_quality']:.1f}% (min {100 * row['min_high_quality']:.1f}%) | "
                f"{row['reverse_kl']:.4f} | {row['seconds']:.0f} |",
                flush=True,
            )
            # Atomic, as ganzoo.checkpoint.write_json, which would import Keras (and a backend) here.
            with open(args.out + ".tmp", "w") as f:
                json.dump(rows, f, indent=2)
            os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
