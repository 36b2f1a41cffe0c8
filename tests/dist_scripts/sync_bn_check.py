"""SyncBatchNormalization on 2 replicas against one device with the global batch.

Run by tests/test_sync_batchnorm.py in a subprocess (TF and JAX simulate 2
CPU devices, which must happen before they start; torch runs one process per
rank with RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT set):

    KERAS_BACKEND=jax python tests/dist_scripts/sync_bn_check.py --out r.npz

It records, on 2 replicas:

* layer level, for `sync` (ganzoo.layers.SyncBatchNormalization) and `plain`
  (keras.layers.BatchNormalization, the negative control): a conv -> BN ->
  tanh network's training-mode output, the gradient of a fixed linear
  read-out with respect to the input and to every weight, and the moving
  statistics after the call;
* training, for `sync`: a tiny ganzoo.GAN (BN in G and D; on TF and torch a
  gradient penalty, so that double backprop crosses the BN) after 3 SGD steps: weights, moving
  statistics, EMA samples, the logged losses and the largest difference
  between replicas' copies of the variables;

and the same on one device with the global batch (`ref_*`, computed before
any strategy exists): keras BatchNormalization for the layer level,
`ReferenceBatchNormalization` (textbook moments, below) for training.
`split_layer_y` is the per-replica semantics on one device (each half of the
batch normalized with its own statistics). Each replica's rows come from a
different distribution, so per-replica statistics differ from global ones.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
args = parser.parse_args()

import keras  # noqa: E402

from ganzoo import distribute  # noqa: E402

BACKEND = keras.backend.backend()
if BACKEND == "torch":
    import torch

    torch.set_num_threads(1)
else:
    distribute.simulate_cpu_devices(2)

import numpy as np  # noqa: E402

import ganzoo  # noqa: E402
from ganzoo.layers import SyncBatchNormalization  # noqa: E402

REPLICAS, BATCH = 2, 16  # global batch; 8 rows per replica
LATENT, DIM, HIDDEN, STEPS = 3, 4, 8, 3
START = time.perf_counter()


class ReferenceBatchNormalization(keras.layers.BatchNormalization):
    """One-device BatchNorm with textbook moments, differentiable to any order.

    The reference of the training check. Keras's TensorFlow moments
    (tf.nn.moments) stop the gradient through the mean inside the variance:
    first derivatives are exact, but second derivatives (a gradient penalty
    through a BatchNorm critic) are not; e.g. the bias before the BN gets a
    spurious gradient. The JAX and PyTorch moments have no such stop.
    """

    def _moments(self, inputs, mask):
        mean = keras.ops.mean(inputs, axis=self._reduction_axes, keepdims=True)
        variance = keras.ops.mean(keras.ops.square(inputs - mean), axis=self._reduction_axes)
        return keras.ops.reshape(mean, (-1,)), variance


def bn(kind, name):
    cls = {"sync": SyncBatchNormalization, "plain": keras.layers.BatchNormalization,
           "reference": ReferenceBatchNormalization}[kind]
    return cls(momentum=0.8, epsilon=1e-5, name=name)


def randomize(model, seed):
    rng = np.random.default_rng(seed)
    for v in model.weights:  # trainables and moving statistics alike
        if "variance" in v.path or "gamma" in v.path:
            v.assign(rng.uniform(0.5, 1.5, v.shape).astype("float32"))
        else:
            v.assign(rng.normal(0, 0.5, v.shape).astype("float32"))


# ---------------------------------------------------------------- layer level
def layer_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, 3, 3, 2)).astype("float32")
    x[: BATCH // 2] = 1.5 + x[: BATCH // 2]  # replica 0's rows
    x[BATCH // 2 :] = -1.0 + 2.0 * x[BATCH // 2 :]  # replica 1's rows
    c = rng.normal(size=(BATCH, 3, 3, 4)).astype("float32")  # fixed read-out
    return x, c


def layer_net(kind):
    model = keras.Sequential(
        [keras.Input((3, 3, 2)), keras.layers.Conv2D(4, 1, name="conv"), bn(kind, "bn"),
         keras.layers.Activation("tanh")]
    )
    randomize(model, 5)
    return model


def moving(model):
    layer = model.get_layer("bn")
    return np.concatenate([np.asarray(layer.moving_mean.numpy()), np.asarray(layer.moving_variance.numpy())])


def layer_one_device(kind):
    """Output, d(sum y*c)/d(x, weights) and moving stats on the whole batch, no strategy."""
    x, c = layer_data()
    model = layer_net(kind)
    y, dx, dw = _grads(model, x, c)
    return {"y": y, "dx": dx, "dw": dw, "moving": moving(model)}


def _grads(model, x, c):
    """Output, input gradient, weight gradients (flat) of sum(model(x) * c) on this process."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x, training=True)
            loss = tf.reduce_sum(y * c)
        grads = tape.gradient(loss, [x, *model.trainable_variables])
        return y.numpy(), grads[0].numpy(), np.concatenate([np.ravel(g) for g in grads[1:]])
    if BACKEND == "torch":
        x = torch.tensor(x, requires_grad=True)
        y = model(x, training=True)
        loss = (y * torch.tensor(c)).sum()
        grads = torch.autograd.grad(loss, [x, *[v.value for v in model.trainable_variables]])
        return (y.detach().numpy(), grads[0].numpy(),
                np.concatenate([g.reshape(-1).numpy() for g in grads[1:]]))
    import jax

    def f(trainable, x):
        y, non_trainable = model.stateless_call(trainable, [v.value for v in model.non_trainable_variables],
                                                x, training=True)
        return jax.numpy.sum(y * c), (y, non_trainable)

    (_, (y, nt)), (dw, dx) = jax.jit(jax.value_and_grad(f, argnums=(0, 1), has_aux=True))(
        [v.value for v in model.trainable_variables], x)
    for v, value in zip(model.non_trainable_variables, nt):
        v.assign(value)
    return np.asarray(y), np.asarray(dx), np.concatenate([np.ravel(g) for g in dw])


def layer_two_replicas(kind, dp):
    x, c = layer_data()
    half = BATCH // REPLICAS
    if BACKEND == "torch":
        model = layer_net(kind)
        r = distribute.rank()
        y, dx, dw = _grads(model, x[r * half : (r + 1) * half], c[r * half : (r + 1) * half])
        parts = [torch.zeros(half, *y.shape[1:]) for _ in range(REPLICAS)]
        torch.distributed.all_gather(parts, torch.tensor(y))
        y = torch.cat(parts).numpy()
        parts = [torch.zeros(half, *dx.shape[1:]) for _ in range(REPLICAS)]
        torch.distributed.all_gather(parts, torch.tensor(dx))
        dx = torch.cat(parts).numpy()
        dw = torch.tensor(dw)
        torch.distributed.all_reduce(dw)  # the global loss is the sum of the ranks' losses
        return {"y": y, "dx": dx, "dw": dw.numpy(), "moving": moving(model)}
    if BACKEND == "tensorflow":
        import tensorflow as tf

        strategy = dp.mechanism
        model = layer_net(kind)  # built in the strategy scope: mirrored variables

        @tf.function
        def step(x, c):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = model(x, training=True)
                loss = tf.reduce_sum(y * c)
            grads = tape.gradient(loss, [x, *model.trainable_variables])
            return y, grads[0], tf.concat([tf.reshape(g, [-1]) for g in grads[1:]], 0)

        def shard(a):
            return strategy.experimental_distribute_values_from_function(
                lambda ctx: tf.constant(a[ctx.replica_id_in_sync_group * half :][:half]))

        y, dx, dw = strategy.run(step, args=(shard(x), shard(c)))
        local = strategy.experimental_local_results
        return {"y": np.concatenate([t.numpy() for t in local(y)]),
                "dx": np.concatenate([t.numpy() for t in local(dx)]),
                "dw": np.sum([t.numpy() for t in local(dw)], axis=0),
                "moving": moving(model)}
    # JAX: the batch axis of the traced array is split over the 2 devices.
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(jax.devices()[:REPLICAS]), ("batch",))
    rows = NamedSharding(mesh, PartitionSpec("batch"))
    model = layer_net(kind)
    xs, cs = jax.device_put(x, rows), jax.device_put(c, rows)
    assert len(xs.sharding.device_set) == REPLICAS
    y, dx, dw = _grads(model, xs, cs)
    return {"y": y, "dx": dx, "dw": dw, "moving": moving(model)}


# ---------------------------------------------------------------- training
def gan_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(STEPS, REPLICAS, BATCH // REPLICAS, DIM)).astype("float32")
    x[:, 0] += 2.0  # the first half of every global batch (replica / rank 0)
    x[:, 1] *= 0.5
    return x.reshape(STEPS * BATCH, DIM)


def build_gan(kind, rank=0):
    def mlp(inp, out, name):
        return keras.Sequential(
            [keras.Input((inp,)), keras.layers.Dense(HIDDEN, name=f"{name}_fc0"), bn(kind, f"{name}_bn"),
             keras.layers.Activation("tanh"), keras.layers.Dense(out, name=f"{name}_fc1")], name=name)

    G, D = mlp(LATENT, DIM, "g"), mlp(DIM, 1, "d")
    # Under torch, rank 1 starts elsewhere: the first step copies rank 0's state.
    randomize(G, 10 + rank)
    randomize(D, 20 + rank)
    # The gradient penalty sends double backprop through D's BN: through the
    # all-reduces on TF and torch. On JAX SyncBatchNormalization runs plain
    # BatchNorm's code, so the penalty (7 s of compiling here) is left out.
    penalties = [] if BACKEND == "jax" else [ganzoo.penalties.GradientPenalty(1.0)]
    gan = ganzoo.GAN(G, D, latent_dim=LATENT, objective="wasserstein", penalties=penalties,
                     ema_decay=0.5, seed=7 + rank)
    # SGD: its update is proportional to the gradient (Adam would hide scale errors).
    gan.compile(g_optimizer=keras.optimizers.SGD(0.05, momentum=0.5),
                d_optimizer=keras.optimizers.SGD(0.05, momentum=0.5))
    return gan


def replica_spread(variables, dp):
    """Largest difference between a replica's copy of `variables` and replica 0's."""
    if dp is None or BACKEND == "jax":  # JAX: one replicated array per variable
        return 0.0
    if BACKEND == "tensorflow":
        copies = [dp.mechanism.experimental_local_results(v.value) for v in variables]
        return max(float(np.max(np.abs(c.numpy() - cs[0].numpy()))) for cs in copies for c in cs)
    flat = torch.cat([v.value.detach().reshape(-1) for v in variables])
    first = flat.clone()
    torch.distributed.broadcast(first, src=0)
    spread = (flat - first).abs().max()
    torch.distributed.all_reduce(spread, op=torch.distributed.ReduceOp.MAX)
    return float(spread)


def gan_weights(gan):
    return {
        f"gan_{v.path.replace('/', '.')}": np.array(v.numpy())
        for net in (gan.generator, gan.discriminator)
        for v in net.weights  # trainables and BN moving statistics
    }


def gan_state(gan, dp=None):
    out = gan_weights(gan)
    out["gan_replica_spread"] = np.float64(
        replica_spread([*gan.generator.weights, *gan.discriminator.weights], dp))
    out["gan_samples"] = np.asarray(gan.generate(6, seed=3))  # EMA weights, inference mode
    return out


def train_gan(kind, dp=None):
    x = gan_data()
    if dp is None:
        gan = build_gan(kind)
        local, batch = x, BATCH
    else:
        gan = build_gan(kind, distribute.rank())
        local, batch = dp.shard(x, batch_size=BATCH)
    initial = gan_weights(gan)
    history = gan.fit(local, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    out = gan_state(gan, dp)
    if BACKEND == "jax":  # devices holding the weights: 2 under DataParallel
        out["gan_weight_devices"] = np.int64(len(gan.generator.trainable_variables[0].value.sharding.device_set))
    for key, values in history.history.items():
        out[f"gan_log_{key}"] = np.float32(values[-1])
    return out, initial


results = {}
if distribute.rank() == 0:  # one device, the global batch, no strategy
    results.update({f"ref_layer_{k}": v for k, v in layer_one_device("plain").items()})
    trained, initial = train_gan("reference")
    results.update({f"ref_{k}": v for k, v in trained.items()})
    results.update({f"init_{k}": v for k, v in initial.items()})
    # Per-replica semantics on one device: each half normalized by its own statistics.
    split = layer_net("plain")
    half = BATCH // REPLICAS
    x = layer_data()[0]
    results["split_layer_y"] = np.concatenate(
        [keras.ops.convert_to_numpy(split(x[i * half : (i + 1) * half], training=True)) for i in range(REPLICAS)])
with distribute.strategy(devices=REPLICAS, timeout=120) as dp:
    assert dp.num_replicas == REPLICAS
    for kind in ("sync", "plain"):  # plain: the negative control
        results.update({f"{kind}_layer_{k}": v for k, v in layer_two_replicas(kind, dp).items()})
    trained, _ = train_gan("sync", dp)
    results.update({f"sync_{k}": v for k, v in trained.items()})
    chief = dp.is_chief
results["seconds"] = np.float64(time.perf_counter() - START)
if chief:
    np.savez(args.out, **results)
print("ok", BACKEND, f"{time.perf_counter() - START:.1f}s", file=sys.stderr)
