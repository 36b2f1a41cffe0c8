"""Multi-worker TensorFlow (`tf.distribute.MultiWorkerMirroredStrategy`) against one device.

Two local worker processes (TF_CONFIG on free loopback ports) train the tiny
WGAN-GP of tests/dist_scripts/train_multiworker_tf.py through `GAN.fit`
(which runs `ganzoo.backend.tensorflow_multiworker`), one epoch on numpy rows and one
on a tf.data pipeline. Independent truth: worker 0 first trains the same GAN
without any strategy on the global batch, from the same initial weights and
data order. Every process has a timeout and is killed (SIGKILL: TensorFlow
catches SIGTERM) on failure, so a hang fails the test instead of stalling CI.
"""

import json
import os
import socket
import sys

import numpy as np
import pytest

import processes
from conftest import BACKEND

pytestmark = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="tf.distribute runs on the TensorFlow backend"
)

SCRIPT = os.path.join(os.path.dirname(__file__), "dist_scripts", "train_multiworker_tf.py")
TIMEOUT = 240
ATOL = 1e-5  # float32; measured <= 1e-6 (max over weights, EMA and samples)


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _env(ports, index):
    config = {
        "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
        "task": {"type": "worker", "index": index},
    }
    return processes.env(TF_CONFIG=json.dumps(config))


def _run(commands):
    return processes.run(commands, TIMEOUT, "multi-worker TensorFlow")


def test_two_workers_train_like_one_device(tmp_path):
    ports = _free_ports(2)
    out = str(tmp_path / "w")
    runs = _run(
        [
            ([sys.executable, SCRIPT, "--out", out] + (["--reference"] if r == 0 else []), _env(ports, r))
            for r in range(2)
        ]
    )
    for rc, text in runs:
        assert rc == 0, f"worker failed ({rc}):\n{text[-4000:]}"
    w0, w1 = (dict(np.load(f"{out}.{r}.npz")) for r in range(2))
    assert int(w0["replicas"]) == int(w0["processes"]) == 2

    # Before fit the workers hold different weights (worker 1 assigned its own);
    # the noise seed state was created from worker 0's value on both.
    assert np.max(np.abs(w0["pre_g0"] - w1["pre_g0"])) > 0.1
    np.testing.assert_array_equal(w0["pre_seed"], w1["pre_seed"])

    weights = [k[5:] for k in w0 if k.startswith("ref1_") and k[5:].rstrip("0123456789") in ("g", "d", "ema")]
    assert len(weights) == 12  # kernels and biases of G's and D's 2 Dense layers; G's EMA
    worst = 0.0
    for stage in ("1", "2"):  # after the numpy epoch, after the tf.data epoch
        for key in weights:
            ref, dist = w0[f"ref{stage}_{key}"], w0[f"dist{stage}_{key}"]
            np.testing.assert_array_equal(w1[f"dist{stage}_{key}"], dist, err_msg=key)  # same all-reduce
            np.testing.assert_allclose(dist, ref, rtol=0, atol=ATOL, err_msg=f"stage {stage}: {key}")
            worst = max(worst, float(np.max(np.abs(dist - ref))))
        for key in ("step", "g_iterations"):
            assert int(w0[f"dist{stage}_{key}"]) == int(w0[f"ref{stage}_{key}"]) == 4 * int(stage)
        for key in ("d_loss", "g_loss", "gp"):  # epoch means of the logs: global, on every worker
            dist, ref = w0[f"dist{stage}_{key}"], w0[f"ref{stage}_{key}"]
            np.testing.assert_allclose(dist, ref, rtol=1e-5, atol=1e-6)
            assert w0[f"dist{stage}_{key}"] == w1[f"dist{stage}_{key}"]
    np.testing.assert_allclose(w0["distsamples"], w0["refsamples"], rtol=0, atol=ATOL)
    moved = max(float(np.max(np.abs(w0[f"ref2_{k}"] - w0[f"init_{k}"]))) for k in weights)
    assert moved > 0.05, "training barely moved the weights: the comparison would be vacuous"
    print(f"max |worker - one device| = {worst:.2e}")

    # Unequal data (worker r has r + 1 batches): both workers refuse, neither hangs.
    for w in (w0, w1):
        assert "different numbers of batches per epoch ([1, 2]" in str(w["mismatch_error"])


_ALONE = """
import json, os, sys, time
from ganzoo import distribute
for index, ports in enumerate(json.loads(sys.argv[1])):  # worker 0, then worker 1, each alone
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
        "task": {"type": "worker", "index": index},
    })
    start = time.monotonic()
    try:
        distribute.strategy(timeout=2)
    except RuntimeError as e:
        print(f"after {time.monotonic() - start:.1f} s: {e}")
"""


def test_a_worker_that_never_starts_fails_within_the_timeout():
    # Worker 0 waits for worker 1 (TF alone would wait forever), then worker 1
    # of another cluster for worker 0. No TensorFlow op runs before either.
    ports = [_free_ports(2), _free_ports(2)]
    env = _env(ports[0], 0)
    del env["TF_CONFIG"]
    ((rc, text),) = _run([([sys.executable, "-c", _ALONE, json.dumps(ports)], env)])
    assert rc == 0, text[-3000:]
    errors = [line for line in text.splitlines() if line.startswith("after ")]
    assert len(errors) == 2, text[-3000:]
    for index, line in enumerate(errors):
        missing = f"127.0.0.1:{ports[index][1 - index]}"
        assert f"worker {index} of 2 waited 2 s for" in line and missing in line, line
        assert "TF_CONFIG cluster.worker" in line, line
        assert float(line.split()[1]) < 2 + 5, line


def test_multi_worker_needs_the_strategy_before_any_tensorflow_op(monkeypatch):
    import tensorflow as tf

    from ganzoo import distribute

    tf.constant(1.0)  # this process's TensorFlow runtime has started
    ports = _free_ports(2)
    monkeypatch.setenv("TF_CONFIG", _env(ports, 0)["TF_CONFIG"])
    with pytest.raises(RuntimeError, match="before any TensorFlow op"):
        distribute.strategy(timeout=1)
    with pytest.raises(ValueError, match="pass devices=None"):
        distribute.strategy(devices=2, timeout=1)


def test_fit_refuses_what_the_multi_worker_loop_does_not_support():
    import keras

    import ganzoo
    from ganzoo import backend
    from ganzoo.backend import tensorflow_multiworker

    gan = ganzoo.GAN(
        keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]),
        keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]),
        latent_dim=2,
    )
    gan.compile()
    assert backend.custom_fit(gan) is None  # no strategy: Keras's own fit
    x = np.zeros((8, 2), "float32")
    with pytest.raises(ValueError, match=r"\['validation_data', 'sample_weight'\]"):
        tensorflow_multiworker.fit(gan, x, batch_size=4, validation_data=x, sample_weight=np.ones(8))
