"""Weights of the FID Inception network: read, convert, cache, download.

Sources understood by `load_weights`:

* pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (a torch state dict,
  read with `torch.load(weights_only=True)`, never a full unpickle), or the
  same tensors as `.safetensors` (read here without extra packages);
* the Keras `.weights.h5` that `tools/convert_fid_inception.py` writes from it
  (it loads on every backend without torch).

The default weights (`resolve_default_weights`) come from ganzoo's cache, from
pytorch-fid's own download in the torch hub cache, from pytorch-fid's GitHub
release (`SOURCE_URL`, through `ganzoo.download.url_download`: resumable, size
and SHA-256 checked) or from the optional Hub mirror `HUB_REPO_ID`; they are
converted once to a `.weights.h5` in `cache_dir()` that loads without torch.
`ganzoo download fid-inception` does this ahead of an offline run.

Environment: `GANZOO_FID_URL` replaces the release URL (a mirror of the same
file; the pinned digest still applies). `GANZOO_FID_SHA256` replaces the pinned
digest, for weights you host yourself: FID numbers are then not comparable
with published ones, and the metric records carry that digest.
"""

import json
import os
import tempfile

import numpy as np

# pytorch-fid's port of the TF graph inception-2015-12-05.
SOURCE_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
SOURCE_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
SOURCE_SIZE = 95_628_359  # bytes, as several independent projects record it
SOURCE_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + SOURCE_FILENAME
)
HUB_REPO_ID = "ganzoo/fid-inception-2015-12-05"
CONVERTED_FILENAME = "fid_inception-2015-12-05-6726825d.weights.h5"
# Attribute of converted .h5 files: SHA-256 of the file they were converted from.
SOURCE_SHA256_ATTR = "ganzoo_source_sha256"

_IGNORED_KEY_PARTS = ("num_batches_tracked", "AuxLogits.")


def _torch_prefix(keras_prefix):
    # "Mixed_5b_branch1x1" -> "Mixed_5b.branch1x1"; "Conv2d_1a_3x3" unchanged.
    if keras_prefix.startswith("Mixed_"):
        return keras_prefix[:8] + "." + keras_prefix[9:]
    return keras_prefix


_BN_NAMES = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}


def _same(array):
    return array


def _conv_to_keras(array):
    return np.transpose(array, (2, 3, 1, 0))  # torch (out, in, kh, kw) -> keras (kh, kw, in, out)


def layer_variables(network):
    """`{layer_name: [variables]}` of the network, in Keras variable order.

    Example:
    >>> from ganzoo.metrics.inception import build_fid_inception
    >>> [v.name for v in layer_variables(build_fid_inception())["fc"]]
    ['kernel', 'bias']
    """
    grouped = {}
    for variable in network.weights:
        grouped.setdefault(variable.path.split("/")[-2], []).append(variable)
    return grouped


def expected_tensors(network):
    """Map every network variable to its pytorch-fid state-dict key.

    Returns `{layer_name: [(torch_key, to_keras, variable), ...]}`; `to_keras`
    turns the torch array into the Keras layout.

    Example:
    >>> from ganzoo.metrics.inception import build_fid_inception
    >>> spec = expected_tensors(build_fid_inception())
    >>> [key for key, _, _ in spec["Mixed_5b_branch1x1_bn"]]
    ['Mixed_5b.branch1x1.bn.weight', 'Mixed_5b.branch1x1.bn.bias', 'Mixed_5b.branch1x1.bn.running_mean', 'Mixed_5b.branch1x1.bn.running_var']
    """
    spec = {}
    for name, variables in layer_variables(network).items():
        entries = []
        for variable in variables:
            if name == "fc" and variable.name == "kernel":
                key, to_keras = "fc.weight", np.transpose
            elif name == "fc" and variable.name == "bias":
                key, to_keras = "fc.bias", _same
            elif name.endswith("_conv") and variable.name == "kernel":
                key, to_keras = _torch_prefix(name[:-5]) + ".conv.weight", _conv_to_keras
            elif name.endswith("_bn") and variable.name in _BN_NAMES:
                key, to_keras = _torch_prefix(name[:-3]) + ".bn." + _BN_NAMES[variable.name], _same
            else:
                raise ValueError(f"unexpected variable {variable.path!r} in the FID Inception network")
            entries.append((key, to_keras, variable))
        spec[name] = entries
    return spec


def read_safetensors(path):
    """Read a `.safetensors` file into `{name: np.ndarray}` (no code execution).

    Example:
    >>> tensors = read_safetensors("inception.safetensors")  # doctest: +SKIP
    """
    dtypes = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path}: not a safetensors file (shorter than its 8-byte header)")
        header_len = int.from_bytes(raw, "little")
        if header_len > 100_000_000:
            raise ValueError(f"{path}: not a safetensors file (header length {header_len})")
        try:
            header = json.loads(f.read(header_len))
        except ValueError as e:
            raise ValueError(f"{path}: not a safetensors file (bad JSON header: {e})") from None
        data = f.read()
    tensors = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if info["dtype"] not in dtypes:
            raise ValueError(
                f"{path}: tensor {key!r} has dtype {info['dtype']}; convert it to float32 first"
            )
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=dtypes[info["dtype"]])
        tensors[key] = array.reshape(info["shape"])
    return tensors


def read_state_dict(path):
    """Read a torch state dict (`.pth`, `.pt`, `.bin`) or `.safetensors` as numpy.

    `.pth` files are read with `torch.load(weights_only=True)`, which refuses
    anything but tensors and plain containers.

    Example:
    >>> state = read_state_dict("pt_inception-2015-12-05-6726825d.pth")  # doctest: +SKIP
    >>> state["fc.weight"].shape                                       # doctest: +SKIP
    (1008, 2048)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file {path!r} does not exist")
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    try:
        import torch
    except ImportError:
        raise RuntimeError(
            f"reading {path} needs PyTorch (CPU is enough: pip install torch "
            "--index-url https://download.pytorch.org/whl/cpu); or convert it once where torch "
            "is installed with tools/convert_fid_inception.py SRC.pth OUT.weights.h5 and pass "
            "the .weights.h5"
        ) from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(
            f"{path} is not a readable torch state dict ({type(e).__name__}: {e}); "
            "pass pytorch-fid's pt_inception-2015-12-05-6726825d.pth"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict of tensors")
    return {k: v.detach().float().numpy() for k, v in state.items() if hasattr(v, "detach")}


def assign_state_dict(network, state, source="state dict"):
    """Load a pytorch-fid state dict (`{name: array}`) into the Keras network.

    Shapes are checked before anything is assigned; the first wrong tensor is
    named in the error. Keys pytorch-fid itself ignores (`num_batches_tracked`,
    `AuxLogits.*`) are skipped; any other unknown key is an error, so a file of
    a different network is not silently half-loaded.

    Example:
    >>> net = build_fid_inception()                                  # doctest: +SKIP
    >>> assign_state_dict(net, read_state_dict("pt_inception-2015-12-05-6726825d.pth"))  # doctest: +SKIP
    """
    used, updates = set(), []
    for entries in expected_tensors(network).values():
        for key, to_keras, variable in entries:
            if key not in state:
                raise ValueError(
                    f"{source}: tensor {key!r} is missing; is this the FID Inception "
                    f"({SOURCE_FILENAME}) state dict?"
                )
            wanted = _torch_shape(key, variable.shape)
            if tuple(np.shape(state[key])) != wanted:
                raise ValueError(
                    f"{source}: tensor {key!r} has shape {tuple(np.shape(state[key]))}, the FID "
                    f"Inception network needs {wanted}"
                )
            updates.append((variable, to_keras(np.asarray(state[key], dtype="float32"))))
            used.add(key)
    extra = [k for k in state if k not in used and not any(p in k for p in _IGNORED_KEY_PARTS)]
    if extra:
        raise ValueError(
            f"{source}: tensor {extra[0]!r} is not part of the FID Inception network "
            f"({len(extra)} unknown tensors); pass pytorch-fid's {SOURCE_FILENAME}"
        )
    for variable, value in updates:
        variable.assign(value)


def _torch_shape(key, keras_shape):
    keras_shape = tuple(int(s) for s in keras_shape)
    if key.endswith("conv.weight"):
        kh, kw, cin, cout = keras_shape
        return (cout, cin, kh, kw)
    if key == "fc.weight":
        return keras_shape[::-1]
    return keras_shape


def save_keras_weights(network, path, source_sha256=None):
    """Write the network's weights to a Keras `.weights.h5` atomically.

    `source_sha256` (the SHA-256 of the file they were converted from) is kept
    as an HDF5 attribute so metric records name the same weights however they
    were stored.

    Example:
    >>> save_keras_weights(net, "fid_inception.weights.h5")  # doctest: +SKIP
    """
    import h5py

    path = os.fspath(path)
    if not path.endswith(".weights.h5"):
        raise ValueError(f"Keras weights files must end in .weights.h5, got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".weights.h5", dir=folder)
    os.close(fd)
    try:
        network.save_weights(tmp, overwrite=True)
        if source_sha256:
            with h5py.File(tmp, "a") as f:
                f.attrs[SOURCE_SHA256_ATTR] = source_sha256
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_keras_weights(network, path):
    """Load a `.weights.h5` written by `save_keras_weights`; return its source SHA-256.

    Layers are matched by name, and every tensor's shape is checked first (the
    first mismatch is named). Returns the `ganzoo_source_sha256` attribute, or
    None when the file has none.

    Example:
    >>> load_keras_weights(net, "fid_inception.weights.h5")  # doctest: +SKIP
    """
    import h5py

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file {path!r} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path} is not an HDF5 weights file ({e})") from None
    with f:
        groups = {}

        def collect(name, obj):
            if name.split("/")[-1] == "vars" and "name" in obj.attrs:
                groups[obj.attrs["name"]] = obj

        f.visititems(collect)
        updates = []
        for name, variables in layer_variables(network).items():
            if name not in groups:
                raise ValueError(
                    f"{path}: no weights for layer {name!r}; convert pytorch-fid's "
                    f"{SOURCE_FILENAME} with tools/convert_fid_inception.py"
                )
            group = groups[name]
            if len(group) != len(variables):
                raise ValueError(
                    f"{path}: layer {name!r} has {len(group)} tensors, expected {len(variables)}"
                )
            for i, variable in enumerate(variables):
                array = group[str(i)][()]
                if tuple(array.shape) != tuple(variable.shape):
                    raise ValueError(
                        f"{path}: tensor {variable.path!r} has shape {tuple(array.shape)}, the "
                        f"FID Inception network needs {tuple(variable.shape)}"
                    )
                updates.append((variable, array))
        source = f.attrs.get(SOURCE_SHA256_ATTR)
    for variable, value in updates:
        variable.assign(value)
    return source.decode() if isinstance(source, bytes) else source


def cache_dir():
    """Folder for converted FID weights: `$GANZOO_CACHE/fid` (default ~/.cache/ganzoo/fid).

    Example:
    >>> cache_dir().endswith("fid")
    True
    """
    from ganzoo.hub import ganzoo_cache_dir

    return os.path.join(ganzoo_cache_dir(), "fid")


def _torch_hub_checkpoint():
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torch"
    )
    return os.path.join(torch_home, "hub", "checkpoints", SOURCE_FILENAME)


def default_source():
    """Where the default weights are downloaded from: `{"url", "sha256", "size"}`.

    `GANZOO_FID_URL` / `GANZOO_FID_SHA256` override the URL and digest (see the
    module docstring); the size is pinned only for pytorch-fid's own file.

    Example:
    >>> default_source()["sha256"][:8]
    '6726825d'
    """
    url = os.environ.get("GANZOO_FID_URL") or SOURCE_URL
    sha256 = (os.environ.get("GANZOO_FID_SHA256") or SOURCE_SHA256).strip().lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"GANZOO_FID_SHA256={sha256!r} is not a SHA-256 hex digest (64 hex characters)")
    return {"url": url, "sha256": sha256, "size": SOURCE_SIZE if sha256 == SOURCE_SHA256 else None}


def converted_path(sha256=SOURCE_SHA256):
    """The cached `.weights.h5` converted from the file with this SHA-256.

    Example:
    >>> os.path.basename(converted_path()) == CONVERTED_FILENAME
    True
    """
    return os.path.join(cache_dir(), f"fid_inception-2015-12-05-{sha256[:8]}.weights.h5")


def _missing_weights_message(reasons, source):
    return (
        f"FID Inception weights are not available ({'; '.join(reasons)}). On a machine with internet, "
        f"`ganzoo download fid-inception` fetches {source['url']} (sha256 {source['sha256'][:12]}...) and "
        f"converts it into {converted_path(source['sha256'])}; copy that file here (same GANZOO_CACHE) for "
        f"offline use, or put pytorch-fid's {SOURCE_FILENAME} in {cache_dir()} (or convert it with "
        "`python tools/convert_fid_inception.py SRC.pth OUT.weights.h5`), or pass load_inception(weights=PATH)"
    )


def _source_attr(path):
    import h5py

    try:
        with h5py.File(path, "r") as f:
            value = f.attrs.get(SOURCE_SHA256_ATTR)
    except OSError:
        return None
    return value.decode() if isinstance(value, bytes) else value


def resolve_default_weights(progress=True):
    """Return a local path to the default FID Inception weights, fetching if needed.

    Looks, in order, for the converted `.weights.h5` in `cache_dir()`; for
    pytorch-fid's `.pth` in `cache_dir()` or in the torch hub cache (where
    pytorch-fid downloads it); then downloads the `.pth` from pytorch-fid's
    release (`default_source()`, size and SHA-256 checked, resumable) and,
    failing that, from the Hub mirror `HUB_REPO_ID`. A found `.pth` is converted
    once into `cache_dir()` (needs torch, which reads it with
    `weights_only=True`), so later loads need neither torch nor the network;
    the download is then removed. Raises `FileNotFoundError` (one line: the
    URL, the cache path and `ganzoo download fid-inception`) when nothing works.

    Example:
    >>> path = resolve_default_weights()  # doctest: +SKIP
    """
    from ganzoo.hub import sha256_file

    source = default_source()
    sha256 = source["sha256"]
    converted = converted_path(sha256)
    if os.path.isfile(converted) and _source_attr(converted) == sha256:
        return converted
    reasons = []
    for candidate in (os.path.join(cache_dir(), SOURCE_FILENAME), _torch_hub_checkpoint()):
        if os.path.isfile(candidate):
            if sha256_file(candidate) == sha256:
                return _convert_to_cache(candidate, converted, sha256, origin=candidate)
            reasons.append(f"{candidate} has the wrong sha256")
    from ganzoo.download import url_download

    try:
        path = url_download(
            source["url"], sha256=sha256, size=source["size"], progress=progress, name="fid-inception"
        )
    except OSError as e:
        reasons.append(str(e))
    else:
        return _convert_to_cache(path, converted, sha256, origin=source["url"], remove_source=True)
    if sha256 == SOURCE_SHA256:  # the mirror holds pytorch-fid's file only
        try:
            from ganzoo.hub import hf_download

            path = hf_download(HUB_REPO_ID, SOURCE_FILENAME, sha256=SOURCE_SHA256)
        except (OSError, ImportError) as e:
            reasons.append(f"Hub mirror {HUB_REPO_ID}: {e}")
        else:
            return _convert_to_cache(path, converted, sha256, origin=f"hf://{HUB_REPO_ID}/{SOURCE_FILENAME}")
    raise FileNotFoundError(_missing_weights_message(reasons, source))


def convert_file(source, output, source_sha256=None):
    """Convert pytorch-fid's state dict (`.pth` / `.safetensors`) to a Keras `.weights.h5`.

    The output loads on every backend without torch; `source_sha256` (default:
    hashed here) is stored in it so metric records name the original file.
    Returns `(source_sha256, output_sha256)`. `tools/convert_fid_inception.py`
    is the command-line front end.

    Example:
    >>> convert_file("pt_inception-2015-12-05-6726825d.pth", "fid.weights.h5")  # doctest: +SKIP
    """
    from ganzoo.hub import sha256_file
    from ganzoo.metrics.inception import build_fid_inception

    source = os.fspath(source)
    source_sha256 = source_sha256 or sha256_file(source)
    network = build_fid_inception(data_format="channels_last")  # same weights in both layouts
    assign_state_dict(network, read_state_dict(source), source=source)
    save_keras_weights(network, output, source_sha256=source_sha256)
    return source_sha256, sha256_file(output)


def _convert_to_cache(source, converted, sha256, origin, remove_source=False):
    if not source.endswith(".safetensors"):
        try:
            import torch  # noqa: F401
        except ImportError:
            return source  # load_weights reports how to get torch or a converted file
    from ganzoo.download import write_json

    _, output_sha256 = convert_file(source, converted, source_sha256=sha256)
    write_json(
        converted + ".json",
        {
            "name": "fid-inception",
            "source": origin,
            "source_sha256": sha256,
            "pinned": True,
            "files": {os.path.basename(converted): output_sha256},
        },
    )
    if remove_source:  # the .weights.h5 holds the same tensors; keep one copy
        from ganzoo.download import record_path

        os.remove(source)
        record_path(source).unlink(missing_ok=True)
    return converted


def load_weights(network, path):
    """Load weights from `path` (state dict or `.weights.h5`); return their SHA-256.

    The SHA-256 identifies the weights in metric records: for a converted
    `.weights.h5` it is that of the original file (kept in the .h5), else the
    file's own.

    Example:
    >>> sha = load_weights(build_fid_inception(), "fid.weights.h5")  # doctest: +SKIP
    """
    from ganzoo.hub import sha256_file

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"weights file {path!r} does not exist; pass pytorch-fid's {SOURCE_FILENAME} or a "
            "converted .weights.h5"
        )
    if path.endswith(".h5"):
        source = load_keras_weights(network, path)
        return source or sha256_file(path)
    assign_state_dict(network, read_state_dict(path), source=path)
    return sha256_file(path)
