"""BigGAN-deep's layers (Brock et al. 2019, arXiv 1809.11096, appendix B), NHWC, in `keras.ops`.

- `TruncationBatchNorm`: batch norm whose inference statistics are one row
  (or a blend of two rows) of a table of `n_stats` standing statistics, one
  per truncation value in [0, 1] (DeepMind's TF-Hub module and its PyTorch
  port); conditional (gain `1 + W_s c`, bias `W_o c` from the condition
  vector `c = [z, embed(y)]`) or plain (learned gamma, beta).
- `Attention`: SAGAN self-attention with 2x2 max-pooled keys and values
  (theta, phi: C/8; g: C/2; o: C/2 -> C; learned gamma from 0).
- `GBlock` / `DBlock`: the bottleneck residual blocks (1x1 -> 3x3 -> 3x3 ->
  1x1, channel ratio 4); G drops channels on its skip path and upsamples
  nearest, D average-pools and concatenates a 1x1 conv's extra channels.

Every convolution and linear layer is ganzoo's `SpectralNormalization`
(one power iteration per call from the stored `u`, exactly the TF module's
computation; `u` is updated only in training).

Example:
    >>> bn = TruncationBatchNorm(64, condition_dim=256)
    >>> w = truncation_weights(0.4, n_stats=51)
    >>> y = bn(x, c, w)                                        # doctest: +SKIP
"""

import math

import keras
import numpy as np
from keras import ops

from ganzoo.layers.spectral_norm import SpectralNormalization

_register = keras.saving.register_keras_serializable(package="ganzoo")

# While `record_batch_moments()` is active, every TruncationBatchNorm normalizes with the
# batch's moments (as in training) and records them here, so standing statistics can be
# re-estimated without running the networks in training mode (which would step spectral norm).
_RECORDERS = []


class record_batch_moments:
    """Context: TruncationBatchNorm layers use and record their batch moments (eager calls).

    `moments` maps each layer to the list of its `(mean, var)` per call, in call order.

    Example:
        >>> with record_batch_moments() as rec:
        ...     G([z, y], training=False)                     # doctest: +SKIP
        >>> means = [m for m, _ in rec.moments[G.bn]]          # doctest: +SKIP
    """

    def __init__(self):
        self.moments = {}

    def __enter__(self):
        _RECORDERS.append(self)
        return self

    def __exit__(self, *exc):
        _RECORDERS.remove(self)
        return False


def truncation_weights(truncation, n_stats=51):
    """The blend of standing-statistics rows that `truncation` selects, as (n_stats,) float32.

    Reproduces pytorch-pretrained-biggan's `BigGANBatchNorm` in double
    precision: `coef, i = modf(t / (1 / (n_stats - 1)))`; row `i` when
    `coef == 0`, else `coef * row[i] + (1 - coef) * row[i + 1]` (the port's
    weighting, kept as it is so outputs match it).

    Example:
        >>> w = truncation_weights(0.4)
        >>> int(w.argmax()), float(w.sum())
        (20, 1.0)
    """
    t = float(truncation)
    if not 0.0 < t <= 1.0:
        raise ValueError(f"truncation={truncation} lies outside (0, 1]: BigGAN-deep has statistics for (0, 1] only.")
    coef, start = math.modf(t / (1.0 / (int(n_stats) - 1)))
    start = int(start)
    w = np.zeros((int(n_stats),), "float32")
    if coef != 0.0:
        w[start] = coef
        w[start + 1] = 1.0 - coef
    else:
        w[start] = 1.0
    return w


@_register
class Normal02(keras.initializers.Initializer):
    """BigGAN-PyTorch's "N02" initialization (normal, mean 0, std 0.02), drawn with numpy.

    Numpy's global generator (`keras.utils.set_random_seed` seeds it) avoids
    compiling one random kernel per weight shape on JAX, which made building
    the full model take minutes; an orthogonal init (numpy QR) was as slow on
    a shared 2-core machine. Pretrained weights replace it anyway.

    Example:
        >>> w = Normal02()((3, 3, 8, 16))
        >>> bool(abs(w.std() - 0.02) < 0.005)
        True
    """

    def __init__(self, stddev=0.02):
        self.stddev = float(stddev)

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        dtype = keras.backend.standardize_dtype(dtype or "float32")
        return (self.stddev * np.random.standard_normal(shape)).astype(dtype)

    def get_config(self):
        return {"stddev": self.stddev}


def sn_conv(filters, kernel_size, use_bias=True, eps=1e-4, name=None):
    """A spectrally normalized 'same' Conv2D (HWIO kernel, N(0, 0.02) init), BigGAN's `snconv2d`.

    Example:
        >>> conv = sn_conv(64, 3, name="conv_1")
    """
    return SpectralNormalization(
        keras.layers.Conv2D(filters, kernel_size, padding="same", use_bias=use_bias,
                            kernel_initializer=Normal02(), name=name),
        eps=eps, name=name,
    )


def sn_dense(units, use_bias=True, eps=1e-4, name=None):
    """A spectrally normalized Dense layer (N(0, 0.02) init), BigGAN's `snlinear`.

    Example:
        >>> lin = sn_dense(128, use_bias=False, name="scale")
    """
    return SpectralNormalization(
        keras.layers.Dense(units, use_bias=use_bias, kernel_initializer=Normal02(), name=name), eps=eps, name=name
    )


@_register
class TruncationBatchNorm(keras.layers.Layer):
    """Batch norm with per-truncation standing statistics (`running_means`, `running_vars`: (n_stats, C)).

    `call(x, condition=None, stat_weights=None, training=False)`:
    inference normalizes with `stat_weights @ running_means` (and the
    variances likewise; `stat_weights` is (n_stats,) for the batch or
    (N, n_stats) per sample; `truncation_weights(t)` gives the port's
    choice, default the last row, truncation 1.0); training normalizes with the batch
    moments (the standing statistics are not updated: after fine-tuning,
    `BigGANDeep.recompute_standing_statistics()` re-estimates them). Output
    `(x - mean) / sqrt(var + eps) * gain + bias` with `gain = 1 + scale(c)`,
    `bias = offset(c)` when conditional, else the learned `gamma`, `beta`.

    Example:
        >>> bn = TruncationBatchNorm(8, condition_dim=16)
        >>> y = bn(np.ones((2, 4, 4, 8), "float32"), np.ones((2, 16), "float32"))
    """

    def __init__(self, channels, condition_dim=None, n_stats=51, eps=1e-4, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.n_stats, self.eps = int(channels), int(n_stats), float(eps)
        self.condition_dim = None if condition_dim is None else int(condition_dim)
        if self.condition_dim:
            self.scale = sn_dense(self.channels, use_bias=False, eps=self.eps, name="scale")
            self.offset = sn_dense(self.channels, use_bias=False, eps=self.eps, name="offset")
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        self.running_means = self.add_weight(
            name="running_means", shape=(self.n_stats, self.channels), initializer="zeros", trainable=False
        )
        self.running_vars = self.add_weight(
            name="running_vars", shape=(self.n_stats, self.channels), initializer="ones", trainable=False
        )
        if self.condition_dim:
            self.scale.build((None, self.condition_dim))
            self.offset.build((None, self.condition_dim))
        else:
            self.gamma = self.add_weight(name="gamma", shape=(self.channels,), initializer="ones")
            self.beta = self.add_weight(name="beta", shape=(self.channels,), initializer="zeros")
        self.built = True

    def call(self, x, condition=None, stat_weights=None, training=False):
        if training or _RECORDERS:
            mean, var = ops.moments(x, axes=(0, 1, 2))
            if _RECORDERS:
                _RECORDERS[-1].moments.setdefault(self, []).append((mean, var))
        else:
            if stat_weights is None:
                stat_weights = ops.one_hot(self.n_stats - 1, self.n_stats)
            # (n_stats,) for the batch or (N, n_stats) per sample -> (1 or N, 1, 1, C).
            w = ops.reshape(ops.cast(stat_weights, x.dtype), (-1, self.n_stats))
            mean = ops.matmul(w, self.running_means)[:, None, None, :]
            var = ops.matmul(w, self.running_vars)[:, None, None, :]
        h = (x - mean) / ops.sqrt(var + self.eps)
        if self.condition_dim:
            gain = 1.0 + self.scale(condition, training=training)
            bias = self.offset(condition, training=training)
            return h * gain[:, None, None, :] + bias[:, None, None, :]
        return h * self.gamma + self.beta

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, condition_dim=self.condition_dim, n_stats=self.n_stats, eps=self.eps)
        return config


@_register
class Attention(keras.layers.Layer):
    """SAGAN self-attention with max-pooled keys/values (BigGAN's variant), NHWC.

    `out = x + gamma * o(softmax(theta(x) phi(x)^T) g(x))`, theta/phi with
    C/8 channels, g with C/2, phi and g max-pooled 2x2; gamma starts at 0.

    Example:
        >>> att = Attention(64)
        >>> tuple(att(np.zeros((1, 8, 8, 64), "float32")).shape)
        (1, 8, 8, 64)
    """

    def __init__(self, channels, eps=1e-4, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.eps = int(channels), float(eps)
        c = self.channels
        self.theta = sn_conv(c // 8, 1, use_bias=False, eps=eps, name="theta")
        self.phi = sn_conv(c // 8, 1, use_bias=False, eps=eps, name="phi")
        self.g = sn_conv(c // 2, 1, use_bias=False, eps=eps, name="g")
        self.o_conv = sn_conv(c, 1, use_bias=False, eps=eps, name="o_conv")
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        c = self.channels
        for layer in (self.theta, self.phi, self.g):
            layer.build((None, None, None, c))
        self.o_conv.build((None, None, None, c // 2))
        self.gamma = self.add_weight(name="gamma", shape=(1,), initializer="zeros")
        self.built = True

    def call(self, x, training=False):
        n, h, w = ops.shape(x)[0], x.shape[1], x.shape[2]
        c = self.channels
        pool = lambda t: ops.max_pool(t, pool_size=2, strides=2)  # noqa: E731
        theta = ops.reshape(self.theta(x, training=training), (n, h * w, c // 8))
        phi = ops.reshape(pool(self.phi(x, training=training)), (n, (h // 2) * (w // 2), c // 8))
        g = ops.reshape(pool(self.g(x, training=training)), (n, (h // 2) * (w // 2), c // 2))
        attn = ops.softmax(ops.matmul(theta, ops.transpose(phi, (0, 2, 1))), axis=-1)
        o = ops.reshape(ops.matmul(attn, g), (n, h, w, c // 2))
        return x + self.gamma * self.o_conv(o, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, eps=self.eps)
        return config


def _upsample(x):
    return ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)


@_register
class GBlock(keras.layers.Layer):
    """BigGAN-deep generator block: 4 x (conditional BN, ReLU, conv) bottleneck + identity skip.

    `in -> in/4 (1x1) -> [nearest x2] -> 3x3 -> 3x3 -> out (1x1)`; the skip
    keeps the first `out` channels of the input (when `out < in`) and is
    upsampled like the main path.

    Example:
        >>> block = GBlock(64, 32, condition_dim=16, upsample=True)
    """

    def __init__(self, in_channels, out_channels, condition_dim, upsample=False, n_stats=51, eps=1e-4,
                 reduction=4, **kwargs):
        super().__init__(**kwargs)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.condition_dim, self.upsample = int(condition_dim), bool(upsample)
        self.n_stats, self.eps, self.reduction = int(n_stats), float(eps), int(reduction)
        if self.out_channels > self.in_channels:
            raise ValueError(
                f"GBlock keeps the first channels of its input on the skip path, so out_channels "
                f"({self.out_channels}) cannot exceed in_channels ({self.in_channels})."
            )
        mid = self.in_channels // self.reduction
        sizes = [self.in_channels, mid, mid, mid]
        self.bns = [
            TruncationBatchNorm(c, self.condition_dim, self.n_stats, self.eps, name=f"bn_{i}")
            for i, c in enumerate(sizes)
        ]
        self.convs = [
            sn_conv(mid, 1, eps=self.eps, name="conv_0"),
            sn_conv(mid, 3, eps=self.eps, name="conv_1"),
            sn_conv(mid, 3, eps=self.eps, name="conv_2"),
            sn_conv(self.out_channels, 1, eps=self.eps, name="conv_3"),
        ]
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        mid = self.in_channels // self.reduction
        for conv, c_in in zip(self.convs, (self.in_channels, mid, mid, mid)):
            conv.build((None, None, None, c_in))
        self.built = True

    def call(self, x, condition, stat_weights=None, training=False):
        h = x
        for i, (bn, conv) in enumerate(zip(self.bns, self.convs)):
            h = ops.relu(bn(h, condition, stat_weights, training=training))
            if i == 1 and self.upsample:
                h = _upsample(h)
            h = conv(h, training=training)
        skip = x[..., : self.out_channels] if self.out_channels != self.in_channels else x
        if self.upsample:
            skip = _upsample(skip)
        return h + skip

    def get_config(self):
        config = super().get_config()
        config.update(in_channels=self.in_channels, out_channels=self.out_channels,
                      condition_dim=self.condition_dim, upsample=self.upsample, n_stats=self.n_stats,
                      eps=self.eps, reduction=self.reduction)
        return config


@_register
class DBlock(keras.layers.Layer):
    """BigGAN-deep discriminator block: ReLU-first bottleneck, average-pool down, concatenating skip.

    `relu -> 1x1 (out/4) -> relu -> 3x3 -> relu -> 3x3 -> relu -> [avgpool] -> 1x1 (out)`;
    the skip is `[avgpool] x`, concatenated with a 1x1 conv's `out - in`
    new channels when `out > in` (BigGAN-PyTorch's `BigGANdeep.DBlock`).

    Example:
        >>> block = DBlock(64, 128, downsample=True)
    """

    def __init__(self, in_channels, out_channels, downsample=False, eps=1e-4, reduction=4, **kwargs):
        super().__init__(**kwargs)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.downsample, self.eps, self.reduction = bool(downsample), float(eps), int(reduction)
        if self.out_channels < self.in_channels:
            raise ValueError(
                f"DBlock concatenates new channels on its skip path, so out_channels ({self.out_channels}) "
                f"cannot be below in_channels ({self.in_channels})."
            )
        mid = self.out_channels // self.reduction
        self.convs = [
            sn_conv(mid, 1, eps=self.eps, name="conv_0"),
            sn_conv(mid, 3, eps=self.eps, name="conv_1"),
            sn_conv(mid, 3, eps=self.eps, name="conv_2"),
            sn_conv(self.out_channels, 1, eps=self.eps, name="conv_3"),
        ]
        extra = self.out_channels - self.in_channels
        self.conv_sc = sn_conv(extra, 1, eps=self.eps, name="conv_sc") if extra else None
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        mid = self.out_channels // self.reduction
        for conv, c_in in zip(self.convs, (self.in_channels, mid, mid, mid)):
            conv.build((None, None, None, c_in))
        if self.conv_sc is not None:
            self.conv_sc.build((None, None, None, self.in_channels))
        self.built = True

    def call(self, x, training=False):
        pool = lambda t: ops.average_pool(t, pool_size=2, strides=2)  # noqa: E731
        h = x
        for i, conv in enumerate(self.convs):
            h = ops.relu(h)
            if i == 3 and self.downsample:
                h = pool(h)
            h = conv(h, training=training)
        skip = pool(x) if self.downsample else x
        if self.conv_sc is not None:
            skip = ops.concatenate([skip, self.conv_sc(skip, training=training)], axis=-1)
        return h + skip

    def get_config(self):
        config = super().get_config()
        config.update(in_channels=self.in_channels, out_channels=self.out_channels, downsample=self.downsample,
                      eps=self.eps, reduction=self.reduction)
        return config
