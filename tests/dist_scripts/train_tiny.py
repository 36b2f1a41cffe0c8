"""Train a tiny WGAN-GP for one epoch on 1 or N devices and save its state.

Run by tests/test_distribute.py in a subprocess (the backend, and on TF/JAX
the number of simulated CPU devices, are fixed when the process starts):

    KERAS_BACKEND=jax python tests/dist_scripts/train_tiny.py --devices 2 --out a.npz
    KERAS_BACKEND=torch torchrun --nproc-per-node 2 tests/dist_scripts/train_tiny.py ...
    KERAS_BACKEND=jax python tests/dist_scripts/train_tiny.py --devices 2 \
        --coordinator 127.0.0.1:PORT --num-processes 2 --process-id I --out 'r{rank}.npz'

`--devices 0` trains without any strategy (the one-device reference). The
networks are MLPs without BatchNorm (per-replica statistics would differ
from global ones); their initial weights come from a fixed numpy draw, the
data order is fixed (shuffle=False), and the engine's noise is the
one-device draw sliced per replica, so every run should end with the same
weights up to float summation order.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

parser = argparse.ArgumentParser()
parser.add_argument("--devices", type=int, default=0, help="0: no strategy")
parser.add_argument("--reference", action="store_true", help="also train on one device first")
parser.add_argument("--out", required=True)
parser.add_argument("--batch", type=int, default=16)
parser.add_argument("--steps", type=int, default=4)
parser.add_argument("--coordinator", help="JAX multi-process: process 0's host:port")
parser.add_argument("--num-processes", type=int)
parser.add_argument("--process-id", type=int)
parser.add_argument("--timeout", type=float, default=120)
args = parser.parse_args()

import keras  # noqa: E402

from ganzoo import distribute  # noqa: E402

if keras.backend.backend() == "torch":
    import torch

    torch.set_num_threads(1)
elif args.coordinator:  # one device per process, joined into one JAX job
    distribute.initialize_jax(args.coordinator, args.num_processes, args.process_id, timeout=args.timeout)
elif args.devices > 1:
    distribute.simulate_cpu_devices(args.devices)

import numpy as np  # noqa: E402

from tiny_gan import build as build_tiny  # noqa: E402
from tiny_gan import data, state  # noqa: E402


def build(rank=0):
    # Under torch, ranks other than 0 start from other weights and another
    # noise seed: the first step must copy rank 0's state to every rank.
    # (Multi-process JAX refuses unequal replicated values when they are
    # created, so there every process builds rank 0's model.)
    return build_tiny(0 if keras.backend.backend() == "jax" else rank)


def train(context):
    x = data(args.batch, args.steps)
    if context is None:
        gan = build()
        local, batch = x[: args.batch * args.steps], args.batch
    else:
        gan = build(distribute.rank())
        local, batch = context.shard(x, batch_size=args.batch)
    initial = state(gan)
    start = time.perf_counter()
    history = gan.fit(local, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    result = state(gan)
    if keras.backend.backend() == "jax":  # devices holding the weights
        result["weight_devices"] = np.int64(
            len(gan.generator.trainable_variables[0].value.sharding.device_set)
        )
    result["seconds"] = np.float64(time.perf_counter() - start)
    result["samples"] = gan.generate(5, seed=3)  # EMA weights, outside the step
    for key in ("d_loss", "g_loss", "gp"):
        result[key] = np.float32(history.history[key][-1])
    return result, initial


results = {}
if args.reference and distribute.rank() == 0:
    # The one-device run: no strategy, global batch on the default device.
    trained, initial = train(None)
    results.update({f"ref_{k}": v for k, v in trained.items()})
    results.update({f"init_{k}": v for k, v in initial.items()})
if args.devices:
    with distribute.strategy(devices=args.devices, timeout=args.timeout) as dp:
        trained, initial = train(dp)
        results.update({f"dist_{k}": v for k, v in trained.items()})
        results.update({f"init_{k}": v for k, v in initial.items()})
        results["replicas"] = np.int64(dp.num_replicas)
        chief = dp.is_chief
else:
    chief = True
if "{rank}" in args.out:  # every process saves its own state
    np.savez(args.out.format(rank=distribute.rank()), **results)
elif chief:
    np.savez(args.out, **results)
print("ok", keras.backend.backend(), args.devices, file=sys.stderr)
