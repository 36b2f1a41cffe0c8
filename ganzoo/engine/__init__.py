"""The adversarial training engine: `GAN`, objectives, penalties, autodiff.

Example:
    >>> from ganzoo.engine import GAN, objectives, penalties
    >>> gan = GAN(G, D, latent_dim=2, objective=objectives.Hinge(),
    ...           penalties=[penalties.R1(gamma=0.1)])
"""

from ganzoo.engine import latents, objectives, penalties
from ganzoo.engine.gan import GAN

__all__ = ["GAN", "latents", "objectives", "penalties"]
