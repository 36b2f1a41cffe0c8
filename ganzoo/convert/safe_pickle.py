"""A restricted unpickler for NVIDIA StyleGAN2-ADA / StyleGAN3 network pickles.

Those `.pkl` files hold `torch_utils.persistence` objects: each network is
pickled as `_reconstruct_persistent_obj(meta)` where `meta` carries the
*source code* of its module and the object's `__dict__`. NVIDIA's loader
`exec`s that source. This loader never imports or runs anything from the file:

- `find_class` resolves only an allow-list of globals (the persistence
  reconstructor, `dnnlib` EasyDict, tensor rebuild helpers, storage types,
  containers, numpy scalars/arrays) to local stand-ins, and raises
  `UnsafePickleError` naming any other global;
- persistent objects become `PersistentObject` records that keep the class
  name and state; `module_src` is dropped unread;
- tensor storages, which plain `pickle` writes as
  `torch.storage._load_from_bytes(<legacy torch.save bytes>)` (a call that
  would run `torch.load(weights_only=False)`), are parsed here: the inner
  pickles go through this same allow-list and the raw bytes become numpy.

Tensors come back as numpy arrays; torch is not needed.

Example:
    >>> import io, pickle
    >>> load_pickle(io.BytesIO(pickle.dumps({"a": [1, 2]})))
    {'a': [1, 2]}
"""

import collections
import io
import pickle
import struct

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # torch legacy serialization magic
LEGACY_PROTOCOL_VERSION = 1001


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """Raised when a pickle references a global outside the allow-list (or a malformed record).

    Example:
        >>> issubclass(UnsafePickleError, pickle.UnpicklingError)
        True
    """


class PersistentObject:
    """What a `torch_utils.persistence` object is reduced to: class name + state.

    `module_src` (the embedded source code) is never kept or executed.

    Example:
        >>> obj = PersistentObject("Generator", {"_parameters": {}, "_buffers": {}, "_modules": {}})
        >>> obj.class_name
        'Generator'
    """

    def __init__(self, class_name, state, version=None):
        self.class_name = str(class_name)
        self.state = dict(state or {})
        self.version = version

    @property
    def init_kwargs(self):
        """The constructor kwargs NVIDIA records on every persistent object (or {})."""
        return _plain(self.state.get("_init_kwargs") or {})

    def __repr__(self):
        return f"PersistentObject({self.class_name!r})"


class EasyDict(dict):
    """Stand-in for `dnnlib.util.EasyDict` (a dict with attribute access).

    Example:
        >>> EasyDict(z_dim=512).z_dim
        512
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class TorchModuleStub:
    """Stand-in for a plain `torch.nn` module inside a pickle: keeps its state only.

    Example:
        >>> stub = TorchModuleStub(); stub.__setstate__({"_parameters": {}})
        >>> stub.state
        {'_parameters': {}}
    """

    def __setstate__(self, state):
        self.state = dict(state)


class _StorageType:
    """Marker for `torch.FloatStorage` & co. (a dtype, never a torch class)."""

    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


class _Storage:
    """A flat numpy buffer standing in for a torch storage."""

    def __init__(self, array):
        self.array = array


# torch storage class name -> numpy dtype ("bfloat16" is widened by hand).
_STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "BFloat16Storage": "bfloat16",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?", "UntypedStorage": "u1",
}


def _plain(value):
    """EasyDicts -> dicts, recursively (for kwargs read from a pickle)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _reconstruct_persistent_obj(meta):
    if not isinstance(meta, dict) or meta.get("type") != "class" or "class_name" not in meta:
        raise UnsafePickleError("malformed torch_utils.persistence record (expected type='class')")
    # meta["module_src"] is source code; it is deliberately ignored.
    return PersistentObject(meta["class_name"], meta.get("state"), meta.get("version"))


def _codecs_encode(text, encoding="utf-8"):
    # Protocol-2 pickles spell bytes as _codecs.encode(str, 'latin1').
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"_codecs.encode allowed only for latin1 text, got {encoding!r}")
    return text.encode("latin1")


def _as_array(storage):
    if isinstance(storage, _Storage):
        return storage.array
    raise UnsafePickleError(f"tensor storage of unexpected type {type(storage).__name__}")


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    flat = _as_array(storage)
    offset = int(storage_offset)
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or min(stride, default=0) < 0:
        raise UnsafePickleError(f"malformed tensor record: size {size}, stride {stride}")
    if 0 in size:
        return np.zeros(size, flat.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if offset < 0 or last >= flat.size:
        raise UnsafePickleError(f"tensor view {size} / {stride} at offset {offset} exceeds its storage")
    if not size:
        return flat[offset].copy()
    item = flat.itemsize
    view = np.lib.stride_tricks.as_strided(
        flat[offset:], shape=size, strides=[s * item for s in stride], writeable=False
    )
    return np.array(view)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *unused):
    return data


def _torch_size(values=()):
    return tuple(values)


def _numpy_reconstruct(cls, shape, dtype):
    if cls is not np.ndarray:
        raise UnsafePickleError("numpy _reconstruct is allowed only for numpy.ndarray")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError("numpy scalars are allowed only for plain numeric dtypes")
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise UnsafePickleError("malformed numpy scalar record")
    return np.frombuffer(data, dtype=dtype)[0]


_ALLOWED = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "set"): set,
    ("_codecs", "encode"): _codecs_encode,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): _torch_size,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
}
for _name, _dtype in _STORAGE_DTYPES.items():
    _ALLOWED[("torch", _name)] = _StorageType(_name, _dtype)


class RestrictedUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose `find_class` only knows ganzoo's allow-list.

    Example:
        >>> import io, os, pickle
        >>> class Evil:
        ...     def __reduce__(self):
        ...         return (os.system, ("true",))
        >>> try:
        ...     RestrictedUnpickler(io.BytesIO(pickle.dumps(Evil()))).load()
        ... except UnsafePickleError as e:
        ...     print("refused")
        refused
    """

    def find_class(self, module, name):
        target = _ALLOWED.get((module, name))
        if target is not None:
            return target
        if (module, name) == ("torch.storage", "_load_from_bytes"):
            return load_legacy_torch_bytes
        if module.startswith("torch.nn.modules.") and name.isidentifier():
            return type(name, (TorchModuleStub,), {"__module__": "ganzoo.convert.safe_pickle.stub"})
        hint = ""
        if module.startswith("dnnlib.tflib"):
            hint = "; this is a TensorFlow StyleGAN pickle, convert it with NVIDIA's legacy.py first"
        raise UnsafePickleError(
            f"refusing to unpickle global '{module}.{name}': it is not on ganzoo's allow-list "
            f"for StyleGAN network pickles (nothing from the file was imported or run){hint}"
        )

    def persistent_load(self, pid):
        raise UnsafePickleError(f"unexpected persistent id {pid!r} in a network pickle")


class _LegacyStorageUnpickler(RestrictedUnpickler):
    """The object pickle inside torch's legacy format: storages are persistent ids."""

    def __init__(self, file, storages):
        super().__init__(file)
        self._storages = storages

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise UnsafePickleError(f"unexpected persistent id {pid!r} in a torch storage record")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise UnsafePickleError(f"unknown storage type {storage_type!r}")
        view = pid[5] if len(pid) > 5 else None
        if view is not None:
            raise UnsafePickleError("storage views are not supported in network pickles")
        record = self._storages.setdefault(str(key), {"type": storage_type, "numel": int(numel)})
        return record.setdefault("storage", _Storage(None))


def _read_exact(f, n):
    data = f.read(n)
    if len(data) != n:
        raise pickle.UnpicklingError("truncated torch storage data")
    return data


def load_legacy_torch_bytes(data):
    """Parse a legacy-format `torch.save` of one storage without torch or exec.

    Format: pickles of the magic number, protocol version and sys info, the
    object pickle (storages as persistent ids), the sorted storage keys, then
    per key an int64 element count and the raw little-endian bytes.

    Example:
        >>> load_legacy_torch_bytes(b"not torch")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        UnpicklingError: not a legacy torch.save stream
    """
    if not isinstance(data, (bytes, bytearray)):
        raise UnsafePickleError("_load_from_bytes expects bytes")
    f = io.BytesIO(bytes(data))
    try:
        magic = RestrictedUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError):
        magic = None
    if magic != MAGIC_NUMBER:
        raise pickle.UnpicklingError("not a legacy torch.save stream")
    if RestrictedUnpickler(f).load() != LEGACY_PROTOCOL_VERSION:
        raise pickle.UnpicklingError("unsupported torch legacy protocol version")
    sys_info = RestrictedUnpickler(f).load()
    little = bool(sys_info.get("little_endian", True)) if isinstance(sys_info, dict) else True
    storages = {}
    obj = _LegacyStorageUnpickler(f, storages).load()
    keys = RestrictedUnpickler(f).load()
    for key in keys:
        record = storages.get(str(key))
        if record is None:
            raise pickle.UnpicklingError(f"storage {key!r} listed but never referenced")
        (numel,) = struct.unpack("<q" if little else ">q", _read_exact(f, 8))
        dtype = record["type"].dtype
        if dtype == "bfloat16":
            raw = np.frombuffer(_read_exact(f, 2 * numel), dtype="<u2" if little else ">u2")
            array = (raw.astype(np.uint32) << 16).view(np.float32)
        else:
            dt = np.dtype(dtype)
            dt = dt.newbyteorder("<" if little else ">") if dt.itemsize > 1 else dt
            array = np.frombuffer(_read_exact(f, dt.itemsize * numel), dtype=dt).astype(dt.newbyteorder("="))
        record.setdefault("storage", _Storage(None)).array = array
    if not isinstance(obj, _Storage) or obj.array is None:
        raise pickle.UnpicklingError("torch storage record without data")
    return obj


def load_pickle(file):
    """Load a network pickle (path or binary file) through `RestrictedUnpickler`.

    Example:
        >>> import io, pickle
        >>> load_pickle(io.BytesIO(pickle.dumps([1.5, "x"])))
        [1.5, 'x']
    """
    if isinstance(file, (str, bytes)) or hasattr(file, "__fspath__"):
        with open(file, "rb") as f:
            return RestrictedUnpickler(f).load()
    return RestrictedUnpickler(file).load()


def module_state_dict(obj, prefix=""):
    """Flatten a `PersistentObject` tree into `{dotted_name: ndarray}` like `state_dict()`.

    Parameters and persistent buffers of every submodule are included, in
    registration order.

    Example:
        >>> import numpy as np
        >>> leaf = PersistentObject("FullyConnectedLayer", {"_parameters": {"weight": np.ones((2, 3))}})
        >>> root = PersistentObject("MappingNetwork", {"_modules": {"fc0": leaf}})
        >>> list(module_state_dict(root))
        ['fc0.weight']
    """
    if isinstance(obj, PersistentObject) or isinstance(obj, TorchModuleStub):
        state = obj.state if hasattr(obj, "state") else {}
    else:
        raise TypeError(f"expected a network object from a pickle, got {type(obj).__name__}")
    out = {}
    skip = set(state.get("_non_persistent_buffers_set") or ())
    for name, value in (state.get("_parameters") or {}).items():
        if value is not None:
            out[prefix + name] = np.asarray(value)
    for name, value in (state.get("_buffers") or {}).items():
        if value is not None and name not in skip:
            out[prefix + name] = np.asarray(value)
    for name, child in (state.get("_modules") or {}).items():
        if child is not None:
            out.update(module_state_dict(child, prefix + name + "."))
    return out
