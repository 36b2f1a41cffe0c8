"""Residual up / down blocks of the ResNet GANs (SNGAN, SAGAN, BigGAN).

Generator block (Miyato et al. 2018, appendix B; BigGAN's `GBlock`):

    h = conv3x3(act(BN2(conv3x3(up(act(BN1(x)))))))     residual
    s = conv1x1(up(x))     (identity when shapes match)  shortcut
    out = h + s

`up` is 2x nearest-neighbour upsampling (Chainer's SNGAN and BigGAN;
mimicry uses bilinear, `interpolation="bilinear"`). BN1/BN2 are plain
BatchNorm or `ConditionalBatchNormalization` (the block then takes `[x, c]`).

Discriminator block (BigGAN's `DBlock`; SNGAN's first "optimized" block is
`preactivation=False`):

    h = pool(conv3x3(act(conv3x3(act?(x)))))            residual
    s = pool(conv1x1(x))   with preactivation, else conv1x1(pool(x))
    out = h + s

`pool` is 2x2 average pooling; the shortcut conv is learned when the
channels change or the block downsamples. With `spectral_norm` every
convolution is wrapped in `SpectralNormalization`.

Example:
    >>> up = ResBlockUp(64, conditional=True, spectral_norm=True)      # BigGAN
    >>> h = up([np.ones((2, 4, 4, 64), "float32"), np.ones((2, 20), "float32")])
    >>> down = ResBlockDown(64, downsample=True, preactivation=False)  # SNGAN's first D block
"""

import keras
from keras import ops

from ganzoo.layers.batch_norm import BatchNormalization
from ganzoo.layers.conditional_bn import ConditionalBatchNormalization, fresh_initializer, serialize_initializer
from ganzoo.layers.spectral_norm import SpectralNormalization

INTERPOLATIONS = ("nearest", "bilinear")


def _conv(filters, kernel_size, initializer, spectral_norm, name):
    conv = keras.layers.Conv2D(filters, kernel_size, padding="same", kernel_initializer=fresh_initializer(initializer),
                               name=name)
    return SpectralNormalization(conv, name=f"{name}_sn") if spectral_norm else conv


def _call(layer, x, training):
    # Keras BatchNormalization / SpectralNormalization take `training`; a plain Conv2D does not need it.
    if isinstance(layer, (SpectralNormalization, keras.layers.BatchNormalization, ConditionalBatchNormalization)):
        return layer(x, training=training)
    return layer(x)


@keras.saving.register_keras_serializable(package="ganzoo")
class ResBlockUp(keras.layers.Layer):
    """The pre-activation generator block: BN-ReLU-up-conv-BN-ReLU-conv plus a shortcut.

    Args:
        filters: output channels (also of the first conv, as in both references).
        upsample: double the resolution.
        conditional: conditional BN; the block is then called on `[x, c]`.
        num_classes: with `conditional`, 0 when `c` is a condition vector
            (BigGAN's shared embedding + z chunk), K when `c` holds class ids.
        spectral_norm: SN on every conv and on the conditional BN's linear maps.
        interpolation: "nearest" or "bilinear".
        kernel_initializer, shortcut_initializer: of the 3x3 and the 1x1 convs.
        momentum, epsilon: of the batch norms.

    Sublayers: "bn1", "conv1", "bn2", "conv2", "conv_sc" (when learned).

    Example:
        >>> block = ResBlockUp(256)                          # SNGAN's G block
        >>> tuple(block(np.ones((2, 4, 4, 256), "float32")).shape)
        (2, 8, 8, 256)
    """

    def __init__(self, filters, upsample=True, conditional=False, num_classes=0, spectral_norm=False,
                 interpolation="nearest", kernel_initializer="glorot_uniform", shortcut_initializer="glorot_uniform",
                 momentum=0.9, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if isinstance(filters, bool) or int(filters) != filters or filters < 1:
            raise ValueError(f"ResBlockUp: filters must be an integer >= 1, got {filters!r}.")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"ResBlockUp: interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}.")
        if num_classes and not conditional:
            raise ValueError("ResBlockUp: num_classes is used by conditional BN; pass conditional=True as well.")
        self.filters = int(filters)
        self.upsample = bool(upsample)
        self.conditional = bool(conditional)
        self.num_classes = int(num_classes)
        self.spectral_norm = bool(spectral_norm)
        self.interpolation = interpolation
        self.kernel_initializer = serialize_initializer(kernel_initializer)
        self.shortcut_initializer = serialize_initializer(shortcut_initializer)
        self.momentum, self.epsilon = float(momentum), float(epsilon)

    def _norm(self, name):
        if self.conditional:
            return ConditionalBatchNormalization(
                num_classes=self.num_classes, spectral_norm=self.spectral_norm, momentum=self.momentum,
                epsilon=self.epsilon, kernel_initializer=self.kernel_initializer, name=name,
            )
        return BatchNormalization(momentum=self.momentum, epsilon=self.epsilon, name=name)

    def build(self, input_shape):
        if self.conditional:
            if not (isinstance(input_shape, (list, tuple)) and len(input_shape) == 2
                    and isinstance(input_shape[0], (list, tuple))):
                raise ValueError(f"A conditional ResBlockUp is called on [x, c]; got input shape {input_shape}.")
            x_shape, c_shape = tuple(input_shape[0]), tuple(input_shape[1])
        else:
            x_shape, c_shape = tuple(input_shape), None
        in_channels = int(x_shape[-1])
        up_shape = x_shape
        if self.upsample:
            up_shape = (x_shape[0],) + tuple(None if d is None else 2 * d for d in x_shape[1:3]) + (in_channels,)
        out_shape = up_shape[:-1] + (self.filters,)
        self.bn1, self.bn2 = self._norm("bn1"), self._norm("bn2")
        self.conv1 = _conv(self.filters, 3, self.kernel_initializer, self.spectral_norm, "conv1")
        self.conv2 = _conv(self.filters, 3, self.kernel_initializer, self.spectral_norm, "conv2")
        self.learnable_shortcut = in_channels != self.filters or self.upsample
        self.conv_sc = None
        if self.learnable_shortcut:
            self.conv_sc = _conv(self.filters, 1, self.shortcut_initializer, self.spectral_norm, "conv_sc")
            self.conv_sc.build(up_shape)
        self.bn1.build([x_shape, c_shape] if self.conditional else x_shape)
        self.conv1.build(up_shape)
        self.bn2.build([out_shape, c_shape] if self.conditional else out_shape)
        self.conv2.build(out_shape)
        self.built = True

    def _up(self, x):
        if not self.upsample:
            return x
        if self.interpolation == "nearest":
            return ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)
        return ops.image.resize(x, (2 * int(x.shape[1]), 2 * int(x.shape[2])), interpolation="bilinear")

    def _norm_call(self, layer, x, c, training):
        return layer([x, c], training=training) if self.conditional else layer(x, training=training)

    def call(self, inputs, training=None):
        x, c = inputs if self.conditional else (inputs, None)
        h = ops.relu(self._norm_call(self.bn1, x, c, training))
        h = _call(self.conv1, self._up(h), training)
        h = ops.relu(self._norm_call(self.bn2, h, c, training))
        h = _call(self.conv2, h, training)
        shortcut = self._up(x)
        if self.conv_sc is not None:
            shortcut = _call(self.conv_sc, shortcut, training)
        return h + shortcut

    def compute_output_shape(self, input_shape):
        x_shape = tuple(input_shape[0]) if self.conditional else tuple(input_shape)
        scale = 2 if self.upsample else 1
        return (x_shape[0],) + tuple(None if d is None else scale * d for d in x_shape[1:3]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, upsample=self.upsample, conditional=self.conditional, num_classes=self.num_classes,
            spectral_norm=self.spectral_norm, interpolation=self.interpolation,
            kernel_initializer=self.kernel_initializer, shortcut_initializer=self.shortcut_initializer,
            momentum=self.momentum, epsilon=self.epsilon,
        )
        return config


@keras.saving.register_keras_serializable(package="ganzoo")
class ResBlockDown(keras.layers.Layer):
    """The discriminator block: [ReLU]-conv-ReLU-conv-[avgpool] plus a shortcut.

    Args:
        filters: output channels.
        downsample: halve the resolution (2x2 average pooling).
        preactivation: ReLU before the first conv (every block but D's first).
        wide: the first conv has `filters` outputs (BigGAN, SAGAN); False:
            as many as the input has (SNGAN's `hidden_channels = in_channels`).
        spectral_norm: SN on every conv (the default: D is always normalized here).
        kernel_initializer, shortcut_initializer: of the 3x3 and the 1x1 convs.

    Sublayers: "conv1", "conv2", "conv_sc" (when learned).

    Example:
        >>> block = ResBlockDown(128, downsample=True, preactivation=False)
        >>> tuple(block(np.ones((2, 32, 32, 3), "float32")).shape)
        (2, 16, 16, 128)
    """

    def __init__(self, filters, downsample=True, preactivation=True, wide=True, spectral_norm=True,
                 kernel_initializer="glorot_uniform", shortcut_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if isinstance(filters, bool) or int(filters) != filters or filters < 1:
            raise ValueError(f"ResBlockDown: filters must be an integer >= 1, got {filters!r}.")
        self.filters = int(filters)
        self.downsample = bool(downsample)
        self.preactivation = bool(preactivation)
        self.wide = bool(wide)
        self.spectral_norm = bool(spectral_norm)
        self.kernel_initializer = serialize_initializer(kernel_initializer)
        self.shortcut_initializer = serialize_initializer(shortcut_initializer)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"ResBlockDown needs NHWC inputs with known channels, got shape {input_shape}.")
        if self.downsample and any(d is not None and d % 2 for d in input_shape[1:3]):
            raise ValueError(f"ResBlockDown(downsample=True) needs an even height and width, got {input_shape[1:3]}.")
        in_channels = int(input_shape[-1])
        hidden = self.filters if self.wide else in_channels
        self.conv1 = _conv(hidden, 3, self.kernel_initializer, self.spectral_norm, "conv1")
        self.conv2 = _conv(self.filters, 3, self.kernel_initializer, self.spectral_norm, "conv2")
        self.conv1.build(input_shape)
        self.conv2.build(input_shape[:-1] + (hidden,))
        self.conv_sc = None
        if in_channels != self.filters or self.downsample:
            self.conv_sc = _conv(self.filters, 1, self.shortcut_initializer, self.spectral_norm, "conv_sc")
            if self.preactivation or not self.downsample:
                self.conv_sc.build(input_shape)
            else:
                pooled = (input_shape[0],) + tuple(None if d is None else d // 2 for d in input_shape[1:3])
                self.conv_sc.build(pooled + (in_channels,))
        self.built = True

    def _pool(self, x):
        return ops.average_pool(x, pool_size=2, strides=2, padding="valid") if self.downsample else x

    def call(self, x, training=None):
        h = ops.relu(x) if self.preactivation else x
        h = _call(self.conv1, h, training)
        h = _call(self.conv2, ops.relu(h), training)
        h = self._pool(h)
        shortcut = x
        if self.conv_sc is not None:
            if self.preactivation:
                shortcut = self._pool(_call(self.conv_sc, x, training))
            else:  # the first block: pool first (cheaper on the raw image; Chainer's SNGAN order)
                shortcut = _call(self.conv_sc, self._pool(x), training)
        return h + shortcut

    def compute_output_shape(self, input_shape):
        scale = 2 if self.downsample else 1
        return (input_shape[0],) + tuple(None if d is None else d // scale for d in input_shape[1:3]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, downsample=self.downsample, preactivation=self.preactivation, wide=self.wide,
            spectral_norm=self.spectral_norm, kernel_initializer=self.kernel_initializer,
            shortcut_initializer=self.shortcut_initializer,
        )
        return config
