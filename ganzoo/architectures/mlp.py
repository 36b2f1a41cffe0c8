"""Fully connected generator and discriminator (Goodfellow et al. 2014).

Used for the 2-D mode-coverage benchmark and the original MNIST GAN.

Example:
    >>> G = mlp_generator(latent_dim=2, output_shape=2, hidden=(128, 128))
    >>> D = mlp_discriminator(input_shape=2, hidden=(128, 128))
"""

import math

import keras
from keras import layers

from ganzoo.layers.sync_batchnorm import SyncBatchNormalization

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu", "gelu", "silu", "sigmoid", "linear")


def _activation(name):
    if name == "leaky_relu":
        return layers.LeakyReLU(0.2)
    if name not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {name!r}; use one of {ACTIVATIONS}.")
    return layers.Activation(name)


def _as_shape(shape):
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)


def mlp_generator(
    latent_dim,
    output_shape,
    hidden=(128, 128, 128),
    activation="relu",
    output_activation="linear",
    batchnorm=False,
    name="generator",
):
    """An MLP mapping `(N, latent_dim)` latents to `(N, *output_shape)` samples.

    Args:
        latent_dim: size of z.
        output_shape: int or shape of one sample (e.g. 2, or (28, 28, 1)).
        hidden: widths of the hidden layers.
        activation: hidden activation.
        output_activation: "linear" for data space (toy data), "tanh" for
            images in [-1, 1].
        batchnorm: BatchNorm after each hidden Dense layer: False, True, or
            "sync" for `ganzoo.layers.SyncBatchNormalization` (statistics of
            the global batch under data-parallel training; the same as True
            on one device).

    Example:
        >>> G = mlp_generator(64, (28, 28, 1), hidden=(256, 512), output_activation="tanh")
    """
    if batchnorm not in (False, True, "sync"):
        raise ValueError(f"batchnorm must be False, True or 'sync', got {batchnorm!r}.")
    output_shape = _as_shape(output_shape)
    z = keras.Input((int(latent_dim),), name="z")
    x = z
    for i, width in enumerate(hidden):
        x = layers.Dense(int(width), name=f"fc{i}")(x)
        if batchnorm:
            norm = SyncBatchNormalization if batchnorm == "sync" else layers.BatchNormalization
            x = norm(name=f"bn{i}")(x)
        x = _activation(activation)(x)
    x = layers.Dense(math.prod(output_shape), name="out")(x)
    x = _activation(output_activation)(x)
    if len(output_shape) > 1:
        x = layers.Reshape(output_shape)(x)
    return keras.Model(z, x, name=name)


def mlp_discriminator(
    input_shape,
    hidden=(128, 128, 128),
    activation="leaky_relu",
    return_features=False,
    name="discriminator",
):
    """An MLP critic mapping samples to one score (logit) each.

    Args:
        input_shape: int or shape of one sample.
        hidden: widths of the hidden layers.
        activation: hidden activation.
        return_features: also return the last hidden layer, for feature
            matching (`objective="feature_matching"`).

    Example:
        >>> D = mlp_discriminator(2, hidden=(128, 128))
    """
    input_shape = _as_shape(input_shape)
    x_in = keras.Input(input_shape, name="x")
    x = layers.Flatten()(x_in) if len(input_shape) > 1 else x_in
    for i, width in enumerate(hidden):
        x = _activation(activation)(layers.Dense(int(width), name=f"fc{i}")(x))
    features = x
    logits = layers.Dense(1, name="logit")(x)
    outputs = (logits, features) if return_features else logits
    return keras.Model(x_in, outputs, name=name)
