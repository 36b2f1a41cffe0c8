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
    lazy_interval = config.pop("lazy_interval", None)
    for key, value in config.items():
        # YAML 1.1 reads "2e-4" as a string; accept it as the number it means.
        if isinstance(value, str):
            try:
                config[key] = float(value)
            except ValueError:
                pass
    if lazy_interval is not None:
        config = lazy_regularization_correction(name, config, lazy_interval, role)
    try:
        return keras.optimizers.get({"class_name": name, "config": config})
    except (ValueError, TypeError) as e:
        raise ValueError(f"optimizers.{role}: cannot build {name!r} with {config}: {e}") from None


def lazy_regularization_correction(name, config, every, role="optimizer"):
    """Adam hyper-parameters corrected for a regularizer run every `every` steps.

    Karras et al. 2020 (Appendix B): with lazy regularization the network
    takes `every + 1` updates per `every` minibatches, so the learning rate is
    scaled by `c = every / (every + 1)` and Adam's betas are raised to `c`.
    Recipes ask for it with `lazy_interval: N` in an optimizer spec.

    Example:
        >>> lazy_regularization_correction("adam", {"learning_rate": 0.0025, "beta_1": 0.0, "beta_2": 0.99}, 16)
        {'learning_rate': 0.002352..., 'beta_1': 0.0, 'beta_2': 0.99058...}
    """
    every = int(every)
    if every < 1:
        raise ValueError(f"optimizers.{role}.lazy_interval must be >= 1, got {every}.")
    if name.lower() not in ("adam", "adamw", "adamax", "nadam"):
        raise ValueError(f"optimizers.{role}.lazy_interval: the correction is defined for Adam-type optimizers, not {name!r}.")
    if every == 1:
        return dict(config)
    c = every / (every + 1)
    out = dict(config)
    out["learning_rate"] = float(config.get("learning_rate", 0.001)) * c
    for key, default in (("beta_1", 0.9), ("beta_2", 0.999)):
        out[key] = float(config.get(key, default)) ** c
    return out


def build_optimizers(optimizer_specs):
    """`{"g_optimizer": ..., "d_optimizer": ...}` for `GAN.compile`.

    Example:
        >>> gan.compile(**build_optimizers(recipe["optimizers"]))
    """
    return {
        "g_optimizer": build_optimizer(optimizer_specs.get("generator"), "generator"),
        "d_optimizer": build_optimizer(optimizer_specs.get("discriminator"), "discriminator"),
    }
