"""Class conditioning shared by the MLP and DCGAN builders.

Labels are int32 class ids of shape (N,), fed through a Keras input named
"y". Concatenated labels are one-hot vectors (`CategoryEncoding`), not a
learned embedding: a one-hot joined to the input of a linear layer already
adds a learned per-class vector to that layer's pre-activation, so an
embedding would only repeat it. The projection discriminator learns its
class embedding (`Embedding`, named "class_embedding").

Example:
    >>> y = label_input()
    >>> tuple(one_hot(y, 10).shape)
    (None, 10)
"""

import keras
from keras import layers

GENERATOR_CONDITIONINGS = ("input", "hidden")
DISCRIMINATOR_CONDITIONINGS = (None, "input", "hidden", "projection")


def _check_num_classes(num_classes):
    if num_classes is None or int(num_classes) != num_classes or num_classes < 0:
        raise ValueError(f"num_classes must be an integer >= 0 (0: unconditional), got {num_classes!r}.")
    return int(num_classes)


def check_generator_conditioning(num_classes, conditioning):
    """Validate G's `num_classes` and `conditioning`; return `num_classes` as int.

    Example:
        >>> check_generator_conditioning(10, "hidden")
        10
    """
    num_classes = _check_num_classes(num_classes)
    if conditioning not in GENERATOR_CONDITIONINGS:
        raise ValueError(
            f"Unknown generator conditioning {conditioning!r}; use one of {GENERATOR_CONDITIONINGS}."
        )
    # "input" is the default, so it is silently unconditional with num_classes=0; "hidden" asks for labels.
    if conditioning == "hidden" and not num_classes:
        raise ValueError("conditioning='hidden' needs num_classes > 0 (the number of class labels).")
    return num_classes


def check_discriminator_conditioning(num_classes, conditioning, aux_classifier):
    """Validate D's `num_classes`, `conditioning` and `aux_classifier`; return `num_classes`.

    Example:
        >>> check_discriminator_conditioning(10, "projection", aux_classifier=False)
        10
    """
    num_classes = _check_num_classes(num_classes)
    if conditioning not in DISCRIMINATOR_CONDITIONINGS:
        raise ValueError(
            f"Unknown discriminator conditioning {conditioning!r}; use one of {DISCRIMINATOR_CONDITIONINGS}."
        )
    if conditioning is not None and not num_classes:
        raise ValueError(f"conditioning={conditioning!r} needs num_classes > 0 (the number of class labels).")
    if aux_classifier and not num_classes:
        raise ValueError("aux_classifier=True needs num_classes > 0 (the classes it predicts).")
    return num_classes


def label_input():
    """The label input of a conditional network: int32 class ids of shape (N,), named "y".

    Example:
        >>> label_input().shape
        (None,)
    """
    return keras.Input(shape=(), dtype="int32", name="y")


def generator_inputs(latent_dim, num_classes):
    """A generator's inputs: `(inputs, h, labels)`.

    Unconditional: `z` alone (`h = z`, `labels = None`). Conditional: `[z, y]`,
    `labels` the one-hot of `y` and `h` = z and labels concatenated (Mirza &
    Osindero 2014).

    Example:
        >>> inputs, h, labels = generator_inputs(8, 10)
        >>> tuple(h.shape)
        (None, 18)
    """
    z = keras.Input((int(latent_dim),), name="z")
    if not num_classes:
        return z, z, None
    y = label_input()
    labels = one_hot(y, num_classes, name="one_hot")
    return [z, y], layers.Concatenate(name="z_y")([z, labels]), labels


def one_hot(y, num_classes, name=None):
    """(N,) int class ids -> (N, num_classes) float one-hot.

    Example:
        >>> tuple(one_hot(label_input(), 3).shape)
        (None, 3)
    """
    return layers.CategoryEncoding(int(num_classes), output_mode="one_hot", name=name)(y)


def broadcast(labels, size):
    """(N, K) -> (N, size, size, K): the label replicated at every position (Reed et al. 2016).

    Example:
        >>> tuple(broadcast(one_hot(label_input(), 3), 4).shape)
        (None, 4, 4, 3)
    """
    x = layers.Reshape((1, 1, labels.shape[-1]))(labels)
    return layers.UpSampling2D(int(size))(x) if size > 1 else x


def discriminator_outputs(logits, features=None, class_logits=None, return_features=False):
    """A discriminator's outputs: plain logits, or the dict `{"logits", "features"?, "class_logits"?}`.

    Example:
        >>> out = discriminator_outputs("l", features="f", return_features=True)
        >>> sorted(out)
        ['features', 'logits']
    """
    if not return_features and class_logits is None:
        return logits
    outputs = {"logits": logits}
    if return_features:
        outputs["features"] = features
    if class_logits is not None:
        outputs["class_logits"] = class_logits
    return outputs
