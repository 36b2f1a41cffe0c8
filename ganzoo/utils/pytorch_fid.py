"""Import pytorch-fid's Inception module beside a CPU build of torch.

pytorch-fid is the reference the FID port is tested and benchmarked
against. Its `inception` module imports torchvision, whose PyPI wheel is a
CUDA build whose C++ ops fail to register on the CPU torch build
("operator torchvision::nms does not exist"). pytorch-fid only needs
torchvision's pure-Python model code, so on that failure torchvision is
re-imported as a bare package that skips its C++ extension.

Example:
    >>> module = import_pytorch_fid()            # doctest: +SKIP
    >>> net = module.InceptionV3([3])            # doctest: +SKIP
"""

import importlib
import importlib.util
import sys
import types


def import_pytorch_fid():
    """Return `pytorch_fid.inception`; raises ImportError when not installed.

    Example:
        >>> import_pytorch_fid().InceptionV3.DEFAULT_BLOCK_INDEX  # doctest: +SKIP
        3
    """
    try:
        import pytorch_fid.inception as module

        return module
    except RuntimeError:
        pass  # torchvision's C++ ops do not load (CUDA wheel on CPU torch)
    for name in list(sys.modules):
        if name.split(".")[0] in ("torchvision", "pytorch_fid"):
            del sys.modules[name]
    spec = importlib.util.find_spec("torchvision")
    package = types.ModuleType("torchvision")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    sys.modules["torchvision"] = package
    package.__version__ = importlib.import_module("torchvision.version").__version__
    import pytorch_fid.inception as module

    return module
