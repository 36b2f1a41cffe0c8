"""ganzoo's torch train step vs a plain pytorch/examples DCGAN loop, interleaved.

Implementations (each run is its own process, since Keras fixes the backend
at import and libgomp reads `OMP_WAIT_POLICY` when torch loads):

* ganzoo-torch: `ganzoo.GAN.compile` + `fit` on the DCGAN builders
  (`tools/bench/train_step.run_ganzoo`), with `import ganzoo` first (which
  sets `OMP_WAIT_POLICY=PASSIVE` unless the environment sets it).
* ganzoo-torch-spin: the same with `OMP_WAIT_POLICY=ACTIVE` (libgomp's
  spinning worker threads, torch's default when nothing sets the variable).
* ganzoo-torch-bf16: the same under `keras.mixed_precision` "mixed_bfloat16"
  (ganzoo-tensorflow[-bf16], ganzoo-jax[-bf16]: the same runs on the other backends).
* torch-loop: the pytorch/examples DCGAN loop on the equivalent `torch.nn`
  networks (`train_step.run_torch_loop`), libgomp's default.
* ring8 models: ganzoo's `ring8-nsgan` recipe (3x128 MLPs, batch 256, R1)
  on the torch and TensorFlow backends.

Rounds run every implementation once in turn (A B C A B C ...) so that load
from other processes on a shared machine hits all of them alike; the table
reports each implementation's median steps/s over the rounds and its ratio
to the reference implementation's median.

Example:
    python tools/bench/torch_step.py --models dcgan64 --rounds 3 --steps 5
    python tools/bench/torch_step.py --models ring8 --rounds 3 --steps 200
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

IMPLS = {  # name -> (Keras backend, extra environment)
    "ganzoo-torch": ("torch", {}),
    "ganzoo-torch-spin": ("torch", {"OMP_WAIT_POLICY": "ACTIVE"}),
    "ganzoo-torch-bf16": ("torch", {}),
    "torch-loop": ("torch", {}),
    "ganzoo-tensorflow": ("tensorflow", {}),
    "ganzoo-tensorflow-bf16": ("tensorflow", {}),
    "ganzoo-jax": ("jax", {}),
    "ganzoo-jax-bf16": ("jax", {}),
}
MODELS = {"dcgan64": 64, "dcgan32": 32, "ring8": None}
REFERENCE = {"dcgan64": "torch-loop", "dcgan32": "torch-loop", "ring8": "ganzoo-tensorflow"}


def _ring8_rate(warmup, steps):
    """Steps/s of `fit` on the ring8-nsgan recipe (fresh toy data every step)."""
    import keras

    from ganzoo import training

    recipe = training.recipes.get("ring8-nsgan")
    gan = training.build(recipe, seed=0)
    x, fit_kwargs = training.make_dataset(recipe, 1, 0)
    times = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter())

    fit_kwargs["steps_per_epoch"] = warmup + steps
    gan.fit(x, epochs=1, verbose=0, callbacks=[Clock()], **fit_kwargs)
    return steps / (times[warmup + steps - 1] - times[warmup - 1])


def worker(args):
    import ganzoo  # noqa: F401  (first: it picks libgomp's wait policy before torch loads)

    sys.path.insert(0, HERE)
    import train_step  # tools/bench/train_step.py: the shared DCGAN runners

    if args.impl.endswith("-bf16"):
        import keras

        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    if args.model == "ring8":
        rate = _ring8_rate(args.warmup, args.steps)
    elif args.impl == "torch-loop":
        rate = train_step.run_torch_loop(MODELS[args.model], False, args.batch, args.warmup, args.steps)
    else:
        rate = train_step.run_ganzoo(MODELS[args.model], False, args.batch, args.warmup, args.steps)
    print("RESULT " + json.dumps({"model": args.model, "impl": args.impl, "steps_per_s": rate}))


def run_one(args, model, impl):
    backend, extra = IMPLS[impl]
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", **extra)
    cmd = [sys.executable, __file__, "--worker", "--model", model, "--impl", impl,
           "--batch", str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])["steps_per_s"]
    raise RuntimeError(f"{impl} on {model} failed:\n{out.stderr[-3000:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=["dcgan64", "ring8"])
    parser.add_argument("--impls", nargs="+", choices=list(IMPLS),
                        help="default: ganzoo-torch, ganzoo-torch-spin and the model's reference")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64, help="DCGAN batch (ring8 uses its recipe's 256)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (>= 1)")
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--out", default="torch_step.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warmup < 1 or args.steps < 1 or args.rounds < 1:
        parser.error("--warmup, --steps and --rounds must be >= 1")
    if args.worker:
        return worker(args)
    rows = []
    for model in args.models:
        impls = args.impls or ["ganzoo-torch", "ganzoo-torch-spin", REFERENCE[model]]
        if model == "ring8":
            impls = [i for i in impls if i != "torch-loop"]  # the loop is the DCGAN one
        rates = {impl: [] for impl in impls}
        for _ in range(args.rounds):
            for impl in impls:  # interleaved: A B C A B C ...
                rates[impl].append(run_one(args, model, impl))
        ref = REFERENCE[model]
        ref_rate = statistics.median(rates[ref]) if ref in rates else None
        for impl, values in rates.items():
            med = statistics.median(values)
            rows.append({"model": model, "impl": impl, "median_steps_per_s": med, "runs": values,
                         "ratio": med / ref_rate if ref_rate else None, "reference": ref})
    print(f"{args.rounds} interleaved rounds, {args.steps} timed steps after {args.warmup} warm-up, "
          f"{os.cpu_count()} CPUs (shared machine: compare ratios, not absolute rates)\n")
    print("| model | impl | median steps/s | runs | ratio vs reference |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x ({r['reference']})"
        runs = " ".join(f"{v:.3g}" for v in r["runs"])
        print(f"| {r['model']} | {r['impl']} | {r['median_steps_per_s']:.3f} | {runs} | {ratio} |")
    with open(args.out, "w") as f:
        json.dump({"args": {k: v for k, v in vars(args).items() if k not in ("worker", "model", "impl")},
                   "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
