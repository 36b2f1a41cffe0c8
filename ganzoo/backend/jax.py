"""The JAX backend: stateless steps, `jax.grad`, `jax.lax.cond`, `keras.distribution`.

ganzoo's losses are written in a "stateful" style (read variables, call
networks, `assign` updates). Here the engine runs the step inside a
`keras.StatelessScope` holding the current value of every variable.
`value_and_grad` differentiates a function that opens a fresh scope mapping
the differentiated variables to the traced arguments; updates made inside
(BatchNorm statistics, seed generators, power-iteration vectors) come back as
auxiliary outputs and are written to the enclosing scope, so nothing leaks
out of a trace.

Data parallelism is `keras.distribution.DataParallel`: one step traced over
the sharded global batch, so reductions over the batch are already global.
Several processes (hosts) join one job with `initialize_multi_process`.

Example:
    >>> w = keras.Variable(2.0)
    >>> loss, aux, (g,) = value_and_grad(lambda: (w * w, {}), [w])  # g == 4
"""

import contextlib
import os
import socket
import sys
import time

import jax
import jax.numpy as jnp
import keras
from keras import StatelessScope
from keras.src.backend.common.stateless_scope import get_stateless_scope

from ganzoo.backend import common

NAME = "jax"

# Keras's synchronized BatchNorm is TensorFlow's; a batch mean is already global here.
SYNCHRONIZED_BATCHNORM = False

# predict compiles once per input shape: callers pad a short last batch to a compiled size.
COMPILES_PER_BATCH_SIZE = True

# Modules whose strategy objects this backend drives (`ganzoo.distribute.strategy(obj)`).
STRATEGY_MODULES = ("keras.src.distribution",)

__all__ = list(common.API)


# ------------------------------------------------------------ XLA:CPU convolutions
# jaxlib 0.10's XLA:CPU hands convolutions to YNNPACK fusions by default. For the window-dilated
# convolution that is a strided conv's kernel gradient, YNNPACK took 98 ms where XLA's own
# convolution takes 31 ms (DCGAN's 4x4 stride-2 conv, 64 -> 128 channels at 32x32, batch 64);
# forward 35 -> 26 ms, input gradient 60 -> 52 ms; the DCGAN-64 train step 0.43 -> 0.52 steps/s
# on a shared 2-core CPU. The flag is read when JAX creates its CPU client (the first
# computation), so importing ganzoo before running JAX code applies it.
_YNN_CONV_FLAG = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"
# jaxlib versions whose XLA knows the flag (an unknown flag aborts XLA; newer ones: measure, then widen).
_YNN_CONV_JAXLIB = ((0, 10), (0, 11))


def _xla_cpu_convolutions():
    """Add `_YNN_CONV_FLAG` to XLA_FLAGS (unless the user set that option) on the jaxlibs that know it."""
    import importlib.metadata

    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_experimental_ynn_fusion_type" in flags:
        return  # the user's choice
    try:
        version = tuple(int(p) for p in importlib.metadata.version("jaxlib").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return
    low, high = _YNN_CONV_JAXLIB
    if low <= version < high:
        os.environ["XLA_FLAGS"] = f"{flags} {_YNN_CONV_FLAG}".strip()


_xla_cpu_convolutions()


# ------------------------------------------------------------ autodiff
def _base_mapping():
    """The enclosing StatelessScope (or None) and a copy of its variable values."""
    outer = get_stateless_scope()
    return outer, (dict(outer.state_mapping) if outer is not None else {})


def train_step(model, step_fn, *args):
    """Run the stateful `step_fn(data) -> logs` as `model`'s Keras train step.

    Keras calls `train_step(state, data)` under `jit`: the step runs in a
    `StatelessScope` holding every variable of the state (trainables,
    non-trainables such as BatchNorm statistics, EMA shadows and seed
    generators, all optimizers' slots, metrics), and the updated values are
    read back from the scope into the returned state.

    Example:
        >>> def train_step(self, *args):
        ...     return train_step(self, self._train_step, *args)
    """
    state, data = args
    groups = (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )
    scope = StatelessScope()
    for variables, values in zip(groups, state):
        scope.state_mapping.update((id(v), value) for v, value in zip(variables, values))
    with scope:
        logs = step_fn(data)
    new_state = tuple([scope.state_mapping[id(v)] for v in variables] for variables in groups)
    return logs, new_state


def _stateless(fn, base, ids, values):
    """Run `fn() -> (out, aux)` with the variables `ids` holding `values` (the rest as in `base`).

    Returns `(out, aux, updates)`: the non-differentiated variables `fn`
    updated (BN statistics, seed generators, ...), to travel out of a
    transformed function as auxiliary outputs.
    """
    # collect_losses: `add_loss` terms (activity regularizers) of the networks
    # called inside reach `net.losses`, so phases can add them.
    scope = StatelessScope(collect_losses=True)
    scope.state_mapping = dict(base)
    scope.state_mapping.update(zip(ids, values))
    with scope:
        out, aux = fn()
    differentiated = set(ids)
    updates = {k: v for k, v in scope.state_mapping.items() if k not in differentiated and v is not base.get(k)}
    return out, aux, updates


def value_and_grad(loss_fn, variables):
    """Evaluate `loss_fn() -> (loss, aux)` and its gradient w.r.t. `variables`.

    Non-differentiated variables the loss updates (BN statistics, seed
    generators) are written back to the enclosing scope.

    Example:
        >>> loss, logs, grads = value_and_grad(lambda: (ops.sum(w * x), {}), [w])
    """
    variables = list(variables)
    outer, base = _base_mapping()
    ids = [id(v) for v in variables]

    def f(values):
        loss, aux, updates = _stateless(loss_fn, base, ids, values)
        return loss, (aux, updates)

    values = [v.value for v in variables]
    (loss, (aux, updates)), grads = jax.value_and_grad(f, has_aux=True)(values)
    if outer is not None:
        outer.state_mapping.update(updates)
    return loss, aux, list(grads)


def pullback(fn, variables):
    """`(y, aux, pull)`: `y = fn()[0]` now, `pull(loss_fn)` its loss's gradient w.r.t. `variables` later.

    `jax.vjp` of `fn` keeps the forward pass; `pull` differentiates
    `loss_fn(y)` w.r.t. `y` with the variables as they are then (D updated
    since) and applies the vjp. Variable updates of both calls are written
    back to the enclosing scope. See `ganzoo.backend` for the contract.

    Example:
        >>> y, aux, pull = pullback(lambda: (G(z), {}), G.trainable_variables)
        >>> loss, logs, grads = pull(lambda y: (ops.mean(D(y)), {}))
    """
    variables = list(variables)
    outer, base = _base_mapping()
    ids = [id(v) for v in variables]

    def f(values):
        y, aux, updates = _stateless(fn, base, ids, values)
        return y, (aux, updates)

    y, vjp, (aux, updates) = jax.vjp(f, [v.value for v in variables], has_aux=True)
    if outer is not None:
        outer.state_mapping.update(updates)

    def pull(loss_fn):
        scope_outer, now = _base_mapping()

        def g(y_in):
            loss, aux2, changed = _stateless(lambda: loss_fn(y_in), now, [], [])
            return loss, (aux2, changed)

        (loss, (aux2, changed)), dy = jax.value_and_grad(g, has_aux=True)(y)
        if scope_outer is not None:
            scope_outer.state_mapping.update(changed)
        (grads,) = vjp(dy)
        return loss, aux2, list(grads)

    return y, aux, pull


def input_grad(fn, x):
    """Return `(y, dy_dx)` with `y = fn(x)` and the gradient of `sum(y)` wrt `x`.

    `jax.grad` inside a copy of the enclosing scope: differentiable again
    (double backprop); variable updates made by `fn` here are dropped.

    Example:
        >>> y, g = input_grad(lambda x: ops.sum(x * x, axis=1), x)  # g == 2 x
    """
    _, base = _base_mapping()

    def f(x):
        inner = StatelessScope()
        inner.state_mapping = dict(base)
        with inner:
            y = fn(x)
        return jnp.sum(y.astype("float32")), y

    g, y = jax.grad(f, has_aux=True)(jnp.asarray(x))
    return y, g


def cond(pred, fn):
    """Run the stateful function `fn()` only when the scalar `pred` is true (`jax.lax.cond`).

    Every variable of the enclosing scope is threaded through both branches.

    Example:
        >>> cond(ops.equal(step % 16, 0), lambda: r1_phase())
    """
    outer = get_stateless_scope()
    if outer is None:  # eager use outside a train step
        if bool(pred):
            fn()
        return
    keys = list(outer.state_mapping)
    values = [outer.state_mapping[k] for k in keys]

    def run(values):
        scope = StatelessScope()
        scope.state_mapping = dict(zip(keys, values))
        with scope:
            fn()
        return [scope.state_mapping[k] for k in keys]

    new_values = jax.lax.cond(pred, run, lambda v: list(v), values)
    outer.state_mapping.update(zip(keys, new_values))


def no_grad():
    """A no-op context: JAX records nothing outside `jax.grad`.

    Example:
        >>> with no_grad():
        ...     fake = generator(z)
    """
    return contextlib.nullcontext()


def replica_info():
    """`(1, 0)`: `DataParallel` traces one global step over the sharded batch.

    Example:
        >>> replica_info()
        (1, 0)
    """
    return 1, 0


def cross_replica_sum():
    """None: reductions over the (global) batch are already global here.

    Example:
        >>> cross_replica_sum() is None
        True
    """
    return None


# ------------------------------------------------------------ processes
def local_value(x):
    """This process's copy of a replicated array (multi-process JAX), else `x`.

    Sampling with local copies needs no other process: rank 0 can make a
    sample grid or compute FID while the others wait, without a deadlock.

    Example:
        >>> z = local_value(gan.generator.trainable_variables[0].value)  # doctest: +SKIP
    """
    if jax.process_count() == 1 or not hasattr(x, "addressable_data"):
        return x
    if not x.is_fully_replicated:
        raise ValueError("local_value() needs a replicated array (a variable), got a sharded one.")
    return x.addressable_data(0)


def assign_is_collective():
    """True with several JAX processes: assigning a replicated variable involves all of them.

    Code that may run on the chief alone (callbacks sampling) must not assign then.

    Example:
        >>> assign_is_collective()   # one process
        False
    """
    return jax.process_count() > 1


def process_info():
    """`(processes, index)` of the JAX job (`(1, 0)` unless `initialize_multi_process` ran).

    Example:
        >>> process_info()
        (1, 0)
    """
    return jax.process_count(), jax.process_index()


def broadcast_floats(values):
    """Process 0's list of floats on every process (a collective).

    Example:
        >>> broadcast_floats([1.5])                        # doctest: +SKIP
        [1.5]
    """
    import numpy as np
    from jax.experimental import multihost_utils

    return [float(v) for v in np.asarray(multihost_utils.broadcast_one_to_all(np.array(values)))]


def simulate_cpu_devices(n):
    """Split the CPU into `n` devices; before JAX initialises its backend.

    Example:
        >>> simulate_cpu_devices(2)                       # doctest: +SKIP
    """
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError as e:
        raise RuntimeError(
            "simulate_cpu_devices must run before JAX initialises its backend (or set "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={n} before Python starts): {e}"
        ) from None


_KERAS_JOB_ENV = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES", "KERAS_DISTRIBUTION_PROCESS_ID")


def initialize_multi_process(coordinator=None, num_processes=None, process_id=None, *, timeout=300):
    """Join a multi-process JAX job (several hosts, or several processes on one).

    Wraps `jax.distributed.initialize` with a bounded wait, then seeds Keras's
    RNG identically on every process (as `keras.distribution.initialize`
    does). Arguments default to Keras's environment variables
    `KERAS_DISTRIBUTION_JOB_ADDRESSES` (the first address is the
    coordinator), `KERAS_DISTRIBUTION_NUM_PROCESSES` and
    `KERAS_DISTRIBUTION_PROCESS_ID`. Must run before JAX computes anything.
    CPU processes talk through gloo.

    Example (run on every host with its own process id):
        >>> initialize_multi_process("10.0.0.1:1234", num_processes=2, process_id=0)  # doctest: +SKIP
    """
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
    common.positive_int(num_processes, "num_processes")
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


# ------------------------------------------------------------ strategies
def strategy_parts(devices, timeout):
    """The `DataParallel` arguments for `devices` on JAX, or None for a foreign object.

    `devices`: None (all devices of the job), an int, a list of devices or
    their names, or a `keras.distribution.DataParallel`. With Keras's job
    environment variables set, the process first joins the job. Returns
    `{"num_replicas", "mechanism", "num_processes", "process_group"}`.

    Example:
        >>> strategy_parts(1, 60)["num_replicas"]
        1
    """
    if devices is not None and not isinstance(devices, (int, list, tuple)):
        if not isinstance(devices, keras.distribution.DataParallel):
            return None
        return _parts(len(devices.device_mesh.devices.reshape(-1)), devices)
    if os.environ.get(_KERAS_JOB_ENV[0]):
        initialize_multi_process(timeout=timeout)
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
        picked = common.pick_devices(
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
        return _parts(1)  # one device: nothing to shard
    dp = keras.distribution.DataParallel(devices=picked)
    if processes > 1:
        dp.auto_shard_dataset = False  # each process already feeds its own rows (shard, training)
    return _parts(len(picked), dp, processes)


@contextlib.contextmanager
def distribution_scope(mechanism, process_group):
    """Make `mechanism` (a `keras.distribution.DataParallel`) the global distribution.

    The previous distribution comes back on exit; a no-op without a mechanism.

    Example:
        >>> with distribution_scope(None, None):
        ...     pass
    """
    if mechanism is None:
        yield
        return
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(mechanism)
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)


def custom_fit(model):
    """None: Keras's own `fit` trains every ganzoo model on JAX.

    Example:
        >>> custom_fit(None) is None
        True
    """
    return None


# ------------------------------------------------------------ metrics
def preferred_data_format():
    """The faster image layout here: NHWC (XLA picks its own internal layout).

    Example:
        >>> preferred_data_format()
        'channels_last'
    """
    return "channels_last"


# ------------------------------------------------------------ layers
def _conv_transpose_adjoint(x, kernel, strides, pads, out_sizes):
    """A transposed convolution (NHWC) whose kernel gradient avoids XLA:CPU's slow path.

    `y[o] = sum x[i] * kernel[j]` over `o = i*s + j - P` (`kernel` in Keras's
    transposed layout `(kh, kw, filters, in)`; `pads` the `(left, right)` edge
    padding of the zero-inserted input, as Keras's JAX backend pads it;
    `out_sizes` the output's spatial size). The forward pass is Keras's
    (`lax.conv_general_dilated` with `lhs_dilation`). The backward uses that
    `y` is the adjoint of the strided convolution `A(g) = conv(g, kernel,
    stride s)`: `dx = A(dy)`, and `dkernel` is `A`'s kernel gradient at
    cotangent `x` (a window-dilated convolution, fast on XLA:CPU), instead of
    the kernel gradient of an `lhs_dilation` convolution (jax#23783:
    about 100x slower on CPU). Differentiable again (reverse mode).

    Example:
        >>> y = _conv_transpose_adjoint(x, w, (2, 2), ((2, 2), (2, 2)), (16, 16))  # x (N, 8, 8, C)
    """
    strides, pads, out_sizes = tuple(strides), tuple(map(tuple, pads)), tuple(out_sizes)
    in_sizes = x.shape[1:3]
    ksizes = kernel.shape[:2]
    # The strided convolution A: offset P = k - 1 - left on the left, and just
    # enough on the right (negative: crop) that A's output has the input's size.
    offsets = [k - 1 - left for k, (left, _) in zip(ksizes, pads)]
    rights = [(i - 1) * s + k - o - p for i, s, k, o, p in zip(in_sizes, strides, ksizes, out_sizes, offsets)]
    numbers = ("NHWC", "HWIO", "NHWC")

    def adjoint(g, w):  # A(g): (N, out_h, out_w, filters) -> (N, in_h, in_w, in)
        g = g[:, : out_sizes[0] + min(rights[0], 0), : out_sizes[1] + min(rights[1], 0)]
        padding = [(p, max(r, 0)) for p, r in zip(offsets, rights)]
        return jax.lax.conv_general_dilated(g, w, strides, padding, dimension_numbers=numbers)

    @jax.custom_vjp
    def conv_transpose(x, w):
        flipped = jnp.flip(jnp.swapaxes(w, 2, 3), (0, 1))  # (kh, kw, in, filters)
        return jax.lax.conv_general_dilated(x, flipped, (1, 1), pads, lhs_dilation=strides,
                                            dimension_numbers=numbers)

    def forward(x, w):
        return conv_transpose(x, w), (x, w)

    def backward(residuals, dy):
        x, w = residuals
        dx = adjoint(dy, w)
        _, kernel_vjp = jax.vjp(lambda w: adjoint(dy, w), w)
        (dw,) = kernel_vjp(x.astype(dy.dtype))
        return dx.astype(x.dtype), dw.astype(w.dtype)

    conv_transpose.defvjp(forward, backward)
    return conv_transpose(x, kernel)


# Keras's Conv2DTranspose kernel gradient is ~100x slow on XLA:CPU: ganzoo's layer uses this.
FAST_CONV_TRANSPOSE = _conv_transpose_adjoint
# XLA:CPU's grouped convolution gradients are 50-60x slower than one ordinary convolution per
# group (R1-style double backprop, 16x16x128, 8 groups: 2.7 s vs 50 ms).
SPLIT_GROUPED_CONV = True
# A fixed separable FIR filter as shifted slices, one axis at a time, not a depthwise conv: R1-style
# double backprop through downsample2d 2.6x faster, upsample2d ~10x; r3gan-stacked-digits
# 0.88 -> 1.68 steps/s.
FIR_BY_SLICES = True
# XLA fuses Keras's moments + normalization into a few loops already.
FUSED_BATCH_NORM = None


# ------------------------------------------------------------ private
def _parts(num_replicas, mechanism=None, num_processes=1):
    return {"num_replicas": num_replicas, "mechanism": mechanism,
            "num_processes": num_processes, "process_group": None}
