"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation.

Example:
    >>> from ganzoo.models.cyclegan import CycleGAN, resnet_generator, ImagePool, LinearDecay
"""

from ganzoo.models.cyclegan.layers import ReflectionPadding2D
from ganzoo.models.cyclegan.model import CycleGAN
from ganzoo.models.cyclegan.networks import resnet_generator
from ganzoo.models.cyclegan.pool import ImagePool, pool_query
from ganzoo.models.cyclegan.schedule import LinearDecay

__all__ = ["CycleGAN", "ImagePool", "LinearDecay", "ReflectionPadding2D", "pool_query", "resnet_generator"]
