"""Model families. Each builds on `ganzoo.GAN` and registers its class for recipes
(`model.class: <Name>`) with `@ganzoo.engine.registry.register("model_class")`.

Importing this package imports every family, so their classes are registered
(with the registry and as Keras serializables). Building a model from a recipe
lives one level up, in `ganzoo.factory`.

Example:
    >>> from ganzoo.models import StyleGAN2
    >>> from ganzoo.engine.registry import lookup
    >>> lookup("model_class", "StyleGAN2") is StyleGAN2
    True
"""

from ganzoo.models.conditional import ACGAN
from ganzoo.models.infogan import InfoGAN
from ganzoo.models.began import BEGAN
from ganzoo.models.sdgan import SDGAN
from ganzoo.models.progan import ProGAN  # noqa: F401  (registers the class and builders)
from ganzoo.models.aae import AAE
from ganzoo.models.biggan import BigGAN
from ganzoo.models.sngan import sngan_discriminator, sngan_generator  # noqa: F401  (registers the builders)
from ganzoo.models.biggan_deep import BigGANDeep
from ganzoo.models.stylegan2 import StyleGAN2
from ganzoo.models.r3gan import R3GAN
from ganzoo.models.pix2pix import Pix2Pix, Pix2PixInpaint  # noqa: F401  (registers classes and builders)
from ganzoo.models.cyclegan import CycleGAN  # noqa: F401  (registers the class and builders)
from ganzoo.models.srgan import SRGAN  # noqa: F401  (registers the class and builders)

__all__ = ["ACGAN", "StyleGAN2"]
