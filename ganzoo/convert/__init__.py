"""Converters from official checkpoints to ganzoo weights.

`safe_pickle` reads NVIDIA network pickles without importing or running
anything from them; `stylegan2` maps NVIDIA, rosinality and flaxmodels
StyleGAN2 weights onto ganzoo's Keras networks.

Example:
    >>> from ganzoo.convert import convert_stylegan2
    >>> convert_stylegan2("stylegan2-ffhq-1024x1024.pkl", "out/ffhq")   # doctest: +SKIP
"""

import importlib

from ganzoo.convert.safe_pickle import UnsafePickleError, load_pickle
from ganzoo.convert.stylegan2 import LayoutError, load_converted
from ganzoo.convert.stylegan2 import convert as convert_stylegan2
from ganzoo.engine import registry

__all__ = [
    "LayoutError",
    "UnsafePickleError",
    "convert_stylegan2",
    "get_converter",
    "load_converted",
    "load_pickle",
    "register_converter",
]


def register_converter(name, target):
    """Register a converter that weight sources name (`converter: NAME`).

    `target` is a callable or a "module:function" string, imported on first
    use (so registering costs no import). A converter has the signature
    `convert_to_preset(src_path, out_dir, *, recipe=None) -> str` and writes a
    complete preset folder (config.json, weights, metadata.json) at `out_dir`.
    Converters live in the one registry (`ganzoo.engine.registry`, kind "converter").

    Example:
        >>> register_converter("mine", "my_pkg.convert:convert_to_preset")
        'my_pkg.convert:convert_to_preset'
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"converter name must be a non-empty string, got {name!r}")
    if not (callable(target) or (isinstance(target, str) and target.count(":") == 1)):
        raise ValueError(f"converter {name!r} must be a callable or 'module:function', got {target!r}")
    return registry.register("converter", name)(target)


register_converter("stylegan2", "ganzoo.convert.stylegan2:convert_to_preset")
register_converter("pix2pix", "ganzoo.models.pix2pix.convert:convert_to_preset")  # CycleGAN/pix2pix .pth
register_converter("biggan", "ganzoo.convert.biggan:convert_to_preset")


def get_converter(name):
    """The converter function registered as `name`, imported lazily.

    Unknown names are a ValueError naming the registered ones.

    Example:
        >>> convert = get_converter("stylegan2")                       # doctest: +SKIP
        >>> convert("ffhq.pkl", "out/ffhq", recipe=None)               # doctest: +SKIP
    """
    target = registry.lookup("converter", name)
    if callable(target):
        return target
    module_name, attr = target.split(":")
    module = importlib.import_module(module_name)
    function = getattr(module, attr, None)
    if not callable(function):
        raise ImportError(f"converter {name!r}: {module_name} has no function {attr!r} (registered as {target!r})")
    return function
