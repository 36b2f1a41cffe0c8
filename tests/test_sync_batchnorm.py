"""SyncBatchNormalization: BatchNorm over the global batch under data parallelism.

The distributed test runs tests/dist_scripts/sync_bn_check.py in subprocesses
with a timeout (the backend's own mechanism on 2 replicas: TF MirroredStrategy
and JAX DataParallel on 2 simulated CPU devices, PyTorch on 2 gloo
processes) and compares with one device and the global batch: a conv-BN
network's training-mode output, input and weight gradients and moving
statistics, and a tiny ganzoo.GAN (BN in G and D) after 3 SGD steps. Negative
control: each replica's rows come from another distribution, so per-replica
statistics are far from global ones; plain BatchNorm shows that on TF and
PyTorch (it is per replica), while on JAX it is already global.
"""

import os
import re
import sys

import keras
import numpy as np
import pytest

from ganzoo.architectures import dcgan_generator, mlp_generator
from ganzoo import backend
from ganzoo.layers import BatchNormalization, SyncBatchNormalization
from ganzoo.factory import build_gan
from ganzoo import recipes

import processes
from conftest import BACKEND

SCRIPT = os.path.join(os.path.dirname(__file__), "dist_scripts", "sync_bn_check.py")
TIMEOUT = 240
ATOL = 1e-5  # float32; measured <= 1e-6 except weight gradients (below)
GRAD_TOL = dict(rtol=1e-5, atol=2e-5)  # sums over 144 terms of size ~10


def _np(x):
    return keras.ops.convert_to_numpy(keras.ops.stop_gradient(x))


# ------------------------------------------------------------ two replicas
def _run_two_replicas(out):
    # TF and JAX: one process with 2 simulated devices; torch: 2 gloo ranks.
    envs = processes.torch_ranks(2) if BACKEND == "torch" else [processes.env()]
    processes.run_ok([([sys.executable, SCRIPT, "--out", str(out)], env) for env in envs],
                     TIMEOUT, "the 2-replica check")
    return dict(np.load(out))


def _max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def test_two_replicas_match_one_device_with_the_global_batch(tmp_path):
    r = _run_two_replicas(tmp_path / "sync_bn.npz")

    # The data make per-replica statistics far from global ones: one device
    # normalizing each half on its own is far from the global-batch output.
    assert _max_diff(r["split_layer_y"], r["ref_layer_y"]) > 0.3

    # Layer level: output, input and weight gradients, moving statistics.
    for key in ("y", "dx", "moving"):
        np.testing.assert_allclose(r[f"sync_layer_{key}"], r[f"ref_layer_{key}"], rtol=0, atol=ATOL, err_msg=key)
    np.testing.assert_allclose(r["sync_layer_dw"], r["ref_layer_dw"], **GRAD_TOL)

    # Training: every weight and moving statistic of G and D, EMA samples, logs.
    keys = [k[4:] for k in r if k.startswith("ref_gan_") and not k.endswith(("_spread", "_devices"))]
    assert len([k for k in keys if re.search(r"moving_(mean|variance)$", k)]) == 4
    assert {"gan_log_d_loss", "gan_log_g_loss", "gan_samples"} <= set(keys)
    if BACKEND != "jax":
        assert "gan_log_gp" in keys  # double backprop through the BN (and its all-reduces)
    for key in keys:
        np.testing.assert_allclose(r[f"sync_{key}"], r[f"ref_{key}"], rtol=0, atol=ATOL, err_msg=key)
    moved = max(_max_diff(r[f"ref_{k}"], r[f"init_{k}"]) for k in keys if f"init_{k}" in r)
    assert moved > 0.05, "training barely moved the weights: the comparison would be vacuous"
    assert float(r["sync_gan_replica_spread"]) == 0.0  # every replica holds the same variables
    if BACKEND == "jax":
        assert int(r["sync_gan_weight_devices"]) == 2  # really ran on 2 devices

    if BACKEND == "jax":
        # DataParallel traces the step over the global array: plain BatchNorm's
        # batch mean is already a global mean (XLA adds the cross-device sum).
        for key in ("y", "dx", "moving"):
            np.testing.assert_allclose(r[f"plain_layer_{key}"], r[f"ref_layer_{key}"], rtol=0, atol=ATOL)
        np.testing.assert_allclose(r["plain_layer_dw"], r["ref_layer_dw"], **GRAD_TOL)
    else:
        # Negative control: plain BatchNorm is per replica on TF and PyTorch.
        np.testing.assert_allclose(r["plain_layer_y"], r["split_layer_y"], rtol=0, atol=ATOL)
        for key in ("y", "dx", "dw", "moving"):
            assert _max_diff(r[f"plain_layer_{key}"], r[f"ref_layer_{key}"]) > 0.1, key


# ------------------------------------------------------------ one process
def _pair():
    """The same small conv network with keras BatchNormalization and with SyncBatchNormalization."""
    models = []
    for cls in (keras.layers.BatchNormalization, SyncBatchNormalization):
        model = keras.Sequential(
            [keras.Input((3, 3, 2)), keras.layers.Conv2D(4, 1), cls(momentum=0.8, epsilon=1e-5),
             keras.layers.Activation("tanh")]
        )
        rng = np.random.default_rng(0)
        for v in model.weights:
            v.assign(rng.uniform(0.5, 1.5, v.shape).astype("float32"))
        models.append(model)
    return models


def test_equals_batchnorm_on_one_device_and_survives_a_keras_round_trip(tmp_path):
    plain, sync = _pair()
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(8, 3, 3, 2)) * 2 + 1).astype("float32")
    c = keras.ops.convert_to_tensor(rng.normal(size=(8, 3, 3, 4)).astype("float32"))
    results = []
    for model in (plain, sync):
        variables = model.trainable_variables
        loss, _, grads = backend.value_and_grad(
            lambda m=model: (keras.ops.sum(m(x, training=True) * c), {}), variables
        )
        _, dx = backend.input_grad(lambda t, m=model: keras.ops.sum(m(t, training=True) * c, axis=(1, 2, 3)), x)
        bn = model.layers[1]
        results.append(
            [_np(loss), _np(dx), *[_np(g) for g in grads], _np(bn.moving_mean), _np(bn.moving_variance),
             _np(model(x, training=False))]
        )
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)

    config = sync.layers[1].get_config()
    assert "synchronized" not in config  # loads on every backend
    path = tmp_path / "sync_bn.keras"
    sync.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.layers[1]) is SyncBatchNormalization
    for a, b in zip(sync.weights, loaded.weights):
        np.testing.assert_array_equal(_np(a), _np(b))
    np.testing.assert_allclose(_np(loaded(x, training=False)), _np(sync(x, training=False)), rtol=0, atol=1e-6)
    # A config written with Keras's `synchronized` flag (TF only in Keras) loads anywhere.
    again = SyncBatchNormalization.from_config({**config, "synchronized": True})
    assert again.momentum == 0.8 and "synchronized" not in again.get_config()


@pytest.mark.parametrize("masked", [False, True])
def test_all_reduced_moments_arithmetic(masked):
    """The moments the torch replicas all-reduce (TF too, with a mask), on one process.

    With an identity all-reduce they must be Keras's one-device moments.
    """
    rng = np.random.default_rng(2)
    x = keras.ops.convert_to_tensor((rng.normal(size=(6, 5, 3)) * 3 + 10).astype("float32"))
    mask = keras.ops.convert_to_tensor(rng.uniform(size=(6, 5)) > 0.3) if masked else None
    layer = SyncBatchNormalization()
    layer.build(x.shape)
    mean, var = layer._global_moments(x, mask, lambda t: t)
    want_mean, want_var = keras.layers.BatchNormalization._moments(layer, x, mask)
    np.testing.assert_allclose(_np(mean), _np(want_mean), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(var), _np(want_var), rtol=1e-5, atol=1e-5)


def test_architectures_and_recipes_select_it():
    def bn_types(model):
        return {type(l) for l in model.layers if isinstance(l, keras.layers.BatchNormalization)}

    sync = {SyncBatchNormalization}
    # (One DCGAN network: on JAX each new weight shape compiles its initializer.)
    assert bn_types(dcgan_generator(4, resolution=8, channels=1, width=2, normalization="sync_batch")) == sync
    assert bn_types(mlp_generator(2, 2, hidden=(4,), normalization="batch")) == {BatchNormalization}
    with pytest.raises(ValueError, match="normalization"):
        mlp_generator(2, 2, hidden=(4,), normalization="synced")

    # A recipe's model section: the option is an argument of the network's builder.
    recipe = recipes.validate(
        {
            "name": "sync-bn",
            "model": {
                "latent_dim": 2,
                "generator": {"builder": "mlp_generator", "latent_dim": 2, "output_shape": 2, "hidden": [4],
                              "normalization": "sync_batch"},
                "discriminator": {"builder": "mlp_discriminator", "input_shape": 2, "hidden": [4]},
            },
            "optimizers": {"generator": {"name": "adam"}, "discriminator": {"name": "adam"}},
            "data": {"source": "toy:ring"},
            "training": {"batch_size": 4},
        }
    )
    assert bn_types(build_gan(recipe["model"]).generator) == sync
