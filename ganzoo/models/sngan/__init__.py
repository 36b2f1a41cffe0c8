"""SNGAN (Miyato et al. 2018): ResNet networks with spectral normalization in D.

SNGAN needs no model class of its own: it is `ganzoo.GAN` with the hinge
loss, 5 D steps and Adam(2e-4, 0, 0.9) over these networks (recipes
`sngan-cifar10`, `sngan-cifar10-projection`, `sngan-digits`); with
`num_classes` the discriminator is a projection D (Miyato & Koyama 2018).

Example:
    >>> from ganzoo.models.sngan import sngan_generator, sngan_discriminator
    >>> gan = ganzoo.GAN(sngan_generator(), sngan_discriminator(), latent_dim=128, objective="hinge", d_steps=5)
"""

from ganzoo.models.sngan.networks import sngan_discriminator, sngan_generator

__all__ = ["sngan_discriminator", "sngan_generator"]
