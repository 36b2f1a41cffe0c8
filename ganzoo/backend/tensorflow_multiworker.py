"""`GAN.fit` under `tf.distribute.MultiWorkerMirroredStrategy` (TensorFlow, several workers).

Imported by `ganzoo.backend.tensorflow` only (TensorFlow backend);
`ganzoo.backend.custom_fit(model)` returns this module's `fit` bound to
`model` when that strategy is active.

Keras 3's `Model.fit` does not run under MultiWorkerMirroredStrategy
(keras-team/keras#20585: "Attempt to convert a value (PerReplica:...) with an
unsupported type").
`GAN.fit` hands the call to `fit` here when that strategy is active: a small
loop over the same `train_step` that Keras would run, with the same
callbacks and the same `History`.

Each worker passes its own data: its rows of every global batch (what
`ganzoo.distribute.DataParallel.shard` returns) and the per-worker batch
size, or a `tf.data.Dataset` batched by the per-worker batch. The batch is
split across the worker's local replicas; gradients are summed across all
replicas by the optimizer (the engine's losses are already divided by the
replica count), so N workers with global batch B train like one device with
batch B. The step's logs are averaged over replicas, which gives the
global-batch value of every metric on every worker, so callbacks agree.

Example (on every worker, TF_CONFIG set):
    >>> with ganzoo.distribute.strategy() as dp:            # doctest: +SKIP
    ...     gan = build_gan(); gan.compile()
    ...     x, batch = dp.shard(images, batch_size=64)    # this worker's rows
    ...     gan.fit(x, batch_size=batch, epochs=10)       # runs this loop
"""

import itertools
import warnings

import keras
import numpy as np
import tensorflow as tf

from ganzoo.backend import tf_config

# Keras `fit` arguments this loop does not implement, with their defaults.
_UNSUPPORTED = {
    "y": None,
    "validation_split": 0.0,
    "validation_data": None,
    "class_weight": None,
    "sample_weight": None,
    "validation_steps": None,
    "validation_batch_size": None,
    "validation_freq": 1,
}


def active(model=None):
    """True when `model` (or the current scope) trains under MultiWorkerMirroredStrategy.

    Example:
        >>> active()   # no strategy
        False
    """
    strategy = model.distribute_strategy if model is not None else tf.distribute.get_strategy()
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def fit(
    model,
    x=None,
    y=None,
    batch_size=None,
    epochs=1,
    verbose="auto",
    callbacks=None,
    validation_split=0.0,
    validation_data=None,
    shuffle=True,
    class_weight=None,
    sample_weight=None,
    initial_epoch=0,
    steps_per_epoch=None,
    validation_steps=None,
    validation_batch_size=None,
    validation_freq=1,
):
    """`model.fit` on this worker's data under MultiWorkerMirroredStrategy.

    Arguments are those of `keras.Model.fit`, except that `x` holds this
    worker's rows and `batch_size` is the per-worker batch. `shuffle=True`
    permutes this worker's rows every epoch with a seed shared by all workers
    (chief's draw). Every worker must run the same number of steps: arrays
    or datasets of known length that differ are an error; datasets of
    unknown length that differ fail at the strategy's collective timeout.
    Validation, `y`, class and sample weights are not supported.

    Returns:
        the `keras.callbacks.History` of the run.

    Example:
        >>> x, batch = dp.shard(images, batch_size=64)        # doctest: +SKIP
        >>> history = fit(gan, x, batch_size=batch, epochs=2)  # doctest: +SKIP
    """
    given = dict(
        y=y,
        validation_split=validation_split,
        validation_data=validation_data,
        class_weight=class_weight,
        sample_weight=sample_weight,
        validation_steps=validation_steps,
        validation_batch_size=validation_batch_size,
        validation_freq=validation_freq,
    )
    bad = [k for k, v in given.items() if not _is_default(v, _UNSUPPORTED[k])]
    if bad:
        raise ValueError(
            f"GAN.fit under multi-worker TensorFlow (MultiWorkerMirroredStrategy) does not support "
            f"{bad}; pass x (this worker's samples), batch_size, epochs, steps_per_epoch, shuffle, "
            "verbose, callbacks and initial_epoch only."
        )
    if not getattr(model, "compiled", False):
        raise RuntimeError("You must call compile() before fit().")
    if steps_per_epoch is not None and steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}.")
    strategy = model.distribute_strategy
    batches = _Batches(strategy, x, batch_size, shuffle, steps_per_epoch)
    with strategy.scope():
        batches.sync(model)
        step = _train_function(model, strategy)
        chief = (tf_config.check_tf_config() or (1, 0))[1] == 0  # worker 0 logs
        callbacks = keras.callbacks.CallbackList(
            callbacks,
            add_history=True,
            add_progbar=chief and verbose != 0,
            verbose=verbose if chief else 0,
            epochs=epochs,
            steps=steps_per_epoch or batches.num_batches,
            model=model,
        )
        model.stop_training = False
        callbacks.on_train_begin()
        logs, training_logs = {}, None
        iterator = None  # with steps_per_epoch it carries over between epochs, as in Keras
        for epoch in range(getattr(model, "_initial_epoch", None) or initial_epoch, epochs):
            model.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            if iterator is None or steps_per_epoch is None:
                iterator = batches.new_pass(epoch)
            for i in range(steps_per_epoch) if steps_per_epoch else itertools.count():
                batch = next(iterator, None)
                if batch is None:  # the data ran out: the next epoch starts a new pass
                    iterator = None
                    if steps_per_epoch:
                        warnings.warn(
                            "Your input ran out of data; interrupting the epoch. Make sure that "
                            "it holds at least `steps_per_epoch * epochs` batches.",
                            stacklevel=2,
                        )
                    break
                callbacks.on_train_batch_begin(i)
                logs = step(batch)
                callbacks.on_train_batch_end(i, logs)
                if model.stop_training:
                    break
            epoch_logs = {k: float(v) for k, v in logs.items()}
            callbacks.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if model.stop_training:
                break
        model.optimizer.finalize_variable_values(model.trainable_weights)
        callbacks.on_train_end(logs=training_logs)
    return model.history


def _is_default(value, default):
    if default is None:
        return value is None
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == default


def _train_function(model, strategy):
    """`strategy.run(model.train_step)` with logs averaged over replicas, traced once."""
    cached = getattr(model, "_multiworker_train_function", None)
    if cached is not None and cached[0] is model.optimizer:  # compile() makes a new optimizer
        return cached[1]
    def step(batch):
        logs = strategy.run(model.train_step, args=(batch,))
        # Each replica logs means over its slice; equal slices make their
        # mean the global-batch value (what one device would log).
        return {k: strategy.reduce("MEAN", v, axis=None) for k, v in logs.items()}

    # As in Keras: no AutoGraph (the engine's control flow is explicit
    # tf.cond; converting Keras's source took seconds), no XLA (the step
    # holds cross-worker collectives).
    if not model.run_eagerly:
        step = tf.function(step, reduce_retracing=True, autograph=False)
    model._multiworker_train_function = (model.optimizer, step)
    return step


class _Batches:
    """This worker's batches as per-replica values, one pass over the data at a time."""

    def __init__(self, strategy, x, batch_size, shuffle, steps_per_epoch):
        self.strategy = strategy
        self.devices = strategy.extended.worker_devices
        replicas = len(self.devices)
        self.seed = int(np.random.randint(2**31))  # worker 0's is used on every worker
        if isinstance(x, tf.data.Dataset):
            if batch_size is not None:
                raise ValueError(
                    "Do not pass batch_size with a tf.data.Dataset: batch the dataset by the "
                    "per-worker batch (the global batch / the number of workers) instead."
                )
            size = int(x.cardinality())  # batches; < 0: infinite or unknown
            if size == tf.data.INFINITE_CARDINALITY and steps_per_epoch is None:
                raise ValueError("An infinite (repeated) dataset needs steps_per_epoch.")
            self.num_batches = size if size >= 0 else None
            if replicas > 1:  # each local replica takes its slice of the worker's batch
                spec = tf.nest.flatten(x.element_spec)[0]
                if spec.shape[0] is None or spec.shape[0] % replicas:
                    raise ValueError(
                        f"The dataset's batch ({spec.shape[0]}) must be static and divisible by "
                        f"the worker's {replicas} replicas; batch it with drop_remainder=True."
                    )
                x = x.unbatch().batch(spec.shape[0] // replicas, drop_remainder=True)
            # Already this worker's data: no auto-sharding, as from a function.
            self.dataset = strategy.distribute_datasets_from_function(lambda ctx: x)
            self.arrays = None
            return
        if batch_size is None:
            raise ValueError("fit needs batch_size (the per-worker batch) with array inputs.")
        if batch_size % replicas:
            raise ValueError(
                f"The per-worker batch {batch_size} is not divisible by the worker's {replicas} "
                "replicas."
            )
        self.single = not isinstance(x, (tuple, list))
        self.arrays = [np.asarray(a) for a in ([x] if self.single else x)]
        self.batch, self.per_replica = batch_size, batch_size // replicas
        self.shuffle = bool(shuffle)
        # Partial batches are dropped: every replica must run the same steps.
        self.num_batches = len(self.arrays[0]) // batch_size
        if self.num_batches == 0:
            raise ValueError(
                f"fit got {len(self.arrays[0])} samples, fewer than one batch of {batch_size}."
            )

    def sync(self, model):
        """Check that every worker has as many batches, share worker 0's shuffle seed and state.

        Variables start from worker 0's initial values (MultiWorkerMirroredStrategy
        broadcasts them on creation), but values assigned since (loaded or
        per-worker weights) are each worker's own.
        """
        variables = _state_variables(model)
        mine = [-1 if self.num_batches is None else self.num_batches, self.seed]
        values, every = broadcast_from_chief(self.strategy, [v.value for v in variables], gather=mine)
        for variable, value in zip(variables, values):
            variable.assign(value)
        counts = sorted(set(every[:, 0].tolist()))
        if len(counts) > 1:
            raise ValueError(
                f"The workers have different numbers of batches per epoch ({counts}; -1: "
                "unknown); every worker must run the same steps. Give each worker an equal share "
                "(ganzoo.distribute.DataParallel.shard)."
            )
        self.seed = int(every[0, 1])

    def new_pass(self, index):
        """An iterator over one pass of this worker's data."""
        if self.arrays is None:
            return iter(self.dataset)
        return self._array_batches(index)

    def _array_batches(self, index):
        used = self.num_batches * self.batch
        # The same permutation on every worker: each keeps its rows of a global batch.
        if self.shuffle:
            order = np.random.default_rng([self.seed, index]).permutation(used)
        else:
            order = np.arange(used)
        for b in range(self.num_batches):
            rows = order[b * self.batch : (b + 1) * self.batch]

            def value_fn(ctx, rows=rows):
                local = ctx.replica_id_in_sync_group % len(self.devices)
                mine = rows[local * self.per_replica : (local + 1) * self.per_replica]
                with tf.device(self.devices[local]):
                    out = [tf.convert_to_tensor(a[mine]) for a in self.arrays]
                return out[0] if self.single else tuple(out)

            yield self.strategy.experimental_distribute_values_from_function(value_fn)


def _state_variables(model):
    """Every variable a step reads (weights, EMA, noise seeds, optimizer slots), once each."""
    seen, out = {id(v) for v in model.metrics_variables}, []  # metrics: reset every epoch
    for v in (*model.variables, *model.optimizer.variables):
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def broadcast_from_chief(strategy, values, gather=None):
    """Worker 0's `values` (a list of tensors) on every worker, in one collective.

    Every worker must call it. Only replica 0 adds non-zeros to an
    all-reduce (sum), so the result is exact. With `gather` (a list of ints)
    it also returns every replica's `gather`, as the rows of an int64 array.

    Example:
        >>> (mean,) = broadcast_from_chief(strategy, [tf.constant([1.5])])  # doctest: +SKIP
    """
    values = [tf.convert_to_tensor(v) for v in values]  # a variable: this worker's value
    # Collectives carry floats and 32/64-bit integers; other dtypes travel as int64.
    wire = [
        v if v.dtype in (tf.float16, tf.float32, tf.float64, tf.int32, tf.int64) else tf.cast(v, tf.int64)
        for v in values
    ]
    if id(strategy) not in _BROADCAST:
        # Traced (once per list of shapes): run eagerly, every collective is traced apart.
        _BROADCAST[id(strategy)] = tf.function(
            lambda wire, rows: strategy.run(_broadcast_replica, args=(wire, rows)), autograph=False
        )
    summed, rows = _BROADCAST[id(strategy)](wire, tf.constant([gather or [0]], tf.int64))
    local = lambda t: strategy.experimental_local_results(t)[0]  # noqa: E731
    out = [tf.cast(local(s), v.dtype) for s, v in zip(summed, values)]
    return out if gather is None else (out, local(rows).numpy())


_BROADCAST = {}  # id(strategy) -> its traced broadcast


def _broadcast_replica(values, rows):
    ctx = tf.distribute.get_replica_context()
    first = tf.equal(ctx.replica_id_in_sync_group, 0)
    summed = [None] * len(values)
    # One all-reduce per dtype (each packs its tensors), in the same order on every worker.
    for dtype in dict.fromkeys(v.dtype for v in values):
        index = [i for i, v in enumerate(values) if v.dtype == dtype]
        mine = [tf.where(first, values[i], tf.zeros_like(values[i])) for i in index]
        for i, t in zip(index, ctx.all_reduce("SUM", mine)):
            summed[i] = t
    return summed, ctx.all_gather(tf.identity(rows), axis=0)  # identity: on this replica's device
