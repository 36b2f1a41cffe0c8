"""InfoGAN's MNIST networks (Chen et al. 2016, appendix C.1), at any side divisible by 4.

    G: z -> FC 1024 -> BN -> ReLU -> FC (R/4 * R/4 * 128) -> BN -> ReLU
         -> 4x4 upconv 64, stride 2 -> BN -> ReLU -> 4x4 upconv C, stride 2 -> tanh
    D: x -> 4x4 conv 64, stride 2 -> lReLU -> 4x4 conv 128, stride 2 -> BN -> lReLU
         -> FC 1024 -> BN -> lReLU = features -> FC 1 (logit)
    Q: features -> FC 128 -> BN -> lReLU -> FC (one logit per category, one mean per continuous code)

The paper's output is a sigmoid for [0, 1] pixels; ganzoo's images are in
[-1, 1], so tanh. `width` scales the conv filters (64, 128 at width=64) and
`fc_width` the hidden FC layer (1024), for smaller CPU variants.

Example:
    >>> G = infogan_generator(latent_dim=74, resolution=16)
    >>> D = infogan_discriminator(resolution=16)
    >>> Q = infogan_q_head(feature_shape=(1024,), q_dim=12)
    >>> G.output.shape, sorted(D.output), Q.output.shape
    ((None, 16, 16, 1), ['features', 'logits'], (None, 12))
"""

import keras
from keras import initializers, layers

from ganzoo.engine.registry import register
from ganzoo.layers.batch_norm import BatchNormalization
from ganzoo.layers.conv_transpose import Conv2DTranspose

LEAK = 0.1  # the paper says "lRELU" without a slope; 0.1 as this family's default Q head


def _init():
    # A fresh initializer per layer, made at build time, so keras.utils.set_random_seed governs it.
    return initializers.RandomNormal(0.0, 0.02)


def _bn(name):
    return BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def _check_resolution(resolution):
    resolution = int(resolution)
    if resolution < 4 or resolution % 4:
        raise ValueError(f"InfoGAN networks need a resolution divisible by 4 (8, 16, 28, 32, ...), got {resolution}.")
    return resolution


@register("builder")
def infogan_generator(latent_dim=74, resolution=28, channels=1, width=64, fc_width=1024, name="generator"):
    """InfoGAN's MNIST generator: two FC layers, then two stride-2 transposed convs.

    Example:
        >>> infogan_generator(latent_dim=74, resolution=8, width=32, fc_width=256).output.shape
        (None, 8, 8, 1)
    """
    side = _check_resolution(resolution) // 4
    z = keras.Input((int(latent_dim),), name="z")
    h = layers.Dense(int(fc_width), use_bias=False, kernel_initializer=_init(), name="fc1")(z)
    h = layers.ReLU()(_bn("fc1_norm")(h))
    h = layers.Dense(side * side * 2 * int(width), use_bias=False, kernel_initializer=_init(), name="fc2")(h)
    h = layers.ReLU()(_bn("fc2_norm")(h))
    h = layers.Reshape((side, side, 2 * int(width)))(h)
    h = Conv2DTranspose(int(width), 4, strides=2, padding="same", use_bias=False, kernel_initializer=_init(),
                        name="up1")(h)
    h = layers.ReLU()(_bn("up1_norm")(h))
    h = Conv2DTranspose(int(channels), 4, strides=2, padding="same", kernel_initializer=_init(), name="to_image")(h)
    x = layers.Activation("tanh", dtype="float32")(h)
    return keras.Model(z, x, name=name)


@register("builder")
def infogan_discriminator(resolution=28, channels=1, width=64, fc_width=1024, name="discriminator"):
    """InfoGAN's MNIST discriminator; returns `{"logits", "features"}` (features: the FC layer Q shares).

    Example:
        >>> infogan_discriminator(resolution=8, width=32, fc_width=256).output["features"].shape
        (None, 256)
    """
    resolution = _check_resolution(resolution)
    image = keras.Input((resolution, resolution, int(channels)), name="image")
    h = layers.Conv2D(int(width), 4, strides=2, padding="same", kernel_initializer=_init(), name="down0")(image)
    h = layers.LeakyReLU(LEAK)(h)  # no BN on the input layer
    h = layers.Conv2D(2 * int(width), 4, strides=2, padding="same", use_bias=False, kernel_initializer=_init(),
                      name="down1")(h)
    h = layers.LeakyReLU(LEAK)(_bn("down1_norm")(h))
    h = layers.Dense(int(fc_width), use_bias=False, kernel_initializer=_init(), name="fc")(layers.Flatten()(h))
    features = layers.LeakyReLU(LEAK)(_bn("fc_norm")(h))
    logits = layers.Dense(1, kernel_initializer=_init(), dtype="float32", name="logit")(features)
    return keras.Model(image, {"logits": logits, "features": features}, name=name)


@register("builder")
def infogan_q_head(feature_shape=(1024,), q_dim=12, width=128, normalization="batch", name="q_network"):
    """Q on D's features: FC `width` -> BN (paper; "none" drops it) -> lReLU -> FC `q_dim`.

    Example:
        >>> infogan_q_head((4, 4, 128), 12, normalization="none").output.shape
        (None, 12)
    """
    if normalization not in ("batch", "none"):
        raise ValueError(f"infogan_q_head normalization must be 'batch' or 'none', got {normalization!r}.")
    x_in = keras.Input(tuple(int(d) for d in feature_shape))
    h = layers.Flatten()(x_in) if len(feature_shape) > 1 else x_in
    h = layers.Dense(int(width), use_bias=normalization == "none", kernel_initializer=_init(), name="fc")(h)
    if normalization == "batch":
        h = _bn("fc_norm")(h)
    h = layers.LeakyReLU(LEAK)(h)
    out = layers.Dense(int(q_dim), kernel_initializer=_init(), dtype="float32", name="codes")(h)
    return keras.Model(x_in, out, name=name)
