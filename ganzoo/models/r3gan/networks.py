"""R3GAN networks (Huang et al., NeurIPS 2024, arXiv 2501.05441): a BN-free modern ResNet.

Facts from the paper and the official code (brownvc/R3GAN, `R3GAN/Networks.py`):

* Stages of residual blocks; G goes 4x4 -> resolution, D mirrors it.
* Each block is an inverted bottleneck (ResNeXt-style): 1x1 conv to
  `expansion * C`, grouped 3x3 conv (`cardinality` groups), 1x1 conv back to
  C, a biased LeakyReLU(0.2) after the first two; `x + block(x)`. No
  normalization layer anywhere and no bias in any conv (the activations carry
  the biases).
* Fix-up initialization: weights N(0, gain / sqrt(fan_in)); the first two
  convs of a block get gain `sqrt(2 / (1 + 0.2^2)) * L^(-1/4)` with L the
  total number of blocks; the last conv of each block is initialised at 0, so
  every block starts as the identity.
* Resampling is bilinear: the [1, 2, 1] filter convolved with [1, 1] ->
  [1, 3, 3, 1] (outer product, sum 1), as StyleGAN2's FIR resampling
  (`ganzoo.layers.stylegan.upsample2d / downsample2d`, reused here). Width
  changes use a 1x1 conv (before upsampling in G, after downsampling in D).
* G starts from a learned 4x4 basis modulated by a linear map of z (joined
  with a class embedding for conditional models) and ends with a 1x1 conv to
  RGB, no tanh. D starts with a 1x1 conv, ends with a 4x4 depthwise conv, a
  linear layer to 1 logit, or, class-conditionally, to an embedding that is
  projected onto a class embedding (projection D).

Example:
    >>> G = r3gan_generator(latent_dim=64, resolution=32, widths=[768] * 4, cardinalities=[96] * 4,
    ...                     num_classes=10, embedding_dim=64)
    >>> D = r3gan_discriminator(resolution=32, widths=[768] * 4, cardinalities=[96] * 4,
    ...                         num_classes=10, embedding_dim=768)
    >>> G.count_params(), D.count_params()
    (20781952, 21280512)
"""

import math

import keras
import numpy as np
from keras import layers, ops

from ganzoo.engine.registry import register
from ganzoo.layers.grouped_conv import GroupedConv2D
from ganzoo.layers.stylegan import downsample2d, setup_filter, upsample2d

LEAKY_SLOPE = 0.2
ACTIVATION_GAIN = math.sqrt(2.0 / (1.0 + LEAKY_SLOPE**2))


def _register(cls):
    return keras.saving.register_keras_serializable(package="ganzoo")(cls)


def msr_init(fan_in, gain=1.0):
    """The official `MSRInitializer`: N(0, gain / sqrt(fan_in)); zeros for gain 0.

    Made per layer when the network is built (an unseeded Keras initializer fixes
    its seed when constructed, so keras.utils.set_random_seed must come first).

    Example:
        >>> msr_init(64, gain=0.0).__class__.__name__
        'Zeros'
    """
    if gain == 0:
        return keras.initializers.Zeros()
    return keras.initializers.RandomNormal(0.0, gain / math.sqrt(fan_in))


def lowpass_filter(taps=(1, 2, 1)):
    """The 2-D interpolation kernel of R3GAN's resamplers: `taps * [1, 1]`, outer product, sum 1.

    Example:
        >>> (lowpass_filter() * 64).astype(int)[0].tolist()
        [1, 3, 3, 1]
    """
    return setup_filter(np.convolve(np.asarray(taps, "float64"), [1.0, 1.0]))


@_register
class BiasedActivation(layers.Layer):
    """A per-channel bias (initialised at 0) followed by LeakyReLU(0.2).

    Example:
        >>> y = BiasedActivation()(np.zeros((2, 4, 4, 8), "float32"))
    """

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="bias")

    def call(self, x):
        return ops.leaky_relu(x + ops.cast(self.bias, x.dtype), negative_slope=LEAKY_SLOPE)

    def compute_output_shape(self, input_shape):
        return input_shape


@_register
class Resample(layers.Layer):
    """Bilinear 2x up- or downsampling of NHWC maps with R3GAN's [1, 2, 1] interpolation filter.

    Example:
        >>> Resample("up")(np.ones((1, 4, 4, 2), "float32")).shape
        (1, 8, 8, 2)
    """

    def __init__(self, direction, taps=(1, 2, 1), **kwargs):
        super().__init__(**kwargs)
        if direction not in ("up", "down"):
            raise ValueError(f"Resample direction must be 'up' or 'down', got {direction!r}.")
        self.direction, self.taps = direction, tuple(float(t) for t in taps)
        self.kernel = lowpass_filter(self.taps)

    def call(self, x):
        return upsample2d(x, self.kernel) if self.direction == "up" else downsample2d(x, self.kernel)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        scale = 2.0 if self.direction == "up" else 0.5
        return (n, None if h is None else int(h * scale), None if w is None else int(w * scale), c)

    def get_config(self):
        return {**super().get_config(), "direction": self.direction, "taps": list(self.taps)}


@_register
class GenerativeBasis(layers.Layer):
    """G's first layer: a learned 4x4xC basis, scaled per channel by a linear map of the input vector.

    Example:
        >>> GenerativeBasis(8)(np.ones((2, 16), "float32")).shape
        (2, 4, 4, 8)
    """

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)

    def build(self, input_shape):
        self.basis = self.add_weight(
            shape=(4, 4, self.channels), initializer=keras.initializers.RandomNormal(0.0, 1.0), name="basis"
        )
        self.linear = layers.Dense(
            self.channels, use_bias=False, kernel_initializer=msr_init(input_shape[-1]), name="linear"
        )
        self.linear.build(input_shape)

    def call(self, x):
        scale = self.linear(x)
        return ops.cast(self.basis, scale.dtype)[None] * scale[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 4, 4, self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


def _conv(channels, fan_in, kernel_size=1, groups=1, gain=1.0, name=None):
    # Grouped: one conv per group where that is faster (XLA:CPU, TF), same weights as Keras's.
    return (GroupedConv2D if groups > 1 else layers.Conv2D)(
        channels, kernel_size, padding="same", groups=groups, use_bias=False,
        kernel_initializer=msr_init(fan_in * kernel_size * kernel_size // groups, gain), name=name,
    )


def residual_block(x, cardinality, expansion, total_blocks, kernel_size=3, name="block"):
    """`x + conv1x1(act(grouped_conv(act(conv1x1(x)))))`, fix-up initialised (last conv at 0).

    Example:
        >>> y = residual_block(keras.Input((4, 4, 32)), cardinality=4, expansion=2, total_blocks=2)
    """
    channels = int(x.shape[-1])
    expanded = channels * int(expansion)
    if expanded % int(cardinality):
        raise ValueError(
            f"{name}: {expanded} expanded channels do not split into cardinality {cardinality} groups; "
            "pick widths * expansion divisible by the cardinality."
        )
    gain = ACTIVATION_GAIN * float(total_blocks) ** (-1.0 / 4.0)  # L^(-1/(2m-2)) with m = 3 layers
    y = _conv(expanded, channels, 1, gain=gain, name=f"{name}_expand")(x)
    y = BiasedActivation(name=f"{name}_act1")(y)
    y = _conv(expanded, expanded, kernel_size, groups=int(cardinality), gain=gain, name=f"{name}_grouped")(y)
    y = BiasedActivation(name=f"{name}_act2")(y)
    y = _conv(channels, expanded, 1, gain=0.0, name=f"{name}_project")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def _stage_spec(resolution, widths, cardinalities, blocks_per_stage, channels):
    widths = [int(w) for w in widths]
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 4 or (
        int(resolution) & (int(resolution) - 1)
    ):
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution!r}.")
    stages = int(math.log2(int(resolution))) - 1
    if len(widths) != stages:
        raise ValueError(
            f"resolution {resolution} needs {stages} stages (4x4 up to {resolution}x{resolution}), "
            f"got {len(widths)} widths; pass one width per stage."
        )
    cardinalities = [int(c) for c in cardinalities] if isinstance(cardinalities, (list, tuple)) else [int(cardinalities)] * stages
    blocks = [int(b) for b in blocks_per_stage] if isinstance(blocks_per_stage, (list, tuple)) else [int(blocks_per_stage)] * stages
    if len(cardinalities) != stages or len(blocks) != stages:
        raise ValueError(f"cardinalities and blocks_per_stage need {stages} entries (one per stage).")
    if int(channels) < 1:
        raise ValueError(f"channels must be >= 1, got {channels!r}.")
    return widths, cardinalities, blocks


@register("builder")
def r3gan_generator(
    latent_dim=64,
    resolution=32,
    widths=(768, 768, 768, 768),
    cardinalities=96,
    blocks_per_stage=2,
    expansion=2,
    channels=3,
    num_classes=0,
    embedding_dim=64,
    kernel_size=3,
    name="generator",
):
    """R3GAN's generator: `G(z)` or, with `num_classes`, `G([z, y])` (class embedding joined to z).

    Args:
        widths: channels per stage, from 4x4 to `resolution` (CIFAR-10: 4 x 768).
        cardinalities: groups of each block's 3x3 conv (int or one per stage).
        blocks_per_stage: residual blocks per stage (int or list).
        expansion: the inverted bottleneck's width factor.
        embedding_dim: size of the class embedding joined to z.

    Example:
        >>> G = r3gan_generator(latent_dim=16, resolution=16, widths=[64, 64, 32], cardinalities=8)
        >>> G(np.zeros((2, 16), "float32")).shape
        (2, 16, 16, 3)
    """
    widths, cards, blocks = _stage_spec(resolution, widths, cardinalities, blocks_per_stage, channels)
    total = sum(blocks)
    z = keras.Input((int(latent_dim),), name="z")
    inputs, h = z, z
    if num_classes:
        y = keras.Input((), dtype="int32", name="y")
        embed = layers.Embedding(
            int(num_classes), int(embedding_dim), embeddings_initializer=msr_init(num_classes), name="class_embedding"
        )(y)
        h, inputs = layers.Concatenate(name="z_and_class")([z, embed]), [z, y]
    for s, (width, card, nblocks) in enumerate(zip(widths, cards, blocks)):
        if s == 0:
            h = GenerativeBasis(width, name="basis")(h)
        else:
            if int(h.shape[-1]) != width:
                h = _conv(width, int(h.shape[-1]), name=f"stage{s}_transition")(h)
            h = Resample("up", name=f"stage{s}_up")(h)
        for b in range(nblocks):
            h = residual_block(h, card, expansion, total, kernel_size, name=f"stage{s}_block{b}")
    out = _conv(int(channels), widths[-1], name="to_rgb")(h)
    return keras.Model(inputs, out, name=name)


@register("builder")
def r3gan_discriminator(
    resolution=32,
    widths=(768, 768, 768, 768),
    cardinalities=96,
    blocks_per_stage=2,
    expansion=2,
    channels=3,
    num_classes=0,
    embedding_dim=768,
    kernel_size=3,
    name="discriminator",
):
    """R3GAN's discriminator: logits `D(x)` or, with `num_classes`, the projection `D([x, y])`.

    `widths`, `cardinalities` and `blocks_per_stage` are given in the generator's
    order (4x4 first) and mirrored, as the official code does.

    Example:
        >>> D = r3gan_discriminator(resolution=16, widths=[64, 64, 32], cardinalities=8)
        >>> D(np.zeros((2, 16, 16, 3), "float32")).shape
        (2, 1)
    """
    widths, cards, blocks = _stage_spec(resolution, widths, cardinalities, blocks_per_stage, channels)
    widths, cards, blocks = widths[::-1], cards[::-1], blocks[::-1]
    total = sum(blocks)
    x = keras.Input((int(resolution), int(resolution), int(channels)), name="x")
    h = _conv(widths[0], int(channels), name="from_rgb")(x)
    stages = len(widths)
    for s in range(stages):
        for b in range(blocks[s]):
            h = residual_block(h, cards[s], expansion, total, kernel_size, name=f"stage{s}_block{b}")
        if s < stages - 1:
            h = Resample("down", name=f"stage{s}_down")(h)
            if widths[s + 1] != widths[s]:
                h = _conv(widths[s + 1], widths[s], name=f"stage{s}_transition")(h)
    # The 4x4 basis: a depthwise 4x4 conv (fan-in 16), then a linear layer.
    h = layers.DepthwiseConv2D(
        4, padding="valid", use_bias=False, depthwise_initializer=msr_init(16), name="basis_depthwise"
    )(h)
    h = layers.Flatten(name="basis_flatten")(h)
    out_dim = int(embedding_dim) if num_classes else 1
    h = layers.Dense(out_dim, use_bias=False, kernel_initializer=msr_init(widths[-1]), name="basis_linear")(h)
    if not num_classes:
        return keras.Model(x, h, name=name)
    y = keras.Input((), dtype="int32", name="y")
    embed = layers.Embedding(
        int(num_classes), int(embedding_dim),
        embeddings_initializer=msr_init(num_classes, 1.0 / math.sqrt(embedding_dim)), name="class_embedding",
    )(y)
    # Projection: <h, embed(y)> (Miyato & Koyama 2018), the official `(x * embed(y)).sum(1)`.
    logits = layers.Dot(axes=1, name="projection")([h, embed])
    return keras.Model([x, y], logits, name=name)
