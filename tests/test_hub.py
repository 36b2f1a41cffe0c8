"""Tests for ganzoo.hub against a local HTTP server speaking the Hub's protocol.

The real huggingface_hub download code runs unchanged; only the endpoint differs
(``HF_ENDPOINT`` points at a threaded ``http.server`` that serves
``/{repo}/resolve/{rev}/{file}`` and the ``/api/models/...`` listing routes that
``snapshot_download`` uses, and counts every request).
"""

import hashlib
import io
import json
import logging
import os
import re
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("huggingface_hub")

from ganzoo import hub  # noqa: E402

REPO = "ganzoo-test/tiny-preset"


# --------------------------------------------------------------------------- fake Hub


class FakeHub:
    """Repos, commits and refs in memory, plus a log of (method, path) requests."""

    def __init__(self):
        self.repos = {}
        self.requests = []
        self.lock = threading.Lock()

    def add_commit(self, repo_id, files, refs=("main",)):
        repo = self.repos.setdefault(repo_id, {"refs": {}, "commits": {}})
        seed = repr((repo_id, len(repo["commits"]), sorted(files.items()))).encode()
        commit = hashlib.sha1(seed).hexdigest()
        repo["commits"][commit] = dict(files)
        for ref in refs:
            repo["refs"][ref] = commit
        return commit

    def gets(self, kind="resolve"):
        with self.lock:
            return [p for m, p in self.requests if m == "GET" and f"/{kind}/" in p]


def _git_oid(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        def _send(self, status, body=b"", headers=None, head=False):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _json(self, status, payload, head=False, headers=None):
            body = json.dumps(payload).encode()
            self._send(status, body, {"Content-Type": "application/json", **(headers or {})}, head)

        def _resolve_rev(self, repo, rev):
            if rev in repo["refs"]:
                return repo["refs"][rev]
            if rev in repo["commits"]:
                return rev
            return None

        def _handle(self, head):
            parsed = urllib.parse.urlsplit(self.path)
            path = parsed.path
            with state.lock:
                state.requests.append(("HEAD" if head else "GET", path))
            m = re.match(r"^/api/models/([^/]+/[^/]+)/(revision|tree)/([^/]+)(?:/.*)?$", path)
            if m:
                repo_id, kind, rev = m.group(1), m.group(2), urllib.parse.unquote(m.group(3))
                return self._api(repo_id, kind, rev, head)
            m = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
            if m:
                repo_id = m.group(1)
                rev = urllib.parse.unquote(m.group(2))
                filename = urllib.parse.unquote(m.group(3))
                return self._resolve(repo_id, rev, filename, head)
            return self._json(404, {"error": "unknown route"}, head)

        def _api(self, repo_id, kind, rev, head):
            repo = state.repos.get(repo_id)
            if repo is None:
                return self._json(404, {"error": "Repository not found"}, head, {"X-Error-Code": "RepoNotFound"})
            commit = self._resolve_rev(repo, rev)
            if commit is None:
                return self._json(404, {"error": "Invalid rev id"}, head, {"X-Error-Code": "RevisionNotFound"})
            files = repo["commits"][commit]
            if kind == "revision":
                payload = {
                    "id": repo_id,
                    "sha": commit,
                    "private": False,
                    "siblings": [{"rfilename": name} for name in sorted(files)],
                }
            else:
                payload = [
                    {"type": "file", "path": name, "size": len(data), "oid": _git_oid(data)}
                    for name, data in sorted(files.items())
                ]
            return self._json(200, payload, head)

        def _resolve(self, repo_id, rev, filename, head):
            repo = state.repos.get(repo_id)
            if repo is None:
                return self._json(404, {"error": "Repository not found"}, head, {"X-Error-Code": "RepoNotFound"})
            commit = self._resolve_rev(repo, rev)
            if commit is None:
                return self._json(404, {"error": "Invalid rev id"}, head, {"X-Error-Code": "RevisionNotFound"})
            files = repo["commits"][commit]
            if filename not in files:
                return self._json(
                    404, {"error": "Entry not found"}, head, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}
                )
            data = files[filename]
            headers = {
                "Content-Type": "application/octet-stream",
                "X-Repo-Commit": commit,
                "ETag": f'"{_git_oid(data)}"',
                "Accept-Ranges": "bytes",
            }
            return self._send(200, data, headers, head)

        def do_GET(self):
            self._handle(head=False)

        def do_HEAD(self):
            self._handle(head=True)

    return Handler


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    state = FakeHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HF_ENDPOINT", state.endpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "ganzoo-cache"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    state.cache = str(tmp_path / "hf-cache")
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _preset_files(weights=b"\x89HDF\r\n\x1a\n fake weights " * 64, license_id="apache-2.0"):
    config = json.dumps({"class_name": "GAN", "config": {"latent_dim": 8}}).encode()
    meta = {
        "name": "tiny-preset",
        "license": license_id,
        "files": {"config.json": _sha(config), "model.weights.h5": _sha(weights)},
    }
    return {
        "config.json": config,
        "model.weights.h5": weights,
        "metadata.json": json.dumps(meta).encode(),
        "README.md": b"---\nlibrary_name: keras\n---\n# tiny\n",
        "samples.png": b"\x89PNG\r\n\x1a\n not really",
        "notes.txt": b"not part of a preset",
    }


# --------------------------------------------------------------------------- specs and hashing


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("hf://org/repo", ("org/repo", None)),
        ("hf://org/repo@v1.0", ("org/repo", "v1.0")),
        ("hf://Org_1/re.po-2@" + "a" * 40, ("Org_1/re.po-2", "a" * 40)),
        ("hf://org/repo@refs/pr/3", ("org/repo", "refs/pr/3")),
    ],
)
def test_parse_hf_spec(spec, expected):
    assert hub.parse_hf_spec(spec) == expected


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("org/repo", "hf://org/repo[@revision]"),
        ("hf://repo", "exactly 'org/repo'"),
        ("hf://a/b/c", "exactly 'org/repo'"),
        ("hf://org/repo@", "empty revision"),
        ("hf://org/re po", "invalid Hugging Face repo id"),
        ("hf://org/-repo", "invalid Hugging Face repo id"),
        ("hf://org/repo@a b", "invalid revision"),
        (None, "hf://org/repo[@revision]"),
    ],
)
def test_parse_hf_spec_errors(spec, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        hub.parse_hf_spec(spec)


def test_sha256_file(tmp_path):
    p = tmp_path / "abc.bin"
    p.write_bytes(b"abc")
    assert hub.sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    with pytest.raises(FileNotFoundError, match="not an existing file"):
        hub.sha256_file(tmp_path / "missing")


# --------------------------------------------------------------------------- hf_download


def test_revision_pin_serves_each_revision(fake_hub, tmp_path):
    v1 = fake_hub.add_commit(REPO, {"config.json": b'{"v": 1}'}, refs=("v1",))
    fake_hub.add_commit(REPO, {"config.json": b'{"v": 2}'}, refs=("main",))
    cache = tmp_path / "pin-cache"
    p1 = hub.hf_download(REPO, "config.json", revision="v1", cache_dir=cache)
    p2 = hub.hf_download(REPO, "config.json", cache_dir=cache)
    p3 = hub.hf_download(REPO, "config.json", revision=v1, cache_dir=cache)
    assert _read(p1) == b'{"v": 1}'
    assert _read(p2) == b'{"v": 2}'
    assert p3 == p1 and v1 in p1
    assert str(cache) in p1


def test_cache_is_reused(fake_hub):
    commit = fake_hub.add_commit(REPO, {"config.json": b"{}"})
    path = hub.hf_download(REPO, "config.json")
    assert len(fake_hub.gets()) == 1
    assert path.startswith(fake_hub.cache)
    again = hub.hf_download(REPO, "config.json")
    assert again == path
    assert len(fake_hub.gets()) == 1, "second call downloaded the file again"
    n = len(fake_hub.requests)
    assert hub.hf_download(REPO, "config.json", revision=commit) == path
    assert len(fake_hub.requests) == n, "a cached commit hash must need no request at all"
    os.environ["HF_HUB_OFFLINE"] = "1"  # restored by monkeypatch in the fixture
    assert hub.hf_download(REPO, "config.json") == path
    assert len(fake_hub.requests) == n


def test_sha256_mismatch_evicts_and_redownloads(fake_hub):
    good = b'{"ok": true}'
    fake_hub.add_commit(REPO, {"config.json": good})
    wrong = "0" * 64
    with pytest.raises(hub.ChecksumMismatchError) as info:
        hub.hf_download(REPO, "config.json", sha256=wrong)
    message = str(info.value)
    assert "config.json" in message and wrong in message and _sha(good) in message
    assert "\n" not in message
    assert len(fake_hub.gets()) == 1
    # The bad file was evicted: the next call downloads again instead of trusting the cache.
    path = hub.hf_download(REPO, "config.json", sha256=_sha(good).upper())
    assert _read(path) == good
    assert len(fake_hub.gets()) == 2
    with pytest.raises(ValueError, match="64 hexadecimal"):
        hub.hf_download(REPO, "config.json", sha256="abc")


def test_offline_with_empty_cache_says_what_was_tried(fake_hub, monkeypatch):
    fake_hub.add_commit(REPO, {"config.json": b"{}"})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(hub.HubOfflineError) as info:
        hub.hf_download(REPO, "config.json", revision="v2")
    message = str(info.value)
    for part in (REPO, "config.json", "'v2'", fake_hub.endpoint, "HF_HUB_OFFLINE", "ganzoo.load('/path/to/preset')"):
        assert part in message, part
    assert "\n" not in message
    with pytest.raises(hub.HubOfflineError, match="preset 'ganzoo-test/tiny-preset'"):
        hub.download_preset(REPO)
    assert fake_hub.requests == []


def test_remote_errors_are_one_line(fake_hub):
    fake_hub.add_commit(REPO, {"config.json": b"{}"})
    with pytest.raises(hub.HubError, match="repository 'nobody/nothing' not found"):
        hub.hf_download("nobody/nothing", "config.json")
    with pytest.raises(hub.HubError, match="revision 'nope' not found in 'ganzoo-test/tiny-preset'"):
        hub.hf_download(REPO, "config.json", revision="nope")
    with pytest.raises(hub.HubError, match="file 'missing.bin' not found"):
        hub.hf_download(REPO, "missing.bin")
    with pytest.raises(ValueError, match="invalid file name"):
        hub.hf_download(REPO, "../etc/passwd")
    with pytest.raises(ValueError, match="invalid Hugging Face repo id"):
        hub.hf_download("not a repo", "config.json")


# --------------------------------------------------------------------------- download_preset


def test_download_preset_verifies_and_reuses_cache(fake_hub, capsys):
    files = _preset_files()
    fake_hub.add_commit(REPO, files)
    folder = hub.download_preset(REPO)
    names = sorted(os.listdir(folder))
    assert names == ["README.md", "config.json", "metadata.json", "model.weights.h5", "samples.png"]
    assert _read(os.path.join(folder, "model.weights.h5")) == files["model.weights.h5"]
    first_gets = len(fake_hub.gets())
    assert first_gets == 5
    err = capsys.readouterr().err
    assert "tiny-preset is distributed under the apache-2.0 license" in err
    # Second call: same folder, no file downloaded again, no second license notice.
    assert hub.download_preset(REPO) == folder
    assert len(fake_hub.gets()) == first_gets
    assert "license" not in capsys.readouterr().err
    # User pins win over metadata.json.
    with pytest.raises(hub.ChecksumMismatchError, match="'config.json'"):
        hub.download_preset(REPO, sha256={"config.json": "1" * 64})


def test_download_preset_corrupted_weights(fake_hub):
    files = _preset_files()
    meta = json.loads(files["metadata.json"])
    files["model.weights.h5"] = b"corrupted" + files["model.weights.h5"][9:]
    fake_hub.add_commit(REPO, files)
    with pytest.raises(hub.ChecksumMismatchError) as info:
        hub.download_preset(REPO)
    message = str(info.value)
    assert "model.weights.h5" in message
    assert meta["files"]["model.weights.h5"] in message
    assert _sha(files["model.weights.h5"]) in message
    weight_gets = [p for p in fake_hub.gets() if p.endswith("model.weights.h5")]
    assert len(weight_gets) == 1
    # Nothing looks valid afterwards: a second call fetches the file again and fails again.
    with pytest.raises(hub.ChecksumMismatchError):
        hub.download_preset(REPO)
    assert len([p for p in fake_hub.gets() if p.endswith("model.weights.h5")]) == 2


def test_download_preset_needs_config(fake_hub):
    fake_hub.add_commit(REPO, {"README.md": b"# nothing"})
    with pytest.raises(hub.HubError, match="not a ganzoo preset: no config.json"):
        hub.download_preset(REPO)


# --------------------------------------------------------------------------- license notice


def test_license_notice_shown_once_per_name(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "gz"))
    out = io.StringIO()
    assert hub.show_license_notice("stylegan2-ffhq", "cc-by-nc-4.0", "https://example.org/l", stream=out)
    assert not hub.show_license_notice("stylegan2-ffhq", "cc-by-nc-4.0", "https://example.org/l", stream=out)
    assert hub.show_license_notice("dcgan-digits", "apache-2.0", stream=out)
    assert hub.show_license_notice("stylegan2-ffhq", "cc-by-4.0", stream=out)  # license changed
    text = out.getvalue()
    assert text.count("stylegan2-ffhq") == 2 and "https://example.org/l" in text
    record = json.loads((tmp_path / "gz" / "license_notices.json").read_text())
    assert set(record) == {"stylegan2-ffhq", "dcgan-digits"}
    assert not [p for p in os.listdir(tmp_path / "gz") if p.startswith(".tmp")]
    with pytest.raises(ValueError, match="license id"):
        hub.show_license_notice("x", "")


# --------------------------------------------------------------------------- model card


def _card_metadata():
    return {
        "name": "dcgan-digits",
        "family": "dcgan",
        "repo_id": "ganzoo/dcgan-digits",
        "license": "apache-2.0",
        "license_url": "https://www.apache.org/licenses/LICENSE-2.0",
        "datasets": ["mnist"],
        "recipe": {"objective": "non_saturating", "epochs": 20, "batch_size": 128},
        "metrics": {
            "FID": {"value": 12.345, "protocol": "10k samples vs MNIST test | Inception pool3"},
            "IS": 8.1,
        },
        "metrics_protocol": "10k samples, 10 splits",
        "ganzoo_version": "0.1.0",
        "keras_version": "3.15.1",
    }


def test_write_model_card_is_valid_hub_metadata(tmp_path):
    from huggingface_hub import ModelCard

    (tmp_path / "samples.png").write_bytes(b"png")
    path = hub.write_model_card(tmp_path, _card_metadata())
    assert path == str(tmp_path / "README.md")
    card = ModelCard.load(path)
    data = card.data.to_dict()
    assert data["library_name"] == "keras"
    assert data["license"] == "apache-2.0"
    assert {"gan", "dcgan", "ganzoo"} <= set(data["tags"])
    assert data["datasets"] == ["mnist"]
    results = {r.metric_type: r for r in card.data.eval_results}
    assert results["fid"].metric_value == pytest.approx(12.345)
    assert "Inception pool3" in results["fid"].metric_name
    assert "10k samples, 10 splits" in results["is"].metric_name
    body = card.text
    assert 'ganzoo.load("hf://ganzoo/dcgan-digits")' in body
    assert "![Samples](samples.png)" in body
    assert "objective: non_saturating" in body
    assert "| FID | 12.35 | 10k samples vs MNIST test \\| Inception pool3 |" in body
    assert "apache-2.0" in body and "LICENSE-2.0" in body
    assert sorted(os.listdir(tmp_path)) == ["README.md", "samples.png"]


def test_write_model_card_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an existing folder"):
        hub.write_model_card(tmp_path / "missing", {})
    with pytest.raises(TypeError, match="metadata must be a dict"):
        hub.write_model_card(tmp_path, ["x"])
    with pytest.raises(ValueError, match="non-numeric value"):
        hub.write_model_card(tmp_path, {"metrics": {"fid": "good"}})
    assert not (tmp_path / "README.md").exists()


# --------------------------------------------------------------------------- push_to_hub


@pytest.fixture
def fake_upload(monkeypatch):
    """Replace the network part of HfApi; record what would be uploaded."""
    from huggingface_hub import HfApi

    calls = {}

    def create_repo(self, repo_id, *, private=False, exist_ok=False, repo_type=None, **kwargs):
        calls["create_repo"] = {"repo_id": repo_id, "private": private, "exist_ok": exist_ok,
                                "repo_type": repo_type, "token": self.token}

    def upload_folder(self, *, repo_id, folder_path, commit_message=None, create_pr=False, repo_type=None, **kw):
        uploaded = {}
        for root, _, names in os.walk(folder_path):
            for name in names:
                full = os.path.join(root, name)
                uploaded[os.path.relpath(full, folder_path)] = _read(full)
        calls["upload_folder"] = {"repo_id": repo_id, "files": uploaded, "commit_message": commit_message,
                                  "create_pr": create_pr, "token": self.token}

        class Info:
            repo_url = f"{self.endpoint}/{repo_id}"
            pr_url = f"{self.endpoint}/{repo_id}/discussions/1" if create_pr else None

        return Info()

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return calls


def _write_preset(folder, with_readme=True):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"class_name": "GAN", "config": {}}))
    (folder / "model.weights.h5").write_bytes(b"\x89HDF weights")
    (folder / "metadata.json").write_text(json.dumps(_card_metadata() | {"repo_id": None}))
    (folder / "samples.png").write_bytes(b"png")
    if with_readme:
        (folder / "README.md").write_text("# card\n")
    return folder


def _assert_token_nowhere(token, calls, capsys, caplog, *folders):
    captured = capsys.readouterr()
    assert token not in captured.out and token not in captured.err
    assert token not in caplog.text
    for record in caplog.records:
        assert token not in record.getMessage()
    for name, data in calls["upload_folder"]["files"].items():
        assert token.encode() not in data, name
    for folder in folders:
        for root, _, names in os.walk(folder):
            for name in names:
                assert token.encode() not in _read(os.path.join(root, name))


def test_push_folder_without_readme(fake_upload, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    token = "hf_" + secrets.token_hex(16)
    preset = _write_preset(tmp_path / "preset", with_readme=False)
    before = sorted(os.listdir(preset))
    url = hub.push_to_hub(str(preset), "me/dcgan-digits", private=True, token=token)
    assert url == "http://127.0.0.1:9/me/dcgan-digits"
    assert fake_upload["create_repo"] == {"repo_id": "me/dcgan-digits", "private": True, "exist_ok": True,
                                          "repo_type": "model", "token": token}
    files = fake_upload["upload_folder"]["files"]
    assert sorted(files) == ["README.md", "config.json", "metadata.json", "model.weights.h5", "samples.png"]
    assert b'ganzoo.load("hf://me/dcgan-digits")' in files["README.md"]
    assert fake_upload["upload_folder"]["commit_message"] == "Upload ganzoo preset"
    assert sorted(os.listdir(preset)) == before, "the input folder must not be modified"
    _assert_token_nowhere(token, fake_upload, capsys, caplog, tmp_path)


def test_push_model_object_and_pr(fake_upload, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    token = "hf_" + secrets.token_hex(16)
    saved = {}

    class TinyModel:
        def save_to_preset(self, path):
            saved["path"] = path
            _write_preset(__import__("pathlib").Path(path))

    url = hub.push_to_hub(TinyModel(), "me/tiny", token=token, create_pr=True, commit_message="v2")
    assert url.endswith("/me/tiny/discussions/1")
    assert fake_upload["upload_folder"]["create_pr"] is True
    assert fake_upload["upload_folder"]["commit_message"] == "v2"
    assert sorted(fake_upload["upload_folder"]["files"]) == [
        "README.md", "config.json", "metadata.json", "model.weights.h5", "samples.png"]
    assert not os.path.exists(saved["path"]), "the temporary preset folder must be cleaned up"
    _assert_token_nowhere(token, fake_upload, capsys, caplog, tmp_path)


def test_push_refuses_token_in_files_and_bad_input(fake_upload, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    token = "hf_" + secrets.token_hex(16)
    preset = _write_preset(tmp_path / "leaky")
    (preset / "metadata.json").write_text(json.dumps({"env": {"HF_TOKEN": token}}))
    with pytest.raises(hub.HubError, match="metadata.json contains your Hugging Face token") as info:
        hub.push_to_hub(preset, "me/leaky", token=token)
    assert token not in str(info.value)
    assert "upload_folder" not in fake_upload
    captured = capsys.readouterr()
    assert token not in captured.out + captured.err + caplog.text
    with pytest.raises(FileNotFoundError, match="not an existing preset folder"):
        hub.push_to_hub(tmp_path / "nope", "me/x")
    with pytest.raises(TypeError, match="save_to_preset"):
        hub.push_to_hub(42, "me/x")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(hub.HubError, match="no config.json"):
        hub.push_to_hub(empty, "me/x")
    with pytest.raises(ValueError, match="invalid Hugging Face repo id"):
        hub.push_to_hub(preset, "me")
    os.environ["HF_HUB_OFFLINE"] = "1"
    with pytest.raises(hub.HubOfflineError, match="offline mode is on"):
        hub.push_to_hub(_write_preset(tmp_path / "ok"), "me/x")


def test_push_real_gan(fake_upload, tmp_path):
    import keras

    from ganzoo.engine import gan as gan_module

    generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    gan = gan_module.GAN(generator, discriminator, latent_dim=4)
    hub.push_to_hub(gan, "me/toy", token="hf_" + secrets.token_hex(8))
    files = fake_upload["upload_folder"]["files"]
    assert "config.json" in files and any(n.endswith(".weights.h5") for n in files)


# --------------------------------------------------------------------------- registry weight sources


def _tiny_ring_recipe(name):
    from ganzoo import recipes

    recipe = recipes.get("ring8-nsgan")
    recipe["name"] = name
    recipe["model"]["generator"]["hidden"] = [8]
    recipe["model"]["discriminator"]["hidden"] = [8]
    return recipe


def test_registry_sources_try_in_order_and_convert_once(fake_hub, monkeypatch, capsys):
    import numpy as np

    from ganzoo import sources
    from ganzoo.convert import register_converter
    from ganzoo.training import build

    recipe = _tiny_ring_recipe("tiny-upstream")
    upstream = build(recipe, seed=3)  # stands in for an official checkpoint
    buf = io.BytesIO()
    np.savez(buf, **{f"w{i}": w for i, w in enumerate(upstream.generator.get_weights())})
    data = buf.getvalue()
    fake_hub.add_commit("upstream/tiny", {"tiny.npz": data})
    calls = []

    def convert_to_preset(src_path, out_dir, *, recipe=None):
        calls.append(src_path)
        with np.load(src_path, allow_pickle=False) as f:
            weights = [f[f"w{i}"] for i in range(len(f.files))]
        gan = build(recipe, seed=0)
        gan.generator.set_weights(weights)
        for ema, v in zip(gan.ema_weights, gan.generator.trainable_variables):
            ema.assign(v.value)
        return gan.save_to_preset(out_dir, recipe=recipe, samples=False, license="cc-by-nc-4.0")

    register_converter("tiny-test", convert_to_preset)  # a test-only name; the registry keeps it
    converted = {"hub": "upstream/tiny", "filename": "tiny.npz", "sha256": _sha(data), "converter": "tiny-test",
                 "license": "cc-by-nc-4.0", "license_url": "https://creativecommons.org/licenses/by-nc/4.0/"}
    recipe["weights"] = {"sources": [{"hub": "ganzoo-test/not-there"}, converted]}
    gan = sources.load_from_sources(recipe)
    expected = upstream.generate(8, seed=0, use_ema=False)
    np.testing.assert_allclose(gan.generate(8, seed=0), expected, atol=1e-6)
    assert len(calls) == 1
    assert "tiny-upstream is distributed under the cc-by-nc-4.0 license" in capsys.readouterr().err
    folder = sources.converted_dir(recipe, converted)
    assert folder.is_dir() and folder.name == f"tiny-upstream-{_sha(data)[:16]}"
    assert sources.cache_status(recipe) == "yes"

    # Next time: no network, no conversion, no second notice.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    requests_before = len(fake_hub.requests)
    sampler = sources.load_from_sources(recipe, generator_only=True)
    np.testing.assert_allclose(sampler.generate(8, seed=0), expected, atol=1e-6)
    assert len(calls) == 1 and len(fake_hub.requests) == requests_before
    assert "license" not in capsys.readouterr().err

    # Every source failing: one error listing each source and its reason.
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    bad = dict(recipe, name="tiny-bad")
    bad["weights"] = {"sources": [{"hub": "ganzoo-test/not-there"}, dict(converted, sha256="0" * 64)]}
    with pytest.raises(OSError) as info:
        sources.load_from_sources(bad)
    message = str(info.value)
    assert "could not load the weights of 'tiny-bad'; tried 2 source(s) in order" in message
    assert "1) hf://ganzoo-test/not-there: repository 'ganzoo-test/not-there' not found" in message
    assert "2) hf://upstream/tiny/tiny.npz (converted with 'tiny-test'): SHA-256 mismatch" in message
    assert len(calls) == 1


def test_registry_source_errors():
    from ganzoo import sources
    from ganzoo.convert import get_converter

    def check(weights, fragment):
        with pytest.raises(ValueError, match=fragment):
            sources.normalize({"name": "x", "weights": weights})

    check({"hub": "a/b", "revison": "v1"}, "unknown key\\(s\\) revison")
    check({"embedded": "x", "hub": "a/b"}, "exactly one of 'embedded', 'hub' or 'url'")
    check({"sources": [{"hub": "a/b", "filename": "x.pkl", "converter": "stylegan2", "sha256": 3}]},
          "sources\\[0\\]: 'sha256' of a converted source is the hex digest")
    check({"url": "https://host/ffhq.pkl"}, "a 'url' source is an upstream checkpoint")
    check({"url": "ftp://host/ffhq.pkl", "converter": "stylegan2"}, "not a downloadable file URL")
    unpinned = {"hub": "a/b", "filename": "x.pkl", "converter": "stylegan2"}  # sha256 unknown: allowed
    assert sources.normalize({"name": "x", "weights": {"sources": [unpinned]}}) == [unpinned]
    check({"sources": []}, "non-empty list")
    check({"hub": "a/b", "filename": "x.pkl"}, "'filename' and 'converter' go together")
    assert sources.normalize({"name": "x", "weights": {"embedded": "dcgan-digits"}}) == [{"embedded": "dcgan-digits"}]
    with pytest.raises(ValueError, match="Unknown converter 'nope'.*Valid names: .*stylegan2"):
        get_converter("nope")


def test_cli_push_with_token_file(fake_upload, tmp_path, capsys, caplog):
    from ganzoo.cli import main

    caplog.set_level(logging.DEBUG)
    token = "hf_" + secrets.token_hex(16)
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    preset = _write_preset(tmp_path / "preset")
    assert main(["push", str(preset), "me/dcgan-digits", "--private", "--token-file", str(token_file)]) == 0
    assert fake_upload["create_repo"]["private"] is True and fake_upload["create_repo"]["token"] == token
    assert "uploaded" in capsys.readouterr().out
    _assert_token_nowhere(token, fake_upload, capsys, caplog, tmp_path / "preset")
    token_file.write_text("")
    assert main(["push", str(preset), "me/x", "--token-file", str(token_file)]) == 2
    assert "is empty" in capsys.readouterr().err
    assert main(["push", str(tmp_path / "nope"), "me/x"]) == 2
    assert "not an existing preset folder" in capsys.readouterr().err
