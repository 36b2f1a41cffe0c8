"""`ganzoo.download.url_download` and `url:` weight sources, against a local HTTP server.

The server speaks enough HTTP/1.1 for urllib: GET with optional
`Range: bytes=N-` (206 Partial Content), and it logs every request so the
tests can tell a cache hit (no request) from a download.
"""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from ganzoo import download, hub, sources

DATA = bytes(range(256)) * 4099  # ~1 MiB, not a multiple of the read chunk


@pytest.fixture
def server():
    files, log = {"/pretrained/tiny.pkl": DATA}, []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (http.server's name)
            log.append((self.path, self.headers.get("Range")))
            body = files.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, status = 0, 200
            if self.headers.get("Range", "").startswith("bytes="):
                start, status = int(self.headers["Range"][6:].rstrip("-")), 206
            self.send_response(status)
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            self.wfile.write(body[start:])

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", files, log
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
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
