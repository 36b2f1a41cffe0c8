"""Progressive GAN (Karras et al. 2018): growing G and D with a smooth fade-in, pixel norm,
equalized learning rate, minibatch stddev, WGAN-GP + drift and G EMA.

Example:
    >>> from ganzoo.models.progan import ProGAN, progan_generator, progan_discriminator
"""

from ganzoo.models.progan.model import ProGAN
from ganzoo.models.progan.networks import (
    ProGANDiscriminator,
    ProGANGenerator,
    downsample_average,
    feature_maps,
    pixel_norm,
    progan_discriminator,
    progan_generator,
    upsample_nearest,
)
from ganzoo.models.progan.schedule import StopAfterSteps, fade_alpha, stage_length

__all__ = [
    "ProGAN", "ProGANDiscriminator", "ProGANGenerator", "StopAfterSteps", "downsample_average", "fade_alpha",
    "feature_maps", "pixel_norm", "progan_discriminator", "progan_generator", "stage_length", "upsample_nearest",
]
