"""The default FID Inception weights: downloaded from a release URL, checked, converted once, cached.

A local HTTP server stands in for pytorch-fid's GitHub release. The stand-in
file has pytorch-fid's layout (every tensor name and shape of
`pt_inception-2015-12-05-6726825d.pth`, read off ganzoo's own port) with random
values, as `.safetensors` (no torch needed). It is served through the
documented `GANZOO_FID_URL` / `GANZOO_FID_SHA256`; with pytorch-fid's own pin
(size and sha256) the stand-in must be refused.
"""

import hashlib
import json
import os

import numpy as np
import pytest

from ganzoo.cli import main
from ganzoo.metrics import inception_weights
from ganzoo.metrics.extractor import load_inception
from test_download import FileServer, closed_port_url

URL_PATH = "/mseitzer/pytorch-fid/releases/download/fid_weights/stand-in.safetensors"


def _safetensors(tensors):
    # The format by its spec: u64 header length, JSON header, raw little-endian data.
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, "<f2").tobytes()
        header[name] = {"dtype": "F16", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + b"".join(blobs)


@pytest.fixture(scope="module")
def stand_in():
    """(file bytes, {torch key: array}) in pytorch-fid's layout, random values."""
    from ganzoo.metrics.inception import build_fid_inception

    rng = np.random.default_rng(0)
    state = {}
    for entries in inception_weights.expected_tensors(build_fid_inception("channels_last")).values():
        for key, _, variable in entries:
            shape = inception_weights._torch_shape(key, variable.shape)
            values = rng.standard_normal(shape, dtype=np.float32) * 0.05
            if key.endswith("running_var"):
                values = np.abs(values) + 0.5
            state[key] = values.astype(np.float16)
    state["AuxLogits.fc.weight"] = np.zeros((2, 3), np.float16)  # pytorch-fid ignores it; so must we
    return _safetensors(state), state


@pytest.fixture
def env(tmp_path, monkeypatch, stand_in):
    srv = FileServer({URL_PATH: stand_in[0]})
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())  # the Hub mirror: unreachable
    monkeypatch.setenv("GANZOO_FID_URL", srv.base + URL_PATH)
    for name in ("HF_HUB_OFFLINE", "GANZOO_OFFLINE", "GANZOO_FID_SHA256"):
        monkeypatch.delenv(name, raising=False)
    yield srv, tmp_path
    srv.stop()


def test_download_converts_once_then_loads_offline_without_requests(env, stand_in, monkeypatch, capsys):
    srv, tmp_path = env
    digest = hashlib.sha256(stand_in[0]).hexdigest()
    monkeypatch.setenv("GANZOO_FID_SHA256", digest)

    assert main(["download", "fid-inception"]) == 0
    converted = inception_weights.converted_path(digest)
    assert capsys.readouterr().out.strip() == f"fid-inception: {converted}"
    assert [p for p, _ in srv.log] == [URL_PATH]
    assert os.path.basename(converted) == f"fid_inception-2015-12-05-{digest[:8]}.weights.h5"
    assert not any((tmp_path / "cache" / "downloads").iterdir())  # the .h5 replaces the download

    srv.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    extractor = load_inception()
    assert extractor.protocol["weights_sha256"] == digest  # records name the file it came from
    layers = inception_weights.layer_variables(extractor.network)
    kernel, bias = (np.asarray(v) for v in layers["fc"])
    state = stand_in[1]
    np.testing.assert_array_equal(kernel, state["fc.weight"].astype(np.float32).T)
    np.testing.assert_array_equal(bias, state["fc.bias"].astype(np.float32))
    conv = np.asarray(layers["Mixed_6b_branch7x7_2_conv"][0])  # (1, 7) kernel: torch (out, in, 1, 7)
    np.testing.assert_array_equal(conv, state["Mixed_6b.branch7x7_2.conv.weight"].astype(np.float32).transpose(2, 3, 1, 0))
    assert len(srv.log) == 1

    assert main(["cache", "list"]) == 0
    assert "fid-inception  fid" in capsys.readouterr().out
    assert main(["cache", "verify", "fid-inception"]) == 0
    assert main(["cache", "clear", "fid-inception"]) == 0 and not os.path.exists(converted)


def test_wrong_file_is_refused_and_removed(env, stand_in, monkeypatch, capsys):
    srv, tmp_path = env
    # pytorch-fid's pin (size and sha256) with the stand-in served: refused by its size.
    with pytest.raises(FileNotFoundError) as info:
        inception_weights.resolve_default_weights(progress=False)
    message = str(info.value)
    assert f"is {len(stand_in[0])} bytes, expected {inception_weights.SOURCE_SIZE}" in message
    assert f"Hub mirror {inception_weights.HUB_REPO_ID}" in message and "\n" not in message
    # A digest that does not match: refused by its hash, from the command line too.
    monkeypatch.setenv("GANZOO_FID_SHA256", "0" * 64)
    assert main(["download", "fid-inception"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert err.startswith("ganzoo download: error: ") and "expected " + "0" * 64 + "; the download was deleted" in err
    assert "`ganzoo download fid-inception`" in err
    assert len(srv.log) == 2 and not any((tmp_path / "cache" / "downloads").iterdir())  # no file, no .part


def test_offline_message_names_url_cache_and_command(env, monkeypatch):
    monkeypatch.delenv("GANZOO_FID_URL")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError) as info:
        inception_weights.resolve_default_weights()
    message = str(info.value)
    assert inception_weights.SOURCE_URL in message and "`ganzoo download fid-inception`" in message
    assert inception_weights.converted_path() in message and "offline" in message and "\n" not in message
