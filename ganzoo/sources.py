"""Weight sources of registry models: try each in order, convert upstream files once.

A recipe's `weights` section names where its pretrained weights come from:

    weights: {embedded: dcgan-digits}                 # shipped in the package
    weights: {hub: ganzoo/ring8-nsgan, revision: v1}  # a ganzoo preset on the Hub
    weights:
      sources:                                        # tried in this order
        - {hub: ganzoo/stylegan2-ffhq, revision: v1, sha256: {model.weights.h5: <hex>}}
        - hub: upstream/stylegan2
          filename: stylegan2-ffhq-config-f.pkl
          sha256: <hex of that file>                  # pins the file; null where unknown
          converter: stylegan2                        # a registered converter (ganzoo.convert)
          license: nvidia-source-code-license-nc
          license_url: https://nvlabs.github.io/stylegan2/license.html
        - url: https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/ffhq.pkl
          converter: stylegan2                        # an upstream file outside the Hub

Source keys: `embedded` | `hub` | `url` (one of them), `revision`, `sha256` (for a
preset: `{filename: hex}`; for a converted file: the file's hex digest, or null
where none is published), `size` (a converted file's bytes, where published),
`filename` + `converter` (convert an upstream
checkpoint on the Hub), `converter` alone with `url`, `license`, `license_url`.

A converted source downloads its file with `ganzoo.hub.hf_download` (Hub) or
`ganzoo.download.url_download` (any https server; resumable), SHA-256 checked
when pinned, converts it once into `<ganzoo cache>/converted/<name>-<key>/`
(key: the pinned digest, else a digest of the file's location) and loads that
folder from then on without touching the network. A source
with a `license` shows its notice once (`ganzoo.hub.show_license_notice`).
When every source fails, the error lists each source and why it failed.
A downloaded file that fails to convert (truncated, not a checkpoint, or a
pickle the safe reader refuses) is removed from the cache and the error names
the file and its address, so the next call downloads it again instead of
failing on the same bad copy. Where no sha256 is published (NVIDIA's files)
the recipe says `sha256: null` and the download is trust-on-first-use: the
digest of the first download is recorded in the cache and every later use
must match it (`ganzoo.download.url_download`). A converted folder records
its origin and its files' digests in `.ganzoo-cache.json`
(`ganzoo cache verify` re-hashes them). `prefetch` fetches without loading
(`ganzoo download NAME`).

Provenance: a loaded preset carries `model.provenance` (`read_provenance`),
and every preset saved from it inherits its license and records it as
`parent` (`inherit_provenance`, used by the preset writer).

Example:
    >>> from ganzoo import recipes, sources
    >>> gan = sources.load_from_sources(recipes.get("dcgan-digits"))
    >>> sources.cache_status(recipes.get("dcgan-digits"))
    'embedded'
"""

import json
import os
import pickle
import re
import shutil
import tempfile
from pathlib import Path

from ganzoo.utils.provenance import attach_provenance, inherit_provenance, read_provenance  # noqa: F401

# Preset folders shipped inside the package (package data, see pyproject.toml).
EMBEDDED_DIR = Path(__file__).resolve().parent / "embedded"
SOURCE_KEYS = (
    "embedded", "hub", "url", "revision", "sha256", "size", "filename", "converter", "license", "license_url",
)
# Written into each converted preset folder: where it came from and the SHA-256 of its files.
CACHE_MANIFEST = ".ganzoo-cache.json"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class CorruptDownloadError(ValueError):
    """A downloaded upstream file could not be converted; it was removed from the cache."""


def _one_line(err, limit=300):
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_model_spec(spec):
    """Fail fast, before Keras loads, on a model spec `ganzoo.load` would reject.

    Mirrors the checks of `ganzoo.load` that need no backend: an unknown
    registry name (with suggestions), a missing file or folder, a recipe
    without weights. `hf://` specs are left to the download.

    Example:
        >>> check_model_spec("dcgan-digits")
        >>> check_model_spec("dcgan-digitz")
        Traceback (most recent call last):
        ValueError: Unknown model 'dcgan-digitz'. Did you mean: dcgan-digits? `ganzoo list` shows every name.
    """
    spec = os.fspath(spec)
    if spec.startswith("hf://") or os.path.isdir(spec):
        return
    if spec.endswith(".keras"):
        if not os.path.isfile(spec):
            raise FileNotFoundError(f"No .keras file at {spec}.")
        return
    if "://" in spec:
        raise ValueError(
            f"Unsupported model spec {spec!r}: use a registry name, a preset folder, a .keras file or "
            "'hf://org/repo[@revision]'."
        )
    if os.path.sep in spec or spec.startswith("."):
        raise FileNotFoundError(f"No preset folder or .keras file at {spec}.")
    from ganzoo import recipes

    recipe = recipes.get(spec)
    if not recipe.get("weights"):
        raise ValueError(
            f"{recipe['name']} is a training recipe without pretrained weights; train it with "
            f"`ganzoo train {recipe['name']} --out DIR` and load DIR/preset, or build it untrained "
            f"with ganzoo.training.build({recipe['name']!r})."
        )


def normalize(recipe):
    """The recipe's weight sources as a checked list of dicts (bad keys raise ValueError).

    Example:
        >>> normalize({"name": "x", "weights": {"hub": "org/x"}})
        [{'hub': 'org/x'}]
    """
    name = recipe.get("name", "?")
    weights = recipe.get("weights")
    if not isinstance(weights, dict):
        raise ValueError(f"{name}: 'weights' must be a mapping such as {{embedded: NAME}} or {{sources: [...]}}.")
    if "sources" in weights:
        if set(weights) != {"sources"}:
            raise ValueError(f"{name}: 'weights' has 'sources'; move {sorted(set(weights) - {'sources'})} into one source.")
        items = weights["sources"]
        if not isinstance(items, list) or not items:
            raise ValueError(f"{name}: weights.sources must be a non-empty list of sources.")
    else:
        items = [weights]
    out = []
    for i, src in enumerate(items):
        where = f"{name}: weights.sources[{i}]" if "sources" in weights else f"{name}: weights"
        if not isinstance(src, dict):
            raise ValueError(f"{where} must be a mapping, got {type(src).__name__}.")
        unknown = sorted(set(src) - set(SOURCE_KEYS))
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(SOURCE_KEYS)}.")
        kinds = [k for k in ("embedded", "hub", "url") if k in src]
        if len(kinds) != 1:
            raise ValueError(f"{where} needs exactly one of 'embedded', 'hub' or 'url', got {sorted(src)}.")
        if "url" in src:
            from ganzoo.download import check_url

            check_url(src["url"])
            if "converter" not in src or "filename" in src or "revision" in src:
                raise ValueError(
                    f"{where}: a 'url' source is an upstream checkpoint: give 'converter' (and no "
                    "'filename' or 'revision'; the URL names the file)."
                )
        elif ("filename" in src) != ("converter" in src):
            raise ValueError(f"{where}: 'filename' and 'converter' go together (an upstream file and how to convert it).")
        if "converter" in src:
            if "embedded" in src:
                raise ValueError(f"{where}: an embedded preset needs no converter.")
            if src.get("sha256") is not None and not isinstance(src["sha256"], str):
                raise ValueError(
                    f"{where}: 'sha256' of a converted source is the hex digest of the upstream file "
                    "(or null where it is not pinned yet)."
                )
            size = src.get("size")
            if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
                raise ValueError(f"{where}: 'size' is the upstream file's size in bytes (a positive integer) or null.")
        elif "size" in src:
            raise ValueError(f"{where}: 'size' pins an upstream file: it goes with 'converter'.")
        elif "sha256" in src and not isinstance(src["sha256"], dict):
            raise ValueError(f"{where}: for a preset source, 'sha256' maps file names to digests, e.g. {{model.weights.h5: <hex>}}.")
        out.append(dict(src))
    return out


def describe(src):
    """One line naming a source, for messages.

    Example:
        >>> describe({"hub": "org/x", "filename": "a.pkl", "converter": "stylegan2"})
        "hf://org/x/a.pkl (converted with 'stylegan2')"
    """
    if "embedded" in src:
        return f"embedded preset {src['embedded']!r}"
    if "url" in src:
        return f"{src['url']} (converted with {src['converter']!r})"
    rev = f"@{src['revision']}" if src.get("revision") else ""
    if "converter" in src:
        return f"hf://{src['hub']}{rev}/{src['filename']} (converted with {src['converter']!r})"
    return f"hf://{src['hub']}{rev}"


def converted_dir(recipe, src):
    """Where the converted preset of a converter source is cached.

    Example:
        >>> converted_dir({"name": "sg2"}, {"sha256": "ab" * 32}).name
        'sg2-abababababababab'
    """
    from ganzoo.hub import ganzoo_cache_dir

    import hashlib

    name = _SAFE.sub("_", str(recipe.get("name", "model")))
    if src.get("sha256"):
        key = str(src["sha256"]).lower()[:16]
    else:  # not pinned: key the cache by where the file comes from
        where = src.get("url") or f"{src['hub']}@{src.get('revision') or 'main'}/{src['filename']}"
        key = hashlib.sha256(where.encode()).hexdigest()[:16]
    return Path(ganzoo_cache_dir()) / "converted" / f"{name}-{key}"


def _complete(folder):
    # Light check (no Keras import, so `ganzoo list` stays fast); loading checks the rest.
    folder = Path(folder)
    return (folder / "config.json").is_file() and any(
        (folder / name).is_file() for name in ("model.weights.h5", "model.weights.json")
    )


def _upstream_url(src):
    if "url" in src:
        return src["url"]
    from ganzoo import hub

    return f"{hub._endpoint()}/{src['hub']}/resolve/{src.get('revision') or 'main'}/{src['filename']}"


def _evict_download(src, path):
    """Delete a downloaded upstream file from its cache (ganzoo's downloads or the HF cache).

    The trust-on-first-use record goes too: a first download that does not
    convert proved nothing, so the next download starts a new record.
    """
    if "url" in src:
        from ganzoo.download import record_path

        Path(path).unlink(missing_ok=True)
        Path(str(path) + ".part").unlink(missing_ok=True)
        record_path(path).unlink(missing_ok=True)
        return
    from ganzoo import hub
    from ganzoo.download import first_use_record_path

    hub._evict(path, hub._hf_cache_dir(None))
    first_use_record_path(_upstream_url(src)).unlink(missing_ok=True)


def _file_is_to_blame(err):
    # Errors that say "this file is not a readable checkpoint". A missing dependency, memory or
    # a system error (disk full, permissions) is not the file's fault: keep the download then.
    if isinstance(err, (ImportError, MemoryError, RecursionError)):
        return False
    if isinstance(err, OSError) and err.errno is not None:
        return False
    return isinstance(err, Exception)


def _convert(recipe, src):
    """Download and convert a converter source once; return the cached preset folder.

    A download that fails to convert is removed from the cache (CorruptDownloadError
    names it and its address), so a truncated or wrong file does not break every later load.
    """
    from ganzoo import hub
    from ganzoo.convert import get_converter

    target = converted_dir(recipe, src)
    if _complete(target):
        return target  # converted before: no network
    converter = get_converter(src["converter"])
    if "url" in src:
        from ganzoo.download import url_download

        path = url_download(src["url"], sha256=src.get("sha256"), size=src.get("size"), name=recipe.get("name"))
    else:
        path = hub.hf_download(src["hub"], src["filename"], revision=src.get("revision"), sha256=src.get("sha256"))
        if not src.get("sha256"):  # no published digest: trust-on-first-use, as for url files
            from ganzoo.download import TrustOnFirstUseError, check_first_use

            try:
                check_first_use(path, _upstream_url(src), name=recipe.get("name"))
            except TrustOnFirstUseError:
                hub._evict(path, hub._hf_cache_dir(None))
                raise
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        try:
            out = Path(converter(path, str(tmp / "preset"), recipe=recipe) or tmp / "preset")
        except Exception as e:
            if not _file_is_to_blame(e):
                raise
            _evict_download(src, path)
            url = _upstream_url(src)
            if isinstance(e, pickle.UnpicklingError) and "refusing" in str(e):
                raise CorruptDownloadError(
                    f"{path} (downloaded from {url}) was refused by the safe pickle reader: {_one_line(e)}; "
                    "it was removed from the cache. Nothing from it was run; check that the recipe's source "
                    "address is right."
                ) from None
            unchecked = "" if src.get("sha256") else " (no sha256 is pinned for it, so the download was not checked)"
            raise CorruptDownloadError(
                f"{path} (downloaded from {url}){unchecked} could not be converted with {src['converter']!r}: "
                f"{type(e).__name__}: {_one_line(e)}; the file is truncated or not the expected checkpoint. "
                "It was removed from the cache: re-run to download it again."
            ) from None
        if not _complete(out):
            raise ValueError(
                f"converter {src['converter']!r} did not write a complete preset folder at {out} "
                "(config.json and model.weights.h5 are required)."
            )
        _write_manifest(out, recipe, src, path)
        try:
            os.replace(out, target)
        except OSError:
            if not _complete(target):  # another process finished first: keep its copy
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _write_manifest(folder, recipe, src, source_path):
    """Record in a converted folder its origin and its files' SHA-256 (`ganzoo cache verify` re-hashes them)."""
    from ganzoo.download import read_record, write_json
    from ganzoo.hub import sha256_file

    record = read_record(source_path) if "url" in src else None
    files = {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file() and p.name != CACHE_MANIFEST
    }
    write_json(
        Path(folder) / CACHE_MANIFEST,
        {
            "name": recipe.get("name"),
            "source": _upstream_url(src),
            "converter": src["converter"],
            "source_sha256": record["sha256"] if record else sha256_file(source_path),
            "pinned": bool(src.get("sha256")),
            "files": files,
        },
    )


def fetch(recipe, src, *, revision=None):
    """The local preset folder of one source (downloading or converting it if needed).

    `revision` overrides the revision of a Hub preset source.

    Example:
        >>> fetch(recipes.get("dcgan-digits"), {"embedded": "dcgan-digits"})
    """
    if "embedded" in src:
        folder = EMBEDDED_DIR / src["embedded"]
        if not folder.is_dir():
            raise FileNotFoundError(
                f"the embedded preset folder {folder} is not installed; reinstall ganzoo "
                "(it ships as package data) or recreate it with tools/train_embedded.py"
            )
        return folder
    if "converter" in src:
        return _convert(recipe, src)
    from ganzoo import hub

    return Path(hub.download_preset(src["hub"], revision=revision or src.get("revision"), sha256=src.get("sha256")))


def load_from_sources(recipe, *, revision=None, generator_only=False):
    """Load a registry model from the first of its weight sources that works.

    Each failure (download, checksum, conversion, loading) is recorded and the
    next source is tried; if none works, an OSError lists every source with
    its error.

    Example:
        >>> gan = load_from_sources(recipes.get("dcgan-digits"), generator_only=True)
    """
    from ganzoo.presets import load_preset

    tried = []
    for src in normalize(recipe):
        folder = None
        try:
            folder = fetch(recipe, src, revision=revision)
            model = load_preset(folder, generator_only=generator_only)
        except (OSError, ValueError, ImportError) as e:
            note = ""
            if (folder is not None and _file_is_to_blame(e) and "converter" in src
                    and Path(folder) == converted_dir(recipe, src)):
                # The conversion cache is ganzoo's own: a copy that does not load is dropped, so
                # the next call converts again instead of failing the same way forever.
                shutil.rmtree(folder, ignore_errors=True)
                note = f" (the converted copy {folder} was removed: re-run to convert again)"
            tried.append(f"{len(tried) + 1}) {describe(src)}: {_one_line(e, 600)}{note}")
            continue
        prov = getattr(model, "provenance", None) or {"preset": str(folder)}
        prov["loaded_from"] = recipe["name"]
        if src.get("license") and not prov.get("license"):
            prov.update(license=src["license"], license_url=src.get("license_url"))
        prov.setdefault("name", recipe["name"])
        attach_provenance(model, prov)
        if src.get("license"):
            from ganzoo.hub import show_license_notice

            show_license_notice(recipe["name"], src["license"], src.get("license_url"))
        return model
    raise OSError(
        f"could not load the weights of {recipe['name']!r}; tried {len(tried)} source(s) in order: "
        + "; ".join(tried)
    )


def prefetch(recipe, *, revision=None):
    """Make the recipe's weights available offline: fetch the first source that works.

    What `load_from_sources` would use, downloaded (and converted) now, without
    building the model: returns `(source, local_folder)`. Embedded presets need
    nothing. If every source fails, an OSError lists each with its error.

    Example:
        >>> src, folder = prefetch(recipes.get("dcgan-digits"))
        >>> describe(src)
        "embedded preset 'dcgan-digits'"
    """
    tried = []
    for src in normalize(recipe):
        try:
            folder = fetch(recipe, src, revision=revision)
        except (OSError, ValueError, ImportError) as e:
            tried.append(f"{len(tried) + 1}) {describe(src)}: {_one_line(e, 600)}")
            continue
        if src.get("license"):
            from ganzoo.hub import show_license_notice

            show_license_notice(recipe["name"], src["license"], src.get("license_url"))
        return src, Path(folder)
    raise OSError(
        f"could not download the weights of {recipe['name']!r}; tried {len(tried)} source(s) in order: "
        + "; ".join(tried)
    )


def has_remote_source(recipe):
    """Whether a recipe names weights that come over the network (a Hub repo or a URL).

    Example:
        >>> has_remote_source(recipes.get("dcgan-digits")), has_remote_source(recipes.get("stylegan2-ffhq"))
        (False, True)
    """
    if not recipe.get("weights"):
        return False
    try:
        return any("embedded" not in src for src in normalize(recipe))
    except ValueError:
        return False


def cache_status(recipe):
    """Whether a registry model's weights are available without the network.

    Returns `"embedded"`, `"yes"` (some source is in the Hugging Face cache or
    the conversion cache), `"no"`, or `"-"` for a recipe without weights.
    Never touches the network.

    Example:
        >>> cache_status(recipes.get("ring8-hinge"))
        '-'
    """
    if not recipe.get("weights"):
        return "-"
    try:
        items = normalize(recipe)
    except ValueError:
        return "no"
    for src in items:
        if "embedded" in src:
            if (EMBEDDED_DIR / src["embedded"]).is_dir():
                return "embedded"
        elif "converter" in src:
            if _complete(converted_dir(recipe, src)):
                return "yes"
        elif _in_hf_cache(src["hub"]):
            return "yes"
    return "no"


def _in_hf_cache(repo_id):
    from ganzoo import hub

    try:
        root = Path(hub._hf_cache_dir(None)) / ("models--" + repo_id.replace("/", "--")) / "snapshots"
    except ImportError:
        return False
    return root.is_dir() and any((snap / "config.json").is_file() for snap in root.iterdir())
