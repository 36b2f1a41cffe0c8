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

Class conditioning (`num_classes > 0`; the networks then take `[z, y]` and
`[image, y]`, `y` int32 class ids of shape (N,)): the one-hot label joined
to z (Mirza & Osindero 2014), broadcast over the feature maps (Reed et al.
2016), a projection discriminator (Miyato & Koyama 2018) or an auxiliary
classifier head (AC-GAN, Odena et al. 2017).

BatchNorm under data parallelism (`ganzoo.distribute`): "batch" normalizes
each replica's rows with that replica's statistics (TF, PyTorch); use
`normalization="sync_batch"` for the global batch's statistics, so N devices
train like one. In a recipe: `generator: {builder: dcgan_generator, ...,
normalization: sync_batch}` (likewise for the discriminator).

Example:
    >>> G = dcgan_generator(latent_dim=100, resolution=64, channels=3)
    >>> D = dcgan_discriminator(resolution=64, channels=3)
    >>> cG = dcgan_generator(latent_dim=100, resolution=32, channels=1, num_classes=10)
    >>> cD = dcgan_discriminator(resolution=32, channels=1, num_classes=10, conditioning="projection")
"""

import math

import keras
from keras import initializers, layers

from ganzoo.architectures import _conditioning as cond
from ganzoo.engine.registry import register
from ganzoo.layers.batch_norm import BatchNormalization
from ganzoo.layers.conv_transpose import Conv2DTranspose
from ganzoo.layers.pooling import GlobalSumPooling2D
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


def _check_normalization(kind):
    # Checked up front, not by building a throwaway layer: an extra initializer
    # would draw from the global seed and change the weights that follow.
    if kind not in NORMALIZATIONS:
        raise ValueError(f"Unknown normalization {kind!r}; use one of {NORMALIZATIONS}.")


def _norm(kind, name):
    if kind == "batch":
        return BatchNormalization(momentum=0.9, epsilon=1e-5, gamma_initializer=_gamma_init(), name=name)
    if kind == "sync_batch":
        # BatchNorm over the global batch under data parallelism (ganzoo.distribute).
        return SyncBatchNormalization(momentum=0.9, epsilon=1e-5, gamma_initializer=_gamma_init(), name=name)
    if kind == "layer":
        # Per-sample normalisation: the WGAN-GP paper's replacement for BN in critics.
        return layers.LayerNormalization(axis=(1, 2, 3), epsilon=1e-5, name=name)
    if kind == "none":
        return None
    raise ValueError(f"Unknown normalization {kind!r}; use one of {NORMALIZATIONS}.")


@register("builder")
def dcgan_generator(
    latent_dim=100,
    resolution=64,
    channels=3,
    width=64,
    max_width=1024,
    normalization="batch",
    num_classes=0,
    conditioning="input",
    name="generator",
):
    """The DCGAN generator: z (and y) -> 4x4 -> ... -> resolution x resolution x channels.

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
        num_classes: 0 builds the unconditional network (one input `z`);
            otherwise the model takes `[z, y]`, `y` int32 class ids (N,).
        conditioning: "input" (the one-hot label concatenated to z, Mirza &
            Osindero 2014) or "hidden" (also broadcast spatially and
            concatenated to every intermediate feature map, Reed et al. 2016).

    Example:
        >>> G = dcgan_generator(latent_dim=64, resolution=32, channels=1, width=32)
        >>> cG = dcgan_generator(latent_dim=64, resolution=32, channels=1, num_classes=10, conditioning="hidden")
        >>> [t.name for t in cG.inputs]
        ['z', 'y']
    """
    stages = _check_resolution(resolution)
    _check_normalization(normalization)
    num_classes = cond.check_generator_conditioning(num_classes, conditioning)
    widths = [min(width * 2 ** (stages - 1 - i), max_width) for i in range(stages)]
    inputs, h, labels = cond.generator_inputs(latent_dim, num_classes)

    def join_labels(x, stage):
        # Reed et al. 2016: the label replicated at every position of the feature map.
        if num_classes and conditioning == "hidden":
            return layers.Concatenate(name=f"{stage}_y")([x, cond.broadcast(labels, x.shape[1])])
        return x

    # Project and reshape: a transposed 4x4 conv on a 1x1 map (no hidden FC layer).
    x = layers.Reshape((1, 1, h.shape[-1]))(h)
    x = Conv2DTranspose(widths[0], 4, strides=1, padding="valid", use_bias=False,
                        kernel_initializer=_init(), name="project")(x)
    norm = _norm(normalization, "project_norm")
    x = layers.ReLU()(norm(x) if norm else x)
    for i, filters in enumerate(widths[1:], start=1):
        x = join_labels(x, f"up{i}")
        x = Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False,
                            kernel_initializer=_init(), name=f"up{i}")(x)
        norm = _norm(normalization, f"up{i}_norm")
        x = layers.ReLU()(norm(x) if norm else x)
    x = join_labels(x, "to_image")
    x = Conv2DTranspose(int(channels), 4, strides=2, padding="same",
                        kernel_initializer=_init(), name="to_image")(x)
    x = layers.Activation("tanh", dtype="float32")(x)
    return keras.Model(inputs, x, name=name)


@register("builder")
def dcgan_discriminator(
    resolution=64,
    channels=3,
    width=64,
    max_width=1024,
    normalization="batch",
    return_features=False,
    num_classes=0,
    conditioning=None,
    aux_classifier=False,
    name="discriminator",
):
    """The DCGAN discriminator: image (and y) -> strided convs -> one logit.

    Outputs logits (N, 1); with `return_features` or `aux_classifier` a dict
    `{"logits": (N, 1), "features": (N, 4, 4, C), "class_logits": (N, num_classes)}`
    holding the keys asked for. `features` is the last 4x4 feature map, the
    input of the logit head.

    Args:
        resolution: input side, a power of two >= 8.
        channels: input channels.
        width: filters of the first stage; each later stage doubles it.
        max_width: cap on filters.
        normalization: "batch" (paper), "sync_batch" (global-batch statistics
            under data parallelism, see the generator), "layer" (WGAN-GP
            critics), "none".
        return_features: also return the last feature map (feature matching).
        num_classes: number of classes (0: no labels).
        conditioning: how the label enters (the model then takes `[image, y]`):
            None (unconditioned); "input" (the one-hot broadcast as
            `num_classes` extra image channels); "hidden" (Reed et al. 2016:
            the one-hot replicated over the last 4x4 map and concatenated to
            it, then a 1x1 conv "fuse" + norm + LeakyReLU before the 4x4 logit
            conv; without that conv the linear logit would only add a per-class
            bias); "projection" (Miyato & Koyama 2018: `phi(x)` the global SUM
            pooling of the last feature map as in the paper's ResNet D,
            `logit = psi(phi) + <embed(y), phi>`, `psi` a Dense(1) "logit",
            `embed` an `Embedding(num_classes, C)` "class_embedding").
        aux_classifier: add a Dense(num_classes) head "class_logits" on the
            flattened features (AC-GAN, Odena et al. 2017). AC-GAN's D takes
            no label (`conditioning=None`); with "input" or "hidden" the head
            can read the label it is asked to predict.

    Example:
        >>> D = dcgan_discriminator(resolution=32, channels=1, normalization="layer")
        >>> acD = dcgan_discriminator(resolution=32, channels=1, num_classes=10, aux_classifier=True)
        >>> sorted(acD.output)
        ['class_logits', 'logits']
    """
    stages = _check_resolution(resolution)
    _check_normalization(normalization)
    num_classes = cond.check_discriminator_conditioning(num_classes, conditioning, aux_classifier)
    image = keras.Input((int(resolution), int(resolution), int(channels)), name="image")
    inputs, x = image, image
    if conditioning is not None:
        y = cond.label_input()
        inputs = [image, y]
        if conditioning in ("input", "hidden"):
            labels = cond.one_hot(y, num_classes, name="one_hot")
    if conditioning == "input":
        x = layers.Concatenate(name="image_y")([image, cond.broadcast(labels, int(resolution))])
    for i in range(stages):
        filters = min(width * 2**i, max_width)
        x = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=i == 0 or normalization == "none",
                          kernel_initializer=_init(), name=f"down{i}")(x)
        norm = _norm(normalization, f"down{i}_norm") if i > 0 else None  # not on the input layer
        x = layers.LeakyReLU(0.2)(norm(x) if norm else x)
    if conditioning == "hidden":
        x = layers.Concatenate(name="features_y")([x, cond.broadcast(labels, x.shape[1])])
        x = layers.Conv2D(filters, 1, use_bias=normalization == "none", kernel_initializer=_init(),
                          name="fuse")(x)
        norm = _norm(normalization, "fuse_norm")
        x = layers.LeakyReLU(0.2)(norm(x) if norm else x)
    features = x
    if conditioning == "projection":
        phi = GlobalSumPooling2D(name="sum_pool")(features)
        psi = layers.Dense(1, kernel_initializer=_init(), name="logit")(phi)
        embedded = layers.Embedding(num_classes, phi.shape[-1], embeddings_initializer=_init(),
                                    name="class_embedding")(y)
        logits = layers.Add(dtype="float32", name="projection")([psi, layers.Dot(axes=1)([embedded, phi])])
    else:
        x = layers.Conv2D(1, 4, strides=1, padding="valid", kernel_initializer=_init(), name="logit")(features)
        logits = layers.Flatten(dtype="float32")(x)
    class_logits = None
    if aux_classifier:
        class_logits = layers.Dense(num_classes, kernel_initializer=_init(), dtype="float32",
                                    name="class_logits")(layers.Flatten()(features))
    outputs = cond.discriminator_outputs(logits, features, class_logits, return_features)
    return keras.Model(inputs, outputs, name=name)
