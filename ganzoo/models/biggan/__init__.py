"""BigGAN (Brock et al. 2019): networks, the truncation-trick sampler and orthogonal regularization.

SAGAN (Zhang et al. 2019) is a recipe over the same networks (class tables
in the batch norms, SAGAN's unpooled attention, no hierarchy).

Example:
    >>> from ganzoo.models.biggan import BigGAN, biggan_generator, biggan_discriminator
    >>> from ganzoo.models.biggan import OrthogonalRegularization
"""

from ganzoo.models.biggan.model import BigGAN
from ganzoo.models.biggan.networks import biggan_discriminator, biggan_generator
from ganzoo.models.biggan.orthogonal import OrthogonalRegularization

__all__ = ["BigGAN", "OrthogonalRegularization", "biggan_discriminator", "biggan_generator"]
