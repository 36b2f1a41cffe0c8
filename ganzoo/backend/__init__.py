"""The only backend-specific code in ganzoo, chosen once from `keras.backend.backend()`.

Like `keras/src/backend/`: one module per backend with the same public
names (`tensorflow.py`, `jax.py`, `torch.py`), of which only the current
backend's is imported (so `import ganzoo.backend` never imports another
framework); this package re-exports its names. Everything else in ganzoo
(objectives, penalties, the GAN engine, layers, `ganzoo.distribute`) is
written in `keras.ops` over these names.

Autodiff (the engine's train step and losses):
    train_step(model, step_fn, *args)  -> Keras's train_step on this backend
    value_and_grad(loss_fn, variables) -> (loss, aux, grads)
    pullback(fn, variables)            -> (y, aux, pull): evaluate fn() -> (y, aux) now, keeping its forward
                                          pass; pull(loss_fn) -> (loss, aux2, grads) evaluates loss_fn(y) with
                                          the variables as they are then and returns the gradient w.r.t.
                                          `variables` through y (reduced over replicas like value_and_grad).
                                          The variables must not change in between; call pull once.
    input_grad(fn, x)                  -> (fn(x), d sum(fn(x)) / dx), differentiable again
    cond(pred, fn)                     -> runs the stateful `fn` iff pred
    no_grad()                          -> context that skips graph building
    replica_info()                     -> (replicas, replica id) of a data-parallel step
    cross_replica_sum()                -> a differentiable SUM over replicas, or None

Processes and data parallelism (`ganzoo.distribute` is written over these):
    process_info()                     -> (processes, this process's index)
    broadcast_floats(values)           -> process 0's floats (a collective; >1 process)
    local_value(x)                     -> this process's copy of a replicated array
    assign_is_collective()             -> True when assigning a variable needs every process
    simulate_cpu_devices(n)            -> n logical CPU devices (TF, JAX)
    initialize_multi_process(...)      -> join a multi-process job (JAX)
    strategy_parts(devices, timeout)   -> `ganzoo.distribute.DataParallel` arguments
    distribution_scope(mechanism, process_group) -> the context that activates them
    custom_fit(model)                  -> a fit function where Keras's fit cannot run, or None
    STRATEGY_MODULES                   -> modules of the native strategy objects accepted

Layers and metrics:
    SYNCHRONIZED_BATCHNORM             -> Keras's BatchNormalization(synchronized=True) works
    preferred_data_format()            -> the faster image layout for convolutions
    FAST_CONV_TRANSPOSE                -> (x, kernel, strides, pads, out_sizes) -> y, a transposed conv that is
                                          fast to differentiate where Keras's is not (JAX), else None
    SPLIT_GROUPED_CONV                 -> a grouped Conv2D is faster as one convolution per group (TF, JAX)
    FIR_BY_SLICES                      -> a separable FIR filter is faster as shifted slices than a depthwise conv (JAX)
    FUSED_BATCH_NORM                   -> (x, gamma, beta, axis, epsilon) -> (y, mean, variance), training-mode
                                          BatchNorm as one native kernel where Keras's ops are slow (torch), else None
    COMPILES_PER_BATCH_SIZE            -> predict compiles per batch size (pad short batches)
    NAME                               -> the backend's name

Data parallelism: under `tf.distribute` each replica's gradient is its share
`grad(loss) / replicas` (Keras's optimizer sums the shares); under
multi-process PyTorch gradients are all-reduced (mean) in the step, the first
step broadcasts every variable from rank 0 and the step's logs are averaged
over ranks; JAX `DataParallel` traces one global step, so nothing changes.

Example:
    >>> from ganzoo import backend
    >>> w = keras.Variable(2.0)
    >>> loss, aux, (g,) = backend.value_and_grad(lambda: (w * w, {}), [w])  # g == 4
"""

import keras

_NAME = keras.backend.backend()

if _NAME == "tensorflow":
    from ganzoo.backend.tensorflow import *  # noqa: F403
    from ganzoo.backend.tensorflow import __all__
elif _NAME == "jax":
    from ganzoo.backend.jax import *  # noqa: F403
    from ganzoo.backend.jax import __all__
elif _NAME == "torch":
    from ganzoo.backend.torch import *  # noqa: F403
    from ganzoo.backend.torch import __all__
else:
    raise RuntimeError(
        f"ganzoo does not support the Keras backend {_NAME!r}: use tensorflow, jax or torch."
    )
