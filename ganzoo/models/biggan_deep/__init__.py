"""BigGAN-deep (Brock et al. 2019): DeepMind's pretrained ImageNet generators, sampled and fine-tuned.

`networks` (generator, discriminator builders), `layers` (truncation-indexed
batch norm, attention, blocks), `model` (`BigGANDeep`, the GAN subclass),
`convert` (pytorch-pretrained-biggan folders -> ganzoo presets, the
"biggan" converter), `imagenet_classes` (the 1000 class names).

Example:
    >>> import ganzoo
    >>> gan = ganzoo.load("biggan-deep-128")                                   # doctest: +SKIP
    >>> imgs = gan.generate(4, seed=0, labels="golden retriever", truncation=0.4)   # doctest: +SKIP
"""

from ganzoo.models.biggan_deep.imagenet_classes import IMAGENET_CLASSES
from ganzoo.models.biggan_deep.model import BigGANDeep, imagenet_class_id
from ganzoo.models.biggan_deep.networks import Discriminator, Generator, biggan_deep_discriminator, biggan_deep_generator

__all__ = [
    "IMAGENET_CLASSES",
    "BigGANDeep",
    "Discriminator",
    "Generator",
    "biggan_deep_discriminator",
    "biggan_deep_generator",
    "imagenet_class_id",
]
