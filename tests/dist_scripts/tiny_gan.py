"""The tiny WGAN-GP the distributed checks train (train_tiny.py, train_multiworker_tf.py).

MLPs without BatchNorm (per-replica statistics would differ from global
ones), initial weights from a fixed numpy draw, SGD with momentum (Adam is
invariant to the gradient's scale, so it would hide a sum-instead-of-mean
error across replicas), d_steps 2 and an EMA, so every part of the step is
compared.
"""

import keras
import numpy as np

import ganzoo

LATENT, DIM, HIDDEN = 3, 4, 16


def mlp(inp, out, rng):
    model = keras.Sequential(
        [keras.Input((inp,)), keras.layers.Dense(HIDDEN, activation="tanh"), keras.layers.Dense(out)]
    )
    for v in model.trainable_variables:
        v.assign(rng.normal(0, 0.5, v.shape).astype("float32"))
    return model


def build(rank=0):
    """The compiled GAN; `rank` != 0 gives other weights and another noise seed."""
    rng = np.random.default_rng(rank)
    gan = ganzoo.GAN(
        mlp(LATENT, DIM, rng),
        mlp(DIM, 1, rng),
        latent_dim=LATENT,
        objective="wasserstein",
        penalties=[ganzoo.penalties.GradientPenalty(10.0)],
        d_steps=2,
        ema_decay=0.9,
        seed=7 + rank,
    )
    gan.compile(
        g_optimizer=keras.optimizers.SGD(0.05, momentum=0.5),
        d_optimizer=keras.optimizers.SGD(0.05, momentum=0.5),
    )
    return gan


def data(batch, steps):
    """`steps` global batches of samples, plus 3 that `shard` must drop."""
    rng = np.random.default_rng(1)
    return rng.normal(size=(batch * steps + 3, DIM)).astype("float32")


def state(gan, prefix=""):
    """G's and D's weights, G's EMA, the step and G's optimizer iterations, as numpy."""
    out = {}
    for name, variables in (
        ("g", gan.generator.trainable_variables),
        ("d", gan.discriminator.trainable_variables),
        ("ema", gan.ema_weights),
    ):
        for i, v in enumerate(variables):
            out[f"{prefix}{name}{i}"] = np.array(v.numpy())
    out[f"{prefix}step"] = np.array(gan.step_counter.numpy())
    out[f"{prefix}g_iterations"] = np.array(gan.g_optimizer.iterations.numpy())
    return out
