"""InfoGAN (Chen et al. 2016): structured latent codes kept recoverable by a Q head.

Example:
    >>> from ganzoo.models.infogan import InfoGAN, LatentCodes
"""

from ganzoo.models.infogan.codes import LatentCodes
from ganzoo.models.infogan.model import InfoGAN, clustering_loss, info_loss, q_head
from ganzoo.models.infogan.networks import infogan_discriminator, infogan_generator, infogan_q_head

__all__ = ["InfoGAN", "LatentCodes", "info_loss", "clustering_loss", "q_head", "infogan_generator",
           "infogan_discriminator", "infogan_q_head"]
