"""R3GAN training throughput: steps/s of a zoo recipe (default r3gan-cifar10) at batch 64, per backend.

Builds the recipe's networks and optimizers (`ganzoo.training.build`), then
times `GAN.fit` on random labelled images in [-1, 1] of the recipe's shape
(one step = one D step with R1 + R2, one G step, the EMA update). Each
backend runs in its own process (the Keras backend is fixed at import) and
prints one JSON line; `--warmup` steps (tracing / compilation) are not timed.

Example:
    python tools/bench/r3gan.py --backends jax torch tensorflow --batch 64 --warmup 2 --steps 5
    python tools/bench/r3gan.py --recipe r3gan-stacked-digits --steps 20
"""

import argparse
import json
import os
import subprocess
import sys
import time


def _one(recipe_name, batch, warmup, steps):
    import keras
    import numpy as np

    from ganzoo import recipes
    from ganzoo.training import build

    recipe = recipes.get(recipe_name)
    gan = build(recipe, seed=0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch * max(warmup, steps), *gan.sample_shape)).astype("float32")
    y = rng.integers(0, max(gan.num_classes, 1), len(x)).astype("int32") if gan.num_classes else None
    args = (x,) if y is None else (x, y)

    def run(n):
        part = tuple(a[: n * batch] for a in args)
        gan.fit(*part, batch_size=batch, epochs=1, shuffle=False, verbose=0)

    start = time.perf_counter()
    run(warmup)
    warm = time.perf_counter() - start
    start = time.perf_counter()
    run(steps)
    seconds = time.perf_counter() - start
    return {
        "recipe": recipe_name, "backend": keras.backend.backend(), "batch": batch, "steps": steps,
        "steps_per_s": steps / seconds, "images_per_s": steps * batch / seconds, "warmup_s": warm,
        "g_params": gan.generator.count_params(), "d_params": gan.discriminator.count_params(),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="r3gan-cifar10")
    p.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--out", help="also write the JSON lines here")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_one(args.recipe, args.batch, args.warmup, args.steps)), flush=True)
        return 0
    lines = []
    for backend in args.backends:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        cmd = [sys.executable, __file__, "--child", "--recipe", args.recipe, "--batch", str(args.batch),
               "--warmup", str(args.warmup), "--steps", str(args.steps)]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode:
            line = {"backend": backend, "error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
        else:
            line = json.loads(out.stdout.strip().splitlines()[-1])
        lines.append(line)
        print(json.dumps(line), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(json.dumps(line) for line in lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
