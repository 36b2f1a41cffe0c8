"""BigGAN (Brock et al. 2019, arXiv 1809.11096) as a `ganzoo.GAN`.

Training is the engine's: hinge loss, D x `d_steps` (2) then G, the
orthogonal penalty on G (`penalties: [{name: orthogonal}]`), the generator
EMA and TTUR (two optimizers) all come from the recipe. What BigGAN adds is
the truncation trick at sampling time: `generate(..., truncation=t)` draws
z = t * TN(-2, 2), the standard normal truncated to [-2, 2] and scaled by t
in (0, 1] (section 3.1; the DeepMind colab's `truncated_z_sample`). Without
`truncation` the latents are the training prior N(0, I).

Example:
    >>> gan = ganzoo.load("path/to/biggan-preset")                  # doctest: +SKIP
    >>> dogs = gan.generate(8, seed=0, labels=207, truncation=0.4)  # doctest: +SKIP
"""

import keras
import numpy as np

from ganzoo.engine import latents as latents_lib
from ganzoo.engine import registry
from ganzoo.engine.gan import GAN


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class BigGAN(GAN):
    """A class-conditional GAN that samples with BigGAN's truncation trick.

    Args:
        generator, discriminator: e.g. `biggan_generator` / `biggan_discriminator`.
        latent_dim: size of z.
        num_classes: number of classes (>= 2).
        Other arguments as `ganzoo.GAN` (objective, penalties, d_steps, ema_decay, ...).

    Example:
        >>> from ganzoo.models.biggan.networks import biggan_generator, biggan_discriminator
        >>> G = biggan_generator(latent_dim=24, resolution=16, width=4, num_classes=2, shared_dim=8, attention=())
        >>> D = biggan_discriminator(resolution=16, width=4, num_classes=2, attention=())
        >>> gan = BigGAN(G, D, latent_dim=24, num_classes=2, objective="hinge", d_steps=2)
        >>> gan.generate(4, seed=0, labels=1, truncation=0.5).shape
        (4, 16, 16, 3)
    """

    def __init__(self, generator, discriminator, latent_dim, num_classes, **kwargs):
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
            raise ValueError(f"BigGAN is class-conditional: num_classes must be an integer >= 2, got {num_classes!r}.")
        super().__init__(generator, discriminator, latent_dim, num_classes=int(num_classes), **kwargs)

    def sample_latents_numpy(self, n, seed=None, truncation=None):
        """`n` latents from `seed`: N(0, I), or `truncation * TN(-2, 2)` with a truncation in (0, 1].

        Example:
            >>> z = gan.sample_latents_numpy(4, seed=0, truncation=0.4)
            >>> bool(abs(z).max() <= 0.8)
            True
        """
        if truncation is None:
            return super().sample_latents_numpy(n, seed)
        return latents_lib.sample_truncated_normal(n, self.latent_shape, truncation, seed=seed)

    def generate(self, n=None, *, seed=None, latents=None, labels=None, truncation=None, batch_size=256,
                 use_ema=True):
        """Sample images (NHWC in [-1, 1]) of the given classes, with the truncation trick.

        Args:
            n, seed: number of samples and the numpy seed of their latents.
            latents: explicit z (N, latent_dim), used as given (no truncation).
            labels: class ids, one for all samples or one per sample.
            truncation: None (z ~ N(0, I)) or t in (0, 1]: z = t * TN(-2, 2);
                smaller is less varied and more typical of the class.

        Example:
            >>> imgs = gan.generate(8, seed=0, labels=[0, 1] * 4, truncation=0.5)
        """
        if truncation is None:
            return super().generate(n, seed=seed, latents=latents, labels=labels, batch_size=batch_size,
                                    use_ema=use_ema)
        t = latents_lib.check_truncation(truncation)
        if latents is not None:
            raise ValueError(
                "truncation= shapes the latents generate() draws; latents= are used as given. Draw truncated ones "
                "with gan.sample_latents_numpy(n, seed, truncation=t) and pass them without truncation."
            )
        if n is None and labels is not None and np.ndim(labels) == 1:
            n = len(labels)
        if n is None or isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"generate() needs a positive number of samples, got n={n!r}.")
        z = self.sample_latents_numpy(int(n), seed, truncation=t)
        return super().generate(latents=z, labels=labels, batch_size=batch_size, use_ema=use_ema)
