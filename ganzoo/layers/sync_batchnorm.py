"""Synchronized BatchNorm: training-mode statistics over the GLOBAL batch.

Under data-parallel training (`ganzoo.distribute`) a plain
`keras.layers.BatchNormalization` normalizes each replica's rows with that
replica's own batch statistics on TensorFlow (`MirroredStrategy`) and PyTorch
(one process per device), so N devices with global batch B do not train like
one device with batch B. `SyncBatchNormalization` computes the mean and
variance of the global batch on every backend, so its outputs, gradients and
moving statistics are those of one device with the global batch (up to float
summation order):

* TensorFlow: Keras's own `synchronized=True` path (sum, sum of squares and
  count all-reduced across the replicas of the `tf.distribute` replica
  context; a no-op without a strategy).
* JAX: nothing to do. `keras.distribution.DataParallel` traces one step over
  the sharded global array, so a mean over the batch axis is already global
  (XLA inserts the cross-device reduction); plain BatchNorm behaves the same.
* PyTorch: when `torch.distributed` is initialized with more than one process,
  the per-channel sum and count, then the sum of squared deviations from the
  global mean (two passes, numerically safe), are summed over the process group
  with a differentiable all-reduce whose backward sums the gradients over the
  ranks: the gradient is that of one-device BatchNorm (double backprop, as
  gradient penalties need, included). With one process it is plain BatchNorm.

Every replica gets the same statistics, so the moving mean and variance update
identically everywhere. Inference (`training=False`) uses the moving
statistics and communicates nothing.

Caveat (PyTorch): a training-mode call is a collective: every rank must make
the same training-mode calls in the same order (ganzoo's train step does);
do not call a network in training mode on one rank only.

The config has no `synchronized` key, so a saved model loads on any backend.

Example:
    >>> from ganzoo.layers import SyncBatchNormalization
    >>> bn = SyncBatchNormalization(momentum=0.9, epsilon=1e-5)
    >>> y = bn(np.random.randn(8, 4).astype("float32"), training=True)
"""

import keras
from keras import ops

from ganzoo import backend
from ganzoo.layers.batch_norm import BatchNormalization


@keras.saving.register_keras_serializable(package="ganzoo")
class SyncBatchNormalization(BatchNormalization):
    """BatchNormalization whose training-mode moments span all replicas.

    Takes the arguments of `keras.layers.BatchNormalization` (except
    `synchronized`, which is implied) and on one device gives its outputs,
    gradients and moving statistics. One exception, on TensorFlow: second
    derivatives (a gradient penalty through a BatchNorm critic) are exact
    here, while Keras's BatchNormalization (tf.nn.moments) stops the gradient
    through the batch mean inside the variance, which is exact to first
    order only (it gives the bias before the BN a spurious gradient).
    See the module docstring for how each backend synchronizes.

    Example:
        >>> G = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16),
        ...                       SyncBatchNormalization(), keras.layers.ReLU()])
    """

    def __init__(self, *args, **kwargs):
        kwargs.pop("synchronized", None)  # implied; Keras accepts True on TF only
        super().__init__(*args, synchronized=backend.SYNCHRONIZED_BATCHNORM, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("synchronized", None)
        return config

    def fusable(self, training, mask):
        # One replica: plain BatchNorm, so the fused kernel where the backend has one.
        return super().fusable(training, mask) and backend.cross_replica_sum() is None

    def _moments(self, inputs, mask):
        all_reduce = backend.cross_replica_sum()
        # TensorFlow without a mask: Keras's own synchronized moments (its masked
        # path ignores `synchronized`). JAX and one replica: no all-reduce needed.
        if all_reduce is not None and (not backend.SYNCHRONIZED_BATCHNORM or mask is not None):
            return self._global_moments(inputs, mask, all_reduce)
        return super()._moments(inputs, mask)

    def _global_moments(self, x, mask, all_reduce):
        """Mean and variance over the reduction axes of all replicas' rows (two passes)."""
        axes = self._reduction_axes
        channels = x.shape[self.axis]
        if mask is None:
            weight = None
            count = ops.sum(ops.ones_like(x), axis=axes, keepdims=True)
            total = ops.sum(x, axis=axes, keepdims=True)
        else:
            weight = ops.cast(ops.broadcast_to(ops.expand_dims(mask, -1), ops.shape(x)), x.dtype)
            count = ops.sum(weight, axis=axes, keepdims=True)
            total = ops.sum(x * weight, axis=axes, keepdims=True)
        stat_shape = ops.shape(total)
        # One all-reduce for the sum and the count, one for the squared deviations.
        packed = all_reduce(ops.concatenate([ops.reshape(total, (-1,)), ops.reshape(count, (-1,))], 0))
        count = ops.maximum(ops.reshape(packed[channels:], stat_shape), 1.0)
        mean = ops.reshape(packed[:channels], stat_shape) / count
        deviation = x - mean
        if weight is not None:
            deviation = deviation * weight
        squares = all_reduce(ops.reshape(ops.sum(ops.square(deviation), axis=axes, keepdims=True), (-1,)))
        variance = ops.reshape(squares, stat_shape) / count
        return ops.reshape(mean, (channels,)), ops.reshape(variance, (channels,))
