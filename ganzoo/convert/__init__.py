"""Converters from official checkpoints to ganzoo weights.

`safe_pickle` reads NVIDIA network pickles without importing or running
anything from them; `stylegan2` maps NVIDIA, rosinality and flaxmodels
StyleGAN2 weights onto ganzoo's Keras networks.

Example:
    >>> from ganzoo.convert import convert_stylegan2
    >>> convert_stylegan2("stylegan2-ffhq-1024x1024.pkl", "out/ffhq")   # doctest: +SKIP
"""

from ganzoo.convert.safe_pickle import UnsafePickleError, load_pickle
from ganzoo.convert.stylegan2 import LayoutError, load_converted
from ganzoo.convert.stylegan2 import convert as convert_stylegan2

__all__ = ["LayoutError", "UnsafePickleError", "convert_stylegan2", "load_converted", "load_pickle"]
