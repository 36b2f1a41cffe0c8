"""Network builders: each returns `(generator or discriminator)` Keras models.

`BUILDERS` maps the names used in `zoo_configs/*.yaml` to builder functions.

Example:
    >>> from ganzoo.architectures import BUILDERS
    >>> G = BUILDERS["dcgan_generator"](latent_dim=64, resolution=32, channels=1)
"""

from ganzoo.architectures.dcgan import dcgan_discriminator, dcgan_generator
from ganzoo.architectures.mlp import mlp_discriminator, mlp_generator
from ganzoo.architectures.stylegan2 import stylegan2_discriminator, stylegan2_generator

BUILDERS = {
    "mlp_generator": mlp_generator,
    "mlp_discriminator": mlp_discriminator,
    "dcgan_generator": dcgan_generator,
    "dcgan_discriminator": dcgan_discriminator,
    "stylegan2_generator": stylegan2_generator,
    "stylegan2_discriminator": stylegan2_discriminator,
}
