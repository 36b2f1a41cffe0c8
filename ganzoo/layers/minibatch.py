"""Minibatch features that let a discriminator see sample diversity.

``MinibatchStdDev`` is the Progressive GAN / StyleGAN2 layer (Karras et al.
2018, arXiv 1710.10196; StyleGAN2-ADA ``MinibatchStdLayer``).
``MinibatchDiscrimination`` is Salimans et al. 2016 (arXiv 1606.03498), Sec. 3.2.
Both are channels-last and append features along the last axis.
"""

import keras
from keras import ops


def _group_size(n, group_size):
    """Largest divisor of ``n`` that is <= ``group_size`` (``n`` if None).

    ``n`` is a Python int (JAX, torch, eager TF) or a scalar tensor (a TF graph
    traced with an unknown batch size); the tensor branch computes the same rule.
    """
    if group_size is None:
        return n
    if isinstance(n, int):
        if n == 0:
            return 1
        return max(g for g in range(1, min(group_size, n) + 1) if n % g == 0)
    candidates = ops.arange(1, group_size + 1, dtype="int32")
    n = ops.cast(n, "int32")
    divides = ops.logical_and(ops.equal(ops.mod(n, candidates), 0), candidates <= n)
    return ops.max(ops.where(divides, candidates, ops.ones_like(candidates)))


@keras.saving.register_keras_serializable(package="ganzoo")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the average standard deviation over a group of samples.

    The batch of ``N`` samples is split into groups of ``G`` samples (sample
    ``i`` belongs to group ``i mod (N / G)``, the StyleGAN2 layout) and the
    channels into ``num_channels`` slices. For each group and slice, the
    standard deviation of every feature over the group's ``G`` samples is
    averaged over the slice's channels and all spatial positions; that value is
    appended as a new constant channel to every sample of the group.

    ``G = min(group_size, N)`` when that divides ``N`` (StyleGAN2-ADA asserts
    it does). Otherwise ``G`` is the largest divisor of ``N`` below
    ``group_size``, so any batch size works (e.g. ``N = 6`` with
    ``group_size=4`` uses ``G = 3``; a prime ``N`` larger than ``group_size``
    gives ``G = 1`` and a near-zero feature: keep ``N`` divisible).
    ``group_size=None`` uses the whole batch as one group.

    Input rank 2 ``(N, C)`` gives ``(N, C + num_channels)``; rank 4 NHWC
    ``(N, H, W, C)`` gives ``(N, H, W, C + num_channels)`` (any rank >= 2 works).

    Args:
        group_size: samples per group (4 in Progressive GAN and StyleGAN2).
        num_channels: number of appended features; must divide ``C``.

    Example:
        >>> layer = MinibatchStdDev(group_size=4)
        >>> tuple(layer(np.zeros((8, 4, 4, 16))).shape)
        (8, 4, 4, 17)
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
                f"MinibatchStdDev needs input of rank >= 2 (N, ..., C), got shape {input_shape}."
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
        shape = ops.shape(x)
        n_total = shape[0]
        groups = _group_size(n_total, self.group_size)
        f = self.num_channels
        c = x.shape[-1] // f
        # (G, n*spatial*C): row g holds the g-th member of every group.
        y = ops.reshape(x, (groups, -1))
        y = y - ops.mean(y, axis=0, keepdims=True)
        y = ops.sqrt(ops.mean(ops.square(y), axis=0) + 1e-8)
        y = ops.reshape(y, (n_total // groups, -1, f, c))
        y = ops.mean(y, axis=(1, 3))  # (n, F): one value per group and slice
        y = ops.tile(y, (groups, 1))  # sample i gets group i mod n
        y = ops.reshape(y, (-1,) + (1,) * (len(x.shape) - 2) + (f,))
        y = ops.cast(y, x.dtype) * ops.ones_like(x[..., :1])
        return ops.concatenate([x, y], axis=-1)

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
