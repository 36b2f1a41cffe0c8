"""BatchNormalization: Keras's layer, with training-mode calls in one native kernel where that is faster.

Keras's `BatchNormalization` normalizes in training mode with `ops.moments`
and `ops.batch_normalization`: on PyTorch that is eight eager elementwise
ops forward and more backward over every activation (a third of the
non-convolution time of a DCGAN-64 step, profiled). This layer is Keras's
(same arguments, variables, config and inference path, so weight files and
presets load unchanged) whose training-mode call uses the backend's fused
kernel (`ganzoo.backend.FUSED_BATCH_NORM`: `torch.native_batch_norm`,
about 3x faster forward + backward on DCGAN's activations); other backends,
masks, renorm and synchronized statistics take Keras's call. Outputs, all
gradients (second order included) and moving statistics equal Keras's up to
float rounding: the kernel's variance is the two-pass one, Keras's torch
moments use E[x^2] - E[x]^2.

Example:
    >>> from ganzoo.layers import BatchNormalization
    >>> bn = BatchNormalization(momentum=0.9, epsilon=1e-5)
    >>> y = bn(np.random.randn(8, 4, 4, 16).astype("float32"), training=True)
"""

import keras
from keras import ops

from ganzoo import backend


@keras.saving.register_keras_serializable(package="ganzoo")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` with a fused training-mode kernel (see the module docstring).

    Example:
        >>> bn = BatchNormalization(epsilon=1e-5)
        >>> bn(keras.ops.ones((4, 8)), training=True).shape
        (4, 8)
    """

    # Tests set this to False to compare with Keras's call on the same layer.
    fused = True

    def fusable(self, training, mask):
        """Whether this call can take the fused kernel (training, no mask, renorm or sync)."""
        return bool(
            self.fused and backend.FUSED_BATCH_NORM is not None and training and self.trainable
            and mask is None and not self.renorm and not self.synchronized
        )

    def call(self, inputs, training=None, mask=None):
        if not self.fusable(training, mask):
            return super().call(inputs, training=training, mask=mask)
        # As Keras's call: statistics in float32 even under mixed precision.
        x = ops.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
        gamma = ops.cast(self.gamma, x.dtype) if self.scale else None
        beta = ops.cast(self.beta, x.dtype) if self.center else None
        y, mean, variance = backend.FUSED_BATCH_NORM(x, gamma, beta, self.axis, self.epsilon)
        m = self.momentum
        self.moving_mean.assign(ops.cast(self.moving_mean, x.dtype) * m + mean * (1.0 - m))
        self.moving_variance.assign(ops.cast(self.moving_variance, x.dtype) * m + variance * (1.0 - m))
        return ops.cast(y, self.compute_dtype)
