"""`ganzoo download` and `ganzoo cache list | verify | clear`, against a local HTTP server.

A small recipe (a tiny MLP GAN) names two weight sources: a Hub preset that
cannot be reached (nothing listens at HF_ENDPOINT) and an upstream file on the
local server with its own converter, as NVIDIA's StyleGAN2 pickles are. The
download must fall through to the file, convert it once, and leave the cache
complete: with the server stopped and HF_HUB_OFFLINE=1 the model still loads
and samples the same images.
"""

import os

import numpy as np
import pytest
import yaml

from ganzoo import download, recipes, sources
from ganzoo.cli import main
from test_download import FileServer, closed_port_url

NAME = "tiny-cli"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("GANZOO_OFFLINE", raising=False)
    srv = FileServer()
    yield srv, tmp_path
    srv.stop()


def _tiny_recipe(base, tmp_path, with_upstream=True):
    """A recipe YAML whose weights are a flat float32 file on the server; returns (path, upstream GAN, file)."""
    from ganzoo.convert import register_converter
    from ganzoo.training import build

    recipe = recipes.get("ring8-nsgan")
    recipe["name"] = NAME
    recipe["model"]["generator"]["hidden"] = [8]
    recipe["model"]["discriminator"]["hidden"] = [8]
    upstream = build(recipe, seed=7) if with_upstream else None  # stands in for an official checkpoint
    weights = upstream.generator.get_weights() if with_upstream else []

    def convert(src_path, out_dir, *, recipe=None):
        flat, out, start = np.fromfile(src_path, dtype="<f4"), [], 0
        for w in weights:
            out.append(flat[start : start + w.size].reshape(w.shape))
            start += w.size
        gan = build(recipe, seed=0)
        gan.generator.set_weights(out)
        for ema, v in zip(gan.ema_weights, gan.generator.trainable_variables):
            ema.assign(v.value)
        return gan.save_to_preset(out_dir, recipe=recipe, samples=False)

    register_converter("tiny-cli", convert)
    recipe["weights"] = {
        "sources": [
            {"hub": "ganzoo/tiny-cli-not-published"},
            {"url": f"{base}/pretrained/tiny-cli.npy", "converter": "tiny-cli", "sha256": None},
        ]
    }
    path = tmp_path / f"{NAME}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    blob = np.concatenate([w.ravel() for w in weights]).astype("<f4").tobytes() if with_upstream else b""
    return path, upstream, blob


def test_download_then_offline_load_and_cache_commands(env, capsys, monkeypatch):
    srv, tmp_path = env
    path, upstream, blob = _tiny_recipe(srv.base, tmp_path)
    srv.files["/pretrained/tiny-cli.npy"] = blob

    assert main(["download", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{NAME}: {srv.base}/pretrained/tiny-cli.npy (converted with 'tiny-cli') -> ")
    assert len(srv.log) == 1

    # Fully offline: the server is gone, the Hub forbidden; the cache has everything.
    srv.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    gan = sources.load_from_sources(recipes.get(str(path)), generator_only=True)
    np.testing.assert_allclose(gan.generate(4, seed=0), upstream.generate(4, seed=0, use_ema=False), atol=1e-6)

    assert main(["cache", "list"]) == 0
    listing = capsys.readouterr().out
    rows = {tuple(line.split()[:2]) for line in listing.splitlines()[2:]}
    assert rows == {(NAME, "download"), (NAME, "converted")}, listing
    assert "trust-on-first-use" in listing and f"{srv.base}/pretrained/tiny-cli.npy" in listing

    assert main(["cache", "verify"]) == 0
    assert capsys.readouterr().out.count(": ok") == 2

    # A corrupted converted weights file is flagged, with a one-line error and exit 2.
    (folder,) = [e["path"] for e in download.cache_entries() if e["kind"] == "converted"]
    weights = folder / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert main(["cache", "verify", NAME]) == 2
    captured = capsys.readouterr()
    assert "CORRUPTED" in captured.out and "model.weights.h5 has changed" in captured.out
    err = captured.err.strip()
    assert err.count("\n") == 0 and err.startswith("ganzoo cache: error: 1 of 2 cached entries failed verification")
    assert f"`ganzoo cache clear NAME`" in err

    # clear removes the entry (download, record and converted folder); then nothing is left.
    assert main(["cache", "clear", NAME]) == 0
    assert capsys.readouterr().out.count("removed tiny-cli") == 2
    assert download.cache_entries() == [] and not folder.exists()
    assert not any((tmp_path / "cache" / "downloads").iterdir())
    assert main(["cache", "clear", NAME]) == 2
    assert "nothing is cached for 'tiny-cli'" in capsys.readouterr().err
    assert main(["cache", "list"]) == 0 and "nothing cached" in capsys.readouterr().out


def test_download_errors_are_one_line(env, capsys):
    srv, tmp_path = env
    path, _, _ = _tiny_recipe(srv.base, tmp_path, with_upstream=False)  # no file on the server: every source fails
    assert main(["download", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "could not download the weights of 'tiny-cli'; tried 2 source(s)" in err
    assert "1) hf://ganzoo/tiny-cli-not-published: " in err and "2) http" in err and "Not Found" in err
    assert not any((tmp_path / "cache" / "downloads").glob("*.npy*"))
    assert main(["download", "ring8-hinge"]) == 2
    assert "training recipe without pretrained weights" in capsys.readouterr().err
    assert main(["download", "dcgan-digits", "no-such-model"]) == 2  # checked before any download
    assert "Unknown model 'no-such-model'" in capsys.readouterr().err
    assert main(["download", "--all", "dcgan-digits"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["download", "dcgan-digits"]) == 0
    assert "ships with ganzoo, nothing to download" in capsys.readouterr().out
    remote = download.remote_names()
    assert "stylegan2-ffhq" in remote and "dcgan-digits" not in remote and remote[-1] == "fid-inception"
