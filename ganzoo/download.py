"""Download upstream checkpoints that live outside the Hugging Face Hub.

Official weights are often published on a plain HTTPS server (NVIDIA's
StyleGAN2 pickles are on `nvlabs-fi-cdn.nvidia.com`). `url_download` fetches
such a file into ganzoo's cache once and returns its path:

* the cached copy is reused without any network access (also offline);
* an interrupted download resumes from its `.part` file (HTTP Range);
* with `sha256` the file is verified, a mismatch deletes it and raises;
* the file appears under its final name only when complete (atomic rename);
* `HF_HUB_OFFLINE=1` or `GANZOO_OFFLINE=1` forbids the network.

Example:
    >>> path = url_download(
    ...     "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/ffhq.pkl")  # doctest: +SKIP
"""

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

_CHUNK = 1 << 20
_TRUE = ("1", "true", "yes", "on")


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


def url_download(url, *, sha256=None, cache_dir=None, timeout=60, progress=True):
    """Download `url` into the cache (or reuse the cached copy); return the local path.

    Args:
        url: an http(s) URL of one file.
        sha256: expected hex digest, checked after every download and on reuse.
        cache_dir: folder for downloads (default `<ganzoo cache>/downloads`).
        timeout: seconds without data before the connection is given up.
        progress: show a progress bar (tqdm) while downloading.

    Example:
        >>> url_download("http://127.0.0.1:8000/tiny.pkl", sha256=None)  # doctest: +SKIP
        '/root/.cache/ganzoo/downloads/3f2a...-tiny.pkl'
    """
    from ganzoo.hub import ChecksumMismatchError, HubError, HubOfflineError

    target = cached_path(url, cache_dir)
    expected = None if sha256 is None else str(sha256).lower()
    if not target.is_file():
        if _offline():
            raise HubOfflineError(
                f"offline (HF_HUB_OFFLINE/GANZOO_OFFLINE) and {url} is not in the cache ({target}); "
                "download it on a connected machine, or copy the file there"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        try:
            _fetch(url, part, timeout, progress)
        except (urllib.error.URLError, OSError) as e:
            raise HubError(
                f"could not download {url}: {getattr(e, 'reason', e)} (a partial file is kept at {part} "
                "and the next call resumes it)"
            ) from None
        os.replace(part, target)
    if expected is not None:
        from ganzoo.hub import sha256_file

        actual = sha256_file(target)
        if actual != expected:
            target.unlink()
            raise ChecksumMismatchError(
                f"{url} has sha256 {actual}, expected {expected}; the download was deleted. "
                "The upstream file changed or the transfer was corrupted: retry, or check the pinned digest."
            )
    return str(target)


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

            bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=os.path.basename(str(part))[:-5])
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
