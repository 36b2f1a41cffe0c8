"""SD-GAN (Donahue et al. 2018): identity and observation latents, pair discriminators.

Example:
    >>> from ganzoo.models.sdgan import SDGAN, pair_discriminator, identity_tuples
"""

from ganzoo.models.sdgan.data import identity_tuples, identity_tuples_from_folder
from ganzoo.models.sdgan.model import SDGAN, identity_latents
from ganzoo.models.sdgan.networks import TupleItem, pair_discriminator

__all__ = ["SDGAN", "TupleItem", "identity_latents", "identity_tuples", "identity_tuples_from_folder",
           "pair_discriminator"]
