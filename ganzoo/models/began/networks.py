"""BEGAN's networks (Berthelot et al. 2017, section 3.5): ELU conv blocks, no BatchNorm.

The decoder (also BEGAN's generator) maps an embedding h to 8x8xn, then
repeats [conv3x3-ELU, conv3x3-ELU, nearest x2 upsampling] and ends with a
conv3x3 to the image channels. The encoder mirrors it: conv3x3-ELU, then per
stage two conv3x3-ELU with the filters growing linearly (n, 2n, 3n, ...),
downsampling by a stride-2 conv3x3, and a dense layer to h. D = decoder of
encoder: an auto-encoder whose per-pixel L1 reconstruction error is its
answer.

Example:
    >>> G = began_generator(embedding=64, resolution=32, channels=1, filters=32)
    >>> D = began_discriminator(embedding=64, resolution=32, channels=1, filters=32)
    >>> D.output.shape
    (None, 32, 32, 1)
"""

import math

import keras

from ganzoo.engine import registry


def _stages(resolution):
    stages = math.log2(int(resolution) / 8)
    if resolution < 8 or stages != int(stages):
        raise ValueError(f"BEGAN networks make 8 * 2^k pixels (8, 16, 32, 64, 128, ...); got resolution {resolution}.")
    return int(stages)


def _conv(filters, name, strides=1):
    return keras.layers.Conv2D(filters, 3, strides=strides, padding="same", activation="elu", name=name)


def _decoder_body(h, resolution, channels, filters, prefix):
    stages = _stages(resolution)
    x = keras.layers.Dense(8 * 8 * filters, name=f"{prefix}_dense")(h)
    x = keras.layers.Reshape((8, 8, filters))(x)
    for i in range(stages + 1):
        x = _conv(filters, f"{prefix}_conv{i}a")(x)
        x = _conv(filters, f"{prefix}_conv{i}b")(x)
        if i < stages:
            x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{prefix}_up{i}")(x)
    return keras.layers.Conv2D(channels, 3, padding="same", name=f"{prefix}_to_image")(x)


@registry.register("builder")
def began_generator(embedding=64, resolution=32, channels=3, filters=64, name="generator"):
    """BEGAN's generator: z (N, embedding) -> image (N, R, R, C), no output activation.

    Example:
        >>> began_generator(embedding=16, resolution=16, channels=1, filters=8).output.shape
        (None, 16, 16, 1)
    """
    z = keras.Input((int(embedding),), name="z")
    return keras.Model(z, _decoder_body(z, resolution, channels, filters, "g"), name=name)


@registry.register("builder")
def began_discriminator(embedding=64, resolution=32, channels=3, filters=64, name="discriminator"):
    """BEGAN's auto-encoder discriminator: image -> encoder -> h -> decoder -> reconstruction.

    Example:
        >>> began_discriminator(embedding=16, resolution=16, channels=1, filters=8).output.shape
        (None, 16, 16, 1)
    """
    stages = _stages(resolution)
    image = keras.Input((int(resolution), int(resolution), int(channels)), name="image")
    x = _conv(filters, "e_conv_in")(image)
    for i in range(stages + 1):
        width = filters * (i + 1)
        x = _conv(width, f"e_conv{i}a")(x)
        x = _conv(width, f"e_conv{i}b")(x)
        if i < stages:
            x = _conv(filters * (i + 2), f"e_down{i}", strides=2)(x)
    h = keras.layers.Dense(int(embedding), name="e_embedding")(keras.layers.Flatten()(x))
    return keras.Model(image, _decoder_body(h, resolution, channels, filters, "d"), name=name)
