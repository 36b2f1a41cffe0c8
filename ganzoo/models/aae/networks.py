"""AAE networks: dense encoder, decoder and latent discriminator (the paper's MNIST nets, 2 x 1000 ReLU).

Example:
    >>> E = aae_encoder((16, 16, 1), latent_dim=2)
    >>> G = aae_decoder(2, (16, 16, 1))
    >>> D = latent_discriminator(2)
"""

import numpy as np
import keras

from ganzoo.engine import registry


def _mlp(x, width, depth, prefix):
    for i in range(int(depth)):
        x = keras.layers.Dense(int(width), activation="relu", name=f"{prefix}_dense{i}")(x)
    return x


@registry.register("builder")
def aae_encoder(input_shape, latent_dim, width=1000, depth=2, name="encoder"):
    """q(z|x): flatten -> `depth` x dense(width, ReLU) -> linear z (deterministic, the paper's choice).

    Example:
        >>> aae_encoder((8, 8, 1), 2, width=32).output.shape
        (None, 2)
    """
    x_in = keras.Input(tuple(input_shape), name="x")
    h = _mlp(keras.layers.Flatten()(x_in), width, depth, "e")
    return keras.Model(x_in, keras.layers.Dense(int(latent_dim), name="e_z")(h), name=name)


@registry.register("builder")
def aae_decoder(latent_dim, output_shape, width=1000, depth=2, num_classes=0, name="generator"):
    """p(x|z) (and y when `num_classes`): dense stack -> tanh image of `output_shape`.

    Example:
        >>> aae_decoder(2, (8, 8, 1), width=32, num_classes=10).output.shape
        (None, 8, 8, 1)
    """
    z = keras.Input((int(latent_dim),), name="z")
    inputs, h = [z], z
    if num_classes:
        y = keras.Input((), dtype="int32", name="y")
        inputs.append(y)
        h = keras.layers.Concatenate()([z, keras.layers.CategoryEncoding(int(num_classes), "one_hot")(y)])
    h = _mlp(h, width, depth, "g")
    out = keras.layers.Dense(int(np.prod(output_shape)), activation="tanh", name="g_out")(h)
    out = keras.layers.Reshape(tuple(output_shape))(out)
    return keras.Model(inputs if num_classes else z, out, name=name)


@registry.register("builder")
def latent_discriminator(latent_dim, width=1000, depth=2, name="discriminator"):
    """D on codes: `depth` x dense(width, ReLU) -> one logit.

    Example:
        >>> latent_discriminator(2, width=32).output.shape
        (None, 1)
    """
    z = keras.Input((int(latent_dim),), name="z")
    return keras.Model(z, keras.layers.Dense(1, name="d_logit")(_mlp(z, width, depth, "d")), name=name)


@registry.register("builder")
def aae_semisupervised_encoder(input_shape, num_classes, style_dim, width=1000, depth=2, input_noise=0.0,
                               dropout=0.0, name="encoder"):
    """q(y, z|x) of the semi-supervised AAE: a shared dense body, two heads [y logits (K), style z].

    `input_noise` (Gaussian std) and `dropout` corrupt the encoder's input in
    training only (a denoising encoder; off at inference).

    Example:
        >>> E = aae_semisupervised_encoder((8, 8, 1), 10, 4, width=32, dropout=0.2)
        >>> [tuple(o.shape) for o in E.outputs]
        [(None, 10), (None, 4)]
    """
    x_in = keras.Input(tuple(input_shape), name="x")
    h = keras.layers.Flatten()(x_in)
    if float(input_noise) > 0:
        h = keras.layers.GaussianNoise(float(input_noise), name="e_input_noise")(h)
    if float(dropout) > 0:
        h = keras.layers.Dropout(float(dropout), name="e_input_dropout")(h)
    h = _mlp(h, width, depth, "e")
    y_logits = keras.layers.Dense(int(num_classes), name="e_y_logits")(h)
    z = keras.layers.Dense(int(style_dim), name="e_z")(h)
    return keras.Model(x_in, [y_logits, z], name=name)


@registry.register("builder")
def aae_semisupervised_decoder(style_dim, num_classes, output_shape, width=1000, depth=2, name="generator"):
    """p(x|y, z): [style z (N, d), class vector y (N, K): softmax or one-hot] -> tanh image.

    Example:
        >>> aae_semisupervised_decoder(4, 10, (8, 8, 1), width=32).output.shape
        (None, 8, 8, 1)
    """
    z = keras.Input((int(style_dim),), name="z")
    y = keras.Input((int(num_classes),), name="y")
    h = _mlp(keras.layers.Concatenate()([z, y]), width, depth, "g")
    out = keras.layers.Dense(int(np.prod(output_shape)), activation="tanh", name="g_out")(h)
    return keras.Model([z, y], keras.layers.Reshape(tuple(output_shape))(out), name=name)
