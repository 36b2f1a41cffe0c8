"""ganzoo: a Keras 3 model zoo of generative adversarial networks.

Runs on TensorFlow, JAX and PyTorch; pick the backend the Keras way with
``KERAS_BACKEND``.

Example:
    >>> import ganzoo
    >>> gan = ganzoo.load("dcgan-digits")          # doctest: +SKIP
    >>> images = gan.generate(16, seed=0)          # doctest: +SKIP
"""

import importlib

__version__ = "0.1.0"

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

__all__ = ["__version__", *_LAZY]


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
