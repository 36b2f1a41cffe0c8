"""The TensorFlow backend: `tf.GradientTape`, `tf.cond`, `tf.distribute`.

Gradients come from tapes (nested tapes for double backprop). Data
parallelism is `tf.distribute`: `MirroredStrategy` over the local devices,
or `MultiWorkerMirroredStrategy` for a TF_CONFIG of several workers, whose
`fit` is `ganzoo.backend.tensorflow_multiworker` (Keras 3's fails there,
keras-team/keras#20585). Under a strategy each replica's gradient is its
share `grad(loss) / replicas`: Keras's optimizer sums the shares.

Example:
    >>> w = keras.Variable(2.0)
    >>> loss, aux, (g,) = value_and_grad(lambda: (w * w, {}), [w])  # g == 4
"""

import contextlib
import functools
import os

import keras
import tensorflow as tf

from ganzoo.backend import common
from ganzoo.backend import tensorflow_multiworker
from ganzoo.backend import tf_config

NAME = "tensorflow"

# keras.layers.BatchNormalization(synchronized=True) works here (and only here).
SYNCHRONIZED_BATCHNORM = True

# predict retraces for a new batch size cheaply enough: no padding needed.
COMPILES_PER_BATCH_SIZE = False

# Modules whose strategy objects this backend drives (`ganzoo.distribute.strategy(obj)`).
STRATEGY_MODULES = ("tensorflow",)

__all__ = list(common.API)


# ------------------------------------------------------------ autodiff
def train_step(model, step_fn, *args):
    """Run the stateful `step_fn(data) -> logs` as `model`'s Keras train step.

    Keras calls `train_step(data)` here and variables are updated in place.

    Example:
        >>> def train_step(self, *args):
        ...     return train_step(self, self._train_step, *args)
    """
    (data,) = args
    return step_fn(data)


def value_and_grad(loss_fn, variables):
    """Evaluate `loss_fn() -> (loss, aux)` and its gradient w.r.t. `variables`.

    Under `tf.distribute` the gradient is this replica's share of the
    global-batch mean (`grad / replicas`); unused variables get zeros.

    Example:
        >>> loss, logs, grads = value_and_grad(lambda: (ops.sum(w * x), {}), [w])
    """
    variables = list(variables)
    replicas, _ = replica_info()
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
        # Keras's optimizer sums replicas' gradients: each contributes
        # its share of the global-batch mean.
        target = loss if replicas == 1 else loss / replicas
    grads = tape.gradient(target, variables)
    grads = [keras.ops.zeros_like(v.value) if g is None else g for g, v in zip(grads, variables)]
    return loss, aux, grads


def pullback(fn, variables):
    """`(y, aux, pull)`: `y = fn()[0]` recorded on a tape; `pull(loss_fn)` differentiates through it later.

    `pull` takes d loss / d y on a second tape (this replica's share under
    `tf.distribute`), then the first tape's gradient of `y` with those output
    gradients. See `ganzoo.backend` for the contract.

    Example:
        >>> y, aux, pull = pullback(lambda: (G(z), {}), G.trainable_variables)
        >>> loss, logs, grads = pull(lambda y: (ops.mean(D(y)), {}))
    """
    variables = list(variables)
    replicas, _ = replica_info()
    tape = tf.GradientTape()
    with tape:
        y, aux = fn()

    def pull(loss_fn):
        y_in = tf.stop_gradient(y)
        with tf.GradientTape() as outer:
            outer.watch(y_in)
            loss, aux2 = loss_fn(y_in)
            target = loss if replicas == 1 else loss / replicas
        dy = outer.gradient(target, y_in)
        grads = tape.gradient(y, variables, output_gradients=dy)
        grads = [keras.ops.zeros_like(v.value) if g is None else g for g, v in zip(grads, variables)]
        return loss, aux2, grads

    return y, aux, pull


def input_grad(fn, x):
    """Return `(y, dy_dx)` with `y = fn(x)` and the gradient of `sum(y)` wrt `x`.

    The tape runs inside the caller's tape, so the gradient is itself
    differentiable (double backprop, for gradient penalties).

    Example:
        >>> y, g = input_grad(lambda x: ops.sum(x * x, axis=1), x)  # g == 2 x
    """
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
        total = tf.reduce_sum(tf.cast(y, "float32"))
    return y, tape.gradient(total, x)


def cond(pred, fn):
    """Run the stateful function `fn()` only when the scalar `pred` is true (`tf.cond`).

    Example:
        >>> cond(ops.equal(step % 16, 0), lambda: r1_phase())
    """

    def run():
        fn()
        return tf.constant(True)

    tf.cond(tf.convert_to_tensor(pred), run, lambda: tf.constant(False))


def no_grad():
    """A no-op context: tapes record only what runs inside them.

    Example:
        >>> with no_grad():
        ...     fake = generator(z)
    """
    return contextlib.nullcontext()


def replica_info():
    """`(replicas, replica_id)` of the `tf.distribute` replica context (the id is a tensor).

    Example:
        >>> replicas, rid = replica_info()   # (1, 0) without a strategy
    """
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return 1, 0
    return int(ctx.num_replicas_in_sync), ctx.replica_id_in_sync_group


def cross_replica_sum():
    """The replica context's differentiable SUM all-reduce, or None with one replica.

    Example:
        >>> all_reduce = cross_replica_sum()   # None on one device
        >>> total = x if all_reduce is None else all_reduce(x)
    """
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return None
    return lambda x: ctx.all_reduce(tf.distribute.ReduceOp.SUM, x)


# ------------------------------------------------------------ processes
def local_value(x):
    """`x`: every worker already holds its own copy of mirrored values.

    Example:
        >>> local_value(3.0)
        3.0
    """
    return x


def assign_is_collective():
    """False: assigning a variable on one worker needs no other worker.

    Example:
        >>> assign_is_collective()
        False
    """
    return False


def process_info():
    """`(processes, index)`: the workers of TF_CONFIG, `(1, 0)` without one.

    Example:
        >>> process_info()   # no TF_CONFIG
        (1, 0)
    """
    return tf_config.check_tf_config() or (1, 0)


def broadcast_floats(values):
    """Worker 0's list of floats on every worker (a collective over the multi-worker strategy).

    Without a multi-worker strategy yet nothing reaches the other workers:
    the values are returned as they are.

    Example:
        >>> broadcast_floats([1.5])
        [1.5]
    """
    mwms = _MULTI_WORKER.get(os.environ.get("TF_CONFIG"))
    if mwms is None:
        return [float(v) for v in values]
    (out,) = tensorflow_multiworker.broadcast_from_chief(mwms, [tf.constant(values, tf.float64)])
    return [float(v) for v in out.numpy()]


def simulate_cpu_devices(n):
    """Split the CPU into `n` logical devices; before TensorFlow initialises its devices.

    Example:
        >>> simulate_cpu_devices(2)                       # doctest: +SKIP
    """
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


def initialize_multi_process(coordinator=None, num_processes=None, process_id=None, *, timeout=300):
    """Not used on TensorFlow: workers are described by TF_CONFIG (see `strategy_parts`).

    Example:
        >>> initialize_multi_process("h:1", 2, 0)          # doctest: +SKIP
        Traceback (most recent call last):
        ValueError: ...
    """
    raise ValueError(
        "Joining a job with a coordinator is for the JAX backend; TensorFlow workers read "
        "TF_CONFIG (set it on every worker and call ganzoo.distribute.strategy())."
    )


# ------------------------------------------------------------ strategies
def strategy_parts(devices, timeout):
    """The `DataParallel` arguments for `devices` on TensorFlow, or None for a foreign object.

    `devices`: None (all local devices), an int, a list of device names, or
    a `tf.distribute.Strategy`. A TF_CONFIG of several workers gives a
    `MultiWorkerMirroredStrategy` (built once per process, after a
    rendezvous bounded by `timeout`). Returns
    `{"num_replicas", "mechanism", "num_processes", "process_group"}`.

    Example:
        >>> strategy_parts(None, 60)["num_replicas"]       # doctest: +SKIP
        1
    """
    if devices is not None and not isinstance(devices, (int, list, tuple)):
        if not _is_tf_strategy(devices):
            return None
        return _parts(devices.num_replicas_in_sync, devices)
    parsed = tf_config.check_tf_config()
    if parsed is not None and parsed[0] > 1:
        if devices is not None:
            raise ValueError(
                f"TF_CONFIG describes {parsed[0]} workers: each trains on all its local devices "
                f"(its GPUs, else one CPU); pass devices=None, not {devices!r}."
            )
        return _multi_worker(*parsed, timeout)
    gpus = tf.config.list_logical_devices("GPU")
    available = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    names = common.pick_devices(
        available,
        devices,
        "GPU" if gpus else "CPU",
        "On CPU call ganzoo.distribute.simulate_cpu_devices(N) first.",
    )
    if len(names) == 1:
        # One device: nothing to mirror. MirroredStrategy over a single CPU
        # device measured 4.6x slower per step than no strategy (bench/scaling.py).
        if names[0] == available[0]:
            return _parts(1)
        return _parts(1, tf.distribute.OneDeviceStrategy(names[0]))
    mirrored = tf.distribute.MirroredStrategy(devices=names)
    return _parts(mirrored.num_replicas_in_sync, mirrored)


def distribution_scope(mechanism, process_group):
    """The context that activates a strategy: `mechanism.scope()`, a no-op without one.

    Example:
        >>> with distribution_scope(None, None):
        ...     pass
    """
    return mechanism.scope() if mechanism is not None else contextlib.nullcontext()


def custom_fit(model):
    """`fit(*args, **kwargs)` for `model` when Keras's own `fit` cannot train it, else None.

    Under MultiWorkerMirroredStrategy: `tensorflow_multiworker.fit` bound to
    `model` (keras-team/keras#20585).

    Example:
        >>> fit = custom_fit(gan)                               # doctest: +SKIP
        >>> history = fit(x, batch_size=32) if fit else gan.fit(x, batch_size=32)  # doctest: +SKIP
    """
    if not tensorflow_multiworker.active(model):
        return None
    return functools.partial(tensorflow_multiworker.fit, model)


# ------------------------------------------------------------ metrics
def preferred_data_format():
    """The faster image layout here: NHWC (TensorFlow's CPU convolutions only support NHWC).

    Example:
        >>> preferred_data_format()
        'channels_last'
    """
    return "channels_last"


# ------------------------------------------------------------ layers
# Keras's own transposed convolution was the fastest formulation measured here.
FAST_CONV_TRANSPOSE = None
# Grouped Conv2D (feature_group_count) and its gradients: 60-130x slower here than one ordinary
# convolution per group (R1-style double backprop, 16x16x128, 8 groups: 2.6 s vs 41 ms).
SPLIT_GROUPED_CONV = True
# A fixed separable FIR filter (StyleGAN2/R3GAN resampling) stays a depthwise conv here: as
# shifted slices the r3gan-stacked-digits step fell from 2.9 to 1.5-1.7 steps/s.
FIR_BY_SLICES = False
# Keras's moments + normalization (fused by grappler / XLA) are kept.
FUSED_BATCH_NORM = None


# ------------------------------------------------------------ private
def _parts(num_replicas, mechanism=None, num_processes=1):
    return {"num_replicas": num_replicas, "mechanism": mechanism,
            "num_processes": num_processes, "process_group": None}


def _is_tf_strategy(obj):
    return type(obj).__module__.startswith("tensorflow") and hasattr(obj, "num_replicas_in_sync")


_MULTI_WORKER = {}  # TF_CONFIG -> its strategy: TF sets up collectives once per process


def _multi_worker(num_workers, index, timeout):
    from tensorflow.python.eager import context  # no public "has the runtime started?"

    raw = os.environ["TF_CONFIG"]
    if raw not in _MULTI_WORKER:
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
        tf_config.rendezvous(tf_config.worker_addresses(raw), index, timeout)
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
        _MULTI_WORKER[raw] = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    mwms = _MULTI_WORKER[raw]
    return _parts(mwms.num_replicas_in_sync, mwms, num_workers)
