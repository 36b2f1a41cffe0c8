"""The PyTorch backend: `torch.autograd`, eager control flow, `torch.distributed`.

Gradients come from `torch.autograd.grad` (`create_graph=True` for
penalties). Data parallelism is one process per device (launched by
`torchrun`) in a gloo (CPU) or NCCL (GPU) process group. The train step
all-reduces gradients itself (mean; DDP's reducer breaks with double
backprop, pytorch#63812), the first step copies every variable from rank 0
and the step's metric updates are averaged over ranks.

Example:
    >>> w = keras.Variable(2.0)
    >>> loss, aux, (g,) = value_and_grad(lambda: (w * w, {}), [w])  # g == 4
"""

import contextlib
import datetime
import os

import keras
import torch
import torch.distributed as dist

from ganzoo.backend import common, torch_conv

NAME = "torch"

# Keras's synchronized BatchNorm is TensorFlow's: SyncBatchNormalization all-reduces itself.
SYNCHRONIZED_BATCHNORM = False

# Eager: a new batch size costs nothing, so no padding.
COMPILES_PER_BATCH_SIZE = False

# No strategy objects: torch data parallelism is processes (`ganzoo.distribute.strategy(N)`).
STRATEGY_MODULES = ()

__all__ = list(common.API)


# ------------------------------------------------------------ Keras conv workaround
def _contiguous_single_filter_half_kernels():
    """Keep half-precision CPU tensors with one leading row out of channels-last memory in Keras's convs.

    Keras 3.15 stores conv inputs and kernels channels-last. In bf16/fp16 on a
    CPU without native bf16 (AVX2, e.g. AMD EPYC), torch 2.13's fallback
    `slow_conv2d` then fails the backward of a one-filter conv (DCGAN's logit,
    PatchGAN's head) with "grad_weight must be contiguous". Plain-contiguous
    memory gives the same numbers; other tensors keep Keras's choice.
    """
    try:
        from keras.src.backend.torch import nn as keras_torch_nn
    except ImportError:
        return
    original = getattr(keras_torch_nn, "_maybe_convert_to_channels_last", None)
    if original is None or getattr(original, "ganzoo_wrapped", False):
        return

    def convert(tensor):
        if (tensor.ndim == 4 and tensor.shape[0] == 1 and tensor.device.type == "cpu"
                and tensor.dtype in (torch.bfloat16, torch.float16)):
            return tensor.contiguous()
        return original(tensor)

    convert.ganzoo_wrapped = True
    keras_torch_nn._maybe_convert_to_channels_last = convert


_contiguous_single_filter_half_kernels()
torch_conv.install()  # Keras's channels-last convs without their input copies (see torch_conv)


# ------------------------------------------------------------ autodiff
def train_step(model, step_fn, *args):
    """Run the stateful `step_fn(data) -> logs` as `model`'s Keras train step.

    Keras calls `train_step(data)`; variables are updated in place. With
    several processes the first step broadcasts every variable from rank 0
    and each step's metric updates are averaged over the ranks.

    Example:
        >>> def train_step(self, *args):
        ...     return train_step(self, self._train_step, *args)
    """
    (data,) = args
    if _world() == 1:
        return step_fn(data)
    if not getattr(model, "_ganzoo_synced", False):
        _broadcast_state(model)
        model._ganzoo_synced = True
    metric_variables = list(model.metrics_variables)
    before = [v.value.detach().clone() for v in metric_variables]
    logs = step_fn(data)
    _mean_metric_updates(metric_variables, before)
    return {**logs, **{m.name: m.result() for m in model.metrics}}


def value_and_grad(loss_fn, variables):
    """Evaluate `loss_fn() -> (loss, aux)` and its gradient w.r.t. `variables`.

    With several processes the gradients are averaged over the ranks (one
    flat all-reduce); loss and aux come back detached.

    Example:
        >>> loss, logs, grads = value_and_grad(lambda: (ops.sum(w * x), {}), [w])
    """
    variables = list(variables)
    with torch.enable_grad():
        loss, aux = loss_fn()
        params = [v.value for v in variables]
        grads = torch.autograd.grad(loss, params, allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]
    if _world() > 1:
        grads = _all_reduce_mean(grads)
    detach = lambda t: t.detach() if isinstance(t, torch.Tensor) else t  # noqa: E731
    aux = keras.tree.map_structure(detach, aux)
    return loss.detach(), aux, grads


def pullback(fn, variables):
    """`(y, aux, pull)`: `y = fn()[0]` with its autograd graph kept; `pull(loss_fn)` backpropagates later.

    `pull` runs `loss_fn` on a detached copy of `y`, takes d loss / d y, then
    `torch.autograd.grad(y, params, grad_outputs=...)` through the kept
    graph (averaged over ranks with several processes). See
    `ganzoo.backend` for the contract.

    Example:
        >>> y, aux, pull = pullback(lambda: (G(z), {}), G.trainable_variables)
        >>> loss, logs, grads = pull(lambda y: (ops.mean(D(y)), {}))
    """
    params = [v.value for v in variables]
    with torch.enable_grad():
        y, aux = fn()

    def pull(loss_fn):
        y_in = y.detach().requires_grad_(True)
        with torch.enable_grad():
            loss, aux2 = loss_fn(y_in)
            (dy,) = torch.autograd.grad(loss, y_in)
            grads = torch.autograd.grad(y, params, grad_outputs=dy, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]
        if _world() > 1:
            grads = _all_reduce_mean(grads)
        detach = lambda t: t.detach() if isinstance(t, torch.Tensor) else t  # noqa: E731
        return loss.detach(), keras.tree.map_structure(detach, aux2), grads

    return y, aux, pull


def input_grad(fn, x):
    """Return `(y, dy_dx)` with `y = fn(x)` and the gradient of `sum(y)` wrt `x`.

    `create_graph=True`: the gradient is differentiable again (double backprop).

    Example:
        >>> y, g = input_grad(lambda x: ops.sum(x * x, axis=1), x)  # g == 2 x
    """
    x = torch.as_tensor(x)
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = fn(x)
        (g,) = torch.autograd.grad(y.float().sum(), x, create_graph=True)
    return y, g


def cond(pred, fn):
    """Run the stateful function `fn()` only when the scalar `pred` is true (eager `if`).

    Example:
        >>> cond(ops.equal(step % 16, 0), lambda: r1_phase())
    """
    if bool(pred):
        fn()


def no_grad():
    """`torch.no_grad()`: sampling records no autograd graph.

    Example:
        >>> with no_grad():
        ...     fake = generator(z)
    """
    return torch.no_grad()


def replica_info():
    """`(world size, rank)` of the process group, `(1, 0)` without one.

    Example:
        >>> replica_info()   # one process
        (1, 0)
    """
    world = _world()
    if world > 1:
        return world, dist.get_rank()
    return 1, 0


def cross_replica_sum():
    """A differentiable SUM all-reduce over the process group, or None with one process.

    Its backward all-reduces the gradients, so it differentiates to any
    order (gradient penalties through SyncBatchNormalization).

    Example:
        >>> all_reduce = cross_replica_sum()   # None on one process
        >>> total = x if all_reduce is None else all_reduce(x)
    """
    return _all_reduce_sum if _world() > 1 else None


# ------------------------------------------------------------ processes
def local_value(x):
    """`x`: every rank holds its own copy of the variables.

    Example:
        >>> local_value(3.0)
        3.0
    """
    return x


def assign_is_collective():
    """False: assigning a variable on one rank needs no other rank.

    Example:
        >>> assign_is_collective()
        False
    """
    return False


def process_info():
    """`(world size, rank)`; before the group exists, `(1, torchrun's RANK)`.

    Example:
        >>> process_info()[0]
        1
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, int(os.environ.get("RANK", "0"))  # torchrun's rank, before the group exists


def broadcast_floats(values):
    """Rank 0's list of floats on every rank (a collective).

    Example:
        >>> broadcast_floats([1.5])                        # doctest: +SKIP
        [1.5]
    """
    t = torch.tensor(values, dtype=torch.float64)
    dist.broadcast(t, src=0)
    return [float(v) for v in t]


def simulate_cpu_devices(n):
    """Not available: torch data parallelism is processes (`torchrun --nproc-per-node N`).

    Example:
        >>> simulate_cpu_devices(2)                        # doctest: +SKIP
        Traceback (most recent call last):
        ValueError: ...
    """
    raise ValueError(
        "simulate_cpu_devices is for TensorFlow and JAX; with the torch backend "
        "launch processes instead (torchrun --nproc-per-node N)."
    )


def initialize_multi_process(coordinator=None, num_processes=None, process_id=None, *, timeout=300):
    """Not used on torch: `torchrun` sets the job up (see `strategy_parts`).

    Example:
        >>> initialize_multi_process("h:1", 2, 0)          # doctest: +SKIP
        Traceback (most recent call last):
        ValueError: ...
    """
    raise ValueError(
        "Joining a job with a coordinator is for the JAX backend; with torch launch the "
        "processes with `torchrun --nproc-per-node N your_script.py`."
    )


# ------------------------------------------------------------ strategies
_TORCH_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def strategy_parts(devices, timeout):
    """The `DataParallel` arguments for `devices` (a process count) on torch.

    `devices`: None (the processes torchrun started) or their number; an
    object is foreign here (None is returned). Several processes get a
    `process_group` `(world size, timeout)` that `distribution_scope` joins.

    Example:
        >>> strategy_parts(None, 60)["num_replicas"]     # not under torchrun
        1
    """
    if devices is not None and not isinstance(devices, (int, list, tuple)):
        return None
    if isinstance(devices, (list, tuple)):
        raise ValueError(
            "With the torch backend devices are processes: pass an int (the world size "
            "torchrun launched) or None."
        )
    if dist.is_available() and dist.is_initialized():
        world = dist.get_world_size()
        if devices is not None and devices != world:
            raise ValueError(f"devices={devices} but the process group has {world} processes.")
        return _parts(world, num_processes=world)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1 and devices in (None, 1):
        return _parts(1)
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
    return _parts(world, num_processes=world, process_group=(world, timeout))


@contextlib.contextmanager
def distribution_scope(mechanism, process_group):
    """Join the process group `(world size, timeout)` on entry, leave it on exit.

    A no-op without a `process_group`.

    Example:
        >>> with distribution_scope(None, None):
        ...     pass
    """
    if process_group is None:
        yield
        return
    _init_process_group(*process_group)
    try:
        yield
    finally:
        _destroy_process_group()


def custom_fit(model):
    """None: Keras's own `fit` trains every ganzoo model on torch.

    Example:
        >>> custom_fit(None) is None
        True
    """
    return None


# ------------------------------------------------------------ metrics
def preferred_data_format():
    """The faster image layout here: NCHW (torch convolutions are native NCHW).

    Keras would otherwise transpose around every convolution.

    Example:
        >>> preferred_data_format()
        'channels_first'
    """
    return "channels_first"


# ------------------------------------------------------------ layers
# Keras's own transposed convolution was the fastest formulation measured here.
FAST_CONV_TRANSPOSE = None
# oneDNN's grouped convolution is fast here (41 ms vs 55 ms split, same case as on TF/JAX).
SPLIT_GROUPED_CONV = False
# FIR filters as a depthwise conv: as shifted slices the r3gan-stacked-digits step was no faster
# (1.71 vs 1.82 steps/s).
FIR_BY_SLICES = False


def _fused_batch_norm(x, gamma, beta, axis, epsilon):
    """Training-mode BatchNorm over every axis but `axis`: `(y, mean, variance)`, y differentiable.

    One `torch.native_batch_norm` kernel (and its native backward, double
    backward included) instead of Keras's eight elementwise ops and their
    gradients: 3x faster on DCGAN's activations here. Channels-last inputs
    are viewed as NCHW with channels-last strides, which the kernel reads
    in place (no copy). The biased variance (what Keras's moving average
    uses) is recovered from the kernel's saved 1 / sqrt(var + eps).

    Example:
        >>> y, mean, var = FUSED_BATCH_NORM(torch.randn(8, 4, 4, 16), None, None, -1, 1e-5)
    """
    axis = axis % x.ndim
    order = None
    if axis != 1:
        order = (0, axis, *(i for i in range(1, x.ndim) if i != axis))
        x = x.permute(order)
    y, mean, invstd = torch.native_batch_norm(x, gamma, beta, None, None, True, 0.0, epsilon)
    if order is not None:
        y = y.permute(tuple(order.index(i) for i in range(len(order))))
    invstd = invstd.detach()
    return y, mean.detach(), 1.0 / (invstd * invstd) - epsilon


FUSED_BATCH_NORM = _fused_batch_norm


# ------------------------------------------------------------ private
def _parts(num_replicas, num_processes=1, process_group=None):
    return {"num_replicas": num_replicas, "mechanism": None,
            "num_processes": num_processes, "process_group": process_group}


def _world():
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def _init_process_group(world, timeout):
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


def _destroy_process_group():
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


class _AllReduceSum(torch.autograd.Function):
    # torch.distributed.nn.functional.all_reduce written out with the public
    # dist.all_reduce: torch 2.13 deprecates that module for a private one.
    @staticmethod
    def forward(ctx, tensor):
        tensor = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    @staticmethod
    def backward(ctx, grad):
        return _AllReduceSum.apply(grad)  # the gradient of a sum over ranks


def _all_reduce_sum(x):
    return _AllReduceSum.apply(x)


def _all_reduce_mean(tensors):
    """Average a list of tensors over ranks with one flat all-reduce."""
    flat = torch.cat([t.detach().reshape(-1).float() for t in tensors])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    out, start = [], 0
    for t in tensors:
        out.append(flat[start : start + t.numel()].reshape(t.shape).to(t.dtype))
        start += t.numel()
    return out


# gloo has no unsigned types: they travel as the signed type of the same width (same bits).
_SIGNED = {torch.uint16: torch.int16, torch.uint32: torch.int32, torch.uint64: torch.int64}


def _broadcast_state(model):
    """Copy every variable of `model` (weights, EMA, seed states, optimizer slots) from rank 0."""
    variables = [
        *model.trainable_variables,
        *model.non_trainable_variables,
        *model.optimizer.variables,
    ]
    seen = set()
    for v in variables:
        if id(v) in seen:
            continue
        seen.add(id(v))
        value = v.value.detach().clone()
        if value.dtype in _SIGNED:
            wire = value.view(_SIGNED[value.dtype])
        elif value.dtype == torch.bool:
            wire = value.to(torch.uint8)
        else:
            wire = value
        dist.broadcast(wire, src=0)
        v.assign(wire.view(value.dtype) if value.dtype in _SIGNED else wire.to(value.dtype))


def _mean_metric_updates(variables, before):
    """Replace each rank's metric update by the ranks' mean update (one all-reduce).

    Metrics such as `keras.metrics.Mean` keep additive state (total, count):
    averaging the step's increments over ranks keeps every rank's metrics
    equal to the global-batch value.
    """
    if not variables:
        return
    deltas = [v.value.detach() - b for v, b in zip(variables, before)]
    for v, b, d in zip(variables, before, _all_reduce_mean(deltas)):
        v.assign(b + d)
