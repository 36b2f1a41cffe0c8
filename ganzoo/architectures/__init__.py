"""Network builders: each returns a generator or discriminator Keras model.

Every builder is registered with `@register("builder")`
(`ganzoo.engine.registry`), under the names `zoo_configs/*.yaml` use;
`registry.lookup("builder", name)` finds one.

Example:
    >>> from ganzoo.engine import registry
    >>> G = registry.lookup("builder", "dcgan_generator")(latent_dim=64, resolution=32, channels=1)
"""

from ganzoo.architectures.dcgan import dcgan_discriminator, dcgan_generator
from ganzoo.architectures.mlp import mlp_discriminator, mlp_generator
from ganzoo.architectures.stylegan2 import stylegan2_discriminator, stylegan2_generator

__all__ = [
    "dcgan_discriminator", "dcgan_generator", "mlp_discriminator", "mlp_generator",
    "stylegan2_discriminator", "stylegan2_generator",
]
