"""SD-GAN (Donahue et al. 2018, arXiv 1705.07904): semantically decomposed latents.

The latent splits into an identity part z_I and an observation part z_O
(50 + 50 in the paper). In training G makes tuples of k images that share
z_I and differ in z_O; D judges tuples, real ones being k photos of one
identity, so G must keep the identity in z_I and put pose, lighting, ... in
z_O. Batches are `{"x": (N, k, H, W, C)}` tuples
(`ganzoo.models.sdgan.identity_tuples` builds them from labelled images).

Example:
    >>> gan = SDGAN(G, pair_discriminator(k=2), identity_dim=50, observation_dim=50)
    >>> gan.compile(); gan.fit(identity_tuples(images, labels, k=2), batch_size=16)   # doctest: +SKIP
    >>> same_person = gan.generate(8, seed=0, identities=7)     # one identity, 8 observations
"""

import keras
import numpy as np
from keras import ops

from ganzoo.engine import registry
from ganzoo.engine.gan import GAN


def identity_latents(identities, identity_dim):
    """z_I for integer identity ids: N(0, I) drawn by numpy from each id (same id, same z_I).

    Example:
        >>> identity_latents([3, 3, 4], 50).shape
        (3, 50)
    """
    ids = np.atleast_1d(np.asarray(identities))
    if ids.dtype == bool or not np.issubdtype(ids.dtype, np.integer) or ids.ndim != 1 or (ids < 0).any():
        raise ValueError(f"identities must be non-negative integer ids (one, or one per sample); got {identities!r}.")
    return np.stack([np.random.default_rng([int(i), 0x5D]).standard_normal(identity_dim) for i in ids]).astype("float32")


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class SDGAN(GAN):
    """A semantically decomposed GAN: tuples of k images sharing an identity code.

    Args:
        generator: z = [z_I, z_O] (N, identity_dim + observation_dim) -> image.
        discriminator: judges `(N, k, H, W, C)` tuples (`pair_discriminator`).
        identity_dim, observation_dim: sizes of z_I and z_O (paper 50 + 50).
        k: images per tuple (paper 2).
        Other arguments as `ganzoo.GAN` (no classes, no gradient penalties).

    Example:
        >>> pairs = gan.generate_pairs(4, seed=0)      # (4, 2, H, W, C)
    """

    def __init__(self, generator, discriminator, identity_dim=50, observation_dim=50, k=2, **kwargs):
        if int(identity_dim) < 1 or int(observation_dim) < 1 or int(k) < 2:
            raise ValueError(f"SD-GAN needs identity_dim, observation_dim >= 1 and k >= 2; got "
                             f"{identity_dim}, {observation_dim}, {k}.")
        for bad in ("num_classes", "penalties"):
            if kwargs.get(bad):
                raise ValueError(f"SDGAN takes no {bad} (tuples of images are not wired into penalties yet).")
            kwargs.pop(bad, None)
        latent_dim = kwargs.pop("latent_dim", None)
        self.identity_dim, self.observation_dim, self.k = int(identity_dim), int(observation_dim), int(k)
        if latent_dim is not None and int(latent_dim) != self.identity_dim + self.observation_dim:
            raise ValueError(f"latent_dim={latent_dim} != identity_dim + observation_dim = "
                             f"{self.identity_dim + self.observation_dim}.")
        super().__init__(generator, discriminator, latent_dim=self.identity_dim + self.observation_dim, **kwargs)
        want = (None, self.k, *self.sample_shape)
        got = tuple(discriminator.inputs[0].shape) if getattr(discriminator, "inputs", None) else want
        if len(got) != len(want) or any(a is not None and b is not None and a != b for a, b in zip(got, want)):
            raise ValueError(f"The discriminator takes {got[1:]} but SD-GAN tuples are {want[1:]}: build it with "
                             f"pair_discriminator(k={self.k}, ...) for the generator's images.")

    # ------------------------------------------------------------------ data
    def check_batch(self, batch):
        x = batch["x"]
        want = (self.k, *self.sample_shape)
        if tuple(x.shape[1:]) != want:
            raise ValueError(f"SD-GAN batches are tuples of shape (N, {', '.join(map(str, want))}) (k images of one "
                             f"identity); got {tuple(x.shape)}. Build them with identity_tuples(images, labels, k={self.k}).")
        return {"x": ops.cast(x, "float32")}

    def check_fit_data(self, x, y=None):
        if hasattr(x, "shape") and not hasattr(x, "element_spec"):
            self.check_batch({"x": x[:1]})  # before Keras takes the variables
        return super().check_fit_data(x, y)

    def sample_fakes(self, real):
        """Tuples `{"x": (N, k, H, W, C), "z": (N * k, d)}` sharing z_I within each tuple."""
        n = self.batch_size_of(real)
        z_i = ops.repeat(self.random_normal((n, self.identity_dim)), self.k, axis=0)
        z = ops.concatenate([z_i, self.random_normal((n * self.k, self.observation_dim))], axis=1)
        images = self.generator(z, training=True)
        return {"x": ops.reshape(images, (n, self.k, *self.sample_shape)), "z": z}

    # -------------------------------------------------------------- sampling
    def generate(self, n=None, *, seed=None, latents=None, identities=None, **kwargs):
        """Sample images; `identities` (an id, or one per sample) fixes z_I, `seed` draws z_O.

        Example:
            >>> one_person = gan.generate(8, seed=0, identities=7)
            >>> two_people = gan.generate(seed=0, identities=[1, 1, 2, 2])
        """
        if identities is not None and latents is None:
            ids = np.asarray(identities)
            if ids.ndim == 0:
                if n is None:
                    raise ValueError("With one identity for all samples, also pass n.")
                ids = np.full(int(n), int(ids))
            n = len(ids) if n is None else int(n)
            if len(ids) != n:
                raise ValueError(f"Got {len(ids)} identities for {n} samples; pass one, or one per sample.")
            z_o = np.random.default_rng(seed).standard_normal((n, self.observation_dim)).astype("float32")
            latents = np.concatenate([identity_latents(ids, self.identity_dim), z_o], axis=1)
        return super().generate(n, seed=seed, latents=latents, **kwargs)

    def generate_pairs(self, n, seed=None, k=None, **kwargs):
        """`n` tuples of `k` (default: the training k) images, each tuple one drawn identity.

        Example:
            >>> gan.generate_pairs(4, seed=0).shape[:2]
            (4, 2)
        """
        k = self.k if k is None else int(k)
        rng = np.random.default_rng(seed)
        z_i = np.repeat(rng.standard_normal((int(n), self.identity_dim)), k, axis=0)
        z_o = rng.standard_normal((int(n) * k, self.observation_dim))
        out = super().generate(latents=np.concatenate([z_i, z_o], axis=1).astype("float32"), **kwargs)
        return out.reshape((int(n), k, *out.shape[1:]))

    def get_config(self):
        config = super().get_config()
        config.pop("latent_dim", None)
        config.update(identity_dim=self.identity_dim, observation_dim=self.observation_dim, k=self.k)
        return config
