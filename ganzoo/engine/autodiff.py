"""How gradients are taken: the only backend-specific code in ganzoo.

Everything else (objectives, penalties, the GAN engine, every model) is
written in `keras.ops` in a "stateful" style: read variables, call
networks, `assign` updates. This module makes that style work on all three
backends:

* TensorFlow: `tf.GradientTape` (nested tapes for double backprop).
* PyTorch: `torch.autograd.grad` (`create_graph=True` for penalties).
* JAX: the engine runs the step inside a `keras.StatelessScope` holding the
  current value of every variable. `value_and_grad` differentiates a
  function that opens a fresh scope mapping the differentiated variables to
  the traced arguments; updates made inside (BatchNorm statistics, seed
  generators, power-iteration vectors) come back as auxiliary outputs and
  are written to the enclosing scope, so nothing leaks out of a trace.

Interface:
    train_step(model, step_fn, *args)  -> Keras's train_step on this backend
    value_and_grad(loss_fn, variables) -> (loss, aux, grads)
    input_grad(fn, x)                  -> (fn(x), d sum(fn(x)) / dx)
    cond(pred, fn)                     -> runs the stateful `fn` iff pred
    no_grad()                          -> context that skips graph building
    replica_info()                     -> (replicas, replica id) of a data-parallel step
    cross_replica_sum()                -> a differentiable SUM over replicas, or None

Data parallelism (see `ganzoo.distribute`): under `tf.distribute` each
replica's gradient is its share `grad(loss) / replicas` (Keras's optimizer
sums the shares across replicas); under multi-process PyTorch gradients are
all-reduced (mean) here, the first step broadcasts every variable from rank 0
and the step's logs are averaged over ranks; JAX `DataParallel` traces one
global step, so nothing changes.

Example:
    >>> w = keras.Variable(2.0)
    >>> loss, aux, (g,) = value_and_grad(lambda: (w * w, {}), [w])  # g == 4
"""

import contextlib

import keras
from keras import StatelessScope
from keras.src.backend.common.stateless_scope import get_stateless_scope

_BACKEND = keras.backend.backend()


def _scope_copy(overrides=()):
    """A new StatelessScope seeded with the enclosing scope's values."""
    outer = get_stateless_scope()
    inner = StatelessScope()
    if outer is not None:
        inner.state_mapping = dict(outer.state_mapping)
    for variable, value in overrides:
        inner.state_mapping[id(variable)] = value
    return outer, inner


def train_step(model, step_fn, *args):
    """Run the stateful `step_fn(data) -> logs` as `model`'s Keras train step.

    TensorFlow and PyTorch call `train_step(data)` and update variables in
    place. JAX calls `train_step(state, data)` under `jit`: the step runs in
    a `StatelessScope` holding every variable of the state (trainables,
    non-trainables such as BatchNorm statistics, EMA shadows and seed
    generators, both optimizers' slots, metrics), and the updated values
    are read back from the scope into the returned state.

    Example:
        >>> def train_step(self, *args):
        ...     return train_step(self, self._train_step, *args)
    """
    if _BACKEND == "torch" and _torch_world() > 1:
        (data,) = args
        if not getattr(model, "_ganzoo_synced", False):
            _torch_broadcast_state(model)
            model._ganzoo_synced = True
        metric_variables = list(model.metrics_variables)
        before = [v.value.detach().clone() for v in metric_variables]
        logs = step_fn(data)
        _torch_mean_metric_updates(metric_variables, before)
        return {**logs, **{m.name: m.result() for m in model.metrics}}
    if _BACKEND != "jax":
        (data,) = args
        return step_fn(data)
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
    new_state = tuple(
        [scope.state_mapping[id(v)] for v in variables] for variables in groups
    )
    return logs, new_state


def value_and_grad(loss_fn, variables):
    """Evaluate `loss_fn() -> (loss, aux)` and its gradient w.r.t. `variables`.

    Args:
        loss_fn: a function of no arguments returning a scalar loss and a
            pytree of auxiliary outputs (e.g. values to log).
        variables: list of `keras.Variable` to differentiate.

    Returns:
        `(loss, aux, grads)`, with `grads` in the order of `variables`.

    Example:
        >>> loss, logs, grads = value_and_grad(lambda: (ops.sum(w * x), {}), [w])
    """
    variables = list(variables)
    if _BACKEND == "tensorflow":
        import tensorflow as tf

        replicas, _ = replica_info()
        with tf.GradientTape() as tape:
            loss, aux = loss_fn()
            # Keras's optimizer sums replicas' gradients: each contributes
            # its share of the global-batch mean.
            target = loss if replicas == 1 else loss / replicas
        grads = tape.gradient(target, variables)
        grads = [
            keras.ops.zeros_like(v.value) if g is None else g
            for g, v in zip(grads, variables)
        ]
        return loss, aux, grads

    if _BACKEND == "torch":
        import torch

        with torch.enable_grad():
            loss, aux = loss_fn()
            params = [v.value for v in variables]
            grads = torch.autograd.grad(loss, params, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]
        if _torch_world() > 1:
            grads = _torch_all_reduce_mean(grads)
        detach = lambda t: t.detach() if isinstance(t, torch.Tensor) else t  # noqa: E731
        aux = keras.tree.map_structure(detach, aux)
        return loss.detach(), aux, grads

    if _BACKEND == "jax":
        import jax

        outer, _ = _scope_copy()
        base = dict(outer.state_mapping) if outer is not None else {}
        ids = [id(v) for v in variables]

        def f(values):
            scope = StatelessScope()
            scope.state_mapping = dict(base)
            scope.state_mapping.update(zip(ids, values))
            with scope:
                loss, aux = loss_fn()
            differentiated = set(ids)
            # Non-differentiated variables the loss updated (BN statistics,
            # seed generators, ...) travel out as auxiliary outputs.
            updates = {
                k: v
                for k, v in scope.state_mapping.items()
                if k not in differentiated and v is not base.get(k)
            }
            return loss, (aux, updates)

        values = [v.value for v in variables]
        (loss, (aux, updates)), grads = jax.value_and_grad(f, has_aux=True)(values)
        if outer is not None:
            outer.state_mapping.update(updates)
        return loss, aux, list(grads)

    raise RuntimeError(f"ganzoo does not support the Keras backend {_BACKEND!r}.")


def input_grad(fn, x):
    """Return `(y, dy_dx)` with `y = fn(x)` and the gradient of `sum(y)` wrt `x`.

    The gradient is itself differentiable with respect to the variables `fn`
    reads (double backprop), as gradient penalties need. Per-sample outputs
    give per-sample input gradients. Variable updates made by `fn` while it
    is differentiated (e.g. BatchNorm statistics) are dropped on JAX.

    Example:
        >>> y, g = input_grad(lambda x: ops.sum(x * x, axis=1), x)  # g == 2 x
    """
    if _BACKEND == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
            total = tf.reduce_sum(tf.cast(y, "float32"))
        return y, tape.gradient(total, x)

    if _BACKEND == "torch":
        import torch

        x = torch.as_tensor(x)
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            y = fn(x)
            (g,) = torch.autograd.grad(y.float().sum(), x, create_graph=True)
        return y, g

    if _BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        _, scope = _scope_copy()

        def f(x):
            inner = StatelessScope()
            inner.state_mapping = dict(scope.state_mapping)
            with inner:
                y = fn(x)
            return jnp.sum(y.astype("float32")), y

        g, y = jax.grad(f, has_aux=True)(jnp.asarray(x))
        return y, g

    raise RuntimeError(f"ganzoo does not support the Keras backend {_BACKEND!r}.")


def cond(pred, fn):
    """Run the stateful function `fn()` only when the scalar `pred` is true.

    Lazy regularization (a penalty every N steps) uses this so compiled
    steps skip the work instead of multiplying it by zero.

    Example:
        >>> cond(ops.equal(step % 16, 0), lambda: r1_phase())
    """
    if _BACKEND == "torch":
        if bool(pred):
            fn()
        return

    if _BACKEND == "tensorflow":
        import tensorflow as tf

        def run():
            fn()
            return tf.constant(True)

        tf.cond(tf.convert_to_tensor(pred), run, lambda: tf.constant(False))
        return

    if _BACKEND == "jax":
        import jax

        outer, _ = _scope_copy()
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
        return

    raise RuntimeError(f"ganzoo does not support the Keras backend {_BACKEND!r}.")


def no_grad():
    """A context in which no autodiff graph is recorded (torch); a no-op elsewhere.

    Example:
        >>> with no_grad():
        ...     fake = generator(z)
    """
    if _BACKEND == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


def replica_info():
    """`(replicas, replica_id)` of the data-parallel step being run.

    TensorFlow: the `tf.distribute` replica context (the id is a tensor);
    PyTorch: the `torch.distributed` world size and rank; JAX
    `DataParallel` traces one global step over the sharded batch, and
    outside any strategy there is one replica: `(1, 0)`.

    Example:
        >>> replicas, rid = replica_info()   # (1, 0) on one device
    """
    if _BACKEND == "tensorflow":
        import tensorflow as tf

        ctx = tf.distribute.get_replica_context()
        if ctx is None or ctx.num_replicas_in_sync == 1:
            return 1, 0
        return int(ctx.num_replicas_in_sync), ctx.replica_id_in_sync_group
    if _BACKEND == "torch":
        world = _torch_world()
        if world > 1:
            import torch.distributed as dist

            return world, dist.get_rank()
    return 1, 0


def cross_replica_sum():
    """A differentiable SUM over the replicas of the running data-parallel step.

    None with one replica, and under JAX (`DataParallel` traces one step over
    the global batch, so reductions over the batch are already global).
    TensorFlow: the replica context's all-reduce; PyTorch: an all-reduce over
    the process group whose backward all-reduces the gradients, so it can be
    differentiated to any order (gradient penalties through it).
    `ganzoo.layers.SyncBatchNormalization` sums its moments with it.

    Example:
        >>> all_reduce = cross_replica_sum()   # None on one device
        >>> total = x if all_reduce is None else all_reduce(x)
    """
    if _BACKEND == "tensorflow":
        import tensorflow as tf

        ctx = tf.distribute.get_replica_context()
        if ctx is None or ctx.num_replicas_in_sync == 1:
            return None
        return lambda x: ctx.all_reduce(tf.distribute.ReduceOp.SUM, x)
    if _BACKEND == "torch" and _torch_world() > 1:
        return _torch_all_reduce_sum
    return None


_TORCH_ALL_REDUCE = []


def _torch_all_reduce_sum(x):
    # torch.distributed.nn.functional.all_reduce written out with the public
    # dist.all_reduce: torch 2.13 deprecates that module for a private one.
    if not _TORCH_ALL_REDUCE:
        import torch
        import torch.distributed as dist

        class AllReduceSum(torch.autograd.Function):
            @staticmethod
            def forward(ctx, tensor):
                tensor = tensor.clone(memory_format=torch.contiguous_format)
                dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
                return tensor

            @staticmethod
            def backward(ctx, grad):
                return AllReduceSum.apply(grad)  # the gradient of a sum over ranks

        _TORCH_ALL_REDUCE.append(AllReduceSum.apply)
    return _TORCH_ALL_REDUCE[0](x)


def _torch_world():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def _torch_all_reduce_mean(tensors):
    """Average a list of tensors over ranks with one flat all-reduce."""
    import torch
    import torch.distributed as dist

    flat = torch.cat([t.detach().reshape(-1).float() for t in tensors])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    out, start = [], 0
    for t in tensors:
        out.append(flat[start : start + t.numel()].reshape(t.shape).to(t.dtype))
        start += t.numel()
    return out


def _torch_broadcast_state(model):
    """Copy every variable of `model` (weights, EMA, seed states, optimizer slots) from rank 0."""
    import torch
    import torch.distributed as dist

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
        signed = {torch.uint16: torch.int16, torch.uint32: torch.int32, torch.uint64: torch.int64}
        if value.dtype in signed:  # gloo has no unsigned types; same bits
            wire = value.view(signed[value.dtype])
        elif value.dtype == torch.bool:
            wire = value.to(torch.uint8)
        else:
            wire = value
        dist.broadcast(wire, src=0)
        v.assign(wire.view(value.dtype) if value.dtype in signed else wire.to(value.dtype))


def _torch_mean_metric_updates(variables, before):
    """Replace each rank's metric update by the ranks' mean update (one all-reduce).

    Metrics such as `keras.metrics.Mean` keep additive state (total, count):
    averaging the step's increments over ranks keeps every rank's metrics
    equal to the global-batch value.
    """
    if not variables:
        return
    deltas = [v.value.detach() - b for v, b in zip(variables, before)]
    for v, b, d in zip(variables, before, _torch_all_reduce_mean(deltas)):
        v.assign(b + d)
