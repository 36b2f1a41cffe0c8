"""SRGAN networks (Ledig et al. 2017, arXiv 1609.04802, Fig. 4): SRResNet and the VGG-style discriminator.

* SRResNet (G): 9x9 conv to 64, PReLU; 16 residual blocks (3x3 conv, BN,
  PReLU, 3x3 conv, BN, + input); 3x3 conv, BN, + the output of the first
  PReLU (the long skip); per x2 factor a 3x3 conv to 256 channels, a x2
  sub-pixel shuffle and PReLU; a 9x9 conv to the image channels. PReLU has
  one slope per layer (PyTorch's `nn.PReLU()` default); the output is tanh
  (images in [-1, 1] here; the paper's HR range; `output_activation="linear"`
  drops it). x4: 1,549,462 trainable
  parameters (plus 4,224 BatchNorm moving statistics).
* D: 3x3 convs 64, 64/2, 128, 128/2, 256, 256/2, 512, 512/2 ("/2": stride 2),
  LeakyReLU(0.2), BN after all but the first; Dense(1024), LeakyReLU, Dense(1)
  (a logit; the paper's sigmoid is in the loss).

Example:
    >>> G = srresnet(scale=4)
    >>> G.count_params() - 4224          # trainable
    1549462
"""

import math

import keras
from keras import layers

from ganzoo.engine.registry import register
from ganzoo.layers.batch_norm import BatchNormalization
from ganzoo.models.srgan.layers import SubPixelUpsampling


def _shape(image_size, channels):
    if image_size is None:
        return (None, None, int(channels))
    h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    return (int(h), int(w), int(channels))


def _prelu(name):
    return layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25), shared_axes=[1, 2, 3], name=name)


@register("builder")
def srresnet(scale=4, channels=3, filters=64, n_blocks=16, image_size=None, output_activation="tanh",
             name="srresnet"):
    """SRResNet: the SRGAN generator, low-resolution images -> `scale` times larger ones.

    Args:
        scale: upsampling factor, a power of 2 (4 in the paper: two x2 sub-pixel blocks).
        channels: image channels in and out.
        filters: width of the residual trunk (64).
        n_blocks: residual blocks (16).
        image_size: the low-resolution input size (int or (H, W)), or None for any.
        output_activation: "tanh" (the paper's, images in [-1, 1]) or "linear"
            (unbounded; learns flat -1 backgrounds in fewer steps, for short runs).

    Returns:
        A functional `keras.Model` (N, h, w, C) -> (N, scale h, scale w, C).

    Example:
        >>> G = srresnet(scale=4, channels=1, filters=16, n_blocks=2, image_size=8)
        >>> G(keras.ops.zeros((2, 8, 8, 1))).shape
        (2, 32, 32, 1)
    """
    steps = math.log2(int(scale))
    if int(scale) < 2 or steps != int(steps):
        raise ValueError(f"scale must be a power of 2 (2, 4, 8), got {scale!r}.")
    if output_activation not in ("tanh", "linear"):
        raise ValueError(f"output_activation must be 'tanh' or 'linear', got {output_activation!r}.")
    f = int(filters)
    lr = keras.Input(_shape(image_size, channels), name="lr")
    h = layers.Conv2D(f, 9, padding="same", name="stem_conv")(lr)
    skip = h = _prelu("stem_prelu")(h)
    for b in range(int(n_blocks)):
        r = layers.Conv2D(f, 3, padding="same", name=f"res{b}_conv1")(h)
        r = BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"res{b}_bn1")(r)
        r = _prelu(f"res{b}_prelu")(r)
        r = layers.Conv2D(f, 3, padding="same", name=f"res{b}_conv2")(r)
        r = BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"res{b}_bn2")(r)
        h = layers.Add(name=f"res{b}_add")([h, r])
    h = layers.Conv2D(f, 3, padding="same", name="trunk_conv")(h)
    h = BatchNormalization(momentum=0.9, epsilon=1e-5, name="trunk_bn")(h)
    h = layers.Add(name="trunk_add")([skip, h])
    for i in range(int(steps)):
        h = layers.Conv2D(4 * f, 3, padding="same", name=f"up{i}_conv")(h)
        h = SubPixelUpsampling(2, name=f"up{i}_shuffle")(h)
        h = _prelu(f"up{i}_prelu")(h)
    h = layers.Conv2D(int(channels), 9, padding="same", name="out_conv")(h)
    h = layers.Activation(output_activation, dtype="float32", name=f"out_{output_activation}")(h)
    return keras.Model(lr, h, name=name)


@register("builder")
def srgan_discriminator(image_size=96, channels=3, filters=64, dense=1024, name="srgan_discriminator"):
    """The SRGAN discriminator: eight 3x3 conv layers (four stride 2), Dense(1024), one logit.

    Args:
        image_size: the high-resolution size (fixed: the dense layer sees the
            flattened `image_size / 16` map; 96 in the paper).
        channels: image channels.
        filters: width of the first convs (64; doubled every two layers up to 8x).
        dense: units of the hidden dense layer (1024).

    Example:
        >>> D = srgan_discriminator(image_size=32, channels=1, filters=16, dense=64)
        >>> D(keras.ops.zeros((2, 32, 32, 1))).shape
        (2, 1)
    """
    shape = _shape(image_size, channels)
    if shape[0] is None or shape[0] % 16 or shape[1] % 16:
        raise ValueError(f"srgan_discriminator needs a fixed image_size that is a multiple of 16, got {image_size!r}.")
    hr = keras.Input(shape, name="image")
    h = hr
    plan = [(1, 1), (1, 2), (2, 1), (2, 2), (4, 1), (4, 2), (8, 1), (8, 2)]
    for i, (mult, stride) in enumerate(plan):
        h = layers.Conv2D(int(filters) * mult, 3, strides=stride, padding="same", name=f"d{i}_conv")(h)
        if i:
            h = BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"d{i}_bn")(h)
        h = layers.LeakyReLU(0.2, name=f"d{i}_lrelu")(h)
    h = layers.Flatten(name="flatten")(h)
    h = layers.Dense(int(dense), name="dense")(h)
    h = layers.LeakyReLU(0.2, name="dense_lrelu")(h)
    h = layers.Dense(1, name="logit")(h)
    h = layers.Activation("linear", dtype="float32", name="logits")(h)
    return keras.Model(hr, h, name=name)
