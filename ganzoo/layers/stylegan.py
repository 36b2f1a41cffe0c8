"""StyleGAN / StyleGAN2 building blocks written once in `keras.ops`.

Everything is NHWC. Parameter names, shapes, gains and the order of
operations follow NVIDIA's stylegan2-ada-pytorch (`training/networks.py`),
so official checkpoints convert by renaming and transposing only:

- equalized learning rate: weights are stored ~N(0, 1) (divided by
  `lr_multiplier`) and scaled at run time by `lr_multiplier / sqrt(fan_in)`;
- `bias_act`: activation then a fixed gain (sqrt(2) for (leaky) ReLU), then
  an optional clamp;
- FIR resampling as in `upfirdn2d`: zero insertion, padding, a normalised
  [1, 3, 3, 1] filter and decimation, with the same padding rules.

Example:
    >>> import numpy as np
    >>> x = np.ones((1, 4, 4, 2), "float32")
    >>> y = upsample2d(x, setup_filter([1, 3, 3, 1]))
    >>> tuple(y.shape)
    (1, 8, 8, 2)
"""

import math

import keras
import numpy as np
from keras import ops

from ganzoo import backend

_register = keras.saving.register_keras_serializable(package="ganzoo")

# name -> default gain, as NVIDIA's `bias_act.activation_funcs[...].def_gain`.
_ACTIVATION_GAINS = {"linear": 1.0, "relu": math.sqrt(2.0), "lrelu": math.sqrt(2.0)}
_NOISE_MODES = ("random", "const", "none")


def _check_activation(activation):
    if activation not in _ACTIVATION_GAINS:
        raise ValueError(
            f"activation must be one of {sorted(_ACTIVATION_GAINS)}, got {activation!r}"
        )
    return activation


def _check_noise_mode(noise_mode):
    if noise_mode not in _NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {_NOISE_MODES}, got {noise_mode!r}")
    return noise_mode


def bias_act(x, b=None, activation="linear", gain=1.0, clamp=None):
    """Add a bias on the last axis, apply an activation, its gain and a clamp.

    Computes `clip(act(x + b) * def_gain * gain, -clamp, clamp)` where
    `def_gain` is 1 for 'linear' and sqrt(2) for 'relu' / 'lrelu' (slope 0.2),
    as NVIDIA's `bias_act`.

    Example:
        >>> import numpy as np
        >>> y = bias_act(np.array([[-1.0, 1.0]], "float32"), activation="lrelu")
        >>> np.allclose(np.asarray(y), [[-0.2 * 2 ** 0.5, 2 ** 0.5]])
        True
    """
    _check_activation(activation)
    x = ops.convert_to_tensor(x)
    if b is not None:
        x = x + b
    if activation == "lrelu":
        x = ops.leaky_relu(x, negative_slope=0.2)
    elif activation == "relu":
        x = ops.relu(x)
    total_gain = _ACTIVATION_GAINS[activation] * gain
    if total_gain != 1:
        x = x * total_gain
    if clamp is not None:
        x = ops.clip(x, -clamp, clamp)
    return x


def normalize_2nd_moment(x, axis=-1, eps=1e-8):
    """Scale `x` to unit second moment along `axis` (StyleGAN's "pixel norm" of z).

    Example:
        >>> import numpy as np
        >>> y = np.asarray(normalize_2nd_moment(np.array([[3.0, 4.0]], "float32")))
        >>> np.allclose((y ** 2).mean(), 1.0)
        True
    """
    x = ops.convert_to_tensor(x)
    return x * ops.rsqrt(ops.mean(ops.square(x), axis=axis, keepdims=True) + eps)


# ----------------------------------------------------------------------------
# FIR resampling (upfirdn2d).


def setup_filter(f=(1, 3, 3, 1), normalize=True):
    """Return the 2-D float32 FIR filter for `upfirdn2d` (outer product, sum 1).

    Example:
        >>> f = setup_filter([1, 3, 3, 1])
        >>> f.shape, float(f.sum())
        ((4, 4), 1.0)
    """
    f = np.asarray(f if f is not None else [1], dtype=np.float32)
    if f.ndim == 0:
        f = f[None]
    if f.ndim == 1:
        f = np.outer(f, f)
    if f.ndim != 2 or f.size == 0:
        raise ValueError(f"resample filter must be 1-D or 2-D and non-empty, got shape {f.shape}")
    if normalize:
        f = f / f.sum()
    return f.astype(np.float32)


def _parse_padding(padding):
    if isinstance(padding, int):
        return padding, padding, padding, padding
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        return padding[0], padding[0], padding[1], padding[1]
    if len(padding) != 4:
        raise ValueError(f"padding must be an int, (x, y) or (x0, x1, y0, y1), got {padding}")
    return padding


# A separable FIR filter as shifted slices, one axis at a time, instead of a depthwise conv.
# None: the backend's choice (`ganzoo.backend.FIR_BY_SLICES`); tests set True/False to compare.
FIR_BY_SLICES = None


def upfirdn2d(x, f, up=1, down=1, padding=0, gain=1.0):
    """Upsample (zero insertion), pad, FIR-filter and downsample NHWC images.

    Same contract as NVIDIA's `upfirdn2d` (padding given as
    `(x_before, x_after, y_before, y_after)` in upsampled pixels; negative
    padding crops; the filter is applied as a true convolution).

    Example:
        >>> import numpy as np
        >>> x = np.ones((1, 8, 8, 1), "float32")
        >>> y = upfirdn2d(x, setup_filter([1, 3, 3, 1]), down=2, padding=1)
        >>> tuple(y.shape), float(np.asarray(y)[0, 2, 2, 0])
        ((1, 4, 4, 1), 1.0)
    """
    f = setup_filter(f, normalize=False) if np.ndim(f) < 2 else np.asarray(f, np.float32)
    if up < 1 or down < 1:
        raise ValueError(f"up and down must be >= 1, got up={up}, down={down}")
    px0, px1, py0, py1 = _parse_padding(padding)
    _, h, w, c = x.shape
    if h is None or w is None or c is None:
        raise ValueError(f"upfirdn2d needs static height, width and channels, got {x.shape}")
    by_slices = backend.FIR_BY_SLICES if FIR_BY_SLICES is None else FIR_BY_SLICES
    taps = _separable(f) if by_slices else None
    if taps is not None:
        # One axis at a time, as shifted slices (where the backend says it is faster; see FIR_BY_SLICES).
        fy, fx = taps
        x = _upfirdn1d(x, 1, fy * gain, up, down, py0, py1)
        return _upfirdn1d(x, 2, fx, up, down, px0, px1)
    if up > 1:
        x = ops.reshape(x, (-1, h, 1, w, 1, c))
        x = ops.pad(x, [[0, 0], [0, 0], [0, up - 1], [0, 0], [0, up - 1], [0, 0]])
        x = ops.reshape(x, (-1, h * up, w * up, c))
        h, w = h * up, w * up
    if max(px0, px1, py0, py1) > 0:
        x = ops.pad(x, [[0, 0], [max(py0, 0), max(py1, 0)], [max(px0, 0), max(px1, 0)], [0, 0]])
        h, w = h + max(py0, 0) + max(py1, 0), w + max(px0, 0) + max(px1, 0)
    if min(px0, px1, py0, py1) < 0:
        x = x[:, max(-py0, 0) : h - max(-py1, 0), max(-px0, 0) : w - max(-px1, 0), :]
    # True convolution = correlation with the flipped filter; one copy per channel.
    kernel = (f[::-1, ::-1] * gain).astype(np.float32)
    kernel = np.tile(kernel[:, :, None, None], (1, 1, c, 1))
    return ops.depthwise_conv(x, kernel, strides=down, padding="valid")


def _separable(f):
    """`(column, row)` with `outer(column, row) == f`, or None when f is not rank one."""
    i, j = np.unravel_index(np.argmax(np.abs(f)), f.shape)
    if f[i, j] == 0:
        return None
    column, row = f[:, j].astype(np.float64), f[i, :].astype(np.float64) / float(f[i, j])
    if not np.allclose(np.outer(column, row), f, rtol=1e-6, atol=1e-7 * abs(float(f[i, j]))):
        return None
    return column, row


def _upfirdn1d(x, axis, taps, up, down, pad0, pad1):
    """`upfirdn2d` along one spatial axis (1 = rows, 2 = columns) of NHWC `x`."""
    shape = list(x.shape)
    if up > 1:  # zero insertion: each sample followed by up - 1 zeros
        x = ops.expand_dims(x, axis + 1)
        pads = [[0, 0]] * 5
        pads[axis + 1] = [0, up - 1]
        x = ops.pad(x, pads)
        shape[axis] *= up
        x = ops.reshape(x, [-1] + shape[1:])
    size = shape[axis]
    if max(pad0, pad1) > 0:
        pads = [[0, 0]] * 4
        pads[axis] = [max(pad0, 0), max(pad1, 0)]
        x = ops.pad(x, pads)
        size += max(pad0, 0) + max(pad1, 0)
    index = [slice(None)] * 4
    if min(pad0, pad1) < 0:
        index[axis] = slice(max(-pad0, 0), size - max(-pad1, 0))
        x = x[tuple(index)]
        size -= max(-pad0, 0) + max(-pad1, 0)
    k = len(taps)
    out = (size - k) // down + 1
    if out < 1:
        raise ValueError(f"upfirdn2d: {size} samples after padding are fewer than the {k} filter taps")
    y = None
    for t, tap in enumerate(taps[::-1]):  # true convolution: correlate with the flipped taps
        if tap == 0:
            continue
        index[axis] = slice(t, t + down * (out - 1) + 1, down)
        term = x[tuple(index)] * float(tap)
        y = term if y is None else y + term
    if y is None:  # an all-zero filter
        index[axis] = slice(0, down * (out - 1) + 1, down)
        y = x[tuple(index)] * 0.0
    return y


def upsample2d(x, f, up=2):
    """Upsample NHWC images by `up` with FIR filter `f` (gain up**2 keeps DC).

    Example:
        >>> import numpy as np
        >>> y = upsample2d(np.ones((1, 4, 4, 1), "float32"), setup_filter([1, 3, 3, 1]))
        >>> float(np.asarray(y)[0, 4, 4, 0])
        1.0
    """
    fh, fw = np.shape(f)
    padding = ((fw + up - 1) // 2, (fw - up) // 2, (fh + up - 1) // 2, (fh - up) // 2)
    return upfirdn2d(x, f, up=up, padding=padding, gain=up * up)


def downsample2d(x, f, down=2):
    """Downsample NHWC images by `down` after low-pass filtering with `f`.

    Example:
        >>> import numpy as np
        >>> y = downsample2d(np.ones((1, 8, 8, 1), "float32"), setup_filter([1, 3, 3, 1]))
        >>> tuple(y.shape)
        (1, 4, 4, 1)
    """
    fh, fw = np.shape(f)
    padding = ((fw - down + 1) // 2, (fw - down) // 2, (fh - down + 1) // 2, (fh - down) // 2)
    return upfirdn2d(x, f, down=down, padding=padding)


def conv2d_resample(x, w, f=None, up=1, down=1, padding=0):
    """2-D convolution (kernel HWIO) with optional FIR up- or downsampling.

    Matches NVIDIA's `conv2d_resample` as their layers call it: correlation
    when `up == 1`, true convolution (transposed conv) when `up > 1`; padding is
    with respect to the upsampled image and applied once.

    Example:
        >>> import numpy as np
        >>> x = np.ones((1, 4, 4, 2), "float32"); w = np.ones((3, 3, 2, 5), "float32")
        >>> tuple(conv2d_resample(x, w, setup_filter([1, 3, 3, 1]), up=2, padding=1).shape)
        (1, 8, 8, 5)
    """
    kh, kw = w.shape[0], w.shape[1]
    if up > 1 and down > 1:
        raise ValueError("conv2d_resample supports up or down sampling, not both")
    if (up > 1 or down > 1) and f is None:
        raise ValueError("conv2d_resample needs a resample filter when up or down > 1")
    px0, px1, py0, py1 = _parse_padding(padding)
    if up > 1:
        fh, fw = np.shape(f)
        px0 += (fw + up - 1) // 2 - (kw - 1)
        px1 += (fw - up) // 2 - (kw - up)
        py0 += (fh + up - 1) // 2 - (kh - 1)
        py1 += (fh - up) // 2 - (kh - up)
        x = ops.conv_transpose(x, ops.transpose(w, (0, 1, 3, 2)), strides=up, padding="valid")
        return upfirdn2d(x, f, padding=(px0, px1, py0, py1), gain=up * up)
    if down > 1:
        fh, fw = np.shape(f)
        px0 += (fw - down + 1) // 2
        px1 += (fw - down) // 2
        py0 += (fh - down + 1) // 2
        py1 += (fh - down) // 2
        x = upfirdn2d(x, f, padding=(px0, px1, py0, py1))
        return ops.conv(x, w, strides=down, padding="valid")
    if kh % 2 == 1 and kw % 2 == 1 and (px0, px1, py0, py1) == (kw // 2, kw // 2, kh // 2, kh // 2):
        return ops.conv(x, w, padding="same")
    if max(px0, px1, py0, py1) > 0 or min(px0, px1, py0, py1) < 0:
        x = upfirdn2d(x, np.ones((1, 1), np.float32), padding=(px0, px1, py0, py1))
    return ops.conv(x, w, padding="valid")


# ----------------------------------------------------------------------------
# Equalized learning-rate layers.


@_register
class EqualizedDense(keras.layers.Layer):
    """Fully connected layer with equalized learning rate (NVIDIA `FullyConnectedLayer`).

    The kernel is stored ~N(0, 1/lr_multiplier^2) with shape (in, out) and used
    as `kernel * lr_multiplier / sqrt(in)`; the bias is used as
    `bias * lr_multiplier` and starts at `bias_init`.

    Example:
        >>> import numpy as np
        >>> layer = EqualizedDense(8, activation="lrelu", lr_multiplier=0.01)
        >>> tuple(layer(np.zeros((2, 4), "float32")).shape)
        (2, 8)
    """

    def __init__(
        self,
        units,
        in_features=None,
        use_bias=True,
        bias_init=0.0,
        lr_multiplier=1.0,
        activation="linear",
        clamp=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(units) < 1:
            raise ValueError(f"units must be >= 1, got {units}")
        self.units = int(units)
        self.in_features = None if in_features is None else int(in_features)
        self.use_bias = bool(use_bias)
        self.bias_init = float(bias_init)
        self.lr_multiplier = float(lr_multiplier)
        self.activation = _check_activation(activation)
        self.clamp = None if clamp is None else float(clamp)

    def build(self, input_shape=None):
        in_features = self.in_features or (input_shape[-1] if input_shape else None)
        if not in_features:
            raise ValueError("EqualizedDense needs in_features or a known input size")
        self.in_features = int(in_features)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.in_features, self.units),
            initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,), initializer=keras.initializers.Constant(self.bias_init)
            )

    def call(self, x):
        w = self.kernel * (self.lr_multiplier / math.sqrt(self.in_features))
        b = None if self.bias is None else self.bias * self.lr_multiplier
        return bias_act(ops.matmul(x, w), b, self.activation, clamp=self.clamp)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            in_features=self.in_features,
            use_bias=self.use_bias,
            bias_init=self.bias_init,
            lr_multiplier=self.lr_multiplier,
            activation=self.activation,
            clamp=self.clamp,
        )
        return config


@_register
class EqualizedConv2D(keras.layers.Layer):
    """Conv layer with equalized learning rate and FIR resampling (NVIDIA `Conv2dLayer`).

    `call(x, gain=1)` scales the activation's output (and the clamp) by `gain`,
    which is how residual blocks apply their sqrt(0.5).

    Example:
        >>> import numpy as np
        >>> conv = EqualizedConv2D(8, 3, activation="lrelu", down=2)
        >>> tuple(conv(np.zeros((1, 16, 16, 3), "float32")).shape)
        (1, 8, 8, 8)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        in_channels=None,
        use_bias=True,
        activation="linear",
        up=1,
        down=1,
        resample_filter=(1, 3, 3, 1),
        conv_clamp=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(filters) < 1 or int(kernel_size) < 1:
            raise ValueError(f"filters and kernel_size must be >= 1, got {filters}, {kernel_size}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.in_channels = None if in_channels is None else int(in_channels)
        self.use_bias = bool(use_bias)
        self.activation = _check_activation(activation)
        self.up, self.down = int(up), int(down)
        self.resample_filter = [float(v) for v in np.ravel(resample_filter)]
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self._filter = setup_filter(self.resample_filter)

    def build(self, input_shape=None):
        in_channels = self.in_channels or (input_shape[-1] if input_shape else None)
        if not in_channels:
            raise ValueError("EqualizedConv2D needs in_channels or a known input size")
        self.in_channels = int(in_channels)
        k = self.kernel_size
        self.kernel = self.add_weight(
            name="kernel",
            shape=(k, k, self.in_channels, self.filters),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, x, gain=1.0):
        w = self.kernel * (1.0 / math.sqrt(self.in_channels * self.kernel_size**2))
        x = conv2d_resample(x, w, self._filter, self.up, self.down, padding=self.kernel_size // 2)
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        return bias_act(x, self.bias, self.activation, gain=gain, clamp=clamp)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            in_channels=self.in_channels,
            use_bias=self.use_bias,
            activation=self.activation,
            up=self.up,
            down=self.down,
            resample_filter=self.resample_filter,
            conv_clamp=self.conv_clamp,
        )
        return config


@_register
class ModulatedConv2D(keras.layers.Layer):
    """StyleGAN2 weight (de)modulation in its exact non-fused form.

    `call(x, styles)` with `x` (N, H, W, I) and `styles` (N, I) computes
    `conv(x * s) * d`, `d = rsqrt(sum_{i,k} (w * s)^2 + 1e-8)` per sample and
    output channel, which equals convolving with the per-sample weight
    `w * s * d`. The kernel has no equalized-lr gain (demodulation cancels it);
    layers without demodulation fold the gain into `styles` as NVIDIA does.

    Example:
        >>> import numpy as np
        >>> conv = ModulatedConv2D(8, 3, in_channels=4)
        >>> y = conv(np.ones((2, 8, 8, 4), "float32"), np.ones((2, 4), "float32"))
        >>> tuple(y.shape)
        (2, 8, 8, 8)
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        in_channels=None,
        demodulate=True,
        up=1,
        resample_filter=(1, 3, 3, 1),
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.in_channels = None if in_channels is None else int(in_channels)
        self.demodulate = bool(demodulate)
        self.up = int(up)
        self.resample_filter = [float(v) for v in np.ravel(resample_filter)]
        self._filter = setup_filter(self.resample_filter)

    def build(self, input_shape=None):
        in_channels = self.in_channels or (input_shape[-1] if input_shape else None)
        if not in_channels:
            raise ValueError("ModulatedConv2D needs in_channels or a known input size")
        self.in_channels = int(in_channels)
        k = self.kernel_size
        self.kernel = self.add_weight(
            name="kernel",
            shape=(k, k, self.in_channels, self.filters),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
        )

    def demodulation(self, styles):
        """Per-sample, per-output-channel demodulation coefficients d, shape (N, O)."""
        wsq = ops.sum(ops.square(self.kernel), axis=(0, 1))  # (I, O)
        return ops.rsqrt(ops.matmul(ops.square(styles), wsq) + 1e-8)

    def call(self, x, styles):
        x = x * styles[:, None, None, :]
        x = conv2d_resample(x, self.kernel, self._filter, up=self.up, padding=self.kernel_size // 2)
        if self.demodulate:
            x = x * self.demodulation(styles)[:, None, None, :]
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            in_channels=self.in_channels,
            demodulate=self.demodulate,
            up=self.up,
            resample_filter=self.resample_filter,
        )
        return config


@_register
class NoiseInjection(keras.layers.Layer):
    """Per-pixel noise times a learned strength (starts at 0), one map per layer.

    `noise_mode`: 'random' draws N(0, 1) per sample; 'const' uses the stored,
    non-trainable `noise_const` buffer (NVIDIA's deterministic noise); 'none'
    adds nothing.

    Example:
        >>> import numpy as np
        >>> noise = NoiseInjection(8)
        >>> y = noise(np.zeros((2, 8, 8, 3), "float32"), noise_mode="const")
        >>> float(np.abs(keras.ops.convert_to_numpy(y)).max())  # strength starts at zero
        0.0
    """

    def __init__(self, resolution, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.resolution = int(resolution)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape=None):
        r = self.resolution
        self.noise_strength = self.add_weight(name="noise_strength", shape=(), initializer="zeros")
        self.noise_const = self.add_weight(
            name="noise_const",
            shape=(r, r),
            initializer=keras.initializers.RandomNormal(stddev=1.0, seed=self.seed),
            trainable=False,
        )

    def call(self, x, noise_mode="random"):
        _check_noise_mode(noise_mode)
        if noise_mode == "none":
            return x
        if noise_mode == "const":
            noise = self.noise_const[None, :, :, None]
        else:
            shape = (ops.shape(x)[0], self.resolution, self.resolution, 1)
            noise = keras.random.normal(shape, seed=self.seed_generator, dtype=x.dtype)
        return x + noise * self.noise_strength

    def get_config(self):
        config = super().get_config()
        config.update(resolution=self.resolution, seed=self.seed)
        return config


@_register
class ConstantInput(keras.layers.Layer):
    """The learned constant that starts StyleGAN's synthesis, shape (R, R, C).

    `call(ws)` broadcasts it over the batch of `ws` (any tensor whose first
    axis is the batch).

    Example:
        >>> import numpy as np
        >>> tuple(ConstantInput(16)(np.zeros((3, 8, 32), "float32")).shape)
        (3, 4, 4, 16)
    """

    def __init__(self, channels, resolution=4, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.resolution = int(resolution)

    def build(self, input_shape=None):
        r = self.resolution
        self.const = self.add_weight(
            name="const", shape=(r, r, self.channels), initializer=keras.initializers.RandomNormal(stddev=1.0)
        )

    def call(self, ws):
        n = ops.shape(ws)[0]
        return ops.broadcast_to(self.const[None], (n, self.resolution, self.resolution, self.channels))

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, resolution=self.resolution)
        return config


@_register
class AdaIN(keras.layers.Layer):
    """StyleGAN v1 adaptive instance norm: `norm(x) * (1 + s) + b`, `(s, b) = A(w)`.

    Instance norm uses the population variance and eps 1e-8 like the v1 code;
    the affine map `A` is an equalized dense layer from w to 2C features.

    Example:
        >>> import numpy as np
        >>> adain = AdaIN(4, w_dim=8)
        >>> tuple(adain(np.ones((2, 5, 5, 4), "float32"), np.ones((2, 8), "float32")).shape)
        (2, 5, 5, 4)
    """

    def __init__(self, channels, w_dim, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.w_dim = int(w_dim)
        self.affine = EqualizedDense(2 * self.channels, in_features=self.w_dim, name="affine")

    def build(self, input_shape=None):
        self.affine.build((None, self.w_dim))

    def call(self, x, w):
        x = x - ops.mean(x, axis=(1, 2), keepdims=True)
        x = x * ops.rsqrt(ops.mean(ops.square(x), axis=(1, 2), keepdims=True) + 1e-8)
        style = self.affine(w)
        scale, shift = style[:, : self.channels], style[:, self.channels :]
        return x * (1.0 + scale[:, None, None, :]) + shift[:, None, None, :]

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, w_dim=self.w_dim)
        return config


@_register
class SynthesisLayer(keras.layers.Layer):
    """One styled 3x3 conv of StyleGAN2's synthesis network (NVIDIA `SynthesisLayer`).

    style_mode 'modulated' (StyleGAN2): `styles = affine(w)` (bias init 1),
    modulated + demodulated conv (FIR upsampling when `up=2`), noise, bias,
    lrelu * sqrt(2), optional clamp. style_mode 'adain' (StyleGAN v1 option):
    plain equalized conv, noise, bias, lrelu, then `AdaIN(w)`.

    Example:
        >>> import numpy as np
        >>> layer = SynthesisLayer(4, 8, w_dim=16, resolution=8, up=2)
        >>> y = layer(np.ones((2, 4, 4, 4), "float32"), np.ones((2, 16), "float32"), noise_mode="none")
        >>> tuple(y.shape)
        (2, 8, 8, 8)
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        w_dim,
        resolution,
        kernel_size=3,
        up=1,
        use_noise=True,
        activation="lrelu",
        resample_filter=(1, 3, 3, 1),
        conv_clamp=None,
        style_mode="modulated",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if style_mode not in ("modulated", "adain"):
            raise ValueError(f"style_mode must be 'modulated' or 'adain', got {style_mode!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.w_dim, self.resolution = int(w_dim), int(resolution)
        self.kernel_size, self.up = int(kernel_size), int(up)
        self.use_noise = bool(use_noise)
        self.activation = _check_activation(activation)
        self.resample_filter = [float(v) for v in np.ravel(resample_filter)]
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.style_mode = style_mode
        if style_mode == "modulated":
            self.affine = EqualizedDense(self.in_channels, in_features=self.w_dim, bias_init=1.0, name="affine")
            self.conv = ModulatedConv2D(
                self.out_channels, self.kernel_size, in_channels=self.in_channels, up=self.up,
                resample_filter=self.resample_filter, name="conv",
            )
        else:
            self.conv = EqualizedConv2D(
                self.out_channels, self.kernel_size, in_channels=self.in_channels, use_bias=False,
                up=self.up, resample_filter=self.resample_filter, name="conv",
            )
            self.adain = AdaIN(self.out_channels, self.w_dim, name="adain")
        self.noise = NoiseInjection(self.resolution, name="noise") if self.use_noise else None

    def build(self, input_shape=None):
        if self.style_mode == "modulated":
            self.affine.build((None, self.w_dim))
        else:
            self.adain.build()
        self.conv.build((None, None, None, self.in_channels))
        if self.noise is not None:
            self.noise.build()
        self.bias = self.add_weight(name="bias", shape=(self.out_channels,), initializer="zeros")

    def call(self, x, w, noise_mode="random", gain=1.0):
        _check_noise_mode(noise_mode)
        if self.style_mode == "modulated":
            x = self.conv(x, self.affine(w))
        else:
            x = self.conv(x)
        if self.noise is not None:
            x = self.noise(x, noise_mode=noise_mode)
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        x = bias_act(x, self.bias, self.activation, gain=gain, clamp=clamp)
        if self.style_mode == "adain":
            x = self.adain(x, w)
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            w_dim=self.w_dim,
            resolution=self.resolution,
            kernel_size=self.kernel_size,
            up=self.up,
            use_noise=self.use_noise,
            activation=self.activation,
            resample_filter=self.resample_filter,
            conv_clamp=self.conv_clamp,
            style_mode=self.style_mode,
        )
        return config


@_register
class ToRGB(keras.layers.Layer):
    """Modulated 1x1 conv to image channels, no demodulation (NVIDIA `ToRGBLayer`).

    Example:
        >>> import numpy as np
        >>> torgb = ToRGB(3, in_channels=8, w_dim=16)
        >>> tuple(torgb(np.ones((2, 4, 4, 8), "float32"), np.ones((2, 16), "float32")).shape)
        (2, 4, 4, 3)
    """

    def __init__(self, out_channels, in_channels, w_dim, kernel_size=1, conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.out_channels, self.in_channels = int(out_channels), int(in_channels)
        self.w_dim, self.kernel_size = int(w_dim), int(kernel_size)
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.weight_gain = 1.0 / math.sqrt(self.in_channels * self.kernel_size**2)
        self.affine = EqualizedDense(self.in_channels, in_features=self.w_dim, bias_init=1.0, name="affine")
        self.conv = ModulatedConv2D(
            self.out_channels, self.kernel_size, in_channels=self.in_channels, demodulate=False, name="conv"
        )

    def build(self, input_shape=None):
        self.affine.build((None, self.w_dim))
        self.conv.build((None, None, None, self.in_channels))
        self.bias = self.add_weight(name="bias", shape=(self.out_channels,), initializer="zeros")

    def call(self, x, w):
        x = self.conv(x, self.affine(w) * self.weight_gain)
        return bias_act(x, self.bias, clamp=self.conv_clamp)

    def get_config(self):
        config = super().get_config()
        config.update(
            out_channels=self.out_channels,
            in_channels=self.in_channels,
            w_dim=self.w_dim,
            kernel_size=self.kernel_size,
            conv_clamp=self.conv_clamp,
        )
        return config
