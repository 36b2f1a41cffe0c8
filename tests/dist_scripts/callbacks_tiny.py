"""Fit a tiny image GAN with GANMetrics and SampleGrid, on 1 or 2 processes.

Run by tests/test_distribute.py (the backend is fixed when the process starts):

    KERAS_BACKEND=torch python tests/dist_scripts/callbacks_tiny.py --out 'r{rank}.npz' --grids DIR
        (with torchrun's RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT for two ranks)
    KERAS_BACKEND=jax python tests/dist_scripts/callbacks_tiny.py --coordinator 127.0.0.1:PORT \
        --num-processes 2 --process-id I --out 'r{rank}.npz' --grids DIR

Without a launcher it trains on one device (the reference). Every process
saves the metric values its History saw; rank 0 alone computes them (with a
stand-in feature extractor) and writes the PNG grids.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True, help="'{rank}' is replaced by the process index")
parser.add_argument("--grids", required=True, help="folder for SampleGrid's PNGs")
parser.add_argument("--coordinator")
parser.add_argument("--num-processes", type=int)
parser.add_argument("--process-id", type=int)
args = parser.parse_args()

import keras  # noqa: E402
import numpy as np  # noqa: E402

import ganzoo  # noqa: E402
from ganzoo import distribute  # noqa: E402

if keras.backend.backend() == "torch":
    import torch

    torch.set_num_threads(1)
if args.coordinator:
    distribute.initialize_jax(args.coordinator, args.num_processes, args.process_id, timeout=120)

BATCH, EPOCHS = 8, 2


class BlockMeans:
    """Stand-in for Inception (offline): 2x2 block means and strided pixels as features."""

    batch_size = 16
    protocol = {"network": "block-mean"}

    def __call__(self, images):
        x = np.asarray(images, np.float32) / 255.0
        n, h, w, c = x.shape
        pool = x.reshape(n, 2, h // 2, 2, w // 2, c).mean((2, 4)).reshape(n, -1)
        pool = np.concatenate([pool, x.reshape(n, -1)[:, ::7]], axis=1)
        return {"pool": pool, "logits": pool[:, :4] * 10.0}


def build():
    rng = np.random.default_rng(0)
    g = keras.Sequential([keras.Input((4,)), keras.layers.Dense(64, activation="tanh"), keras.layers.Reshape((8, 8, 1))])
    d = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    for v in g.trainable_variables + d.trainable_variables:
        v.assign(rng.normal(0, 0.3, v.shape).astype("float32"))
    gan = ganzoo.GAN(g, d, latent_dim=4, seed=1)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    return gan


real = np.tanh(np.random.default_rng(1).normal(size=(32, 8, 8, 1))).astype("float32")
with distribute.strategy(timeout=120) as dp:
    gan = build()
    x, batch = dp.shard(real, batch_size=BATCH)
    callbacks = [
        ganzoo.callbacks.GANMetrics(reference=real, metrics=("fid", "is"), num_samples=24,
                                    extractor=BlockMeans(), verbose=0),
        ganzoo.callbacks.SampleGrid(path=os.path.join(args.grids, "epoch{epoch}.png"), num_samples=4),
    ]
    history = gan.fit(x, batch_size=batch, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=callbacks)
    np.savez(
        args.out.format(rank=distribute.rank()),
        fid=np.array(history.history["fid"]),
        inception_score=np.array(history.history["is"]),
        samples=gan.generate(4, seed=0),
        processes=np.int64(dp.num_processes),
    )
print("ok", keras.backend.backend(), distribute.rank(), file=sys.stderr)
