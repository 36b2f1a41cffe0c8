"""Hierarchical latents (BigGAN, Brock et al. 2019, section 4): z split across G's blocks.

z (N, d) is cut into `chunks` equal pieces along its last axis: the first
feeds G's input linear layer, piece i + 1 joins the class embedding as the
condition of residual block i (its conditional batch norms), so every
resolution receives its own share of the noise directly.

Example:
    >>> parts = LatentChunks(6)(np.zeros((2, 120), "float32"))
    >>> [tuple(p.shape) for p in parts][:2]
    [(2, 20), (2, 20)]
"""

import keras


@keras.saving.register_keras_serializable(package="ganzoo")
class LatentChunks(keras.layers.Layer):
    """Split (N, d) latents into `chunks` consecutive (N, d / chunks) pieces.

    Args:
        chunks: number of pieces; d must be divisible by it.

    Example:
        >>> z0, *per_block = LatentChunks(4)(z)     # z: (N, 4k)
    """

    def __init__(self, chunks, **kwargs):
        super().__init__(**kwargs)
        if isinstance(chunks, bool) or int(chunks) != chunks or chunks < 1:
            raise ValueError(f"LatentChunks: chunks must be an integer >= 1, got {chunks!r}.")
        self.chunks = int(chunks)

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None or int(dim) % self.chunks:
            raise ValueError(
                f"LatentChunks: a latent of size {dim} cannot be split into {self.chunks} equal chunks; "
                f"use a latent_dim divisible by {self.chunks}."
            )
        self.size = int(dim) // self.chunks
        self.built = True

    def call(self, z):
        return [z[:, i * self.size : (i + 1) * self.size] for i in range(self.chunks)]

    def compute_output_shape(self, input_shape):
        size = int(input_shape[-1]) // self.chunks
        return [(input_shape[0], size) for _ in range(self.chunks)]

    def get_config(self):
        config = super().get_config()
        config["chunks"] = self.chunks
        return config
