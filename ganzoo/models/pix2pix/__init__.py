"""Pix2Pix (Isola et al. 2017): paired image-to-image translation with a U-Net G and a PatchGAN D,
and inpainting as conditional generation (`Pix2PixInpaint`).

Example:
    >>> from ganzoo.models.pix2pix import Pix2Pix, unet_generator, patch_discriminator
"""

from ganzoo.models.pix2pix.model import Pix2Pix, Pix2PixInpaint, size_multiple
from ganzoo.models.pix2pix.networks import (
    patch_discriminator,
    patch_receptive_field,
    unet_128,
    unet_256,
    unet_generator,
)

__all__ = [
    "Pix2Pix",
    "Pix2PixInpaint",
    "patch_discriminator",
    "patch_receptive_field",
    "size_multiple",
    "unet_128",
    "unet_256",
    "unet_generator",
]
