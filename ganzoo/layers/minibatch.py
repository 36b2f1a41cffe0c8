"""Minibatch features that let a discriminator see sample diversity.

``MinibatchStdLayer`` is the Progressive GAN / StyleGAN2 layer (Karras et al.
2018, arXiv 1710.10196), with the semantics of stylegan2-ada-pytorch's
``training/networks.py`` ``MinibatchStdLayer``.
``MinibatchDiscrimination`` is Salimans et al. 2016 (arXiv 1606.03498), Sec. 3.2.
Both are channels-last and append features along the last axis.

Example:
    >>> import numpy as np
    >>> tuple(MinibatchStdLayer(group_size=4)(np.zeros((8, 4, 4, 16), "float32")).shape)
    (8, 4, 4, 17)
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ganzoo")
class MinibatchStdLayer(keras.layers.Layer):
    """Appends the average standard deviation over a group of samples (NVIDIA semantics).

    The batch of ``N`` samples is split into groups of ``G = min(group_size, N)``
    samples, sample ``i`` belonging to group ``i mod (N / G)`` (NVIDIA's
    ``x.reshape(G, -1, ...)``), and the channels into ``num_channels``
    contiguous slices ``F``. For each group and slice, the standard deviation
    of every feature over the group's ``G`` samples (``sqrt(var + 1e-8)``) is
    averaged over the slice's channels and all spatial positions; those ``F``
    values are tiled over the group and the positions and appended as channels.

    ``N`` must be divisible by ``G`` (NVIDIA's reshape requires it); a batch
    that is not raises a ValueError. ``group_size=None`` uses the whole batch as
    one group. Input ``(N, ..., C)`` of any rank >= 2 gives
    ``(N, ..., C + num_channels)``: NHWC feature maps (StyleGAN2's epilogue) or
    dense features. The statistic is computed in float32 (the 1e-8 would vanish
    in bfloat16) and cast back to the input's dtype.

    Args:
        group_size: samples per group (4 in Progressive GAN and StyleGAN2
            config F; `None`: the whole batch).
        num_channels: ``F``, the number of appended features; must divide ``C``.

    Example:
        >>> import numpy as np
        >>> layer = MinibatchStdLayer(group_size=4, num_channels=2)
        >>> tuple(layer(np.zeros((8, 4, 4, 16), "float32")).shape)
        (8, 4, 4, 18)
    """

    def __init__(self, group_size=4, num_channels=1, **kwargs):
        super().__init__(**kwargs)
        if group_size is not None and (int(group_size) != group_size or group_size < 1):
            raise ValueError(f"group_size must be an integer >= 1 or None, got {group_size!r}.")
        if int(num_channels) != num_channels or num_channels < 1:
            raise ValueError(f"num_channels must be an integer >= 1, got {num_channels!r}.")
        self.group_size = None if group_size is None else int(group_size)
        self.num_channels = int(num_channels)

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(
                f"MinibatchStdLayer needs input of rank >= 2 (N, ..., C), got shape {input_shape}."
            )
        channels = input_shape[-1]
        if channels is None or channels % self.num_channels:
            raise ValueError(
                f"num_channels={self.num_channels} must divide the channel count "
                f"{channels}; pick a divisor of it."
            )
        self.built = True

    def call(self, inputs):
        x = inputs
        spatial = tuple(int(d) for d in x.shape[1:-1])
        n = ops.shape(x)[0]
        if self.group_size is None:
            g = n
        elif isinstance(n, int):
            g = min(self.group_size, n)
            if n % g:
                raise ValueError(
                    f"batch size {n} must be divisible by the mbstd group size {g} "
                    f"(min(group_size={self.group_size}, N)); use a batch size divisible by it."
                )
        else:  # a TF graph traced with an unknown batch size
            g = ops.minimum(self.group_size, n)
        f = self.num_channels
        c = x.shape[-1] // f
        # (G, n, *spatial, F, c): axis 0 holds the G members of each of the n groups.
        y = ops.reshape(ops.cast(x, "float32"), (g, -1) + spatial + (f, c))
        y = y - ops.mean(y, axis=0)
        y = ops.sqrt(ops.mean(ops.square(y), axis=0) + 1e-8)  # (n, *spatial, F, c)
        y = ops.mean(y, axis=tuple(range(1, len(spatial) + 1)) + (len(spatial) + 2,))  # (n, F)
        y = ops.reshape(y, (-1,) + (1,) * len(spatial) + (f,))
        y = ops.tile(y, (g,) + spatial + (1,))  # sample i gets group i mod n
        return ops.concatenate([x, ops.cast(y, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        channels = None if input_shape[-1] is None else input_shape[-1] + self.num_channels
        return tuple(input_shape[:-1]) + (channels,)

    def get_config(self):
        config = super().get_config()
        config.update({"group_size": self.group_size, "num_channels": self.num_channels})
        return config


@keras.saving.register_keras_serializable(package="ganzoo")
class MinibatchDiscrimination(keras.layers.Layer):
    """Appends closeness-to-the-rest-of-the-batch features (Salimans 2016).

    For features ``f(x_i)`` of size ``A`` and a learned tensor
    ``T`` of shape ``(A, B, C)`` (``B = num_kernels``, ``C = kernel_dim``):
    ``M_i = f(x_i) T`` is a ``(B, C)`` matrix,
    ``c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_1)`` and
    ``o(x_i)_b = sum_{j != i} c_b(x_i, x_j)``. The output is
    ``[f(x_i), o(x_i)]`` of size ``A + B``. The self term (exactly
    ``exp(0) = 1``) is left out, as in the authors' code, so a batch of one
    sample gets zeros. Memory is ``O(N^2 B C)``.

    Args:
        num_kernels: ``B``, the number of appended features.
        kernel_dim: ``C``, the size of each projected row.
        kernel_initializer: initializer of ``T`` (paper code: normal, std 0.05).

    Example:
        >>> import numpy as np
        >>> layer = MinibatchDiscrimination(num_kernels=5, kernel_dim=3)
        >>> tuple(layer(np.zeros((8, 16))).shape)
        (8, 21)
    """

    def __init__(self, num_kernels, kernel_dim, kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("num_kernels", num_kernels), ("kernel_dim", kernel_dim)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
        self.num_kernels = int(num_kernels)
        self.kernel_dim = int(kernel_dim)
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer or keras.initializers.RandomNormal(stddev=0.05)
        )

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                "MinibatchDiscrimination needs (N, features) input with a known "
                f"feature size, got {input_shape}; add a Flatten layer before it."
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_shape[-1], self.num_kernels * self.kernel_dim),
            initializer=self.kernel_initializer,
        )
        self.built = True

    def call(self, inputs):
        m = ops.matmul(inputs, self.kernel)
        m = ops.reshape(m, (-1, self.num_kernels, self.kernel_dim))
        # L1 distance between every pair of rows, per kernel: (N, N, B).
        l1 = ops.sum(ops.abs(m[:, None] - m[None, :]), axis=-1)
        o = ops.sum(ops.exp(-l1), axis=1) - 1.0  # drop j == i, exp(-0) = 1
        return ops.concatenate([inputs, ops.cast(o, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1] + self.num_kernels)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_kernels": self.num_kernels,
            "kernel_dim": self.kernel_dim,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config
