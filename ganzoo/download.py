"""Download upstream checkpoints that live outside the Hugging Face Hub.

Official weights are often published on a plain HTTPS server (NVIDIA's
StyleGAN2 pickles are on `nvlabs-fi-cdn.nvidia.com`). `url_download` fetches
such a file into ganzoo's cache once and returns its path:

* the cached copy is reused without any network access (also offline);
* an interrupted download resumes from its `.part` file (HTTP Range);
* with `sha256` (and `size`) the file is verified, a mismatch deletes it and
  raises; without (no digest is published: NVIDIA's pickles), the digest of
  the first download is recorded next to it (`<file>.json`) and every later
  use or re-download must match it (trust-on-first-use);
* the file appears under its final name only when complete and checked;
* `HF_HUB_OFFLINE=1` or `GANZOO_OFFLINE=1` forbids the network.

`prefetch` fills the cache for a registry name (or `fid-inception`) so a later
offline run finds everything (`ganzoo download`); `cache_entries`,
`verify_entry` and `clear_cache` list, re-hash and remove what is cached
(`ganzoo cache list | verify | clear`).

Example:
    >>> path = url_download(
    ...     "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/ffhq.pkl")  # doctest: +SKIP
"""

import datetime
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ganzoo.hub import ChecksumMismatchError

_CHUNK = 1 << 20
_TRUE = ("1", "true", "yes", "on")


class TrustOnFirstUseError(ChecksumMismatchError):
    """A file without a published digest differs from its first download (recorded in the cache)."""


def _offline():
    return any(os.environ.get(k, "").strip().lower() in _TRUE for k in ("HF_HUB_OFFLINE", "GANZOO_OFFLINE"))


def check_url(url):
    """Raise ValueError unless `url` is an http(s) URL naming a file.

    Example:
        >>> check_url("https://example.org/ffhq.pkl")
        'ffhq.pkl'
    """
    parts = urllib.parse.urlsplit(str(url))
    name = os.path.basename(parts.path)
    if parts.scheme not in ("http", "https") or not parts.netloc or not name:
        raise ValueError(f"not a downloadable file URL: {url!r} (expected https://host/path/file.ext)")
    return name


def cached_path(url, cache_dir=None):
    """Where `url_download` keeps the file of `url` (it may not exist yet).

    Example:
        >>> cached_path("https://example.org/a/ffhq.pkl").name.endswith("-ffhq.pkl")
        True
    """
    from ganzoo.hub import ganzoo_cache_dir

    name = check_url(url)
    key = hashlib.sha256(str(url).encode()).hexdigest()[:16]
    return Path(cache_dir or Path(ganzoo_cache_dir()) / "downloads") / f"{key}-{name}"


def record_path(target):
    """The JSON record kept next to a downloaded file: its URL, SHA-256, size, whether pinned.

    Example:
        >>> record_path(Path("/c/downloads/ab-ffhq.pkl")).name
        'ab-ffhq.pkl.json'
    """
    target = Path(target)
    return target.with_name(target.name + ".json")


def read_record(target):
    """The record of a downloaded file (a dict), or None when it has none or it is unreadable.

    Example:
        >>> read_record("/nonexistent/file.pkl") is None
        True
    """
    try:
        with open(record_path(target), encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("sha256"), str) else None


def write_json(path, data):
    """Write `data` as JSON to `path` atomically (a reader never sees half a file).

    Example:
        >>> import tempfile
        >>> write_json(Path(tempfile.mkdtemp()) / "r.json", {"a": 1})
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clear_hint(name, target):
    if name:
        return f"`ganzoo cache clear {name}`"
    return f"delete {target} and {record_path(target).name}"


def url_download(url, *, sha256=None, size=None, cache_dir=None, timeout=60, progress=True, name=None):
    """Download `url` into the cache (or reuse the cached copy); return the local path.

    Every file is checked on every call, downloaded or reused:

    * with `sha256` (and `size`) pinned, against those; a mismatch deletes the
      file (a wrong download never appears under its final name) and raises
      `ChecksumMismatchError`;
    * without, trust-on-first-use: the SHA-256 of the first complete download
      is recorded next to the file (`record_path`) and every later use or
      re-download must match it. A mismatch raises `TrustOnFirstUseError`
      naming the file and how to clear it (the upstream file changed, or the
      cached copy was corrupted).

    Args:
        url: an http(s) URL of one file.
        sha256: expected hex digest (None: trust-on-first-use).
        size: expected size in bytes (None: not pinned).
        cache_dir: folder for downloads (default `<ganzoo cache>/downloads`).
        timeout: seconds without data before the connection is given up.
        progress: show a progress bar (tqdm) while downloading.
        name: the registry name the file belongs to (shown by `ganzoo cache list`).

    Example:
        >>> url_download("http://127.0.0.1:8000/tiny.pkl", sha256=None)  # doctest: +SKIP
        '/root/.cache/ganzoo/downloads/3f2a...-tiny.pkl'
    """
    from ganzoo.hub import ChecksumMismatchError, HubError, HubOfflineError, sha256_file

    target = cached_path(url, cache_dir)
    expected = None if sha256 is None else str(sha256).lower()
    size = None if size is None else int(size)
    record = read_record(target)
    if target.is_file():
        actual = sha256_file(target)
        if expected is not None and actual != expected:
            target.unlink()
            raise ChecksumMismatchError(
                f"{url} has sha256 {actual}, expected {expected}; the download was deleted. "
                "The upstream file changed or the transfer was corrupted: retry, or check the pinned digest."
            )
        if expected is None and record is not None and record["sha256"] != actual:
            target.unlink()  # the record stays: a new download is checked against the first one
            raise TrustOnFirstUseError(
                f"the cached {target} (from {url}) has sha256 {actual}, but its first download "
                f"(recorded {record.get('recorded', '?')}) had {record['sha256']}: the cached copy changed. "
                "It was deleted; re-run to download it again (checked against the first download), or "
                f"clear the record with {_clear_hint(name, target)} if upstream replaced the file."
            )
        if record is None or record["sha256"] != actual:
            _record(target, url, actual, expected is not None, name)
        return str(target)
    if _offline():
        raise HubOfflineError(
            f"offline (HF_HUB_OFFLINE/GANZOO_OFFLINE) and {url} is not in the cache ({target}); "
            "run `ganzoo download NAME` on a connected machine (same GANZOO_CACHE), or copy the file there"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    write_json(record_path(part), {"url": str(url), "name": name})  # names a partial file in `ganzoo cache list`
    try:
        _fetch(url, part, timeout, progress)
    except (urllib.error.URLError, OSError) as e:
        if not part.exists():  # nothing arrived (404, refused): leave nothing behind
            record_path(part).unlink(missing_ok=True)
            raise HubError(f"could not download {url}: {getattr(e, 'reason', e)}") from None
        raise HubError(
            f"could not download {url}: {getattr(e, 'reason', e)} (a partial file is kept at {part} "
            "and the next call resumes it)"
        ) from None
    try:
        _check_and_keep(url, part, target, expected, size, record, name)
    finally:
        if not part.exists():
            record_path(part).unlink(missing_ok=True)
    return str(target)


def _check_and_keep(url, part, target, expected, size, record, name):
    """Check a complete download, then give it its final name (a rejected one is deleted)."""
    from ganzoo.hub import sha256_file

    got = part.stat().st_size
    if size is not None and got != size:
        part.unlink()
        raise ChecksumMismatchError(
            f"{url} is {got} bytes, expected {size}; the download was deleted. "
            "The upstream file changed or the transfer was corrupted: retry, or check the pinned size."
        )
    actual = sha256_file(part)
    if expected is not None and actual != expected:
        part.unlink()
        raise ChecksumMismatchError(
            f"{url} has sha256 {actual}, expected {expected}; the download was deleted. "
            "The upstream file changed or the transfer was corrupted: retry, or check the pinned digest."
        )
    if expected is None and record is not None and record["sha256"] != actual:
        part.unlink()
        raise TrustOnFirstUseError(
            f"{url} now has sha256 {actual}, but its first download into {target} (recorded "
            f"{record.get('recorded', '?')}) had {record['sha256']}; the new download was deleted. "
            f"If upstream replaced the file on purpose, clear the record with {_clear_hint(name, target)} "
            "and download again."
        )
    os.replace(part, target)
    _record(target, url, actual, expected is not None, name)


def first_use_record_path(address):
    """Where the trust-on-first-use record of a file kept outside ganzoo's downloads (a Hub file) lives.

    Example:
        >>> first_use_record_path("https://huggingface.co/org/x/resolve/main/g.bin").name.endswith("-g.bin.json")
        True
    """
    from ganzoo.hub import ganzoo_cache_dir

    key = hashlib.sha256(str(address).encode()).hexdigest()[:16]
    return Path(ganzoo_cache_dir()) / "records" / f"{key}-{os.path.basename(str(address))}.json"


def check_first_use(path, address, *, name=None):
    """Trust-on-first-use for a file downloaded elsewhere (the Hugging Face cache); return its sha256.

    The first call records the file's SHA-256 (`first_use_record_path`); later
    calls raise `TrustOnFirstUseError` when it differs (the upstream file was
    replaced, or the cached copy corrupted). The caller evicts the file.

    Example:
        >>> check_first_use("/hf/cache/g.bin", "https://huggingface.co/org/x/resolve/main/g.bin")  # doctest: +SKIP
    """
    from ganzoo.hub import sha256_file

    actual = sha256_file(path)
    where = first_use_record_path(address)
    record = _read_json(where)
    if record and isinstance(record.get("sha256"), str) and record["sha256"] != actual:
        raise TrustOnFirstUseError(
            f"{address} now has sha256 {actual}, but its first download (recorded {record.get('recorded', '?')} "
            f"in {where}) had {record['sha256']}; the file was removed from the cache. If upstream replaced it "
            f"on purpose, clear the record with {'`ganzoo cache clear ' + name + '`' if name else 'rm ' + str(where)} "
            "and download again."
        )
    if not record or record.get("sha256") != actual:
        write_json(where, {"url": str(address), "sha256": actual, "pinned": False, "name": name, "recorded": _now()})
    return actual


def _record(target, url, sha256, pinned, name):
    old = read_record(target) or {}
    write_json(
        record_path(target),
        {
            "url": str(url),
            "sha256": sha256,
            "size": Path(target).stat().st_size,
            "pinned": bool(pinned),
            "name": name or old.get("name"),
            "recorded": old.get("recorded") if old.get("sha256") == sha256 else _now(),
        },
    )


def _fetch(url, part, timeout, progress):
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "ganzoo"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if have and response.status != 206:
            have = 0  # the server ignored the Range header: start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=check_url(url))
        try:
            with open(part, "ab" if have else "wb") as f:
                for block in iter(lambda: response.read(_CHUNK), b""):
                    f.write(block)
                    if bar is not None:
                        bar.update(len(block))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and part.stat().st_size != total:
        raise OSError(f"the transfer stopped at {part.stat().st_size} of {total} bytes")


# --------------------------------------------------------------------------- ganzoo download / cache

FID_NAME = "fid-inception"  # the FID Inception weights, fetched like a registry entry


def remote_names():
    """Registry names whose weights come over the network, plus `fid-inception` (`ganzoo download --all`).

    Example:
        >>> "stylegan2-ffhq" in remote_names() and "dcgan-digits" not in remote_names()
        True
    """
    from ganzoo import recipes, sources

    names = [p.stem for p in sorted(recipes.config_dir().glob("*.yaml")) if sources.has_remote_source(recipes.parse(p))]
    return names + [FID_NAME]


def check_prefetch_name(name):
    """Raise ValueError unless `name` is `fid-inception` or a recipe (name, alias or YAML) with weights.

    Example:
        >>> check_prefetch_name("stylegan2-ffhq")
    """
    if name == FID_NAME:
        return
    from ganzoo import recipes

    recipe = recipes.get(name)
    if not recipe.get("weights"):
        raise ValueError(
            f"{recipe['name']} is a training recipe without pretrained weights: nothing to download "
            "(`ganzoo list` shows which entries have weights)."
        )


def prefetch(name, *, progress=True):
    """Download (and convert) what `ganzoo.load(name)` would need; return a one-line summary.

    `name` is a registry name, alias or recipe YAML (its weight sources are
    tried in order, as `ganzoo.load` does, through `ganzoo.sources.prefetch`),
    or `fid-inception` for the FID Inception weights the metrics use. After it,
    an offline run (`HF_HUB_OFFLINE=1`, same `GANZOO_CACHE` / `HF_HOME`) finds
    everything in the cache.

    Example:
        >>> prefetch("dcgan-digits")
        "dcgan-digits: embedded preset 'dcgan-digits' (ships with ganzoo, nothing to download)"
    """
    check_prefetch_name(name)
    if name == FID_NAME:
        from ganzoo.metrics.inception_weights import resolve_default_weights

        return f"{FID_NAME}: {resolve_default_weights(progress=progress)}"
    from ganzoo import recipes, sources

    recipe = recipes.get(name)
    src, folder = sources.prefetch(recipe)
    if "embedded" in src:
        return f"{recipe['name']}: {sources.describe(src)} (ships with ganzoo, nothing to download)"
    return f"{recipe['name']}: {sources.describe(src)} -> {folder}"


def _size(path):
    path = Path(path)
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            p = Path(root) / f
            if not p.is_symlink() and p.is_file():
                total += p.stat().st_size
    return total


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _hash_kind(pinned):
    return "pinned" if pinned else "trust-on-first-use"


def _entry(name, kind, path, source, hash_kind, **extra):
    return {"name": name, "kind": kind, "path": Path(path), "size": _size(path), "source": source, "hash": hash_kind, **extra}


def _hub_entries():
    from ganzoo import hub, recipes, sources

    try:
        hf = hub._hf()
        cache = Path(hub._hf_cache_dir(None))
    except ImportError:
        return []
    out = []
    for path in sorted(recipes.config_dir().glob("*.yaml")):
        try:
            recipe = recipes.parse(path)
            items = sources.normalize(recipe) if recipe.get("weights") else []
        except ValueError:
            continue
        for src in items:
            if "hub" not in src:
                continue
            if "converter" in src:
                found = hf.try_to_load_from_cache(src["hub"], src["filename"], cache_dir=str(cache), revision=src.get("revision"))
                if isinstance(found, str):
                    address = sources._upstream_url(src)
                    known = "trust-on-first-use" if first_use_record_path(address).is_file() else "not recorded"
                    out.append(_entry(recipe["name"], "hub-file", found, f"hf://{src['hub']}/{src['filename']}",
                                      "pinned" if src.get("sha256") else known, src=src, address=address))
                continue
            folder = cache / ("models--" + src["hub"].replace("/", "--"))
            if sources._in_hf_cache(src["hub"]):
                out.append(_entry(recipe["name"], "hub", folder, f"hf://{src['hub']}",
                                  "pinned" if src.get("sha256") else "metadata.json", src=src))
    return out


def cache_entries():
    """Everything ganzoo has cached: downloads, converted presets, FID weights, registry Hub presets.

    Each entry is a dict: `name` (registry name or `fid-inception`), `kind`
    (`download`, `partial`, `record`, `converted`, `fid`, `hub`, `hub-file`), `path`,
    `size` (bytes), `source` (URL or hf:// address) and `hash` (how its
    integrity is known: `pinned`, `trust-on-first-use`, ...). Reads only the
    cache folders (`GANZOO_CACHE`, the Hugging Face cache); never the network.

    Example:
        >>> [e["name"] for e in cache_entries()]  # doctest: +SKIP
        ['fid-inception', 'stylegan2-ffhq']
    """
    from ganzoo.hub import ganzoo_cache_dir
    from ganzoo.sources import CACHE_MANIFEST

    root = Path(ganzoo_cache_dir())
    out = []
    downloads = root / "downloads"
    for p in sorted(downloads.iterdir()) if downloads.is_dir() else []:
        if p.name.endswith(".json") and not p.name.endswith(".part.json"):
            target = p.with_name(p.name[: -len(".json")])
            record = read_record(target)
            if record is not None and not target.exists():  # a trust-on-first-use record, its file deleted
                out.append(_entry(record.get("name") or target.name[17:], "record", target, record.get("url", "-"),
                                  "record only (the next download must match it)"))
            continue
        if p.name.endswith(".json") or p.name.startswith(".") or not p.is_file():
            continue
        if p.name.endswith(".part"):
            pending = _read_json(record_path(p)) or {}
            out.append(_entry(pending.get("name") or p.name[17:-5], "partial", p, pending.get("url", "-"),
                              "partial (the next download resumes it)"))
            continue
        record = read_record(p)
        name = (record or {}).get("name") or p.name[17:]
        out.append(_entry(name, "download", p, (record or {}).get("url", "-"),
                          _hash_kind(record["pinned"]) if record else "not recorded"))
    converted = root / "converted"
    for folder in sorted(converted.iterdir()) if converted.is_dir() else []:
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        manifest = _read_json(folder / CACHE_MANIFEST)
        name = (manifest or {}).get("name") or folder.name.rsplit("-", 1)[0]
        out.append(_entry(name, "converted", folder, (manifest or {}).get("source", "-"),
                          _hash_kind(manifest.get("pinned")) if manifest else "not recorded"))
    fid = root / "fid"
    for p in sorted(fid.iterdir()) if fid.is_dir() else []:
        if p.name.endswith(".json") or p.name.startswith(".") or not p.is_file():
            continue
        manifest = _read_json(str(p) + ".json")
        out.append(_entry(FID_NAME, "fid", p, (manifest or {}).get("source", "-"), "pinned" if manifest else "not recorded"))
    return out + _hub_entries()


def _check_files(folder_or_file, files):
    from ganzoo.hub import sha256_file

    base = Path(folder_or_file)
    base = base if base.is_dir() else base.parent
    bad = []
    for rel, digest in sorted(files.items()):
        p = base / rel
        if not p.is_file():
            bad.append(f"{rel} is missing")
        elif sha256_file(p) != str(digest).lower():
            bad.append(f"{rel} has changed (sha256 differs from {str(digest)[:12]}...)")
    return bad


def verify_entry(entry):
    """Re-hash one cache entry against what was recorded: `(ok, message)`; ok is None when nothing is recorded.

    Example:
        >>> [verify_entry(e) for e in cache_entries()]  # doctest: +SKIP
        [(True, 'ok (1 file)')]
    """
    from ganzoo.hub import sha256_file
    from ganzoo.sources import CACHE_MANIFEST

    kind, path = entry["kind"], Path(entry["path"])
    if kind == "partial":
        return None, "partial download, nothing to check yet"
    if kind == "record":
        return None, "the recorded sha256 of a deleted download; the next download must match it"
    if kind == "download":
        record = read_record(path)
        if record is None:
            return None, "no recorded sha256 to check against"
        actual = sha256_file(path)
        if actual != record["sha256"]:
            return False, f"{path} has sha256 {actual[:12]}..., recorded {record['sha256'][:12]}..."
        return True, "ok"
    if kind in ("converted", "fid"):
        manifest = _read_json(path / CACHE_MANIFEST if kind == "converted" else str(path) + ".json")
        if not manifest or not isinstance(manifest.get("files"), dict):
            return None, "no recorded sha256 to check against"
        bad = _check_files(path, manifest["files"])
        if bad:
            return False, f"{path}: " + "; ".join(bad)
        return True, f"ok ({len(manifest['files'])} files)"
    if kind == "hub-file":
        pinned = entry["src"].get("sha256") or (_read_json(first_use_record_path(entry["address"])) or {}).get("sha256")
        if not pinned:
            return None, "no sha256 pinned in the recipe or recorded on first use"
        actual = sha256_file(path)
        return (True, "ok") if actual == pinned.lower() else (False, f"{path} has sha256 {actual[:12]}..., pinned {pinned[:12]}...")
    if kind == "hub":
        checked, bad = 0, []
        snapshots = path / "snapshots"
        for snap in sorted(snapshots.iterdir()) if snapshots.is_dir() else []:
            files = dict((_read_json(snap / "metadata.json") or {}).get("files") or {})
            files.update(entry["src"].get("sha256") or {})
            files = {k: v for k, v in files.items() if (snap / k).exists()}
            checked += len(files)
            bad += [f"{snap.name[:12]}/{b}" for b in _check_files(snap, files)]
        if bad:
            return False, f"{path}: " + "; ".join(bad)
        return (True, f"ok ({checked} files)") if checked else (None, "no sha256 published for its files")
    return None, f"unknown entry kind {kind!r}"


def clear_cache(name=None):
    """Remove cached entries (all, or those of one registry name / `fid-inception`); return them.

    Also removes a download's trust-on-first-use record, so the next download
    is trusted anew. Raises ValueError when `name` has nothing cached.

    Example:
        >>> removed = clear_cache("stylegan2-ffhq")  # doctest: +SKIP
    """
    import shutil

    entries = cache_entries()
    if name is not None:
        from ganzoo import recipes

        canonical = recipes.names().get(name, name)
        entries = [e for e in entries if e["name"] in (name, canonical)]
        if not entries:
            raise ValueError(f"nothing is cached for {name!r}; `ganzoo cache list` shows what is")
    for e in entries:
        path = Path(e["path"])
        if e["kind"] == "hub-file":
            from ganzoo import hub

            hub._evict(str(path), hub._hf_cache_dir(None))
            first_use_record_path(e["address"]).unlink(missing_ok=True)
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        for extra in (record_path(path), Path(str(path) + ".part")):
            if e["kind"] in ("download", "partial", "record", "fid"):
                extra.unlink(missing_ok=True)
    return entries
