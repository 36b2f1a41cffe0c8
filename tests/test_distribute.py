"""Data-parallel training (`ganzoo.distribute`) against one-device training.

Each backend's test exercises that backend's own mechanism (tools/test.sh
runs pytest once per backend): TF MirroredStrategy and JAX DataParallel on
2 simulated CPU devices, PyTorch on 2 gloo processes over loopback. The
training runs in subprocesses (tests/dist_scripts/train_tiny.py) with a
timeout, so a hang fails the test instead of stalling CI. Independent truth:
the same WGAN-GP (double backprop) trained on one device with the same global
batch, initial weights and data order, and SGD with momentum (Adam would hide
a sum-vs-mean error across replicas: it is invariant to the gradient's scale).
"""

import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

import ganzoo
from ganzoo import distribute

import processes
from conftest import BACKEND

SCRIPT = os.path.join(os.path.dirname(__file__), "dist_scripts", "train_tiny.py")
CALLBACKS_SCRIPT = os.path.join(os.path.dirname(__file__), "dist_scripts", "callbacks_tiny.py")
TIMEOUT = 240
ATOL = 1e-5  # float32; measured <= 5e-7 on all three backends


def _run(envs, out, args=None, script=SCRIPT):
    """Run one process per env (and argument list) under the deadline; `out`'s arrays."""
    args = args or [["--devices", "2", "--reference", "--out", str(out)]] * len(envs)
    processes.run_ok([([sys.executable, script, *argv], env) for env, argv in zip(envs, args)],
                     TIMEOUT, "distributed training")
    return dict(np.load(out)) if os.path.exists(out) else None


def _assert_same_training(result):
    assert int(result["replicas"]) == 2
    weights = [k[4:] for k in result if re.fullmatch(r"ref_(g|d|ema)\d+", k)]
    assert len(weights) == 12  # kernels and biases of G's and D's 2 Dense layers; G's EMA
    np.testing.assert_allclose(result["dist_samples"], result["ref_samples"], rtol=0, atol=ATOL)
    moved = 0.0
    for key in weights:
        ref, dist = result[f"ref_{key}"], result[f"dist_{key}"]
        np.testing.assert_allclose(dist, ref, rtol=0, atol=ATOL, err_msg=key)
        moved = max(moved, float(np.max(np.abs(ref - result[f"init_{key}"]))))
    assert moved > 0.05, "training barely moved the weights: the comparison would be vacuous"
    for key in ("step", "g_iterations"):
        assert int(result[f"dist_{key}"]) == int(result[f"ref_{key}"]) == 4
    for key in ("d_loss", "g_loss", "gp"):  # epoch means of the logs: global, not per replica
        np.testing.assert_allclose(result[f"dist_{key}"], result[f"ref_{key}"], rtol=1e-5, atol=1e-6)


# ------------------------------------------------------ equality per backend
@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute runs on the TensorFlow backend")
def test_tensorflow_mirrored_strategy_matches_one_device(tmp_path):
    _assert_same_training(_run([processes.env()], tmp_path / "tf.npz"))


@pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution runs on the JAX backend")
def test_jax_data_parallel_matches_one_device(tmp_path):
    result = _run([processes.env()], tmp_path / "jax.npz")
    assert int(result["dist_weight_devices"]) == 2  # weights really live on 2 devices
    _assert_same_training(result)


@pytest.mark.skipif(BACKEND != "jax", reason="jax.distributed runs on the JAX backend")
def test_jax_two_processes_match_one_device(tmp_path):
    # Two processes with one CPU device each, joined through a coordinator on
    # loopback (gloo collectives); each saves its own state. The reference is
    # trained in a third process: jax.distributed must start before any computation.
    coordinator = f"127.0.0.1:{processes.free_port()}"
    out = str(tmp_path / "jax{rank}.npz")
    argv = [
        ["--devices", "2", "--coordinator", coordinator, "--num-processes", "2", "--process-id", str(i),
         "--out", out, "--timeout", "60"]
        for i in range(2)
    ] + [["--devices", "0", "--reference", "--out", str(tmp_path / "ref.npz")]]
    _run([processes.env(XLA_FLAGS="")] * 3, tmp_path / "none", argv)
    ref = dict(np.load(tmp_path / "ref.npz"))
    results = [dict(np.load(out.format(rank=i))) for i in range(2)]
    for key in [k for k in results[0] if k.startswith("dist_") and k != "dist_seconds"]:
        np.testing.assert_array_equal(results[1][key], results[0][key], err_msg=key)  # replicas agree
    assert int(results[0]["dist_weight_devices"]) == 2  # weights live on both processes' devices
    _assert_same_training({**results[0], **ref})


@pytest.mark.skipif(BACKEND != "jax", reason="jax.distributed runs on the JAX backend")
def test_jax_unreachable_coordinator_fails_within_the_timeout(tmp_path):
    # Process 1 of 2 waits for a coordinator nobody runs.
    argv = ["--devices", "2", "--coordinator", f"127.0.0.1:{processes.free_port()}", "--num-processes", "2",
            "--process-id", "1", "--out", str(tmp_path / "x.npz"), "--timeout", "3"]
    start = time.monotonic()
    proc = subprocess.run([sys.executable, SCRIPT, *argv], env=processes.env(), capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode != 0
    assert "could not join the JAX job at coordinator 127.0.0.1:" in proc.stderr
    assert time.monotonic() - start < 90


@pytest.mark.skipif(BACKEND != "torch", reason="torch.distributed runs on the PyTorch backend")
def test_torch_two_gloo_processes_match_one_device(tmp_path):
    _assert_same_training(_run(processes.torch_ranks(2), tmp_path / "torch.npz"))


# ------------------------------------------------------------- bad input
def test_shard_rejects_a_batch_not_divisible_by_replicas_and_drops_the_remainder(monkeypatch):
    dp = distribute.DataParallel(BACKEND, 2)
    x = np.arange(11 * 2, dtype="float32").reshape(11, 2)
    with pytest.raises(ValueError, match="not divisible by the 2 replicas"):
        dp.shard(x, batch_size=5)
    with pytest.raises(ValueError, match="fewer than one global batch"):
        dp.shard(x, batch_size=12)
    local, batch = dp.shard(x, batch_size=4)  # one process: Keras splits each global batch itself
    assert batch == 4
    np.testing.assert_array_equal(local, x[:8])
    # Two processes (torch ranks, TF workers, JAX hosts): each keeps its half of every global batch.
    dp = distribute.DataParallel(BACKEND, 2, num_processes=2)
    for r, rows in ((0, [0, 1, 4, 5]), (1, [2, 3, 6, 7])):
        monkeypatch.setattr(distribute, "rank", lambda r=r: r)
        local, batch = dp.shard(x, batch_size=4)
        assert batch == 2
        np.testing.assert_array_equal(local, x[rows])


@pytest.mark.parametrize(
    "raw, match",
    [
        ("{not json", "not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', "cluster.worker"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker"}}', "index"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}', r"\[0, 1\)"),
    ],
)
def test_tf_config_missing_fields_are_reported(raw, match):
    with pytest.raises(ValueError, match=match):
        distribute.check_tf_config(raw)


def test_bad_devices_argument():
    for bad in (0, -1, True, "two", []):
        with pytest.raises(ValueError):
            distribute.strategy(devices=bad)


@pytest.mark.skipif(BACKEND == "torch", reason="torch devices are processes (see below)")
def test_more_devices_than_available_is_an_error():
    with pytest.raises(RuntimeError, match="only .* available"):
        distribute.strategy(devices=512)


@pytest.mark.skipif(BACKEND == "tensorflow", reason="the mismatch is a tf strategy on another backend")
def test_tf_strategy_object_on_another_backend_is_rejected():
    tf = pytest.importorskip("tensorflow")
    with pytest.raises(ValueError, match="tf.distribute only drives the TensorFlow backend"):
        distribute.strategy(tf.distribute.get_strategy())


@pytest.mark.skipif(BACKEND != "torch", reason="torch process groups")
def test_torch_needs_torchrun_environment(monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(RuntimeError, match="torchrun --nproc-per-node 2"):
        distribute.strategy(devices=2)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(ValueError, match="MASTER_ADDR"):
        distribute.strategy()


@pytest.mark.skipif(BACKEND != "torch", reason="torch process groups")
def test_torch_unreachable_master_fails_within_the_timeout(monkeypatch):
    # Rank 1 of 2 waits for a master on a free loopback port nobody listens on.
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(processes.free_port()))
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="Could not join the torch process group"):
        with distribute.strategy(timeout=3):
            pass
    assert time.monotonic() - start < 60


# ------------------------------------------------------- rank-0 callbacks
def test_metrics_and_grids_on_two_processes_match_one_device(tmp_path):
    # GANMetrics computes on rank 0 while rank 1 waits in the broadcast of the values;
    # both ranks' History must hold rank 0's numbers, equal to one device's, and
    # SampleGrid must write each PNG once. A deadlock fails through _run's timeout.
    port = str(processes.free_port())
    grids = tmp_path / "grids"
    out = str(tmp_path / "r{rank}.npz")
    if BACKEND == "torch":
        envs = processes.torch_ranks(2)
        argv = [["--out", out, "--grids", str(grids)]] * 2
    elif BACKEND == "tensorflow":  # two MultiWorkerMirroredStrategy workers
        workers = [f"127.0.0.1:{port}", f"127.0.0.1:{processes.free_port()}"]
        envs = [processes.env(TF_CONFIG=json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": r}}))
                for r in range(2)]
        argv = [["--out", out, "--grids", str(grids)]] * 2
    else:
        envs = [processes.env()] * 2
        argv = [["--out", out, "--grids", str(grids), "--coordinator", f"127.0.0.1:{port}",
                 "--num-processes", "2", "--process-id", str(r)] for r in range(2)]
    envs.append(processes.env())  # the one-device reference, in its own process
    argv.append(["--out", str(tmp_path / "ref.npz"), "--grids", str(tmp_path / "ref_grids")])
    _run(envs, tmp_path / "none", argv, script=CALLBACKS_SCRIPT)
    ref = np.load(tmp_path / "ref.npz")
    ranks = [np.load(out.format(rank=r)) for r in range(2)]
    assert int(ranks[0]["processes"]) == 2 and int(ref["processes"]) == 1
    assert len(ref["fid"]) == 2 and ref["fid"][0] != ref["fid"][1]  # the model moved between epochs
    for r in ranks:
        np.testing.assert_array_equal(r["fid"], ranks[0]["fid"])  # rank 1 logs rank 0's values
        np.testing.assert_allclose(r["fid"], ref["fid"], rtol=1e-4)
        np.testing.assert_allclose(r["inception_score"], ref["inception_score"], rtol=1e-4)
        np.testing.assert_allclose(r["samples"], ref["samples"], atol=1e-5)
    assert sorted(os.listdir(grids)) == ["epoch1.png", "epoch2.png"] == sorted(os.listdir(tmp_path / "ref_grids"))



def test_sample_grid_writes_only_on_the_chief(tmp_path, monkeypatch):
    class Model:
        def generate(self, n, seed=0):
            return np.zeros((n, 4, 4, 1), "float32")

    grid = ganzoo.callbacks.SampleGrid(path=str(tmp_path / "e{epoch}.png"), num_samples=4)
    grid.set_model(Model())
    monkeypatch.setattr(distribute, "rank", lambda: 1)
    grid.on_train_begin()
    grid.on_epoch_end(0)
    assert not os.listdir(tmp_path)
    monkeypatch.setattr(distribute, "rank", lambda: 0)
    grid.on_epoch_end(0)
    assert os.listdir(tmp_path) == ["e1.png"]


# ------------------------------------------------------------------- CLI
def test_cli_arguments_default_to_one_replica_and_shard_is_a_noop():
    import argparse

    from ganzoo.commands import train as train_command

    parser = train_command.add_parser(argparse.ArgumentParser().add_subparsers())
    args = parser.parse_args(["ring8-nsgan", "--out", "o"])
    assert args.devices is None and args.distributed is False
    assert parser.parse_args(["ring8-nsgan", "--out", "o", "--devices", "2"]).devices == 2
    x = np.arange(10, dtype="float32")[:, None]
    with distribute.from_cli_args(args) as dp:
        assert dp.num_replicas == 1 and dp.is_chief
        local, batch = dp.shard(x, batch_size=4)
    assert batch == 4
    np.testing.assert_array_equal(local, x[:8])  # the partial last batch is dropped
