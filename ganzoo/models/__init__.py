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
from ganzoo.models.stylegan2 import StyleGAN2

__all__ = ["ACGAN", "StyleGAN2"]
