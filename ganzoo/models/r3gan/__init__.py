"""R3GAN (Huang et al. 2024): the relativistic pairing loss with R1 + R2 and a BN-free ResNeXt-style G and D.

Example:
    >>> from ganzoo.models.r3gan import R3GAN, r3gan_generator, r3gan_discriminator
"""

from ganzoo.models.r3gan.model import R3GAN, default_penalties
from ganzoo.models.r3gan.networks import r3gan_discriminator, r3gan_generator

__all__ = ["R3GAN", "default_penalties", "r3gan_discriminator", "r3gan_generator"]
