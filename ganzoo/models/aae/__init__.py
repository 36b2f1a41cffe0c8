"""Adversarial autoencoders (Makhzani et al. 2016): priors, the three-phase model, the semi-supervised one.

Example:
    >>> from ganzoo.models.aae import AAE, SemiSupervisedAAE, data, priors
"""

from ganzoo.models.aae import data, networks, priors  # networks: registers the builders
from ganzoo.models.aae.model import AAE
from ganzoo.models.aae.semisupervised import SemiSupervisedAAE

__all__ = ["AAE", "SemiSupervisedAAE", "data", "networks", "priors"]
