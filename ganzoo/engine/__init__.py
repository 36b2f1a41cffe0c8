"""The adversarial training engine: `GAN`, phases, objectives, penalties, sampling.

Example:
    >>> from ganzoo.engine import GAN, objectives, penalties
    >>> gan = GAN(G, D, latent_dim=2, objective=objectives.Hinge(),
    ...           penalties=[penalties.R1(gamma=0.1)])
"""

from ganzoo.engine import latents, objectives, penalties
from ganzoo.engine.gan import GAN
from ganzoo.engine.phases import Phase

__all__ = ["GAN", "Phase", "latents", "objectives", "penalties"]
