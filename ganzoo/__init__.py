"""ganzoo: a Keras 3 model zoo of generative adversarial networks.

Runs on TensorFlow, JAX and PyTorch; pick the backend the Keras way with
``KERAS_BACKEND``.

Example:
    >>> import ganzoo
    >>> gan = ganzoo.load("dcgan-digits")          # doctest: +SKIP
    >>> images = gan.generate(16, seed=0)          # doctest: +SKIP
"""

import importlib
import os
import sys

__version__ = "0.1.0"

# torch's OpenMP (libgomp) workers spin after every parallel op by default; between the many
# small ops of an eager Keras step they steal the cores the Python thread needs (measured: a
# 3x128 MLP step several times slower, worse on a loaded machine). libgomp reads this when torch
# loads, so it is set before anything imports torch; a value the user set is kept.
if "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Public names resolve lazily so `import ganzoo` stays cheap and a CLI call
# such as `ganzoo list` does not pay for importing every model family.
_LAZY = {
    "GAN": ("ganzoo.engine.gan", "GAN"),
    "load": ("ganzoo.presets", "load"),
    "list_models": ("ganzoo.presets", "list_models"),
    "push_to_hub": ("ganzoo.hub", "push_to_hub"),
    "prepare_finetune": ("ganzoo.finetune", "prepare_finetune"),
    "objectives": ("ganzoo.engine.objectives", None),
    "penalties": ("ganzoo.engine.penalties", None),
    "layers": ("ganzoo.layers", None),
    "architectures": ("ganzoo.architectures", None),
    "models": ("ganzoo.models", None),
    "metrics": ("ganzoo.metrics", None),
    "callbacks": ("ganzoo.callbacks", None),
    "data": ("ganzoo.data", None),
    "presets": ("ganzoo.presets", None),
    "hub": ("ganzoo.hub", None),
    "distribute": ("ganzoo.distribute", None),
}

__all__ = ["__version__", "register_keras_classes", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)


# --------------------------------------------------------------------------- Keras deserialization
# `keras.saving.load_model("g.keras")` looks classes up by registered name ("ganzoo>GAN"), but the
# classes register themselves only when their modules are imported, which the lazy names above
# defer. Rather than importing every family here (slow, and `ganzoo list` needs no Keras), Keras's
# lookup function is wrapped so that a miss on a "ganzoo>" name imports the families once and
# looks again. The wrapper goes on the module Keras's deserializer calls through
# (keras.src.saving.object_registration); if Keras is not imported yet, an import hook puts it
# there the moment that module has run. Nothing is imported before a lookup needs it.
_KERAS_REGISTRY = "keras.src.saving.object_registration"
_REGISTERING_MODULES = ("ganzoo.engine.gan", "ganzoo.layers", "ganzoo.architectures", "ganzoo.models")


def register_keras_classes():
    """Import every module that registers ganzoo classes with Keras (GAN, layers, networks, models).

    `import ganzoo` already arranges this on the first Keras lookup of a
    "ganzoo>" name, so `keras.saving.load_model` works right after
    `import ganzoo`; call it to register eagerly (e.g. before
    `keras.saving.get_registered_object`).

    Example:
        >>> import ganzoo, keras
        >>> ganzoo.register_keras_classes()
        >>> keras.saving.get_registered_object("ganzoo>GAN") is ganzoo.GAN
        True
    """
    for name in _REGISTERING_MODULES:
        importlib.import_module(name)


def _wrap_lookup(module):
    original = getattr(module, "get_registered_object", None)
    if original is None or getattr(original, "_ganzoo_lazy", False):
        return  # another Keras layout, or already wrapped
    state = {"done": False}

    def get_registered_object(name, custom_objects=None, module_objects=None):
        found = original(name, custom_objects, module_objects)
        if found is None and not state["done"] and isinstance(name, str) and name.startswith("ganzoo>"):
            state["done"] = True
            register_keras_classes()
            found = original(name, custom_objects, module_objects)
        return found

    get_registered_object.__doc__ = original.__doc__
    get_registered_object.__wrapped__ = original
    get_registered_object._ganzoo_lazy = True
    module.get_registered_object = get_registered_object


class _KerasRegistryHook:
    """A meta-path finder that only watches for Keras's registry module, then removes itself."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _KERAS_REGISTRY:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module):
            run(module)
            if getattr(module, "__name__", None) == _KERAS_REGISTRY:
                _wrap_lookup(module)
                if self in sys.meta_path:
                    sys.meta_path.remove(self)

        try:
            loader.exec_module = exec_module  # a file loader instance serves this one module only
        except AttributeError:  # an unusual loader: keep Keras importable, just without the hook
            pass
        return spec


if _KERAS_REGISTRY in sys.modules:
    _wrap_lookup(sys.modules[_KERAS_REGISTRY])
elif not any(isinstance(f, _KerasRegistryHook) for f in sys.meta_path):
    sys.meta_path.insert(0, _KerasRegistryHook())
