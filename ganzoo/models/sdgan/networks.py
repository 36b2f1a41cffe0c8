"""SD-GAN's pair discriminators (Donahue et al. 2018, section 3.1).

D judges a tuple of k images, `(N, k, H, W, C)`, that should show one
identity. "siamese" (the paper's default) runs one shared encoder on each
image and a dense head on the concatenated embeddings; "stacked" joins the
k images on channels and runs one ordinary discriminator over them.

Example:
    >>> from ganzoo.architectures import dcgan_discriminator
    >>> enc = dcgan_discriminator(resolution=16, channels=1, width=16, return_features=True)
    >>> D = pair_discriminator(enc, k=2, mode="siamese")
    >>> D.input.shape
    (None, 2, 16, 16, 1)
"""

import keras

from ganzoo.engine import registry

MODES = ("siamese", "stacked")


@keras.saving.register_keras_serializable(package="ganzoo")
class TupleItem(keras.layers.Layer):
    """Image `index` of an `(N, k, H, W, C)` tuple: `(N, H, W, C)`.

    Example:
        >>> TupleItem(1)(np.zeros((2, 3, 4, 4, 1))).shape
        (2, 4, 4, 1)
    """

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, pairs):
        return pairs[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


def _features_model(encoder):
    out = encoder.output
    if isinstance(out, dict):
        if "features" not in out:
            raise ValueError("The siamese encoder must return features: build it with return_features=True.")
        out = out["features"]
    return keras.Model(encoder.inputs, out, name="pair_encoder")


@registry.register("builder")
def pair_discriminator(encoder=None, k=2, mode="siamese", resolution=32, channels=1, width=32, embedding=128,
                       name="discriminator"):
    """A discriminator over `(N, k, H, W, C)` image tuples.

    Args:
        encoder: for "siamese", a Keras model image -> features (or a dict
            with "features"); for "stacked", a model on `k * C` channels.
            Default: a DCGAN discriminator of `resolution`, `channels`, `width`.
        k: images per tuple (paper: 2).
        mode: "siamese" or "stacked".
        embedding: siamese: each image's embedding size before the head.

    Example:
        >>> D = pair_discriminator(k=2, mode="stacked", resolution=16, channels=1, width=16)
        >>> D.output.shape
        (None, 1)
    """
    from ganzoo.architectures import dcgan_discriminator

    if mode not in MODES:
        raise ValueError(f"pair_discriminator mode must be one of {', '.join(MODES)}; got {mode!r}.")
    if int(k) < 2:
        raise ValueError(f"SD-GAN tuples hold k >= 2 images, got k={k}.")
    k = int(k)
    if encoder is None:
        encoder = dcgan_discriminator(resolution=resolution, channels=channels * (k if mode == "stacked" else 1),
                                      width=width, return_features=mode == "siamese", name="pair_encoder")
    h, w, c = encoder.inputs[0].shape[1:]
    if mode == "stacked":
        c = c // k
    pair = keras.Input((k, h, w, c), name="pair")
    if mode == "stacked":
        stacked = keras.layers.Permute((2, 3, 1, 4))(pair)              # (N, H, W, k, C)
        logits = encoder(keras.layers.Reshape((h, w, k * c))(stacked))
        logits = logits["logits"] if isinstance(logits, dict) else logits
        return keras.Model(pair, logits, name=name)
    features = _features_model(encoder)
    # Each image through the shared encoder (k calls share weights), then one head on the joined embeddings.
    embed = keras.layers.Dense(int(embedding), name="embedding")
    parts = []
    for i in range(k):
        image = TupleItem(i, name=f"image_{i}")(pair)
        parts.append(embed(keras.layers.Flatten()(features(image))))
    joined = keras.layers.LeakyReLU(0.2)(keras.layers.Concatenate()(parts))
    return keras.Model(pair, keras.layers.Dense(1, name="logit")(joined), name=name)
