"""DCGAN networks (Radford et al. 2016) at any power-of-two resolution.

The paper's architecture rules:
* no pooling: strided convolutions in D, fractionally strided (transposed)
  convolutions in G;
* batch normalization in both networks, except G's output layer and D's
  input layer;
* no fully connected hidden layers (z is projected to the first 4x4 feature
  map; D's last feature map is reduced to one logit);
* ReLU in G with tanh at the output, LeakyReLU(0.2) in D.

Widths double at each halving of resolution, `width * 2**k`, capped at
`max_width`, as in the paper's 64x64 model (width 128 there; 64 in the
pytorch/examples version). Kernels are 4x4 with stride 2.

BatchNorm under data parallelism (`ganzoo.distribute`): "batch" normalizes
each replica's rows with that replica's statistics (TF, PyTorch); use
`normalization="sync_batch"` for the global batch's statistics, so N devices
train like one. In a recipe: `generator: {builder: dcgan_generator, ...,
normalization: sync_batch}` (likewise for the discriminator).

Example:
    >>> G = dcgan_generator(latent_dim=100, resolution=64, channels=3)
    >>> D = dcgan_discriminator(resolution=64, channels=3)
"""

import math

import keras
from keras import initializers, layers

from ganzoo.layers.sync_batchnorm import SyncBatchNormalization

NORMALIZATIONS = ("batch", "sync_batch", "layer", "none")
# DCGAN initialisation: N(0, 0.02) weights, BN gamma N(1, 0.02).


def _init():
    # A fresh initializer per layer, made at build time: an unseeded Keras initializer
    # fixes its seed when constructed, so one made at import would ignore
    # keras.utils.set_random_seed (and differ between the processes of a JAX job).
    return initializers.RandomNormal(0.0, 0.02)


def _gamma_init():
    return initializers.RandomNormal(1.0, 0.02)


def _check_resolution(resolution):
    resolution = int(resolution)
    if resolution < 8 or resolution & (resolution - 1):
        raise ValueError(
            f"DCGAN resolution must be a power of two >= 8 (8, 16, 32, 64, ...), got {resolution}."
        )
    return int(math.log2(resolution)) - 2  # number of stride-2 stages from 4x4


def _norm(kind, name):
    if kind == "batch":
        return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, gamma_initializer=_gamma_init(), name=name)
    if kind == "sync_batch":
        # BatchNorm over the global batch under data parallelism (ganzoo.distribute).
        return SyncBatchNormalization(momentum=0.9, epsilon=1e-5, gamma_initializer=_gamma_init(), name=name)
    if kind == "layer":
        # Per-sample normalisation: the WGAN-GP paper's replacement for BN in critics.
        return layers.LayerNormalization(axis=(1, 2, 3), epsilon=1e-5, name=name)
    if kind == "none":
        return None
    raise ValueError(f"Unknown normalization {kind!r}; use one of {NORMALIZATIONS}.")


def dcgan_generator(
    latent_dim=100,
    resolution=64,
    channels=3,
    width=64,
    max_width=1024,
    normalization="batch",
    name="generator",
):
    """The DCGAN generator: z -> 4x4 -> ... -> resolution x resolution x channels.

    Args:
        latent_dim: size of z.
        resolution: output side, a power of two >= 8.
        channels: output channels (1 grayscale, 3 RGB, any count).
        width: filters of the last hidden stage; earlier stages double it.
        max_width: cap on filters.
        normalization: "batch" (paper), "sync_batch" (BatchNorm with the
            statistics of the global batch under data-parallel training:
            `ganzoo.layers.SyncBatchNormalization`; the same as "batch" on one
            device), "layer" or "none".

    Example:
        >>> G = dcgan_generator(latent_dim=64, resolution=32, channels=1, width=32)
    """
    stages = _check_resolution(resolution)
    widths = [min(width * 2 ** (stages - 1 - i), max_width) for i in range(stages)]
    z = keras.Input((int(latent_dim),), name="z")
    # Project and reshape: a transposed 4x4 conv on a 1x1 map (no hidden FC layer).
    x = layers.Reshape((1, 1, int(latent_dim)))(z)
    x = layers.Conv2DTranspose(widths[0], 4, strides=1, padding="valid", use_bias=False,
                               kernel_initializer=_init(), name="project")(x)
    norm = _norm(normalization, "project_norm")
    x = layers.ReLU()(norm(x) if norm else x)
    for i, filters in enumerate(widths[1:], start=1):
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=_init(), name=f"up{i}")(x)
        norm = _norm(normalization, f"up{i}_norm")
        x = layers.ReLU()(norm(x) if norm else x)
    x = layers.Conv2DTranspose(int(channels), 4, strides=2, padding="same",
                               kernel_initializer=_init(), name="to_image")(x)
    x = layers.Activation("tanh", dtype="float32")(x)
    return keras.Model(z, x, name=name)


def dcgan_discriminator(
    resolution=64,
    channels=3,
    width=64,
    max_width=1024,
    normalization="batch",
    return_features=False,
    name="discriminator",
):
    """The DCGAN discriminator: image -> strided convs -> one logit.

    Args:
        resolution: input side, a power of two >= 8.
        channels: input channels.
        width: filters of the first stage; each later stage doubles it.
        max_width: cap on filters.
        normalization: "batch" (paper), "sync_batch" (global-batch statistics
            under data parallelism, see the generator), "layer" (WGAN-GP
            critics), "none".
        return_features: also return the last feature map (feature matching).

    Example:
        >>> D = dcgan_discriminator(resolution=32, channels=1, normalization="layer")
    """
    stages = _check_resolution(resolution)
    image = keras.Input((int(resolution), int(resolution), int(channels)), name="image")
    x = image
    for i in range(stages):
        filters = min(width * 2**i, max_width)
        x = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=i == 0 or normalization == "none",
                          kernel_initializer=_init(), name=f"down{i}")(x)
        norm = _norm(normalization, f"down{i}_norm") if i > 0 else None  # not on the input layer
        x = layers.LeakyReLU(0.2)(norm(x) if norm else x)
    features = x
    x = layers.Conv2D(1, 4, strides=1, padding="valid", kernel_initializer=_init(), name="logit")(x)
    logits = layers.Flatten(dtype="float32")(x)
    outputs = (logits, features) if return_features else logits
    return keras.Model(image, outputs, name=name)
