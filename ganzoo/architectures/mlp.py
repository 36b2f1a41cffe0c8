"""Fully connected generator and discriminator (Goodfellow et al. 2014).

Used for the 2-D mode-coverage benchmark and the original MNIST GAN, and,
with `num_classes > 0`, for the conditional GAN of Mirza & Osindero 2014
(arXiv 1411.1784): the one-hot label joined to G's and D's inputs, or to
their hidden layers (Reed et al. 2016), a projection discriminator (Miyato &
Koyama 2018, arXiv 1802.05637) or an auxiliary classifier (AC-GAN, Odena et
al. 2017, arXiv 1610.09585).

Conditional networks take `[x_or_z, y]`, `y` int32 class ids of shape (N,).

Example:
    >>> G = mlp_generator(latent_dim=2, output_shape=2, hidden=(128, 128))
    >>> D = mlp_discriminator(input_shape=2, hidden=(128, 128))
    >>> cG = mlp_generator(latent_dim=2, output_shape=2, num_classes=8)
    >>> cD = mlp_discriminator(input_shape=2, num_classes=8, conditioning="projection")
"""

import math

import keras
from keras import layers

from ganzoo.architectures import _conditioning as cond
from ganzoo.engine.registry import register
from ganzoo.layers.batch_norm import BatchNormalization
from ganzoo.layers.sync_batchnorm import SyncBatchNormalization

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu", "gelu", "silu", "sigmoid", "linear")
NORMALIZATIONS = ("none", "batch", "sync_batch", "layer")


def _activation(name):
    if name == "leaky_relu":
        return layers.LeakyReLU(0.2)
    if name not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {name!r}; use one of {ACTIVATIONS}.")
    return layers.Activation(name)


def _check_normalization(kind):
    if kind not in NORMALIZATIONS:
        raise ValueError(f"Unknown normalization {kind!r}; use one of {NORMALIZATIONS}.")
    return kind


def _norm(kind, i):
    # Keras's default BatchNorm settings (momentum 0.99, epsilon 1e-3), as the MLP always had.
    if kind == "batch":
        return BatchNormalization(name=f"bn{i}")
    if kind == "sync_batch":
        # BatchNorm over the global batch under data parallelism (ganzoo.distribute).
        return SyncBatchNormalization(name=f"bn{i}")
    if kind == "layer":
        return layers.LayerNormalization(name=f"ln{i}")
    return None


def _dense_stack(x, hidden, activation, normalization, labels=None, joins=()):
    # Dense -> norm -> activation per width; the one-hot labels are concatenated
    # to the input of the layers listed in `joins`.
    for i, width in enumerate(hidden):
        if i in joins:
            x = layers.Concatenate(name=f"fc{i}_y")([x, labels])
        x = layers.Dense(int(width), name=f"fc{i}")(x)
        norm = _norm(normalization, i)
        if norm is not None:
            x = norm(x)
        x = _activation(activation)(x)
    return x


def _as_shape(shape):
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)


@register("builder")
def mlp_generator(
    latent_dim,
    output_shape,
    hidden=(128, 128, 128),
    activation="relu",
    output_activation="linear",
    normalization="none",
    num_classes=0,
    conditioning="input",
    name="generator",
):
    """An MLP mapping `(N, latent_dim)` latents (and labels) to `(N, *output_shape)` samples.

    Args:
        latent_dim: size of z.
        output_shape: int or shape of one sample (e.g. 2, or (28, 28, 1)).
        hidden: widths of the hidden layers.
        activation: hidden activation.
        output_activation: "linear" for data space (toy data), "tanh" for
            images in [-1, 1].
        normalization: after each hidden Dense layer: "none" (default),
            "batch" (BatchNorm), "sync_batch" (BatchNorm with the statistics
            of the global batch under data-parallel training,
            `ganzoo.layers.SyncBatchNormalization`; the same as "batch" on
            one device) or "layer" (LayerNorm).
        num_classes: 0 builds the unconditional network (one input `z`);
            otherwise the model takes `[z, y]`, `y` int32 class ids (N,).
        conditioning: how the one-hot label enters: "input" (concatenated
            to z, Mirza & Osindero 2014) or "hidden" (concatenated to the
            input of every hidden layer, Reed et al. 2016).

    Example:
        >>> G = mlp_generator(64, (28, 28, 1), hidden=(256, 512), output_activation="tanh")
        >>> cG = mlp_generator(64, (28, 28, 1), num_classes=10, conditioning="hidden")
        >>> [t.name for t in cG.inputs]
        ['z', 'y']
    """
    _check_normalization(normalization)
    num_classes = cond.check_generator_conditioning(num_classes, conditioning)
    output_shape = _as_shape(output_shape)
    inputs, x, labels = cond.generator_inputs(latent_dim, num_classes)
    # "hidden": the label joins every hidden layer after the first (which already sees it).
    joins = range(1, len(hidden)) if num_classes and conditioning == "hidden" else ()
    x = _dense_stack(x, hidden, activation, normalization, labels, joins)
    x = layers.Dense(math.prod(output_shape), name="out")(x)
    x = _activation(output_activation)(x)
    if len(output_shape) > 1:
        x = layers.Reshape(output_shape)(x)
    return keras.Model(inputs, x, name=name)


@register("builder")
def mlp_discriminator(
    input_shape,
    hidden=(128, 128, 128),
    activation="leaky_relu",
    return_features=False,
    normalization="none",
    num_classes=0,
    conditioning=None,
    aux_classifier=False,
    name="discriminator",
):
    """An MLP critic mapping samples (and labels) to one score (logit) each.

    Outputs logits (N, 1); with `return_features` or `aux_classifier` a dict
    `{"logits": (N, 1), "features": (N, width), "class_logits": (N, num_classes)}`
    holding the keys asked for. `features` is the last hidden layer, `phi(x)`.

    Args:
        input_shape: int or shape of one sample.
        hidden: widths of the hidden layers.
        activation: hidden activation.
        return_features: also return the last hidden layer, for feature
            matching (`objective="feature_matching"`).
        normalization: after each hidden Dense layer: "none" (default),
            "batch", "sync_batch" or "layer" (as `mlp_generator`).
        num_classes: number of classes (0: no labels).
        conditioning: how the label enters (the model then takes `[x, y]`):
            None (unconditioned), "input" (one-hot concatenated to the
            flattened sample), "hidden" (one-hot concatenated to the input of
            the last hidden layer, Reed et al. 2016), "projection" (Miyato &
            Koyama 2018: `logit = psi(phi(x)) + <embed(y), phi(x)>`, `embed`
            an `Embedding(num_classes, width)` named "class_embedding",
            `psi` the Dense(1) "logit").
        aux_classifier: add a Dense(num_classes) head "class_logits" on the
            features (AC-GAN, Odena et al. 2017). AC-GAN's D takes no label
            (`conditioning=None`); with "input" or "hidden" the head can read
            the label it is asked to predict.

    Example:
        >>> D = mlp_discriminator(2, hidden=(128, 128))
        >>> acD = mlp_discriminator(784, num_classes=10, aux_classifier=True)
        >>> sorted(acD.output)
        ['class_logits', 'logits']
    """
    _check_normalization(normalization)
    num_classes = cond.check_discriminator_conditioning(num_classes, conditioning, aux_classifier)
    if conditioning == "hidden" and not hidden:
        raise ValueError("conditioning='hidden' joins the label to the last hidden layer: give hidden=(...) widths.")
    input_shape = _as_shape(input_shape)
    x_in = keras.Input(input_shape, name="x")
    inputs = x_in
    x = layers.Flatten()(x_in) if len(input_shape) > 1 else x_in
    labels = None
    if conditioning is not None:
        y = cond.label_input()
        inputs = [x_in, y]
        if conditioning in ("input", "hidden"):
            labels = cond.one_hot(y, num_classes, name="one_hot")
    if conditioning == "input":
        x = layers.Concatenate(name="x_y")([x, labels])
    joins = (len(hidden) - 1,) if conditioning == "hidden" else ()  # the label joins the last hidden layer
    x = _dense_stack(x, hidden, activation, normalization, labels, joins)
    features = x
    logits = layers.Dense(1, name="logit")(features)
    if conditioning == "projection":
        embedded = layers.Embedding(num_classes, features.shape[-1], embeddings_initializer="glorot_uniform",
                                    name="class_embedding")(y)
        logits = layers.Add(name="projection")([logits, layers.Dot(axes=1)([embedded, features])])
    class_logits = layers.Dense(num_classes, name="class_logits")(features) if aux_classifier else None
    outputs = cond.discriminator_outputs(logits, features, class_logits, return_features)
    return keras.Model(inputs, outputs, name=name)
