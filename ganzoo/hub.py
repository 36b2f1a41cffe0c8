"""Hugging Face Hub download and upload for ganzoo presets.

Downloads go through ``huggingface_hub`` (its cache, resume, revision pinning, token
lookup and offline mode). ganzoo adds what a model zoo needs on top:

* ``hf://org/repo[@revision]`` specs (:func:`parse_hf_spec`);
* SHA-256 verification of downloaded files, with a bad file evicted from the cache
  so it can never be picked up later as valid (:func:`hf_download`,
  :func:`download_preset`);
* one-line errors that say what was tried (repo, file, revision, endpoint) and how
  to use a local copy instead;
* model cards (:func:`write_model_card`), uploads (:func:`push_to_hub`) and a
  one-time license notice per downloaded preset (:func:`show_license_notice`).

Environment variables are read at call time, so they can be changed in a running
process (huggingface_hub itself reads most of them once, at import):

``HF_ENDPOINT``
    Hub address (default ``https://huggingface.co``); point it at a mirror.
``HF_HUB_OFFLINE``
    ``1`` to never touch the network and use the Hugging Face cache only.
``HF_HUB_CACHE`` / ``HF_HOME``
    Where the Hugging Face cache lives.
``GANZOO_CACHE``
    ganzoo's own small cache (license notices); default ``~/.cache/ganzoo``.
``HF_HUB_ETAG_TIMEOUT``
    Seconds to wait for the Hub's answer before a file download (default 10).
    A file that is not cached is asked for once, without huggingface_hub's
    retry loop (5 retries, ~25 s when the Hub is unreachable or answers 5xx),
    so a registry source that cannot be reached falls through to the next one
    at once (:func:`hf_download`).

Tokens are taken from the usual places (``HF_TOKEN``, ``hf auth login``) by
huggingface_hub; ganzoo never prints, logs or writes them.

Example:
    >>> from ganzoo import hub
    >>> hub.parse_hf_spec("hf://ganzoo/dcgan-digits@v1")
    ('ganzoo/dcgan-digits', 'v1')
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile

logger = logging.getLogger(__name__)

__all__ = [
    "HubError",
    "HubOfflineError",
    "ChecksumMismatchError",
    "PRESET_PATTERNS",
    "parse_hf_spec",
    "sha256_file",
    "hf_download",
    "download_preset",
    "push_to_hub",
    "write_model_card",
    "show_license_notice",
    "ganzoo_cache_dir",
]

# Files of a preset folder (see DESIGN.md, "Preset folder"). Sharded weights are
# saved by Keras as `model.weights.json` + `model_00000.weights.h5`, ...
PRESET_PATTERNS = (
    "config.json",
    "metadata.json",
    "*.weights.h5",
    "*.weights.json",
    "README.md",
    "samples.png",
)

_DEFAULT_ENDPOINT = "https://huggingface.co"
_REPO_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,94}[A-Za-z0-9_])?"
_REPO_ID_RE = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$")
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_TRUE = {"1", "on", "yes", "true"}
_LOCAL_COPY_HINT = (
    "or use a local copy: download the preset folder where the Hub is reachable (or copy its "
    "Hugging Face cache here) and pass the folder path, e.g. ganzoo.load('/path/to/preset')"
)


class HubError(OSError):
    """A Hub download or upload failed; the message says what was tried and what to do."""


class HubOfflineError(HubError):
    """The Hub could not be used (offline mode or unreachable) and nothing was cached."""


class ChecksumMismatchError(HubError):
    """A downloaded file's SHA-256 differs from the expected one (the file was evicted)."""


# --------------------------------------------------------------------------- helpers


def _hf():
    try:
        import huggingface_hub
        import huggingface_hub.errors  # noqa: F401  (submodule used as hf.errors)
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError(
            "ganzoo's Hub support needs huggingface_hub: pip install 'ganzoo[hub]'"
        ) from err
    return huggingface_hub


def _endpoint():
    from huggingface_hub import constants

    value = os.environ.get("HF_ENDPOINT") or constants.ENDPOINT or _DEFAULT_ENDPOINT
    return value.rstrip("/")


def _offline():
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
    offline = env is not None and env.strip().lower() in _TRUE
    # huggingface_hub reads HF_HUB_OFFLINE once, at import; keep its copy in
    # step with the environment of this call (its HTTP layer consults it).
    constants.HF_HUB_OFFLINE = offline
    return offline


def _hf_cache_dir(cache_dir):
    if cache_dir is not None:
        return os.path.abspath(os.path.expanduser(os.fspath(cache_dir)))
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return os.path.expanduser(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return os.path.join(os.path.expanduser(os.environ["HF_HOME"]), "hub")
    return constants.HF_HUB_CACHE


def _check_repo_id(repo_id):
    if not isinstance(repo_id, str) or not _REPO_ID_RE.match(repo_id) or ".." in repo_id or "--" in repo_id:
        raise ValueError(
            f"invalid Hugging Face repo id {repo_id!r}: expected 'org/name' made of letters, "
            "digits, '-', '_' and '.', e.g. 'ganzoo/dcgan-digits'"
        )


def _check_revision(revision):
    if revision is None:
        return
    if not isinstance(revision, str) or not revision.strip() or any(c.isspace() for c in revision):
        raise ValueError(
            f"invalid revision {revision!r}: pass a branch, tag or commit hash such as 'main', 'v1' or None"
        )


def _check_filename(filename):
    if not isinstance(filename, str) or not filename or filename.startswith("/") or "\\" in filename:
        raise ValueError(f"invalid file name {filename!r}: pass a path relative to the repo root, e.g. 'config.json'")
    if any(part in ("", ".", "..") for part in filename.split("/")):
        raise ValueError(f"invalid file name {filename!r}: '.', '..' and empty path parts are not allowed")


def _check_sha256(value, what):
    if not isinstance(value, str) or not _SHA256_RE.match(value):
        raise ValueError(f"invalid SHA-256 for {what}: {value!r}; expected 64 hexadecimal characters")
    return value.lower()


def _rev(revision):
    return revision if revision is not None else "main"


def _library_kwargs():
    from ganzoo import __version__

    return {"library_name": "ganzoo", "library_version": __version__}


def _translate_error(err, *, repo_id, revision, filename, endpoint, cache):
    """Turn a huggingface_hub exception into a one-line ganzoo HubError."""
    from huggingface_hub import errors as hf_errors

    what = f"{filename!r} from {repo_id!r}" if filename else f"preset {repo_id!r}"
    where = f"(revision {_rev(revision)!r}, endpoint {endpoint})"
    if isinstance(err, hf_errors.LocalEntryNotFoundError):
        if _offline():
            reason, fix = "offline mode is on (HF_HUB_OFFLINE=1)", "unset HF_HUB_OFFLINE to download"
        else:
            reason, fix = "the Hub could not be reached", "check the connection and HF_ENDPOINT"
        return HubOfflineError(
            f"could not get {what} {where}: {reason} and it is not in the cache {cache}; "
            f"{fix}, {_LOCAL_COPY_HINT}"
        )
    if isinstance(err, hf_errors.GatedRepoError):
        return HubError(
            f"{repo_id!r} is gated {where}: accept its license on {endpoint}/{repo_id} and log in "
            "with `hf auth login` (or set HF_TOKEN)"
        )
    if isinstance(err, hf_errors.RepositoryNotFoundError):
        return HubError(
            f"repository {repo_id!r} not found {where}: check the name, or log in with "
            "`hf auth login` (or set HF_TOKEN) if it is private"
        )
    if isinstance(err, hf_errors.RevisionNotFoundError):
        return HubError(
            f"revision {_rev(revision)!r} not found in {repo_id!r} at {endpoint}: "
            "pass an existing branch, tag or commit hash"
        )
    if isinstance(err, hf_errors.EntryNotFoundError):
        return HubError(
            f"file {filename!r} not found in {repo_id!r} {where}: check the file name and revision"
        )
    if isinstance(err, hf_errors.HfHubHTTPError):
        status = getattr(getattr(err, "response", None), "status_code", "?")
        return HubError(f"could not get {what} {where}: HTTP {status}; retry later or check HF_ENDPOINT")
    return HubError(f"could not get {what} {where}: {type(err).__name__}")


def probe_timeout():
    """Seconds the one metadata request before a Hub download may wait (`HF_HUB_ETAG_TIMEOUT`, default 10).

    Example:
        >>> probe_timeout() > 0
        True
    """
    try:
        value = float(os.environ.get("HF_HUB_ETAG_TIMEOUT") or 10)
    except ValueError:
        raise ValueError(
            f"HF_HUB_ETAG_TIMEOUT={os.environ['HF_HUB_ETAG_TIMEOUT']!r} is not a number of seconds"
        ) from None
    return value if value > 0 else 10.0


def _probe(hf, repo_id, filename, *, revision, repo_type, endpoint):
    """One metadata request, no retries, before a download of a file that is not cached.

    huggingface_hub retries a failed metadata request of an uncached file 5 times
    with back-off (1+2+4+8+8 s, with 60 s timeouts) whatever the caller wants; a
    registry source that cannot be reached must instead fail at once so the next
    source is tried. Errors propagate (translated by the caller); a reachable
    file is then downloaded by `hf_hub_download` as usual (its own request
    succeeds at once, and the transfer keeps huggingface_hub's resume).
    """
    url = hf.hf_hub_url(repo_id, filename, revision=revision, repo_type=repo_type, endpoint=endpoint)
    try:
        hf.get_hf_file_metadata(url, timeout=probe_timeout(), endpoint=endpoint, **_library_kwargs())
    except hf.errors.HfHubHTTPError:
        raise
    except Exception as err:  # the HTTP client's own errors: DNS, refused connection, timeout, TLS
        if not isinstance(err, OSError) and type(err).__module__.split(".")[0] not in ("httpx", "httpx2", "httpcore"):
            raise
        raise hf.errors.LocalEntryNotFoundError(f"{url}: {err}") from err


def _evict(path, cache_root):
    """Remove a cached file (the snapshot entry and the blob it points to)."""
    real = os.path.realpath(path)
    for candidate in (path, real):
        try:
            if os.path.lexists(candidate) and (
                candidate == path or os.path.commonpath([os.path.realpath(cache_root), candidate])
                == os.path.realpath(cache_root)
            ):
                os.remove(candidate)
        except OSError as err:  # pragma: no cover - permissions
            logger.warning("could not remove %s from the cache: %s", candidate, err)


def _verify(path, expected, *, label, cache_root):
    actual = sha256_file(path)
    if actual != expected:
        _evict(path, cache_root)
        raise ChecksumMismatchError(
            f"SHA-256 mismatch for {label}: expected {expected}, got {actual}; the file was removed "
            "from the cache, so the next call downloads it again (check the expected hash if this repeats)"
        )


def _atomic_write_text(path, text):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# --------------------------------------------------------------------------- public API


def parse_hf_spec(spec):
    """Split ``hf://org/repo[@revision]`` into ``(repo_id, revision)``.

    ``revision`` is ``None`` when the spec has no ``@revision`` part (the Hub then
    uses ``main``).

    Example:
        >>> parse_hf_spec("hf://ganzoo/dcgan-digits")
        ('ganzoo/dcgan-digits', None)
        >>> parse_hf_spec("hf://ganzoo/dcgan-digits@3f2a9c1")
        ('ganzoo/dcgan-digits', '3f2a9c1')
    """
    if not isinstance(spec, str) or not spec.startswith("hf://"):
        raise ValueError(f"expected a Hub spec like 'hf://org/repo[@revision]', got {spec!r}")
    body = spec[len("hf://"):]
    repo_id, sep, revision = body.partition("@")
    if sep and not revision:
        raise ValueError(f"empty revision in {spec!r}: write 'hf://org/repo@<branch|tag|commit>' or drop the '@'")
    if repo_id.count("/") != 1:
        raise ValueError(f"malformed Hub spec {spec!r}: the repo must be exactly 'org/repo', e.g. 'hf://ganzoo/dcgan-digits'")
    _check_repo_id(repo_id)
    revision = revision or None
    _check_revision(revision)
    return repo_id, revision


def sha256_file(path, *, chunk_size=1 << 20):
    """Return the hex SHA-256 of a file, read in chunks.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.bin")
        >>> _ = open(p, "wb").write(b"abc")
        >>> sha256_file(p)[:16]
        'ba7816bf8f01cfea'
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"cannot hash {path!r}: not an existing file")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def ganzoo_cache_dir():
    """Return ganzoo's own cache folder: ``$GANZOO_CACHE`` or ``~/.cache/ganzoo``.

    Example:
        >>> os.path.basename(ganzoo_cache_dir()) != ""
        True
    """
    return os.path.abspath(os.path.expanduser(os.environ.get("GANZOO_CACHE") or "~/.cache/ganzoo"))


def hf_download(repo_id, filename, *, revision=None, sha256=None, repo_type="model", cache_dir=None):
    """Download one file from the Hub (or take it from the cache) and return its local path.

    Uses ``huggingface_hub.hf_hub_download``: files are cached, resumed and pinned to
    ``revision`` (branch, tag or commit hash; a commit hash that is cached needs no
    network at all). With ``sha256`` the file is verified on every call; on a
    mismatch it is removed from the cache and :class:`ChecksumMismatchError` names
    the file and both hashes. With ``HF_HUB_OFFLINE=1`` only the cache is used.

    Example:
        >>> path = hf_download("ganzoo/dcgan-digits", "config.json", revision="v1")  # doctest: +SKIP
    """
    _check_repo_id(repo_id)
    _check_filename(filename)
    _check_revision(revision)
    if repo_type not in ("model", "dataset", "space"):
        raise ValueError(f"invalid repo_type {repo_type!r}: use 'model', 'dataset' or 'space'")
    expected = _check_sha256(sha256, filename) if sha256 is not None else None
    hf = _hf()
    endpoint = _endpoint()
    cache = _hf_cache_dir(cache_dir)
    offline = _offline()
    try:
        if not offline and not isinstance(
            hf.try_to_load_from_cache(repo_id, filename, cache_dir=cache, revision=revision, repo_type=repo_type), str
        ):
            _probe(hf, repo_id, filename, revision=revision, repo_type=repo_type, endpoint=endpoint)
        path = hf.hf_hub_download(
            repo_id,
            filename,
            revision=revision,
            repo_type=repo_type,
            cache_dir=cache,
            endpoint=endpoint,
            local_files_only=offline,
            **_library_kwargs(),
        )
    except (hf.errors.HfHubHTTPError, hf.errors.EntryNotFoundError, hf.errors.OfflineModeIsEnabled) as err:
        raise _translate_error(
            err, repo_id=repo_id, revision=revision, filename=filename, endpoint=endpoint, cache=cache
        ) from err
    if expected is not None:
        _verify(path, expected, label=f"{filename!r} of {repo_id!r} (revision {_rev(revision)!r})", cache_root=cache)
    return path


def _read_metadata(folder, repo_id):
    path = os.path.join(folder, "metadata.json")
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as err:
        raise HubError(f"metadata.json of {repo_id!r} is not valid JSON ({err}); re-upload the preset") from err
    if not isinstance(meta, dict):
        raise HubError(f"metadata.json of {repo_id!r} must hold a JSON object, got {type(meta).__name__}")
    return meta


def download_preset(repo_id, *, revision=None, sha256=None, cache_dir=None):
    """Download a preset folder from the Hub and return its local path.

    Fetches the preset files (:data:`PRESET_PATTERNS`: ``config.json``,
    ``metadata.json``, ``model.weights.h5`` or its shards, ``README.md``,
    ``samples.png``) with ``huggingface_hub.snapshot_download``. Every file listed in
    ``metadata.json``'s ``"files": {name: sha256}`` section is verified, and so is
    every file in ``sha256`` (a dict ``{filename: hash}``, which wins over
    metadata.json; pin hashes or a commit hash yourself to guard against a tampered
    repo). A mismatching file is evicted from the cache. On first download the
    preset's license notice is shown once (see :func:`show_license_notice`).

    Example:
        >>> folder = download_preset("ganzoo/dcgan-digits", revision="v1")  # doctest: +SKIP
        >>> sorted(os.listdir(folder))                                      # doctest: +SKIP
        ['README.md', 'config.json', 'metadata.json', 'model.weights.h5', 'samples.png']
    """
    _check_repo_id(repo_id)
    _check_revision(revision)
    pins = {}
    if sha256 is not None:
        if not isinstance(sha256, dict):
            raise ValueError(f"sha256 must be a dict {{filename: hash}}, got {type(sha256).__name__}")
        for name, value in sha256.items():
            _check_filename(name)
            pins[name] = _check_sha256(value, name)
    hf = _hf()
    endpoint = _endpoint()
    cache = _hf_cache_dir(cache_dir)
    try:
        folder = hf.snapshot_download(
            repo_id,
            revision=revision,
            repo_type="model",
            cache_dir=cache,
            endpoint=endpoint,
            local_files_only=_offline(),
            allow_patterns=list(PRESET_PATTERNS),
            **_library_kwargs(),
        )
    except (hf.errors.HfHubHTTPError, hf.errors.EntryNotFoundError, hf.errors.OfflineModeIsEnabled) as err:
        raise _translate_error(
            err, repo_id=repo_id, revision=revision, filename=None, endpoint=endpoint, cache=cache
        ) from err
    if not os.path.isfile(os.path.join(folder, "config.json")):
        present = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        raise HubError(
            f"{repo_id!r} (revision {_rev(revision)!r}) is not a ganzoo preset: no config.json "
            f"(found {present}); upload one with ganzoo.push_to_hub"
        )
    meta = _read_metadata(folder, repo_id)
    listed = meta.get("files") or {}
    if not isinstance(listed, dict):
        raise HubError(f"metadata.json of {repo_id!r}: 'files' must map file names to SHA-256 hashes")
    expected = {name: _check_sha256(value, f"{name} in metadata.json") for name, value in listed.items()}
    expected.update(pins)
    commit = os.path.basename(os.path.normpath(folder))
    for name in sorted(expected):
        _check_filename(name)
        path = os.path.join(folder, *name.split("/"))
        if not os.path.exists(path):
            # Listed but outside PRESET_PATTERNS (or evicted earlier): fetch it at the same commit.
            path = hf_download(repo_id, name, revision=commit, cache_dir=cache)
        _verify(path, expected[name], label=f"{name!r} of {repo_id!r} (revision {_rev(revision)!r})", cache_root=cache)
    license_id = meta.get("license")
    if license_id:
        show_license_notice(
            meta.get("name") or repo_id, license_id, meta.get("license_url") or f"{endpoint}/{repo_id}"
        )
    return folder


def show_license_notice(name, license, url=None, *, stream=None):
    """Print a license notice for ``name`` once; return True if it was printed now.

    Shown notices are recorded in ``license_notices.json`` under
    :func:`ganzoo_cache_dir`; a notice is shown again only if the license of
    ``name`` changes. The notice goes to ``stream`` (default ``sys.stderr``).

    Example:
        >>> show_license_notice("dcgan-digits", "apache-2.0", "https://www.apache.org/licenses/LICENSE-2.0")  # doctest: +SKIP
        True
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"license notice needs a non-empty preset name, got {name!r}")
    if not isinstance(license, str) or not license:
        raise ValueError(f"license notice for {name!r} needs a license id such as 'apache-2.0', got {license!r}")
    record_path = os.path.join(ganzoo_cache_dir(), "license_notices.json")
    shown = {}
    try:
        with open(record_path, encoding="utf-8") as f:
            shown = json.load(f)
        if not isinstance(shown, dict):
            shown = {}
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        logger.warning("ignoring unreadable %s; license notices will be shown again", record_path)
        shown = {}
    previous = shown.get(name)
    if isinstance(previous, dict) and previous.get("license") == license:
        return False
    text = f"ganzoo: {name} is distributed under the {license} license"
    text += f"; see {url}" if url else ""
    text += ". Check that your use complies with it."
    print(text, file=stream if stream is not None else sys.stderr)
    shown[name] = {
        "license": license,
        "url": url,
        "shown_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        _atomic_write_text(record_path, json.dumps(shown, indent=1, sort_keys=True))
    except OSError as err:
        logger.warning("could not record the license notice in %s: %s", record_path, err)
    return True


# --------------------------------------------------------------------------- model card


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [v for v in value if v not in (None, "")]
    return [value]


def _metric_rows(metadata):
    """Normalise metadata['metrics'] into [{name, value, protocol, dataset}]."""
    metrics = metadata.get("metrics") or {}
    default_protocol = metadata.get("metrics_protocol")
    rows = []
    if isinstance(metrics, dict):
        items = []
        for name, value in metrics.items():
            entry = dict(value) if isinstance(value, dict) else {"value": value}
            entry.setdefault("name", name)
            items.append(entry)
    elif isinstance(metrics, (list, tuple)):
        items = [dict(m) for m in metrics]
    else:
        raise ValueError(
            f"metadata['metrics'] must be a dict {{name: value or {{value, protocol}}}} or a list, "
            f"got {type(metrics).__name__}"
        )
    for entry in items:
        if "name" not in entry or "value" not in entry:
            raise ValueError(f"metric entry {entry!r} needs 'name' and 'value'")
        try:
            value = float(entry["value"])
        except (TypeError, ValueError):
            raise ValueError(f"metric {entry['name']!r} has a non-numeric value {entry['value']!r}") from None
        rows.append(
            {
                "name": str(entry["name"]),
                "value": value,
                "protocol": entry.get("protocol") or default_protocol or "not recorded",
                "dataset": entry.get("dataset"),
            }
        )
    return rows


def _md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fmt(value):
    return f"{value:.4g}"


def write_model_card(folder, metadata):
    """Write ``folder/README.md``: a Hub model card with YAML front matter.

    Front matter: ``library_name: keras``, ``tags`` (gan, the family, ganzoo),
    ``license``, ``datasets``, ``metrics`` and a ``model-index`` with each metric's
    protocol. Body: how to load with ganzoo, the sample grid, the training recipe,
    a metrics table with protocols, and the license notice. Recognised metadata
    keys (all optional): ``name``, ``family``, ``repo_id``, ``description``,
    ``license``, ``license_url``, ``license_notice``, ``datasets``, ``recipe``, ``pipeline_tag``,
    ``metrics`` (``{name: value}``, ``{name: {"value", "protocol", "dataset"}}`` or
    a list of such dicts), ``metrics_protocol``, ``source``, ``citation``,
    ``ganzoo_version``, ``keras_version``. Returns the README path.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> p = write_model_card(d, {"name": "dcgan-digits", "family": "dcgan", "license": "apache-2.0",
        ...                          "metrics": {"fid": {"value": 12.5, "protocol": "10k samples vs test"}}})
        >>> open(p).read().startswith("---")
        True
    """
    import yaml

    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write a model card: {folder!r} is not an existing folder")
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict (the content of metadata.json), got {type(metadata).__name__}")
    name = str(metadata.get("name") or os.path.basename(os.path.abspath(folder)))
    family = metadata.get("family")
    license_id = str(metadata.get("license") or "other")
    datasets = [str(d) for d in _as_list(metadata.get("datasets") or metadata.get("dataset"))]
    rows = _metric_rows(metadata)

    tags = ["gan"] + ([str(family)] if family else []) + ["ganzoo", "keras", "image-generation"]
    front = {
        "library_name": "keras",
        "pipeline_tag": str(metadata.get("pipeline_tag") or "unconditional-image-generation"),
        "tags": list(dict.fromkeys(tags)),
        "license": license_id,
    }
    if datasets:
        front["datasets"] = datasets
    if rows:
        front["metrics"] = list(dict.fromkeys(r["name"].lower() for r in rows))
        results = []
        for r in rows:
            dataset = r["dataset"] or (datasets[0] if datasets else None)
            if dataset is None:
                continue  # the Hub's model-index needs a dataset per result
            results.append(
                {
                    "task": {"type": front["pipeline_tag"], "name": "Image generation"},
                    "dataset": {"name": str(dataset), "type": str(dataset)},
                    "metrics": [
                        {
                            "type": r["name"].lower(),
                            "value": r["value"],
                            "name": f"{r['name']} ({r['protocol']})",
                            "verified": False,
                        }
                    ],
                }
            )
        if results:
            front["model-index"] = [{"name": name, "results": results}]

    repo_id = metadata.get("repo_id")
    target = f"hf://{repo_id}" if repo_id else "path/to/this/folder"
    num_classes = int(((metadata.get("recipe") or {}).get("model") or {}).get("num_classes") or 0)
    if num_classes:  # class-conditional: every sample needs a class id
        generate = f"images = gan.generate(16, seed=0, labels=3)  # class ids in [0, {num_classes}); float32 NHWC in [-1, 1]"
        cli_labels = " --labels 3"
    else:
        generate, cli_labels = "images = gan.generate(16, seed=0)  # float32 NHWC in [-1, 1]", ""
    lines = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(), "---", ""]
    lines += [f"# {name}", ""]
    if metadata.get("description"):
        lines += [str(metadata["description"]), ""]
    lines += [
        f"A {str(family) + ' ' if family else ''}generative adversarial network from the "
        "ganzoo Keras 3 model zoo. It runs on TensorFlow, "
        "JAX and PyTorch (pick one with `KERAS_BACKEND`).",
        "",
        "## Usage",
        "",
        "```python",
        "import ganzoo",
        "",
        f'gan = ganzoo.load("{target}")',
        generate,
        "```",
        "",
        "From the command line:",
        "",
        "```bash",
        f"ganzoo sample {target} -n 16 --seed 0{cli_labels} --out grid.png",
        "```",
        "",
    ]
    if os.path.isfile(os.path.join(folder, "samples.png")):
        lines += ["## Samples", ""]
        if num_classes:
            lines += ["One row per class (0 at the top).", ""]
        lines += ["![Samples](samples.png)", ""]
    recipe = metadata.get("recipe")
    if recipe:
        lines += ["## Training recipe", "", "```yaml"]
        lines += [yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True).rstrip(), "```", ""]
    if rows:
        lines += ["## Metrics", "", "| Metric | Value | Protocol |", "|---|---|---|"]
        lines += [f"| {_md(r['name'])} | {_fmt(r['value'])} | {_md(r['protocol'])} |" for r in rows]
        lines += [""]
    versions = [
        f"{label} {metadata[key]}" for key, label in (("ganzoo_version", "ganzoo"), ("keras_version", "Keras"))
        if metadata.get(key)
    ]
    parent = metadata.get("parent") if isinstance(metadata.get("parent"), dict) else None
    if versions or metadata.get("source") or parent:
        lines += ["## Provenance", ""]
        if metadata.get("source"):
            lines += [f"Source: {metadata['source']}", ""]
        if parent:
            origin = parent.get("loaded_from") or parent.get("source")
            lines += [
                f"Derived from `{parent.get('name') or origin or 'a ganzoo preset'}`"
                + (f" ({origin})" if origin and origin != parent.get("name") else "")
                + (f", licensed `{parent['license']}`" if parent.get("license") else "")
                + ". Metrics of the parent describe the parent, not these weights.",
                "",
            ]
        if versions:
            lines += [f"Saved with {', '.join(versions)}.", ""]
    if metadata.get("citation"):
        lines += ["## Citation", "", "```bibtex", str(metadata["citation"]).rstrip(), "```", ""]
    lines += ["## License", ""]
    notice = f"These weights are distributed under the `{license_id}` license"
    notice += f" ({metadata['license_url']})." if metadata.get("license_url") else "."
    lines += [notice]
    if metadata.get("license_notice"):
        lines += ["", str(metadata["license_notice"])]
    lines += [
        "",
        "Check that your use complies with it and with the licenses of the training data.",
        "",
    ]
    path = os.path.join(folder, "README.md")
    _atomic_write_text(path, "\n".join(lines))
    return path


# --------------------------------------------------------------------------- upload

_TEXT_SUFFIXES = (".json", ".md", ".txt", ".yaml", ".yml", ".cfg", ".toml")
_HIDDEN_PATTERNS = (".*", "**/.*")


def _refuse_token_in_files(folder, token):
    """Never upload a file that contains the token (e.g. a recipe that captured env vars)."""
    if not token:
        return
    needle = token.encode("utf-8")
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # hidden entries are not uploaded
        for fname in files:
            if fname.startswith(".") or not fname.lower().endswith(_TEXT_SUFFIXES):
                continue
            path = os.path.join(root, fname)
            with open(path, "rb") as f:
                if needle in f.read():
                    rel = os.path.relpath(path, folder)
                    raise HubError(
                        f"refusing to upload: {rel} contains your Hugging Face token; remove it from the file "
                        "and revoke the token"
                    )


def is_non_commercial(license_id):
    """Whether a license id names a non-commercial license ("...-nc", "cc-by-nc-4.0", "non-commercial").

    Example:
        >>> is_non_commercial("nvidia-source-code-license-nc"), is_non_commercial("apache-2.0")
        (True, False)
    """
    text = str(license_id or "").lower()
    return "non-commercial" in text or "noncommercial" in text or "nc" in re.split(r"[^a-z0-9]+", text)


def _non_commercial_notice(folder, repo_id, *, stream=None):
    """Print one line when the preset being pushed is under a non-commercial license."""
    try:
        with open(os.path.join(folder, "metadata.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False
    license_id = meta.get("license") if isinstance(meta, dict) else None
    if not is_non_commercial(license_id):
        return False
    url = f" ({meta['license_url']})" if meta.get("license_url") else ""
    print(
        f"ganzoo: note: {repo_id} is published under the non-commercial license {license_id}{url} "
        "(from the weights it was derived from); its model card says so.",
        file=stream or sys.stdout,
    )
    return True


def push_to_hub(
    gan_or_dir,
    repo_id,
    *,
    private=False,
    token=None,
    commit_message="Upload ganzoo preset",
    create_pr=False,
):
    """Upload a model or a preset folder to a Hub model repo; return the repo (or PR) URL.

    ``gan_or_dir`` is a preset folder or an object with ``save_to_preset(path)``
    (``ganzoo.GAN``), which is saved to a temporary folder first. The repo is
    created if needed (``private`` applies only then). If the folder has no
    README.md, a model card is written from metadata.json into a staging copy (the
    input folder is never modified). Hidden files (``.env`` ...) are not uploaded. ``token`` defaults to the logged-in token; it
    is never printed, logged or written to a file, and a text file containing it
    is refused. A preset under a non-commercial license (``...-nc``) prints a
    one-line notice saying so; its card keeps that license.

    Example:
        >>> url = push_to_hub("runs/dcgan/preset", "me/dcgan-digits", private=True)  # doctest: +SKIP
    """
    _check_repo_id(repo_id)
    if token is not None and (not isinstance(token, str) or not token):
        raise ValueError("token must be a non-empty string or None (None uses `hf auth login` / HF_TOKEN)")
    if not isinstance(commit_message, str) or not commit_message.strip():
        raise ValueError("commit_message must be a non-empty string")
    if _offline():
        raise HubOfflineError(
            f"cannot push to {repo_id!r}: offline mode is on (HF_HUB_OFFLINE=1); unset it to upload"
        )
    hf = _hf()
    with tempfile.TemporaryDirectory(prefix="ganzoo-push-") as tmp:
        if isinstance(gan_or_dir, (str, os.PathLike)):
            folder = os.fspath(gan_or_dir)
            if not os.path.isdir(folder):
                raise FileNotFoundError(f"cannot push {folder!r}: not an existing preset folder")
        elif hasattr(gan_or_dir, "save_to_preset"):
            folder = os.path.join(tmp, "preset")
            gan_or_dir.save_to_preset(folder)
        else:
            raise TypeError(
                f"push_to_hub needs a preset folder path or a model with save_to_preset(), "
                f"got {type(gan_or_dir).__name__}"
            )
        if not os.path.isfile(os.path.join(folder, "config.json")):
            raise HubError(f"cannot push {folder!r}: no config.json, so it is not a ganzoo preset folder")
        has_weights = any(
            f.endswith((".weights.h5", ".weights.json")) for f in os.listdir(folder)
        )
        if not has_weights:
            raise HubError(f"cannot push {folder!r}: no model.weights.h5 (or sharded weights) in it")
        if not os.path.isfile(os.path.join(folder, "README.md")):
            staged = os.path.join(tmp, "staged")
            shutil.copytree(folder, staged)
            meta = _read_metadata(staged, repo_id)
            meta["repo_id"] = repo_id  # the card should load the repo it is pushed to
            write_model_card(staged, meta)
            folder = staged
        _non_commercial_notice(folder, repo_id)
        known_token = token if token is not None else hf.get_token()
        _refuse_token_in_files(folder, known_token)
        n_files = sum(len(files) for _, _, files in os.walk(folder))
        endpoint = _endpoint()
        logger.info("uploading %d files to %s/%s", n_files, endpoint, repo_id)
        api = hf.HfApi(token=token, endpoint=endpoint, **_library_kwargs())
        try:
            api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            info = api.upload_folder(
                repo_id=repo_id,
                folder_path=folder,
                repo_type="model",
                commit_message=commit_message,
                create_pr=create_pr,
                ignore_patterns=list(_HIDDEN_PATTERNS),  # never ship .env files and the like
            )
        except hf.errors.HfHubHTTPError as err:
            status = getattr(getattr(err, "response", None), "status_code", "?")
            hint = (
                "log in with `hf auth login`, set HF_TOKEN or pass token= with write access"
                if status in (401, 403)
                else "check the repo id and retry"
            )
            raise HubError(f"upload to {repo_id!r} at {endpoint} failed (HTTP {status}): {hint}") from err
    url = getattr(info, "pr_url", None) if create_pr else None
    return str(url or getattr(info, "repo_url", None) or f"{endpoint}/{repo_id}")
