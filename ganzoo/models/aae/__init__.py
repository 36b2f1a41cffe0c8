"""Adversarial autoencoders (Makhzani et al. 2016): priors, the three-phase model.

Example:
    >>> from ganzoo.models.aae import AAE, priors
"""

from ganzoo.models.aae import priors
from ganzoo.models.aae.model import AAE

__all__ = ["AAE", "priors"]
