"""Data-parallel GAN training: one entry point, the native mechanism per backend.

`strategy()` picks what the current Keras backend offers:

* TensorFlow: `tf.distribute.MirroredStrategy` over the local devices (one
  process). Build and compile inside the `with` block; `fit` splits each
  global batch across replicas. With a TF_CONFIG of several workers (one
  process per machine), `tf.distribute.MultiWorkerMirroredStrategy`: each
  worker feeds its own rows (`shard`) and `GAN.fit` runs the loop of
  `ganzoo.engine.multiworker_tf` (Keras 3 `fit` fails under that strategy,
  keras-team/keras#20585).
* JAX: `keras.distribution.DataParallel` over the devices: the step is
  traced once over the sharded global batch. Several processes (hosts) join
  one job with `initialize_jax` (coordinator address, process count and
  index); each then feeds its own rows of every global batch (`shard`), and
  samples with its own copy of the replicated weights (`local_value`).
* PyTorch: one process per device, launched by `torchrun`; the process group
  is created from torchrun's environment (gloo on CPU, NCCL on GPU). Each
  rank trains on its shard of the data; the train step all-reduces
  gradients (mean) and the first step copies every variable from rank 0.

In every case the engine's losses are means over the global batch, and the
training noise (latents, penalty interpolation weights) of N replicas is the
one-device draw split into N slices, so N devices with global batch B train
exactly like one device with batch B (up to float summation order).

Batch statistics:
* JAX: the step sees the global batch, so BatchNorm, MinibatchStdDev and
  feature matching use global statistics, exactly as on one device.
* TensorFlow and PyTorch: each replica computes on its slice, so BatchNorm
  statistics are per replica by default (tf.distribute's and DDP's default);
  `ganzoo.layers.SyncBatchNormalization` (DCGAN `normalization="sync_batch"`,
  MLP `batchnorm="sync"`) uses the global batch's moments, gradients
  included. Feature matching, MinibatchStdDev and minibatch discrimination
  stay per replica there.
* Noise drawn inside a network's own layers (StyleGAN noise inputs) is not
  sliced per replica.

Limits:
* Multi-worker TensorFlow trains `ganzoo.GAN` models (not plain
  `keras.Model.fit`), without validation data, and needs `strategy()` called
  before any TensorFlow op runs.
* torch: only rank 0 should write files (`is_chief()`); `GANMetrics` and
  `SampleGrid` already do so.

Example (the same script on every backend; with torch launch it with
`torchrun --nproc-per-node 2 train.py`):
    >>> import ganzoo
    >>> with ganzoo.distribute.strategy() as dp:          # doctest: +SKIP
    ...     gan = build_gan(); gan.compile(...)
    ...     x, batch = dp.shard(images, batch_size=64)     # global batch 64
    ...     gan.fit(x, batch_size=batch, epochs=10)
"""

import contextlib
import datetime
import json
import os
import socket
import sys
import time

import keras

def _backend():
    return keras.backend.backend()


# ------------------------------------------------------------ process info
def _process():
    """`(processes, this process's index)` of the current backend's job."""
    backend = _backend()
    if backend == "torch":
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_world_size(), dist.get_rank()
        return 1, int(os.environ.get("RANK", "0"))  # torchrun's rank, before the group exists
    if backend == "jax":
        import jax

        return jax.process_count(), jax.process_index()
    parsed = check_tf_config() if backend == "tensorflow" else None
    return parsed or (1, 0)  # TensorFlow: the workers of TF_CONFIG


def world_size():
    """Number of training processes (1 unless launched multi-process).

    Example:
        >>> world_size()
        1
    """
    return _process()[0]


def rank():
    """Index of this process (0 on the chief); under torchrun also before the group exists.

    Example:
        >>> rank()
        0
    """
    return _process()[1]


def is_chief():
    """True on the process that logs, checkpoints and writes sample grids.

    Example:
        >>> if is_chief():
        ...     gan.save_to_preset("out/preset")          # doctest: +SKIP
    """
    return rank() == 0


def broadcast_floats(values):
    """Rank 0's list of floats, on every process (a no-op with one process).

    Every process must call it (a collective). Callbacks use it so that
    metrics computed on rank 0 reach every rank's logs (EarlyStopping on
    `fid` then stops all ranks together instead of deadlocking).

    Example:
        >>> broadcast_floats([1.5, 2.0])
        [1.5, 2.0]
    """
    values = [float(v) for v in values]
    if world_size() == 1:
        return values
    if _backend() == "jax":
        import numpy as np
        from jax.experimental import multihost_utils

        return [float(v) for v in np.asarray(multihost_utils.broadcast_one_to_all(np.array(values)))]
    if _backend() == "tensorflow":
        import tensorflow as tf

        from ganzoo.engine.multiworker_tf import broadcast_from_chief

        mwms = _TF_MULTI_WORKER.get(os.environ.get("TF_CONFIG"))
        if mwms is None:  # no strategy() yet: nothing to reach the other workers with
            return values
        (out,) = broadcast_from_chief(mwms, [tf.constant(values, tf.float64)])
        return [float(v) for v in out.numpy()]
    if _backend() != "torch":
        return values
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    dist.broadcast(t, src=0)
    return [float(v) for v in t]


# ------------------------------------------------------------ simulation
def simulate_cpu_devices(n):
    """Split the CPU into `n` logical devices (tests and benchmarks).

    Call before TensorFlow or JAX initialise their devices (before any
    tensor is created). PyTorch uses processes instead: see `strategy`.

    Example:
        >>> simulate_cpu_devices(2)                       # doctest: +SKIP
        >>> strategy(devices=2)                           # doctest: +SKIP
    """
    n = _positive_int(n, "n")
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
            )
        except RuntimeError as e:
            raise RuntimeError(
                "simulate_cpu_devices must run before TensorFlow initialises its devices "
                f"(before the first tensor or model is created): {e}"
            ) from None
    elif backend == "jax":
        import jax

        try:
            jax.config.update("jax_num_cpu_devices", n)
        except RuntimeError as e:
            raise RuntimeError(
                "simulate_cpu_devices must run before JAX initialises its backend (or set "
                f"XLA_FLAGS=--xla_force_host_platform_device_count={n} before Python starts): {e}"
            ) from None
    else:
        raise ValueError(
            f"simulate_cpu_devices is for TensorFlow and JAX; with the {backend} backend "
            "launch processes instead (torchrun --nproc-per-node N)."
        )


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return value


# ------------------------------------------------------------ the entry point
class DataParallel:
    """A data-parallel context for the current backend (see `strategy`).

    Attributes:
        backend: the Keras backend.
        num_replicas: devices (TF, JAX) or processes (torch) sharing a batch.
        num_processes: processes feeding data, each its own rows of every
            global batch (torch ranks, TF workers, JAX hosts; 1 on one machine
            with TF or JAX).
        mechanism: the native object (a `tf.distribute.Strategy`, a
            `keras.distribution.DataParallel`) or None (torch).

    Example:
        >>> with strategy(devices=2) as dp:               # doctest: +SKIP
        ...     dp.num_replicas
        2
    """

    def __init__(self, backend, num_replicas, mechanism=None, process_group=None, num_processes=1):
        self.backend = backend
        self.num_replicas = num_replicas
        self.num_processes = num_processes
        self.mechanism = mechanism
        self._process_group = process_group  # torch: (world size, timeout), joined on enter
        self._exit = contextlib.ExitStack()

    def __repr__(self):
        return f"DataParallel(backend={self.backend!r}, num_replicas={self.num_replicas})"

    def __enter__(self):
        if self.backend == "tensorflow" and self.mechanism is not None:
            self._exit.enter_context(self.mechanism.scope())
        elif self.backend == "jax" and self.mechanism is not None:
            previous = keras.distribution.distribution()
            keras.distribution.set_distribution(self.mechanism)
            self._exit.callback(keras.distribution.set_distribution, previous)
        elif self._process_group is not None:
            _torch_init(*self._process_group)
            self._exit.callback(_torch_destroy)
        return self

    def __exit__(self, *exc):
        self._exit.close()
        return False

    @property
    def is_chief(self):
        """True on the process that should log and write files."""
        return is_chief()

    def shard(self, x, batch_size):
        """This process's training data and the `batch_size` to pass to `fit`.

        Args:
            x: a numpy array (or a tuple/list of arrays of equal length) of
                training samples, in the order batches should be drawn.
            batch_size: the *global* batch, split evenly across replicas;
                it must be divisible by `num_replicas`.

        Returns:
            `(x_local, fit_batch_size)`. Samples past the last whole global
            batch are dropped (every replica must run the same number of
            steps). With one process (TF, JAX on one machine) that is the
            global batch (Keras splits it); with several (torch ranks, TF
            workers, JAX hosts) process r gets its rows of every global batch
            and `batch_size / num_processes`.

        Example:
            >>> x, batch = dp.shard(images, batch_size=64)  # doctest: +SKIP
            >>> gan.fit(x, batch_size=batch, shuffle=False)  # doctest: +SKIP
        """
        import numpy as np

        batch_size = _positive_int(batch_size, "batch_size")
        if hasattr(x, "element_spec"):
            raise TypeError(
                "shard() takes numpy arrays. A tf.data.Dataset can go to fit directly on "
                "TensorFlow and JAX, batched by the global batch; under torch give each rank "
                "dataset.shard(ganzoo.distribute.world_size(), ganzoo.distribute.rank()) batched "
                "by batch_size / world_size, with the same number of batches on every rank."
            )
        n = self.num_replicas
        if batch_size % n:
            raise ValueError(
                f"The global batch size {batch_size} is not divisible by the {n} replicas; "
                f"use a multiple of {n} (e.g. {batch_size - batch_size % n or n})."
            )
        arrays = list(x) if isinstance(x, (tuple, list)) else [x]
        arrays = [np.asarray(a) for a in arrays]
        length = len(arrays[0])
        if any(len(a) != length for a in arrays):
            raise ValueError(f"shard() got arrays of different lengths {[len(a) for a in arrays]}.")
        steps = length // batch_size
        if steps == 0:
            raise ValueError(
                f"shard() got {length} samples, fewer than one global batch of {batch_size}."
            )
        procs = self.num_processes
        local = batch_size // procs
        out = []
        for a in arrays:
            a = a[: steps * batch_size]
            if procs > 1:
                a = a.reshape(steps, procs, local, *a.shape[1:])[:, rank()].reshape(-1, *a.shape[1:])
            out.append(a)
        return (out[0] if not isinstance(x, (tuple, list)) else type(x)(out)), local


def strategy(devices=None, *, timeout=1800):
    """The data-parallel context for the current Keras backend.

    Args:
        devices: None (all local devices; under torch, the processes
            `torchrun` started), an int N (the first N devices; under torch
            the launched world size must be N), a list of device names (TF,
            JAX), or a native object of the current backend
            (`tf.distribute.MirroredStrategy`, `keras.distribution.DataParallel`).
        timeout: seconds (torch, multi-worker TensorFlow) to wait for the
            other processes, when joining the group and in every collective
            (rank 0 computing FID while the others wait counts), before
            failing with an error instead of hanging. torch's default is 30
            minutes too.

    Returns:
        a `DataParallel`; use it as a context manager around building,
        compiling and fitting the model.

    Raises:
        ValueError: bad `devices`, a strategy object of another backend, a
            malformed TF_CONFIG, `devices` with a multi-worker TF_CONFIG,
            missing torchrun variables.
        RuntimeError: fewer devices than asked; a TF_CONFIG worker or the
            torch master unreachable within `timeout`; multi-worker
            TensorFlow asked for after a TensorFlow op ran.

    Example:
        >>> with ganzoo.distribute.strategy(devices=2) as dp:   # doctest: +SKIP
        ...     gan = ganzoo.GAN(G, D, latent_dim=64); gan.compile()
        ...     gan.fit(*dp.shard(x, batch_size=64), epochs=1)
    """
    backend = _backend()
    _check_foreign(devices, backend)
    if devices is not None and not isinstance(devices, (int, list, tuple)) or isinstance(devices, bool):
        if backend == "tensorflow" and _is_tf_strategy(devices):
            return DataParallel(backend, devices.num_replicas_in_sync, devices)
        if backend == "jax" and isinstance(devices, keras.distribution.DataParallel):
            return DataParallel(backend, len(devices.device_mesh.devices.reshape(-1)), devices)
        raise ValueError(
            f"devices must be None, a positive int, a list of device names or a native "
            f"strategy of the {backend} backend; got {devices!r}."
        )
    if isinstance(devices, int):
        _positive_int(devices, "devices")
    if isinstance(devices, (list, tuple)) and not devices:
        raise ValueError("devices is an empty list; pass None for all devices.")
    if backend == "tensorflow":
        return _tf_strategy(devices, timeout)
    if backend == "jax":
        return _jax_strategy(devices, timeout)
    if backend == "torch":
        return _torch_strategy(devices, timeout)
    raise RuntimeError(f"ganzoo.distribute does not support the Keras backend {backend!r}.")


def _is_tf_strategy(obj):
    return type(obj).__module__.startswith("tensorflow") and hasattr(obj, "num_replicas_in_sync")


def _check_foreign(obj, backend):
    if obj is None or isinstance(obj, (int, list, tuple)):
        return
    module = type(obj).__module__
    if module.startswith("tensorflow") and backend != "tensorflow":
        raise ValueError(
            f"Got a tf.distribute strategy ({type(obj).__name__}) but the Keras backend is "
            f"{backend!r}; tf.distribute only drives the TensorFlow backend. Set "
            "KERAS_BACKEND=tensorflow, or pass devices=N and let ganzoo pick the "
            f"{backend} mechanism."
        )
    if module.startswith("keras.src.distribution") and backend != "jax":
        raise ValueError(
            f"Got a keras.distribution {type(obj).__name__} but the Keras backend is {backend!r}; "
            "keras.distribution runs on JAX only. Pass devices=N instead."
        )


def _pick_devices(available, devices, kind, hint):
    if devices is None:
        return list(available)
    if isinstance(devices, int):
        if devices > len(available):
            raise RuntimeError(
                f"Asked for {devices} devices but only {len(available)} {kind} device(s) are "
                f"available: {list(available)}. {hint}"
            )
        return list(available)[:devices]
    return list(devices)


# ------------------------------------------------------------ TensorFlow
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


def _tf_strategy(devices, timeout):
    import tensorflow as tf

    parsed = check_tf_config()
    if parsed is not None and parsed[0] > 1:
        if devices is not None:
            raise ValueError(
                f"TF_CONFIG describes {parsed[0]} workers: each trains on all its local devices "
                f"(its GPUs, else one CPU); pass devices=None, not {devices!r}."
            )
        return _tf_multi_worker(*parsed, timeout)
    gpus = tf.config.list_logical_devices("GPU")
    available = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    names = _pick_devices(
        available,
        devices,
        "GPU" if gpus else "CPU",
        "On CPU call ganzoo.distribute.simulate_cpu_devices(N) first.",
    )
    if len(names) == 1:
        # One device: nothing to mirror. MirroredStrategy over a single CPU
        # device measured 4.6x slower per step than no strategy (bench/scaling.py).
        if names[0] == available[0]:
            return DataParallel("tensorflow", 1)
        return DataParallel("tensorflow", 1, tf.distribute.OneDeviceStrategy(names[0]))
    mirrored = tf.distribute.MirroredStrategy(devices=names)
    return DataParallel("tensorflow", mirrored.num_replicas_in_sync, mirrored)


_TF_MULTI_WORKER = {}  # TF_CONFIG -> its strategy: TF sets up collectives once per process


def _tf_multi_worker(num_workers, index, timeout):
    import tensorflow as tf
    from tensorflow.python.eager import context

    raw = os.environ["TF_CONFIG"]
    if raw not in _TF_MULTI_WORKER:
        timeout = float(timeout)
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}.")
        # TF sets up collectives when its runtime starts (the first op); after
        # that MultiWorkerMirroredStrategy() fails. Checked before the
        # rendezvous, so that the other workers are not left waiting.
        if getattr(context.context(), "_context_handle", None) is not None:
            raise RuntimeError(
                "Multi-worker TensorFlow (TF_CONFIG) must be set up before any TensorFlow op "
                "runs: call ganzoo.distribute.strategy() first, before building models or "
                "creating tensors."
            )
        _tf_rendezvous(json.loads(raw)["cluster"]["worker"], index, timeout)
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
        _TF_MULTI_WORKER[raw] = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=options
        )
    mwms = _TF_MULTI_WORKER[raw]
    return DataParallel("tensorflow", mwms.num_replicas_in_sync, mwms, num_processes=num_workers)


_HELLO = b"ganzoo-tf-worker "


def _tf_rendezvous(addresses, index, timeout):
    """Return once every worker of TF_CONFIG has started; raise after `timeout` s.

    TensorFlow's own start-up waits forever for a missing worker (measured:
    every worker blocks inside MultiWorkerMirroredStrategy(), where the
    runtime starts and joins the cluster). So first, worker 0 listens on its
    TF_CONFIG port (TF binds it only later) and the others connect to it;
    all go on once all are there.
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


# ------------------------------------------------------------ JAX
_KERAS_JOB_ENV = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES", "KERAS_DISTRIBUTION_PROCESS_ID")


def initialize_jax(coordinator=None, num_processes=None, process_id=None, *, timeout=300):
    """Join a multi-process JAX job (several hosts, or several processes on one).

    Wraps `jax.distributed.initialize` with a bounded wait, then seeds Keras's
    RNG identically on every process (as `keras.distribution.initialize`
    does). Arguments default to Keras's environment variables
    `KERAS_DISTRIBUTION_JOB_ADDRESSES` (the first address is the
    coordinator), `KERAS_DISTRIBUTION_NUM_PROCESSES` and
    `KERAS_DISTRIBUTION_PROCESS_ID`. Must run before JAX computes anything.
    CPU processes talk through gloo.

    Args:
        coordinator: "host:port" of process 0, reachable by every process.
        num_processes: processes in the job.
        process_id: this process's index in [0, num_processes).
        timeout: seconds to wait for the coordinator and the other
            processes before failing (instead of hanging).

    Example (run on every host with its own process id):
        >>> initialize_jax("10.0.0.1:1234", num_processes=2, process_id=0)  # doctest: +SKIP
        >>> with strategy() as dp: ...                                    # doctest: +SKIP
    """
    import jax

    if coordinator is None and os.environ.get(_KERAS_JOB_ENV[0]):
        coordinator = os.environ[_KERAS_JOB_ENV[0]].split(",")[0].strip()
    if num_processes is None and os.environ.get(_KERAS_JOB_ENV[1]):
        num_processes = int(os.environ[_KERAS_JOB_ENV[1]])
    if process_id is None and os.environ.get(_KERAS_JOB_ENV[2]):
        process_id = int(os.environ[_KERAS_JOB_ENV[2]])
    missing = [k for k, v in (("coordinator", coordinator), ("num_processes", num_processes),
                              ("process_id", process_id)) if v is None]
    if missing:
        raise ValueError(
            f"Multi-process JAX needs {missing}: pass them (ganzoo train --coordinator HOST:PORT "
            "--num-processes N --process-id I) or set KERAS_DISTRIBUTION_JOB_ADDRESSES, "
            "KERAS_DISTRIBUTION_NUM_PROCESSES and KERAS_DISTRIBUTION_PROCESS_ID."
        )
    _positive_int(num_processes, "num_processes")
    if isinstance(process_id, bool) or not isinstance(process_id, int) or not 0 <= process_id < num_processes:
        raise ValueError(f"process_id must be in [0, {num_processes}), got {process_id!r}.")
    if ":" not in str(coordinator):
        raise ValueError(f"coordinator must be 'host:port', got {coordinator!r}.")
    if jax.distributed.is_initialized():
        if (jax.process_count(), jax.process_index()) != (num_processes, process_id):
            raise RuntimeError(
                f"JAX already runs as process {jax.process_index()} of {jax.process_count()}, "
                f"not {process_id} of {num_processes}."
            )
        return
    unreachable = (
        f"Process {process_id} of {num_processes} could not join the JAX job at coordinator "
        f"{coordinator} within {timeout:g} s. Check that every process was started with the same "
        "coordinator address and that it is reachable."
    )
    deadline = time.monotonic() + timeout
    if process_id != 0 and not _wait_for_port(coordinator, deadline):
        # JAX aborts the whole process (a C++ check failure) when the coordinator never
        # answers; a plain TCP probe first turns that into an exception.
        raise RuntimeError(unreachable)
    # Process 0 runs the coordinator and waits for the others; if they never come, JAX
    # aborts after the timeout, so say what was awaited before it does.
    print(f"ganzoo: joining the JAX job at {coordinator} as process {process_id} of {num_processes} "
          f"(waiting up to {timeout:g} s for the others)", file=sys.stderr, flush=True)
    # CPU collectives across processes (asking for the backend here would start it too early).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(
            coordinator, num_processes=num_processes, process_id=process_id,
            initialization_timeout=max(1, int(deadline - time.monotonic())),
        )
    except Exception as e:  # RuntimeError when JAX already computed something
        text = str(e).splitlines()[0][:300]
        if "before any JAX" in text:
            raise RuntimeError(
                "initialize_jax must run before JAX computes anything (before building a model "
                f"or creating a tensor): {text}"
            ) from None
        raise RuntimeError(f"{unreachable} ({type(e).__name__}: {text})") from None
    from keras.src.backend.jax import distribution_lib as keras_jax_dist  # no public hook for this

    keras_jax_dist.initialize_rng()  # the same global seed on every process


def _wait_for_port(address, deadline):
    """True once something accepts TCP connections at "host:port", False at `deadline`."""
    host, port = address.rsplit(":", 1)
    while True:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.25)


def _jax_multi_requested():
    return bool(os.environ.get(_KERAS_JOB_ENV[0]))


def _jax_strategy(devices, timeout=300):
    import jax

    if _jax_multi_requested():
        initialize_jax(timeout=timeout)
    available = jax.devices()  # every process's devices once jax.distributed is up
    processes = jax.process_count()
    if processes > 1 and isinstance(devices, (list, tuple)):
        raise ValueError("With several JAX processes pass devices=None (all) or their total count.")
    if isinstance(devices, (list, tuple)):
        by_name = {str(d): d for d in available}
        unknown = [d for d in devices if not hasattr(d, "platform") and str(d) not in by_name]
        if unknown:
            raise ValueError(f"Unknown JAX devices {unknown}; available: {list(by_name)}.")
        picked = [d if hasattr(d, "platform") else by_name[str(d)] for d in devices]
    else:
        picked = _pick_devices(
            available,
            devices,
            available[0].platform.upper(),
            "On CPU call ganzoo.distribute.simulate_cpu_devices(N) before JAX starts, or set "
            "XLA_FLAGS=--xla_force_host_platform_device_count=N.",
        )
    if processes > 1 and len(picked) != len(available):
        raise ValueError(
            f"With {processes} JAX processes every device takes part: devices={devices!r} but the "
            f"job has {len(available)} devices."
        )
    if len(picked) == 1 and picked[0] == available[0]:
        return DataParallel("jax", 1)  # one device: nothing to shard
    dp = keras.distribution.DataParallel(devices=picked)
    if processes > 1:
        dp.auto_shard_dataset = False  # each process already feeds its own rows (shard, training)
    return DataParallel("jax", len(picked), dp, num_processes=processes)


def _multi_process_jax():
    return _backend() == "jax" and world_size() > 1


def local_value(x):
    """This process's copy of a replicated array (JAX multi-process), else `x`.

    Sampling with local copies needs no other process: rank 0 can make a
    sample grid or compute FID while the others wait, without a deadlock.

    Example:
        >>> z = local_value(gan.generator.trainable_variables[0].value)  # doctest: +SKIP
    """
    if not _multi_process_jax() or not hasattr(x, "addressable_data"):
        return x
    if not x.is_fully_replicated:
        raise ValueError("local_value() needs a replicated array (a variable), got a sharded one.")
    return x.addressable_data(0)


# ------------------------------------------------------------ PyTorch
_TORCH_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def _torch_strategy(devices, timeout):
    if isinstance(devices, (list, tuple)):
        raise ValueError(
            "With the torch backend devices are processes: pass an int (the world size "
            "torchrun launched) or None."
        )
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        world = dist.get_world_size()
        if devices is not None and devices != world:
            raise ValueError(f"devices={devices} but the process group has {world} processes.")
        return DataParallel("torch", world, num_processes=world)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1 and devices in (None, 1):
        return DataParallel("torch", 1)
    if devices is not None and devices != world:
        raise RuntimeError(
            f"devices={devices} with the torch backend needs {devices} processes; launch with "
            f"`torchrun --nproc-per-node {devices} your_script.py` (WORLD_SIZE is {world})."
        )
    missing = [k for k in _TORCH_ENV if k not in os.environ]
    if missing:
        raise ValueError(
            f"torch multi-process training needs {missing} in the environment (torchrun sets "
            "them); launch with `torchrun --nproc-per-node N your_script.py`."
        )
    timeout = float(timeout)
    if timeout <= 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout}.")
    return DataParallel("torch", world, process_group=(world, timeout), num_processes=world)


def _torch_init(world, timeout):
    import torch
    import torch.distributed as dist

    pg_backend = "nccl" if torch.cuda.is_available() else "gloo"
    if pg_backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    address = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
    try:
        dist.init_process_group(
            pg_backend,
            rank=int(os.environ["RANK"]),
            world_size=world,
            timeout=datetime.timedelta(seconds=timeout),
        )
    except Exception as e:  # torch raises DistStoreError / RuntimeError / ValueError
        raise RuntimeError(
            f"Could not join the torch process group at {address} (rank {os.environ['RANK']} of "
            f"{world}) within {timeout:g} s: {type(e).__name__}: {e}. Check that every process "
            "was started and that MASTER_ADDR/MASTER_PORT are reachable."
        ) from None


def _torch_destroy():
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


# ------------------------------------------------------------ CLI
def from_cli_args(args):
    """The context `ganzoo train` runs in: a `DataParallel`, or a no-op context.

    Example:
        >>> with from_cli_args(args) as dp:                 # doctest: +SKIP
        ...     gan = build(); gan.compile(); gan.fit(*dp.shard(x, 64))
    """
    devices = getattr(args, "devices", None)
    if devices is None and not getattr(args, "distributed", False):
        return DataParallel(_backend(), 1)
    return strategy(devices=devices)
