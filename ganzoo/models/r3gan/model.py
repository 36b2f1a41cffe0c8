"""R3GAN (Huang et al., NeurIPS 2024, "The GAN is dead; long live the GAN!", arXiv 2501.05441).

The regularized relativistic GAN: D minimises E[softplus(D(G(z)) - D(x))] +
gamma/2 (R1 + R2), R1 = E||grad D(x)||^2 on the real batch and R2 =
E||grad D(G(z))||^2 on the fakes, both every step; G minimises
E[softplus(D(x) - D(G(z)))] (official `R3GAN/Trainer.py`). The networks are
`ganzoo.models.r3gan.networks`. Everything here is the engine's: the
objective is `objectives.RelativisticPairing`, the penalties `R1` and `R2`;
this class only sets those defaults and an EMA half-life in images.

Not reproduced: the official cosine schedules of the learning rate, gamma,
Adam's beta_2 and the EMA half-life over training (recipes use the schedules'
starting values, constant), and augmentation (none yet).

Example:
    >>> from ganzoo.models.r3gan import R3GAN, r3gan_generator, r3gan_discriminator
    >>> G = r3gan_generator(latent_dim=16, resolution=16, widths=[64, 64, 32], cardinalities=8)
    >>> D = r3gan_discriminator(resolution=16, widths=[64, 64, 32], cardinalities=8)
    >>> gan = R3GAN(G, D, latent_dim=16, gamma=1.0, ema_kimg=1.0)
    >>> gan.compile(g_optimizer=keras.optimizers.Adam(2e-4, 0.0, 0.99),
    ...             d_optimizer=keras.optimizers.Adam(2e-4, 0.0, 0.99))
    >>> gan.fit(images, batch_size=32, epochs=1)        # doctest: +SKIP
"""

import keras

from ganzoo.engine import penalties as penalties_lib
from ganzoo.engine import registry
from ganzoo.engine.gan import GAN


def default_penalties(gamma):
    """R3GAN's regularizer: R1 on reals and R2 on fakes, both gamma / 2, every step.

    Example:
        >>> default_penalties(0.05)
        [R1(weight=0.025, every=1), R2(weight=0.025, every=1)]
    """
    return [penalties_lib.R1(gamma=gamma), penalties_lib.R2(gamma=gamma)]


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class R3GAN(GAN):
    """A `GAN` with R3GAN's defaults: relativistic pairing loss, R1 + R2, EMA half-life in images.

    Args:
        gamma: weight of R1 and R2 (each adds gamma / 2 * E||grad||^2);
            0.05 for CIFAR-10, 2 for FFHQ-64 in the official configs. Give
            either `gamma` or `penalties`.
        objective: default "relativistic_pairing".
        ema_kimg: half-life of the generator EMA in thousands of images
            (per-step decay `0.5 ** (batch / (1000 * ema_kimg))`); None: no
            EMA unless a fixed `ema_decay` is given.

    Example:
        >>> gan = R3GAN(G, D, latent_dim=64, num_classes=10, gamma=0.05, ema_kimg=500)
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        gamma=None,
        objective="relativistic_pairing",
        penalties=None,
        ema_kimg=None,
        ema_decay=None,
        **kwargs,
    ):
        if gamma is not None and penalties is not None:
            raise ValueError("R3GAN: pass gamma (R1 + R2 at gamma / 2) or an explicit penalties list, not both.")
        if gamma is not None and float(gamma) < 0:
            raise ValueError(f"R3GAN: gamma must be >= 0, got {gamma}.")
        if ema_kimg is not None and ema_decay is not None:
            raise ValueError("R3GAN: pass ema_kimg (a half-life in kimg) or ema_decay (a fixed decay), not both.")
        if ema_kimg is not None and float(ema_kimg) <= 0:
            raise ValueError(f"R3GAN: ema_kimg must be > 0 or None, got {ema_kimg}.")
        if penalties is None:
            penalties = default_penalties(0.05 if gamma is None else float(gamma))
        self.ema_kimg = None if ema_kimg is None else float(ema_kimg)
        # With ema_kimg the decay depends on the batch (`ema_decay_at`); 0.0 only switches the EMA on.
        super().__init__(
            generator, discriminator, latent_dim, objective=objective, penalties=penalties,
            ema_decay=0.0 if self.ema_kimg is not None else ema_decay, **kwargs,
        )

    def ema_decay_at(self, batch_size):
        """`0.5 ** (batch / (1000 * ema_kimg))` (or the fixed `ema_decay`).

        Example:
            >>> R3GAN(G, D, 64, ema_kimg=1.0).ema_decay_at(1000)
            0.5
        """
        if self.ema_kimg is None:
            return self.ema_decay
        return 0.5 ** (keras.ops.cast(batch_size, "float32") / (1000.0 * self.ema_kimg))

    def get_config(self):
        config = super().get_config()
        if self.ema_kimg is not None:
            config.update(ema_kimg=self.ema_kimg, ema_decay=None)
        return config
