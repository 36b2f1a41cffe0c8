"""SNGAN's ResNet networks (Miyato et al. 2018, arXiv 1802.05957, appendix B, CIFAR-10).

Generator: z -> Dense(4 * 4 * width) -> ResBlockUp x log2(R / 4) (constant
width, nearest 2x upsampling) -> BN -> ReLU -> conv3x3 -> tanh; no spectral
normalization (the paper normalizes D only). Class-conditional (the
projection cGAN of Miyato & Koyama 2018, mimicry's `cgan_pd`): the blocks'
batch norms take per-class gains and biases.

Discriminator: an "optimized" first block (conv-ReLU-conv-pool, shortcut
pool-conv1x1), ResBlockDown blocks with downsampling until 8x8, two more
blocks without, ReLU, global sum pooling, a spectrally normalized linear
output; with classes the projection `<embed(y), phi(x)>` (SN embedding) is
added. Every D layer is spectrally normalized.

At 32x32 with the reference widths (width 256 in G, 128 in D, z 128) this
is mimicry's `sngan_32`: 4,276,739 / 1,053,825 trainable parameters.
Initialisation as mimicry (after Chainer's SNGAN): Xavier-uniform with gain
sqrt(2) on the blocks' 3x3 convs, gain 1 on shortcuts and the linear layers.

Example:
    >>> G = sngan_generator(latent_dim=128, resolution=32)
    >>> D = sngan_discriminator(resolution=32)
    >>> cD = sngan_discriminator(resolution=32, num_classes=10)   # projection D
"""

import math

import keras
from keras import layers

from ganzoo.architectures import _conditioning as cond
from ganzoo.engine.registry import register
from ganzoo.layers.batch_norm import BatchNormalization
from ganzoo.layers.pooling import GlobalSumPooling2D
from ganzoo.layers.resblocks import INTERPOLATIONS, ResBlockDown, ResBlockUp
from ganzoo.layers.spectral_norm import SpectralNormalization

# Xavier-uniform with gain g is VarianceScaling(g**2, "fan_avg", "uniform").
_BLOCK_INIT = {"class_name": "VarianceScaling",
               "config": {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}
_UNIT_INIT = {"class_name": "GlorotUniform", "config": {"seed": None}}


def _init(config):
    return keras.initializers.get(dict(config, config=dict(config["config"])))


def check_resolution(resolution, minimum, what):
    """`log2(resolution)` for a power of two >= `minimum`, or a one-line error.

    Example:
        >>> check_resolution(32, 16, "SNGAN")
        5
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < minimum or (
        resolution & (resolution - 1)
    ):
        raise ValueError(
            f"{what} makes square images whose side is a power of two >= {minimum} (16, 32, 64, ...); "
            f"got resolution={resolution!r}."
        )
    return int(math.log2(resolution))


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    return value


@register("builder")
def sngan_generator(latent_dim=128, resolution=32, channels=3, width=256, num_classes=0, bottom_width=4,
                    interpolation="nearest", name="generator"):
    """SNGAN's ResNet generator; `[z, y]` inputs when `num_classes > 0`.

    Args:
        latent_dim: size of z (128).
        resolution: output side, a power of two >= 16 (32: the CIFAR model).
        channels: output channels.
        width: channels of every block (mimicry's `ngf`, 256).
        num_classes: > 0: class-conditional batch norms (projection cGAN).
        bottom_width: side of the first feature map (4).
        interpolation: upsampling, "nearest" (Chainer's SNGAN) or "bilinear" (mimicry).

    Example:
        >>> G = sngan_generator(latent_dim=128, resolution=32, channels=3)
        >>> sum(int(np.prod(v.shape)) for v in G.trainable_variables)
        4276739
    """
    log_res = check_resolution(resolution, 16, "The SNGAN generator")
    _positive(latent_dim, "latent_dim")
    _positive(width, "width")
    _positive(channels, "channels")
    bottom = _positive(bottom_width, "bottom_width")
    if bottom & (bottom - 1) or bottom >= resolution:
        raise ValueError(f"bottom_width must be a power of two below the resolution {resolution}, got {bottom_width}.")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}.")
    num_classes = cond.check_generator_conditioning(num_classes, "input")
    z = keras.Input((latent_dim,), name="z")
    inputs = z
    if num_classes:
        y = cond.label_input()
        inputs = [z, y]
    h = layers.Dense(bottom * bottom * width, kernel_initializer=_init(_UNIT_INIT), name="linear")(z)
    h = layers.Reshape((bottom, bottom, width))(h)
    for i in range(log_res - int(math.log2(bottom))):
        block = ResBlockUp(width, conditional=bool(num_classes), num_classes=num_classes, interpolation=interpolation,
                           kernel_initializer=_BLOCK_INIT, shortcut_initializer=_UNIT_INIT, name=f"block{i}")
        h = block([h, y] if num_classes else h)
    h = layers.ReLU()(BatchNormalization(momentum=0.9, epsilon=1e-5, name="bn_out")(h))
    h = layers.Conv2D(channels, 3, padding="same", kernel_initializer=_init(_UNIT_INIT), name="conv_out")(h)
    out = layers.Activation("tanh", dtype="float32", name="tanh")(h)
    return keras.Model(inputs, out, name=name)


@register("builder")
def sngan_discriminator(resolution=32, channels=3, width=128, num_classes=0, name="discriminator"):
    """SNGAN's ResNet discriminator; a projection D (`[x, y]` inputs) when `num_classes > 0`.

    Args:
        resolution: input side, a power of two >= 16.
        channels: input channels.
        width: channels of every block (mimicry's `ndf`, 128).
        num_classes: > 0: add `<embed(y), phi(x)>` (Miyato & Koyama 2018).

    Example:
        >>> D = sngan_discriminator(resolution=32)
        >>> sum(int(np.prod(v.shape)) for v in D.trainable_variables)
        1053825
    """
    log_res = check_resolution(resolution, 16, "The SNGAN discriminator")
    _positive(width, "width")
    _positive(channels, "channels")
    num_classes = cond.check_discriminator_conditioning(
        num_classes, "projection" if num_classes else None, aux_classifier=False
    )
    image = keras.Input((resolution, resolution, channels), name="image")
    inputs = image
    if num_classes:
        y = cond.label_input()
        inputs = [image, y]
    # Down to 8x8 (the first block included), then two blocks at 8x8.
    downs = log_res - 3
    kinds = [True] * downs + [False, False]
    h = image
    for i, downsample in enumerate(kinds):
        h = ResBlockDown(width, downsample=downsample, preactivation=i > 0, wide=True,
                         kernel_initializer=_BLOCK_INIT, shortcut_initializer=_UNIT_INIT, name=f"block{i}")(h)
    phi = GlobalSumPooling2D(name="sum_pool")(layers.ReLU()(h))
    logits = SpectralNormalization(layers.Dense(1, kernel_initializer=_init(_UNIT_INIT), name="linear"),
                                   name="linear_sn")(phi)
    if num_classes:
        embedded = SpectralNormalization(
            layers.Embedding(num_classes, width, embeddings_initializer=_init(_UNIT_INIT), name="class_embedding"),
            name="class_embedding_sn",
        )(y)
        logits = layers.Add(name="projection")([logits, layers.Dot(axes=1)([embedded, phi])])
    logits = layers.Activation("linear", dtype="float32", name="logits")(logits)
    return keras.Model(inputs, logits, name=name)
