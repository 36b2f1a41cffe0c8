"""Test helpers for multi-process checks: free ports, a clean environment, a deadline.

Every distributed test runs its workers as subprocesses through `run`, so a
hang fails the test (after `timeout`) instead of stalling CI, and a failed
start kills every worker it launched (SIGKILL to the process group:
TensorFlow catches SIGTERM).

Example:
    >>> port = free_port()
    >>> [(rc, out)] = run([([sys.executable, "-c", "print(1)"], env())], timeout=60, what="demo")
"""

import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import BACKEND

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(**extra):
    """This process's environment for a worker of the current backend, plus `extra`.

    TF_CONFIG is dropped unless `extra` sets it, so a stray one cannot turn a
    single-machine run into a multi-worker one.
    """
    out = dict(os.environ, KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="2")
    out.pop("TF_CONFIG", None)
    out.update(extra)
    out["PYTHONPATH"] = os.pathsep.join([ROOT, out.get("PYTHONPATH", "")])
    return out


def torch_ranks(n=2):
    """Environments of `n` torch ranks joined on a free loopback port (what torchrun sets)."""
    port = str(free_port())
    return [
        env(RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE=str(n), MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
        for r in range(n)
    ]


def run(commands, timeout, what):
    """Start `(argv, env)` processes, wait for all until `timeout` seconds, kill all on failure.

    Returns `[(returncode, output)]`; fails the test (naming `what`) on a timeout.
    """
    procs = [
        subprocess.Popen(
            argv,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # own process group: killed as a whole below
        )
        for argv, environ in commands
    ]
    deadline = time.monotonic() + timeout
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=max(1.0, deadline - time.monotonic()))[0])
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} did not finish within {timeout} s (hang?)")
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    return [(p.returncode, text) for p, text in zip(procs, outputs)]


def run_ok(commands, timeout, what):
    """`run`, asserting that every process exited 0 (its output's tail in the message)."""
    results = run(commands, timeout, what)
    for rc, text in results:
        assert rc == 0, f"{what}: a worker failed ({rc}):\n{text[-4000:]}"
    return results
