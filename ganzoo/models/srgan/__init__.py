"""SRGAN (Ledig et al. 2017): SRResNet, the VGG-style discriminator, the VGG content loss.

Example:
    >>> from ganzoo.models.srgan import SRGAN, srresnet, srgan_discriminator
"""

from ganzoo.models.srgan.layers import SubPixelUpsampling, depth_to_space
from ganzoo.models.srgan.model import SRGAN
from ganzoo.models.srgan.networks import srgan_discriminator, srresnet
from ganzoo.models.srgan.perceptual import VGGContent

__all__ = ["SRGAN", "SubPixelUpsampling", "VGGContent", "depth_to_space", "srgan_discriminator", "srresnet"]
