"""BEGAN (Berthelot et al. 2017): an auto-encoder D held at equilibrium by the control variable k.

Example:
    >>> from ganzoo.models.began import BEGAN, began_generator, began_discriminator
"""

from ganzoo.models.began.model import BEGAN, reconstruction_l1
from ganzoo.models.began.networks import began_discriminator, began_generator

__all__ = ["BEGAN", "began_discriminator", "began_generator", "reconstruction_l1"]
