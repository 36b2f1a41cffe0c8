"""Data-parallel GAN training: one entry point, the native mechanism per backend.

`strategy()` picks what the current Keras backend offers:

* TensorFlow: `tf.distribute.MirroredStrategy` over the local devices (one
  process). Build and compile inside the `with` block; `fit` splits each
  global batch across replicas. With a TF_CONFIG of several workers (one
  process per machine), `tf.distribute.MultiWorkerMirroredStrategy`: each
  worker feeds its own rows (`shard`) and `GAN.fit` runs the loop of
  `ganzoo.backend.tensorflow_multiworker` (Keras 3 `fit` fails under that strategy,
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

This module is backend-neutral: the mechanisms live in `ganzoo.backend`
(`strategy_parts`, `distribution_scope`, `process_info`, `broadcast_floats`,
...); here are the user-facing checks and the data sharding.

Example (the same script on every backend; with torch launch it with
`torchrun --nproc-per-node 2 train.py`):
    >>> import ganzoo
    >>> with ganzoo.distribute.strategy() as dp:          # doctest: +SKIP
    ...     gan = build_gan(); gan.compile(...)
    ...     x, batch = dp.shard(images, batch_size=64)     # global batch 64
    ...     gan.fit(x, batch_size=batch, epochs=10)
"""

import contextlib

from ganzoo import backend
from ganzoo.backend.common import positive_int as _positive_int
from ganzoo.backend.tf_config import check_tf_config  # noqa: F401  (public: validates TF_CONFIG)


# ------------------------------------------------------------ process info
def world_size():
    """Number of training processes (1 unless launched multi-process).

    Example:
        >>> world_size()
        1
    """
    return backend.process_info()[0]


def rank():
    """Index of this process (0 on the chief); under torchrun also before the group exists.

    Example:
        >>> rank()
        0
    """
    return backend.process_info()[1]


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
    return backend.broadcast_floats(values)


def local_value(x):
    """This process's copy of a replicated array (JAX multi-process), else `x`.

    Sampling with local copies needs no other process: rank 0 can make a
    sample grid or compute FID while the others wait, without a deadlock.

    Example:
        >>> z = local_value(gan.generator.trainable_variables[0].value)  # doctest: +SKIP
    """
    return backend.local_value(x)


# ------------------------------------------------------------ simulation
def simulate_cpu_devices(n):
    """Split the CPU into `n` logical devices (tests and benchmarks).

    Call before TensorFlow or JAX initialise their devices (before any
    tensor is created). PyTorch uses processes instead: see `strategy`.

    Example:
        >>> simulate_cpu_devices(2)                       # doctest: +SKIP
        >>> strategy(devices=2)                           # doctest: +SKIP
    """
    backend.simulate_cpu_devices(_positive_int(n, "n"))


def initialize_jax(coordinator=None, num_processes=None, process_id=None, *, timeout=300):
    """Join a multi-process JAX job (`ganzoo.backend.jax.initialize_multi_process`).

    Arguments default to Keras's `KERAS_DISTRIBUTION_*` variables; must run
    before JAX computes anything. Other backends raise a ValueError
    (TensorFlow workers read TF_CONFIG; torch uses torchrun).

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
    backend.initialize_multi_process(coordinator, num_processes, process_id, timeout=timeout)


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
        self._exit.enter_context(backend.distribution_scope(self.mechanism, self._process_group))
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
    _check_foreign(devices)
    native = devices is not None and not isinstance(devices, (int, list, tuple))
    if native or isinstance(devices, bool):
        parts = None if isinstance(devices, bool) else backend.strategy_parts(devices, timeout)
        if parts is None:
            raise ValueError(
                f"devices must be None, a positive int, a list of device names or a native "
                f"strategy of the {backend.NAME} backend; got {devices!r}."
            )
        return DataParallel(backend.NAME, **parts)
    if isinstance(devices, int):
        _positive_int(devices, "devices")
    if isinstance(devices, (list, tuple)) and not devices:
        raise ValueError("devices is an empty list; pass None for all devices.")
    return DataParallel(backend.NAME, **backend.strategy_parts(devices, timeout))


# Strategy objects that only one backend drives: module prefix -> what to say elsewhere.
_FOREIGN = {
    "tensorflow": (
        "Got a tf.distribute strategy ({kind}) but the Keras backend is {backend!r}; "
        "tf.distribute only drives the TensorFlow backend. Set KERAS_BACKEND=tensorflow, "
        "or pass devices=N and let ganzoo pick the {backend} mechanism."
    ),
    "keras.src.distribution": (
        "Got a keras.distribution {kind} but the Keras backend is {backend!r}; "
        "keras.distribution runs on JAX only. Pass devices=N instead."
    ),
}


def _check_foreign(obj):
    if obj is None or isinstance(obj, (int, list, tuple)):
        return
    module = type(obj).__module__
    for prefix, message in _FOREIGN.items():
        if module.startswith(prefix) and prefix not in backend.STRATEGY_MODULES:
            raise ValueError(message.format(kind=type(obj).__name__, backend=backend.NAME))


# ------------------------------------------------------------ CLI
def from_cli_args(args, batch_size=None):
    """The context `ganzoo train` runs in: a `DataParallel`, or a no-op context.

    With `batch_size` (the global batch), a batch that the replicas cannot
    split evenly is a one-line ValueError here, before anything is built
    (`ganzoo train` checks `--devices N` earlier still, before the backend
    loads; this catches `--distributed` on all devices and torchrun worlds).

    Example:
        >>> with from_cli_args(args, batch_size=64) as dp:  # doctest: +SKIP
        ...     gan = build(); gan.compile(); gan.fit(*dp.shard(x, 64))
    """
    devices = getattr(args, "devices", None)
    if devices is None and not getattr(args, "distributed", False):
        return DataParallel(backend.NAME, 1)
    dp = strategy(devices=devices)
    check_batch_split(batch_size, dp.num_replicas)
    return dp


def check_batch_split(batch_size, num_replicas):
    """Raise a one-line ValueError when `batch_size` is not divisible by `num_replicas` (None: no check).

    Example:
        >>> check_batch_split(64, 4)
        >>> check_batch_split(64, 3)
        Traceback (most recent call last):
        ValueError: batch size 64 is not divisible by 3 devices; use --batch-size 63 or 66, or --devices 2/4
    """
    from ganzoo.utils.batching import batch_split_error  # framework-free: the CLI checks it before Keras loads

    message = None if batch_size is None else batch_split_error(int(batch_size), int(num_replicas))
    if message:
        raise ValueError(message)
