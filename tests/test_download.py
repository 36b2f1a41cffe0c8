"""`ganzoo.download.url_download` and `url:` weight sources, against a local HTTP server.

The server (`FileServer`, also used by test_cache_cli and test_fid_download)
speaks enough HTTP/1.1 for urllib and huggingface_hub: GET/HEAD with optional
`Range: bytes=N-` (206 Partial Content), 503 under `/fail503/`, and it logs
every request so the tests can tell a cache hit (no request) from a download.
"""

import hashlib
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from ganzoo import download, hub, sources
from test_hub import fake_hub  # noqa: F401  (a fixture: a local fake of the Hub's HTTP API)

DATA = bytes(range(256)) * 4099  # ~1 MiB, not a multiple of the read chunk


class FileServer:
    """A threaded local HTTP server of `files` ({path: bytes}); `log` records (path, Range) per request.

    Paths under `/fail503/` answer 503 (a Hub that is down); `stop()` shuts it
    down (a machine that went offline).
    """

    def __init__(self, files=None):
        self.files, self.log = dict(files or {}), []
        files, log = self.files, self.log

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, body_too):
                log.append((self.path, self.headers.get("Range")))
                body = files.get(self.path.split("?")[0])
                status = 503 if self.path.startswith("/fail503/") else 404
                if body is None:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start, status = 0, 200
                if self.headers.get("Range", "").startswith("bytes="):
                    start, status = int(self.headers["Range"][6:].rstrip("-")), 206
                self.send_response(status)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if body_too:
                    self.wfile.write(body[start:])

            def do_GET(self):  # noqa: N802 (http.server's name)
                self._reply(True)

            def do_HEAD(self):  # noqa: N802
                self._reply(False)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


def closed_port_url():
    """An http:// address where nothing listens (connection refused: an unreachable server)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def server():
    srv = FileServer({"/pretrained/tiny.pkl": DATA})
    try:
        yield srv.base, srv.files, srv.log
    finally:
        srv.stop()


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("GANZOO_OFFLINE", raising=False)


def test_download_verifies_caches_and_resumes(server):
    base, _, log = server
    url = f"{base}/pretrained/tiny.pkl"
    digest = hashlib.sha256(DATA).hexdigest()
    path = download.url_download(url, sha256=digest, progress=False)
    assert open(path, "rb").read() == DATA and len(log) == 1
    assert download.url_download(url, sha256=digest, progress=False) == path and len(log) == 1  # cache hit

    # An interrupted download resumes from its .part file with a Range request.
    target = download.cached_path(url)
    target.unlink()
    part = target.with_name(target.name + ".part")
    part.write_bytes(DATA[:300_001])
    assert open(download.url_download(url, sha256=digest, progress=False), "rb").read() == DATA
    assert log[-1] == ("/pretrained/tiny.pkl", "bytes=300001-") and not part.exists()


def test_download_errors_are_clear_and_leave_nothing_behind(server, monkeypatch):
    base, _, _ = server
    url = f"{base}/pretrained/tiny.pkl"
    with pytest.raises(hub.ChecksumMismatchError, match="expected 0{64}; the download was deleted"):
        download.url_download(url, sha256="0" * 64, progress=False)
    assert not download.cached_path(url).exists()
    with pytest.raises(hub.HubError, match="could not download .*/missing.pkl: Not Found"):
        download.url_download(f"{base}/missing.pkl", progress=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(hub.HubOfflineError, match="offline .* is not in the cache"):
        download.url_download(url, progress=False)
    with pytest.raises(ValueError, match="not a downloadable file URL"):
        download.url_download("file:///etc/passwd")


def test_url_source_downloads_converts_once_and_loads_offline(server, monkeypatch):
    from ganzoo import recipes
    from ganzoo.convert import register_converter
    from ganzoo.training import build

    base, files, log = server
    recipe = recipes.get("ring8-nsgan")
    recipe["name"] = "tiny-url"
    recipe["model"]["generator"]["hidden"] = [8]
    recipe["model"]["discriminator"]["hidden"] = [8]
    upstream = build(recipe, seed=7)  # stands in for an official checkpoint
    weights = upstream.generator.get_weights()
    files["/pretrained/tiny.npy"] = np.concatenate([w.ravel() for w in weights]).astype("<f4").tobytes()
    calls = []

    def convert(src_path, out_dir, *, recipe=None):
        calls.append(src_path)
        flat, out, start = np.fromfile(src_path, dtype="<f4"), [], 0
        for w in weights:
            out.append(flat[start : start + w.size].reshape(w.shape))
            start += w.size
        gan = build(recipe, seed=0)
        gan.generator.set_weights(out)
        for ema, v in zip(gan.ema_weights, gan.generator.trainable_variables):
            ema.assign(v.value)
        return gan.save_to_preset(out_dir, recipe=recipe, samples=False)

    register_converter("tiny-url", convert)  # a test-only name; the registry keeps it
    recipe["weights"] = {"sources": [{"url": f"{base}/pretrained/tiny.npy", "converter": "tiny-url", "sha256": None}]}
    expected = upstream.generate(4, seed=0, use_ema=False)
    np.testing.assert_allclose(sources.load_from_sources(recipe).generate(4, seed=0), expected, atol=1e-6)
    assert sources.cache_status(recipe) == "yes" and len(calls) == 1
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = len(log)
    again = sources.load_from_sources(recipe, generator_only=True)
    np.testing.assert_allclose(again.generate(4, seed=0), expected, atol=1e-6)
    assert len(calls) == 1 and len(log) == before  # no download, no conversion


def test_stylegan2_recipes_name_nvidia_upstream_files():
    from ganzoo import recipes

    for name in ("stylegan2-ffhq", "stylegan2-afhqcat", "stylegan2-metfaces", "stylegan2-cifar10"):
        items = sources.normalize(recipes.get(name))
        urls = [s["url"] for s in items if "url" in s]
        assert urls and urls[0].startswith("https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/")
        assert all(s["converter"] == "stylegan2" and s["license"] for s in items if "url" in s)


def test_unpinned_download_is_trusted_on_first_use_then_enforced(server):
    base, files, log = server
    url = f"{base}/pretrained/tiny.pkl"
    path = download.url_download(url, progress=False, name="tiny-tofu")
    record = download.read_record(path)
    assert record["sha256"] == hashlib.sha256(DATA).hexdigest() and record["pinned"] is False
    assert record["size"] == len(DATA) and record["name"] == "tiny-tofu"
    assert download.url_download(url, progress=False) == path and len(log) == 1  # checked, not fetched

    # The cached copy is corrupted: refused (and deleted), the record stays.
    with open(path, "r+b") as f:
        f.write(b"X")
    with pytest.raises(download.TrustOnFirstUseError, match="first download .* the cached copy changed"):
        download.url_download(url, progress=False, name="tiny-tofu")
    assert not os.path.exists(path) and download.read_record(path)["sha256"] == record["sha256"]

    # Upstream now serves other bytes: the new download is refused and removed.
    files["/pretrained/tiny.pkl"] = DATA[::-1]
    with pytest.raises(download.TrustOnFirstUseError, match="`ganzoo cache clear tiny-tofu`"):
        download.url_download(url, progress=False, name="tiny-tofu")
    assert sorted(os.listdir(os.path.dirname(path))) == [os.path.basename(path) + ".json"]  # no file, no .part

    # Clearing the entry forgets the first download: the new file is trusted anew.
    assert [e["kind"] for e in download.clear_cache("tiny-tofu")] == ["record"]
    path = download.url_download(url, progress=False, name="tiny-tofu")
    assert download.read_record(path)["sha256"] == hashlib.sha256(DATA[::-1]).hexdigest()


def test_pinned_size_is_checked_and_a_rejected_download_leaves_nothing(server):
    base, _, _ = server
    url = f"{base}/pretrained/tiny.pkl"
    digest = hashlib.sha256(DATA).hexdigest()
    with pytest.raises(hub.ChecksumMismatchError, match=f"is {len(DATA)} bytes, expected {len(DATA) + 1}"):
        download.url_download(url, sha256=digest, size=len(DATA) + 1, progress=False)
    # A resumed download whose bytes do not add up to the digest is removed, .part included.
    target = download.cached_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.with_name(target.name + ".part").write_bytes(b"\0" * 1000)
    with pytest.raises(hub.ChecksumMismatchError, match="the download was deleted"):
        download.url_download(url, sha256=digest, size=len(DATA), progress=False)
    assert list(target.parent.iterdir()) == []
    assert download.url_download(url, sha256=digest, size=len(DATA), progress=False) == str(target)


def _fake_convert(src_path, out_dir, *, recipe=None):
    # Enough of a preset for the conversion cache (config + weights files); nothing is built.
    os.makedirs(out_dir)
    for name in ("config.json", "model.weights.h5"):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(open(src_path, "rb").read()[:64])
    return out_dir


def test_unreachable_and_failing_hub_sources_fall_through_at_once(server, monkeypatch):
    import time

    from ganzoo.convert import register_converter

    base, _, log = server
    register_converter("tiny-fake", _fake_convert)
    recipe = {
        "name": "tiny-fallthrough",
        "weights": {
            "sources": [
                {"hub": "ganzoo/not-published"},  # a preset repo
                {"hub": "ganzoo/not-published", "filename": "g.pkl", "converter": "tiny-fake"},  # a Hub file
                {"url": f"{base}/pretrained/tiny.pkl", "converter": "tiny-fake", "sha256": None},
            ]
        },
    }
    # Nothing listening (the Hub unreachable), then a Hub answering 503 (down): huggingface_hub
    # alone retries a file's metadata 5 times (~23-28 s) before giving up.
    for endpoint in (closed_port_url(), f"{base}/fail503"):
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        start = time.perf_counter()
        with pytest.raises(hub.HubError):
            hub.hf_download("ganzoo/not-published", "g.pkl")
        assert time.perf_counter() - start < 1.0
    start = time.perf_counter()
    src, folder = sources.prefetch(recipe)
    elapsed = time.perf_counter() - start
    assert "url" in src and (folder / "config.json").is_file() and elapsed < 1.0, elapsed
    assert sum(1 for p, _ in log if p.startswith("/fail503/")) >= 2 and log[-1][0] == "/pretrained/tiny.pkl"


def test_hub_file_without_digest_is_trusted_on_first_use(fake_hub):
    import shutil

    from ganzoo.convert import register_converter

    register_converter("tiny-fake", _fake_convert)
    fake_hub.add_commit("upstream/tiny", {"g.bin": b"first upload " * 50})
    src = {"hub": "upstream/tiny", "filename": "g.bin", "converter": "tiny-fake", "sha256": None}
    recipe = {"name": "tiny-hub-tofu", "weights": {"sources": [src]}}
    _, folder = sources.prefetch(recipe)
    record = download._read_json(download.first_use_record_path(sources._upstream_url(src)))
    assert record["sha256"] == hashlib.sha256(b"first upload " * 50).hexdigest() and record["name"] == "tiny-hub-tofu"

    # The file is replaced upstream (same name, same branch): the new download is refused and evicted.
    fake_hub.add_commit("upstream/tiny", {"g.bin": b"replaced " * 50})
    shutil.rmtree(folder)  # not converted yet: the file is needed again
    with pytest.raises(OSError, match="now has sha256 .* but its first download .*`ganzoo cache clear tiny-hub-tofu`"):
        sources.prefetch(recipe)
    from huggingface_hub import try_to_load_from_cache

    assert not isinstance(try_to_load_from_cache("upstream/tiny", "g.bin", cache_dir=fake_hub.cache), str)
