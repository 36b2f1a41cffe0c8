"""Self-attention over feature-map positions (SAGAN, Zhang et al. 2019, arXiv 1805.08318).

With 1x1 convolutions `theta` (queries, C/8 channels), `phi` (keys, C/8) and
`g` (values, C/2), for every position i

    beta_ij = softmax_j(theta_i . phi_j),   o_i = W_o (sum_j beta_ij g_j),
    y = x + gamma * o,

`W_o` a 1x1 convolution back to C channels and `gamma` a learned scalar
starting at 0 (the block starts as the identity and learns how much
non-local evidence to use). BigGAN's variant (`pool=True`, as in the SAGAN
authors' TF code and BigGAN-PyTorch's `Attention`) max-pools keys and
values 2x2, so each query attends over a quarter of the positions.

Example:
    >>> att = SelfAttention()                         # SAGAN's form
    >>> big = SelfAttention(pool=True)                # BigGAN's pooled keys / values
    >>> y = big(np.ones((2, 8, 8, 16), "float32"))
"""

import keras
from keras import ops

from ganzoo.layers.conditional_bn import fresh_initializer, serialize_initializer
from ganzoo.layers.spectral_norm import SpectralNormalization


@keras.saving.register_keras_serializable(package="ganzoo")
class SelfAttention(keras.layers.Layer):
    """`x + gamma * W_o(softmax(theta(x) phi(x)^T) g(x))` over the H*W positions.

    Args:
        key_ratio: queries and keys have C // key_ratio channels (8).
        value_ratio: values have C // value_ratio channels (2).
        pool: max-pool keys and values 2x2 (BigGAN); H and W must be even.
        spectral_norm: wrap the four convolutions in `SpectralNormalization`.
        kernel_initializer: of the convolutions.

    The convolutions are named "theta", "phi", "g", "o" (no biases) and the
    gain "gamma".

    Example:
        >>> att = SelfAttention(pool=True, spectral_norm=True)
        >>> y = att(x, training=True)
    """

    def __init__(self, key_ratio=8, value_ratio=2, pool=False, spectral_norm=True,
                 kernel_initializer="orthogonal", **kwargs):
        super().__init__(**kwargs)
        for name, value in (("key_ratio", key_ratio), ("value_ratio", value_ratio)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"SelfAttention: {name} must be an integer >= 1, got {value!r}.")
        self.key_ratio, self.value_ratio = int(key_ratio), int(value_ratio)
        self.pool = bool(pool)
        self.spectral_norm = bool(spectral_norm)
        self.kernel_initializer = serialize_initializer(kernel_initializer)

    def _conv(self, filters, name):
        conv = keras.layers.Conv2D(filters, 1, use_bias=False, kernel_initializer=fresh_initializer(self.kernel_initializer),
                                   name=name)
        return SpectralNormalization(conv, name=f"{name}_sn") if self.spectral_norm else conv

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"SelfAttention needs NHWC feature maps with known channels, got shape {input_shape}.")
        _, height, width, channels = input_shape
        channels = int(channels)
        if channels % self.key_ratio or channels % self.value_ratio:
            raise ValueError(
                f"SelfAttention: {channels} channels are not divisible by key_ratio={self.key_ratio} and "
                f"value_ratio={self.value_ratio}; use a width that is."
            )
        if self.pool and ((height is not None and height % 2) or (width is not None and width % 2)):
            raise ValueError(
                f"SelfAttention(pool=True) max-pools 2x2 and needs an even height and width, got {height}x{width}."
            )
        self.channels = channels
        self.key_channels, self.value_channels = channels // self.key_ratio, channels // self.value_ratio
        self.theta = self._conv(self.key_channels, "theta")
        self.phi = self._conv(self.key_channels, "phi")
        self.g = self._conv(self.value_channels, "g")
        self.o = self._conv(channels, "o")
        shape = tuple(input_shape)
        for conv in (self.theta, self.phi, self.g):
            conv.build(shape)
        self.o.build(shape[:-1] + (self.value_channels,))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")
        self.built = True

    def call(self, x, training=None):
        height, width = int(x.shape[1]), int(x.shape[2])
        queries = ops.reshape(self.theta(x, training=training), (-1, height * width, self.key_channels))
        keys, values = self.phi(x, training=training), self.g(x, training=training)
        if self.pool:
            keys = ops.max_pool(keys, pool_size=2, strides=2, padding="valid")
            values = ops.max_pool(values, pool_size=2, strides=2, padding="valid")
        positions = int(keys.shape[1]) * int(keys.shape[2])
        keys = ops.reshape(keys, (-1, positions, self.key_channels))
        values = ops.reshape(values, (-1, positions, self.value_channels))
        # Softmax in float32 under mixed precision: the logits of many positions overflow float16.
        logits = ops.matmul(ops.cast(queries, "float32"), ops.transpose(ops.cast(keys, "float32"), (0, 2, 1)))
        beta = ops.cast(ops.softmax(logits, axis=-1), values.dtype)
        attended = ops.reshape(ops.matmul(beta, values), (-1, height, width, self.value_channels))
        out = self.o(attended, training=training)
        return x + ops.cast(self.gamma, out.dtype) * out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            key_ratio=self.key_ratio,
            value_ratio=self.value_ratio,
            pool=self.pool,
            spectral_norm=self.spectral_norm,
            kernel_initializer=self.kernel_initializer,
        )
        return config
