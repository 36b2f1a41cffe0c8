"""Build the classic GAN family (MLP GAN, DCGAN, WGAN, WGAN-GP, LSGAN,
DRAGAN, hinge GAN) from a recipe's `model` and `optimizers` sections.

The family differs only in networks, objective, penalties and optimizers,
so all of them are the one `ganzoo.GAN` class configured by a recipe.

Example:
    >>> from ganzoo import recipes
    >>> from ganzoo.models.gan import build_gan, build_optimizers
    >>> recipe = recipes.get("dcgan-digits")
    >>> gan = build_gan(recipe["model"])
    >>> gan.compile(**build_optimizers(recipe["optimizers"]))
"""

import inspect

import keras

from ganzoo.architectures import BUILDERS
from ganzoo.engine.gan import GAN

MODEL_CLASSES = {"GAN": GAN}


def register_model_class(cls):
    """Make a GAN subclass available to recipes as `model.class: <Name>`.

    Example:
        >>> @register_model_class
        ... class MyGAN(GAN):
        ...     pass
    """
    MODEL_CLASSES[cls.__name__] = cls
    return cls


def build_network(spec, role):
    """Call the builder named by `spec["builder"]` with the other keys.

    Example:
        >>> D = build_network({"builder": "mlp_discriminator", "input_shape": 2}, "discriminator")
    """
    if not isinstance(spec, dict) or "builder" not in spec:
        raise ValueError(f"model.{role} must be a mapping with a 'builder' key; valid builders: {', '.join(BUILDERS)}.")
    kwargs = dict(spec)
    builder_name = kwargs.pop("builder")
    if builder_name not in BUILDERS:
        raise ValueError(f"model.{role}.builder: unknown builder {builder_name!r}; valid: {', '.join(BUILDERS)}.")
    builder = BUILDERS[builder_name]
    accepted = inspect.signature(builder).parameters
    for key in kwargs:
        if key not in accepted:
            raise ValueError(
                f"model.{role}: {builder_name} has no argument {key!r}; valid: {', '.join(accepted)}."
            )
    return builder(name=role, **kwargs) if "name" in accepted else builder(**kwargs)


def build_gan(model_spec):
    """Build an (uncompiled) GAN from a recipe's `model` section.

    Example:
        >>> gan = build_gan({"latent_dim": 2,
        ...     "generator": {"builder": "mlp_generator", "latent_dim": 2, "output_shape": 2},
        ...     "discriminator": {"builder": "mlp_discriminator", "input_shape": 2},
        ...     "objective": "hinge"})
    """
    spec = dict(model_spec)
    class_name = spec.pop("class", "GAN")
    if class_name not in MODEL_CLASSES:
        raise ValueError(f"model.class: unknown class {class_name!r}; valid: {', '.join(MODEL_CLASSES)}.")
    generator = build_network(spec.pop("generator"), "generator")
    discriminator = build_network(spec.pop("discriminator"), "discriminator")
    extra = spec.pop("extra", None) or {}
    if "latent_dim" not in spec:
        raise ValueError("model.latent_dim is required.")
    return MODEL_CLASSES[class_name](generator, discriminator, **spec, **extra)


def build_optimizer(spec, role):
    """A Keras optimizer from `{"name": "adam", "learning_rate": ..., ...}`.

    Example:
        >>> opt = build_optimizer({"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5}, "generator")
    """
    if not isinstance(spec, dict) or "name" not in spec:
        raise ValueError(f"optimizers.{role} must be a mapping with a 'name' key (e.g. adam, rmsprop, sgd).")
    config = dict(spec)
    name = config.pop("name")
    for key, value in config.items():
        # YAML 1.1 reads "2e-4" as a string; accept it as the number it means.
        if isinstance(value, str):
            try:
                config[key] = float(value)
            except ValueError:
                pass
    try:
        return keras.optimizers.get({"class_name": name, "config": config})
    except (ValueError, TypeError) as e:
        raise ValueError(f"optimizers.{role}: cannot build {name!r} with {config}: {e}") from None


def build_optimizers(optimizer_specs):
    """`{"g_optimizer": ..., "d_optimizer": ...}` for `GAN.compile`.

    Example:
        >>> gan.compile(**build_optimizers(recipe["optimizers"]))
    """
    return {
        "g_optimizer": build_optimizer(optimizer_specs.get("generator"), "generator"),
        "d_optimizer": build_optimizer(optimizer_specs.get("discriminator"), "discriminator"),
    }
