"""The recipe factory: a recipe's `model` and `optimizers` sections -> networks, GAN, optimizers.

Every name a recipe uses is read from the one registry
(`ganzoo.engine.registry`): `model.<role>.builder` from the "builder" kind,
`model.class` from "model_class". The factory sits above the model families
in the import direction (cli -> factory/recipes/presets/hub -> models ->
layers -> engine -> backend), so it imports them to fill the registry.

Example:
    >>> from ganzoo import recipes
    >>> from ganzoo.factory import build_gan, build_optimizers
    >>> recipe = recipes.get("dcgan-digits")
    >>> gan = build_gan(recipe["model"])
    >>> gan.compile(**build_optimizers(recipe["optimizers"], gan))
"""

import difflib
import functools
import inspect

import keras

import ganzoo.architectures  # noqa: F401  (registers the network builders)
import ganzoo.models  # noqa: F401  (imports every family, which registers its model classes)
from ganzoo.engine import registry

# Optimizers whose moment estimates the lazy-regularization correction is defined for.
_ADAM_TYPES = ("adam", "adamw", "adamax", "nadam")


def build_network(spec, role):
    """Call the builder named by `spec["builder"]` with the spec's other keys.

    The builder gets `name=role` when it takes a `name` argument. Unknown
    builders and unknown arguments are one-line errors naming the valid ones.

    Example:
        >>> D = build_network({"builder": "mlp_discriminator", "input_shape": 2}, "discriminator")
    """
    if not isinstance(spec, dict) or "builder" not in spec:
        valid = ", ".join(sorted(registry.entries("builder")))
        raise ValueError(f"model.{role} must be a mapping with a 'builder' key; valid builders: {valid}.")
    kwargs = dict(spec)
    builder_name = kwargs.pop("builder")
    builder = registry.lookup("builder", builder_name, where=f"model.{role}.builder")
    accepted = inspect.signature(builder).parameters
    for key in kwargs:
        if key not in accepted:
            close = difflib.get_close_matches(str(key), list(accepted), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"model.{role}: {builder_name} has no argument {key!r}{hint}; valid: {', '.join(accepted)}."
            )
    call = {"name": role, **kwargs} if "name" in accepted else kwargs
    try:
        inspect.signature(builder).bind(**call)
    except TypeError as e:  # a required argument left out (Python's TypeError is not one line about the recipe)
        raise ValueError(f"model.{role}: {builder_name}: {e}.") from None
    return builder(**call)


def build_gan(model_spec):
    """An uncompiled GAN from a recipe's `model` section (`class` defaults to "GAN").

    `extra` holds keyword arguments of a model class that the schema does not
    list; they are passed to the class as they are.

    Example:
        >>> gan = build_gan({"latent_dim": 2,
        ...     "generator": {"builder": "mlp_generator", "latent_dim": 2, "output_shape": 2},
        ...     "discriminator": {"builder": "mlp_discriminator", "input_shape": 2},
        ...     "objective": "hinge"})
    """
    spec = dict(model_spec)
    cls = registry.lookup("model_class", spec.pop("class", "GAN"), where="model.class")
    if "latent_dim" not in spec:
        raise ValueError("model.latent_dim is required.")
    generator = build_network(spec.pop("generator", None), "generator")
    discriminator = build_network(spec.pop("discriminator", None), "discriminator")
    extra = spec.pop("extra", None) or {}
    # More networks than G and D (CycleGAN's generator_ba, discriminator_a): `networks: {name: spec}`,
    # each built like G and D and passed to the class as the keyword `name`.
    others = spec.pop("networks", None) or {}
    if not isinstance(others, dict):
        raise ValueError("model.networks must be a mapping of network name -> {builder: ..., ...}.")
    built = {name: build_network(net, name) for name, net in others.items()}
    return cls(generator, discriminator, **spec, **built, **extra)


def _number(value):
    # YAML 1.1 reads "2e-4" as a string; accept it as the number it means.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return value


def build_optimizer(spec, role):
    """A Keras optimizer from `{"name": "adam", "learning_rate": ..., ...}`.

    `lazy_interval: N` applies `lazy_regularization_correction` first.

    Example:
        >>> opt = build_optimizer({"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5}, "generator")
        >>> round(float(opt.beta_1), 2)
        0.5
    """
    if not isinstance(spec, dict) or "name" not in spec:
        raise ValueError(f"optimizers.{role} must be a mapping with a 'name' key (e.g. adam, rmsprop, sgd).")
    config = {key: _number(value) for key, value in spec.items()}
    name = config.pop("name")
    lazy_interval = config.pop("lazy_interval", None)
    if lazy_interval is not None:
        config = lazy_regularization_correction(name, config, lazy_interval, role)
    try:
        return keras.optimizers.get({"class_name": name, "config": config})
    except (ValueError, TypeError) as e:
        if "Could not interpret" in str(e):
            raise ValueError(
                f"optimizers.{role}.name: unknown optimizer {name!r}; valid: {', '.join(optimizer_names())}."
            ) from None
        message = " ".join(str(e).split())  # one line
        raise ValueError(f"optimizers.{role}: cannot build {name!r} with {config}: {message}") from None


@functools.lru_cache(maxsize=None)
def optimizer_names():
    """The optimizer names a recipe may use (`keras.optimizers.get` accepts them), lower case.

    Found by asking Keras for each public optimizer class, since Keras
    exports a few (e.g. wrappers) that `get` does not build by name.

    Example:
        >>> "adam" in optimizer_names() and "rmsprop" in optimizer_names()
        True
    """
    names = []
    for attr in dir(keras.optimizers):
        cls = getattr(keras.optimizers, attr)
        if not (isinstance(cls, type) and issubclass(cls, keras.optimizers.Optimizer)):
            continue
        try:
            keras.optimizers.get({"class_name": attr.lower(), "config": {}})
        except Exception:  # noqa: BLE001  (a base class or a wrapper: each fails its own way)
            continue
        names.append(attr.lower())
    return tuple(sorted(names))


def lazy_regularization_correction(name, config, every, role="optimizer"):
    """Adam hyper-parameters corrected for a regularizer run every `every` steps.

    Karras et al. 2020 (StyleGAN2, Appendix B): with lazy regularization the
    network takes `every + 1` updates per `every` minibatches, so the learning
    rate is scaled by `c = every / (every + 1)` and Adam's betas are raised to
    `c`. Recipes ask for it with `lazy_interval: N` in an optimizer spec.

    Example:
        >>> lazy_regularization_correction("adam", {"learning_rate": 0.0025, "beta_1": 0.0, "beta_2": 0.99}, 16)
        {'learning_rate': 0.002352..., 'beta_1': 0.0, 'beta_2': 0.99058...}
    """
    every = int(every)
    if every < 1:
        raise ValueError(f"optimizers.{role}.lazy_interval must be >= 1, got {every}.")
    if name.lower() not in _ADAM_TYPES:
        raise ValueError(
            f"optimizers.{role}.lazy_interval: the correction is defined for Adam-type optimizers "
            f"({', '.join(_ADAM_TYPES)}), not {name!r}."
        )
    if every == 1:
        return dict(config)
    c = every / (every + 1)
    out = dict(config)
    out["learning_rate"] = float(config.get("learning_rate", 0.001)) * c
    for key, default in (("beta_1", 0.9), ("beta_2", 0.999)):
        out[key] = float(config.get(key, default)) ** c
    return out


def network_names(networks):
    """The network names optimizers may be named after: a model's `network_names()`, or the names given.

    Example:
        >>> network_names(gan)
        ('generator', 'discriminator')
        >>> network_names(["generator", "discriminator", "encoder"])
        ('generator', 'discriminator', 'encoder')
    """
    method = getattr(networks, "network_names", None)
    names = tuple(method()) if callable(method) else tuple(networks)
    # A phase may name its own optimizer (SemiSupervisedAAE's "classifier"): a model's phases' names count too.
    phases = getattr(networks, "phases", None)
    if callable(method) and callable(phases):
        names += tuple(dict.fromkeys(p.optimizer for p in phases() if p.optimizer and p.optimizer not in names))
    return names


def build_optimizers(optimizer_specs, networks=None):
    """One optimizer per entry of a recipe's `optimizers` section, as `GAN.compile` keywords.

    Returns `{"optimizers": {name: optimizer, ...}}` in the recipe's order,
    for `gan.compile(**build_optimizers(recipe["optimizers"], gan))`. When
    `networks` (the model, or a list of network names) is given, every name
    must be one of its networks.

    Example:
        >>> kwargs = build_optimizers({"generator": {"name": "adam"}, "discriminator": {"name": "adam"},
        ...                            "encoder": {"name": "sgd"}}, ["generator", "discriminator", "encoder"])
        >>> sorted(kwargs["optimizers"])
        ['discriminator', 'encoder', 'generator']
    """
    if not isinstance(optimizer_specs, dict) or not optimizer_specs:
        raise ValueError(
            "optimizers must be a mapping of network name -> optimizer spec, e.g. "
            "{generator: {name: adam}, discriminator: {name: adam}}."
        )
    if networks is not None:
        valid = network_names(networks)
        for name in optimizer_specs:
            if name not in valid:
                raise ValueError(
                    f"optimizers.{name}: the model has no network {name!r}; its networks: {', '.join(valid)}."
                )
    return {"optimizers": {name: build_optimizer(spec, name) for name, spec in optimizer_specs.items()}}
