"""TF_CONFIG: parsing, validation and the workers' start-up rendezvous.

Pure Python (no TensorFlow import), so `ganzoo.distribute.check_tf_config`
works on every backend; `ganzoo.backend.tensorflow` builds the multi-worker
strategy over it.

Example:
    >>> check_tf_config('{"cluster": {"worker": ["127.0.0.1:2222"]}, '
    ...                 '"task": {"type": "worker", "index": 0}}')
    (1, 0)
"""

import json
import os
import socket
import time


def check_tf_config(raw=None):
    """Parse and validate TF_CONFIG; returns `(num_workers, task_index)` or None if unset.

    Example:
        >>> check_tf_config('{"cluster": {"worker": ["127.0.0.1:2222"]}, '
        ...                 '"task": {"type": "worker", "index": 0}}')
        (1, 0)
    """
    raw = os.environ.get("TF_CONFIG") if raw is None else raw
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e}): {raw!r}") from None
    workers = (config.get("cluster") or {}).get("worker")
    if not isinstance(workers, list) or not workers:
        raise ValueError(
            "TF_CONFIG needs cluster.worker, a non-empty list of 'host:port' addresses, e.g. "
            '{"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}, '
            f'"task": {{"type": "worker", "index": 0}}}}; got {raw!r}'
        )
    task = config.get("task") or {}
    if "type" not in task or "index" not in task:
        missing = [k for k in ("type", "index") if k not in task]
        raise ValueError(f"TF_CONFIG task lacks {missing}: it needs {{'type': 'worker', 'index': i}}.")
    index = task["index"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(workers):
        raise ValueError(f"TF_CONFIG task.index must be in [0, {len(workers)}), got {index!r}.")
    return len(workers), index


def worker_addresses(raw=None):
    """The `cluster.worker` addresses of TF_CONFIG (validated), or [] if unset.

    Example:
        >>> worker_addresses('{"cluster": {"worker": ["h:1", "h:2"]}, '
        ...                  '"task": {"type": "worker", "index": 1}}')
        ['h:1', 'h:2']
    """
    raw = os.environ.get("TF_CONFIG") if raw is None else raw
    if check_tf_config(raw) is None:
        return []
    return list(json.loads(raw)["cluster"]["worker"])


_HELLO = b"ganzoo-tf-worker "


def rendezvous(addresses, index, timeout):
    """Return once every worker of TF_CONFIG has started; raise after `timeout` s.

    TensorFlow's own start-up waits forever for a missing worker (measured:
    every worker blocks inside MultiWorkerMirroredStrategy(), where the
    runtime starts and joins the cluster). So first, worker 0 listens on its
    TF_CONFIG port (TF binds it only later) and the others connect to it;
    all go on once all are there.

    Example (on every worker, before building the strategy):
        >>> rendezvous(["127.0.0.1:2222", "127.0.0.1:2223"], 0, 60)  # doctest: +SKIP
    """
    deadline = time.monotonic() + timeout
    host, port = addresses[0].rsplit(":", 1)
    host, port = host.strip("[]"), int(port)

    def fail(waiting_for):
        raise RuntimeError(
            f"TensorFlow worker {index} of {len(addresses)} waited {timeout:g} s for "
            f"{waiting_for} (TF_CONFIG cluster.worker = {addresses}). Start the same program on "
            "every worker of TF_CONFIG, check that the addresses are reachable, or raise "
            "`timeout`."
        )

    if index != 0:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"worker 0 at {addresses[0]}")
            try:
                conn = socket.create_connection((host, port), timeout=min(left, 2.0))
            except OSError:
                time.sleep(min(0.2, left))
                continue
            with conn:
                try:
                    conn.sendall(_HELLO + str(index).encode())
                    conn.settimeout(max(deadline - time.monotonic(), 0.01))
                    if conn.recv(2) == b"go":
                        return
                except socket.timeout:
                    fail(f"the other workers (worker 0 at {addresses[0]} is up)")
                except OSError:
                    pass
            time.sleep(0.2)  # worker 0 went away (restarted?): try again

    joined = {}
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind(("", port))
        except OSError as e:
            raise RuntimeError(f"TensorFlow worker 0 cannot listen on port {port}: {e}") from None
        server.listen(len(addresses))
        try:
            while len(joined) < len(addresses) - 1:
                server.settimeout(max(deadline - time.monotonic(), 0.01))
                try:
                    conn, _ = server.accept()
                except socket.timeout:
                    fail(f"workers {[a for i, a in enumerate(addresses) if i and i not in joined]}")
                conn.settimeout(5)
                try:
                    hello = conn.recv(64)
                except OSError:
                    hello = b""
                worker = hello[len(_HELLO) :]
                if not (hello.startswith(_HELLO) and worker.isdigit()):
                    conn.close()  # not a ganzoo worker
                    continue
                if int(worker) in joined:  # that worker restarted: keep its new connection
                    joined.pop(int(worker)).close()
                joined[int(worker)] = conn
            for conn in joined.values():
                try:
                    conn.sendall(b"go")
                    conn.recv(1)  # they close first: no TIME_WAIT left on TF's port
                except OSError:
                    pass
        finally:
            for conn in joined.values():
                conn.close()
