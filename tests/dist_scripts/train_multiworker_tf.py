"""One TensorFlow worker of a multi-worker run (TF_CONFIG set): train a tiny WGAN-GP, save its state.

Run by tests/test_multiworker_tf.py, one process per worker:

    TF_CONFIG='{"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]},
                "task": {"type": "worker", "index": 0}}' \\
        python tests/dist_scripts/train_multiworker_tf.py --reference --out w0.npz

Worker 0 with `--reference` first trains the same GAN without any strategy
on the global batch (the one-device truth; the strategy is created first, as
TF requires). Each worker then builds the GAN inside the strategy, worker r
from its own random weights and noise seed (fit must start from worker 0's),
and trains one epoch on numpy rows (`DataParallel.shard`) and one on a
`tf.data` pipeline. It also records the errors of a step-count mismatch.
The tiny setup is that of train_tiny.py: MLPs without BatchNorm, SGD with
momentum (Adam would hide a sum-vs-mean error across replicas).
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

parser = argparse.ArgumentParser()
parser.add_argument("--reference", action="store_true", help="worker 0: also train on one device")
parser.add_argument("--out", required=True, help="worker r writes OUT with .r.npz")
parser.add_argument("--batch", type=int, default=16, help="global batch")
parser.add_argument("--steps", type=int, default=4)
parser.add_argument("--timeout", type=float, default=120)
args = parser.parse_args()

import numpy as np  # noqa: E402

from ganzoo import distribute  # noqa: E402

# Before any TensorFlow op: the strategy sets up TF's collectives at start-up.
dp = distribute.strategy(timeout=args.timeout)

import tensorflow as tf  # noqa: E402

from tiny_gan import build, data, state  # noqa: E402


def train(gan, x, batch, prefix):
    """An epoch on arrays, then an epoch on a tf.data pipeline of the same rows."""
    out = {}
    h1 = gan.fit(x, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    out.update(state(gan, prefix + "1_"))
    ds = tf.data.Dataset.from_tensor_slices(x).batch(batch, drop_remainder=True)
    h2 = gan.fit(ds, epochs=1, shuffle=False, verbose=0)
    out.update(state(gan, prefix + "2_"))
    for key in ("d_loss", "g_loss", "gp"):
        out[f"{prefix}1_{key}"] = np.float32(h1.history[key][-1])
        out[f"{prefix}2_{key}"] = np.float32(h2.history[key][-1])
    out[f"{prefix}samples"] = gan.generate(5, seed=3)
    return out


data = data(args.batch, args.steps)
rank = distribute.rank()
results = {}
if args.reference and rank == 0:
    gan = build()
    results.update(state(gan, "init_"))
    results.update(train(gan, data[: args.batch * args.steps], args.batch, "ref"))
with dp:
    gan = build(rank)
    # Before fit: worker r's own weights (assigned after creation), and the
    # noise seed state (created from a per-worker seed; the strategy
    # broadcasts worker 0's initial values on creation).
    results["pre_g0"] = np.array(gan.generator.trainable_variables[0].numpy())
    results["pre_seed"] = np.array(gan.seed_generator.state.numpy())
    local, batch = dp.shard(data, batch_size=args.batch)
    start = time.perf_counter()
    results.update(train(gan, local, batch, "dist"))
    results["seconds"] = np.float64(time.perf_counter() - start)
    try:  # worker r has r + 1 batches: every worker must refuse, none may hang
        gan.fit(local[: (rank + 1) * batch], batch_size=batch, verbose=0)
        results["mismatch_error"] = np.str_("")
    except ValueError as e:
        results["mismatch_error"] = np.str_(str(e))
    results["replicas"] = np.int64(dp.num_replicas)
    results["processes"] = np.int64(dp.num_processes)
np.savez(f"{args.out}.{rank}.npz", **results)
print("ok worker", rank, file=sys.stderr)
