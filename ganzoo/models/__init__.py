"""Model families. Each builds on `ganzoo.GAN`; recipes name them by class.

Example:
    >>> from ganzoo.models import build_gan, MODEL_CLASSES
"""

from ganzoo.models.gan import MODEL_CLASSES, build_gan, build_optimizers, register_model_class
from ganzoo.models.stylegan2 import StyleGAN2

__all__ = ["MODEL_CLASSES", "StyleGAN2", "build_gan", "build_optimizers", "register_model_class"]
