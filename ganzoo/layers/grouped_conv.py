"""A grouped 2-D convolution that is fast to differentiate on every backend.

ResNeXt-style blocks (R3GAN) use `keras.layers.Conv2D(groups=G)`, which
lowers to one convolution with `feature_group_count=G`. On XLA:CPU (JAX, and
TensorFlow with or without XLA) that op and its gradients are 50-130x slower
than G ordinary convolutions of the same total size: measured for R1-style
double backprop through one 3x3 conv (batch 64, 16x16, 128 channels,
8 groups), JAX 2,674 ms grouped vs 50 ms split, TensorFlow 2,571 ms vs 41 ms;
PyTorch's oneDNN grouped kernel is fast (41 ms vs 55 ms split), so it is kept
there. `ganzoo.backend.SPLIT_GROUPED_CONV` says which to use.

This layer is Keras's Conv2D (same arguments, kernel `(kh, kw, in/groups,
filters)`, variables "kernel" and "bias", so weight files and presets built
with `keras.layers.Conv2D(groups=...)` load unchanged); only
`convolution_op` differs where the backend says so: the input channels and
the kernel's filters are split into the G groups, each convolved on its own,
and the outputs concatenated in group order, which is the definition of a
grouped convolution.

Example:
    >>> conv = GroupedConv2D(64, 3, padding="same", groups=8)
    >>> conv(keras.ops.zeros((2, 8, 8, 64))).shape
    (2, 8, 8, 64)
"""

import keras
from keras import ops

from ganzoo import backend


@keras.saving.register_keras_serializable(package="ganzoo")
class GroupedConv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` whose grouped form is one convolution per group where that is faster.

    Same arguments, weights and outputs as Keras's layer (see the module
    docstring). `groups=1` is Keras's call on every backend.

    Example:
        >>> conv = GroupedConv2D(32, 3, padding="same", groups=4, use_bias=False, name="grouped")
        >>> conv(keras.ops.ones((1, 4, 4, 16))).shape
        (1, 4, 4, 32)
    """

    # Tests set this to compare the two forms; None: the backend's choice.
    split = None

    def convolution_op(self, inputs, kernel):
        split = backend.SPLIT_GROUPED_CONV if self.split is None else self.split
        if self.groups == 1 or not split:
            return super().convolution_op(inputs, kernel)
        axis = -1 if self.data_format == "channels_last" else 1
        parts = zip(ops.split(inputs, self.groups, axis=axis), ops.split(kernel, self.groups, axis=-1))
        return ops.concatenate(
            [
                ops.conv(x, w, strides=list(self.strides), padding=self.padding,
                         dilation_rate=self.dilation_rate, data_format=self.data_format)
                for x, w in parts
            ],
            axis=axis,
        )
