"""The Keras FID Inception against pytorch-fid's network, on identical random weights.

pytorch-fid is the reference port of the TF graph `inception-2015-12-05`. Its
modules are built here without downloading anything (the weight loader is
swapped for a seeded random state dict), the state dict goes through our
loader, and pool features and logits must agree to 1e-4 relative.

pytorch-fid imports torchvision, whose only PyPI wheel is a CUDA build; with
`pip install --no-deps torchvision` its C++ ops cannot load against CPU torch,
so `import torchvision` fails. pytorch-fid needs only torchvision's pure-Python
Inception modules, so `ganzoo.utils.pytorch_fid` imports those without running
torchvision's `__init__` (which only registers the C++ ops).
"""

import importlib
import os
import sys

import h5py
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ganzoo.metrics import inception_weights  # noqa: E402
from ganzoo.metrics.extractor import check_images  # noqa: E402
from ganzoo.metrics.extractor import load_inception  # noqa: E402
from ganzoo.metrics.inception import NUM_CLASSES  # noqa: E402
from ganzoo.utils.pytorch_fid import import_pytorch_fid  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_pytorch_fid():
    try:
        return import_pytorch_fid()
    except ImportError:
        # A required test dependency (the `reference` extra): fail, never skip.
        pytest.fail("pytorch-fid is not installed: pip install -e '.[reference]'")


def _randomize(state, seed=0):
    """Seeded random weights with O(1) activations through all 94 layers."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, value in state.items():
        shape = value.shape
        if key.endswith("num_batches_tracked"):
            out[key] = value
        elif key.endswith("running_var") or key.endswith("bn.weight"):
            out[key] = 0.5 + torch.rand(shape, generator=g)
        elif key.endswith("running_mean") or key.endswith("bias"):
            out[key] = 0.1 * torch.randn(shape, generator=g)
        else:  # conv / fc kernels, He scaling keeps the ReLU stack stable
            fan_in = int(np.prod(shape[1:]))
            out[key] = torch.randn(shape, generator=g) * np.sqrt(2.0 / fan_in)
    return out


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    # Small-batch convolutions with OpenMP threads stall for milliseconds per op
    # when the CPU is shared (CI); one thread is 10-30x faster here and exact.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """pytorch-fid's InceptionV3([3]) and its Inception3 on random weights, and the .pth."""
    module = _import_pytorch_fid()
    built = []
    original_builder, original_loader = module._inception_v3, module.load_state_dict_from_url

    def spy(*args, **kwargs):
        built.append(original_builder(*args, **kwargs))
        return built[-1]

    module._inception_v3 = spy
    module.load_state_dict_from_url = lambda *a, **k: _randomize(built[-1].state_dict())
    try:
        fid_net = module.InceptionV3([3], resize_input=False, normalize_input=False).eval()
    finally:
        module._inception_v3, module.load_state_dict_from_url = original_builder, original_loader
    full = built[-1].eval()
    path = str(tmp_path_factory.mktemp("weights") / "pt_inception_random.pth")
    torch.save(full.state_dict(), path)
    return fid_net, full, path


@pytest.fixture(scope="module")
def extractor(reference):
    return load_inception(weights=reference[2], batch_size=2)


def _torch_features(reference, images_299):
    fid_net, full, _ = reference
    x = torch.from_numpy(np.ascontiguousarray(images_299, dtype=np.float32)).permute(0, 3, 1, 2)
    x = (x - 128.0) / 128.0  # the graph's normalisation of [0, 255] input
    with torch.no_grad():
        pool = fid_net(x)[0][:, :, 0, 0]
        logits = full.fc(pool)
    return pool.numpy(), logits.numpy()


def _rel_err(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _tf1_resize_rows(image, out_h, out_w):
    """TF1 ResizeBilinear (legacy, no half-pixel) transcribed from its C++ loop, row by row."""

    def weights(in_size, out_size):
        scale = np.float32(in_size) / np.float32(out_size)
        src = np.arange(out_size, dtype=np.float32) * scale
        lower = np.maximum(np.floor(src).astype(int), 0)
        upper = np.minimum(np.ceil(src).astype(int), in_size - 1)
        return lower, upper, (src - np.floor(src)).astype(np.float32)[:, None]

    image = image.astype(np.float32)
    out = np.empty((out_h, out_w, image.shape[2]), np.float32)
    x0, x1, lx = weights(image.shape[1], out_w)
    y0, y1, ly = weights(image.shape[0], out_h)
    for y in range(out_h):
        top = image[y0[y], x0] + (image[y0[y], x1] - image[y0[y], x0]) * lx
        bottom = image[y1[y], x0] + (image[y1[y], x1] - image[y1[y], x0]) * lx
        out[y] = top + (bottom - top) * ly[y]
    return out


def test_matches_pytorch_fid_at_299(reference, extractor):
    images = np.random.default_rng(1).integers(0, 256, (2, 299, 299, 3), dtype=np.uint8)
    ours = extractor(images)
    pool, logits = _torch_features(reference, images)
    assert ours["pool"].shape == (2, 2048) and ours["logits"].shape == (2, NUM_CLASSES)
    assert np.std(pool) > 1e-2  # the random network is not degenerate
    assert _rel_err(ours["pool"], pool) <= 1e-4
    assert _rel_err(ours["logits"], logits) <= 1e-4
    bias = reference[1].fc.bias.detach().numpy()
    assert _rel_err(ours["logits_unbiased"], logits - bias) <= 1e-4


def test_matches_pytorch_fid_after_legacy_resize(reference, extractor):
    # An odd, non-square size: the whole pipeline, resize included (the resize
    # alone is checked exactly against TF, up and down, in test_metrics_stats).
    images = np.random.default_rng(2).integers(0, 256, (1, 37, 45, 3), dtype=np.uint8)
    pool, logits = _torch_features(reference, _tf1_resize_rows(images[0], 299, 299)[None])
    ours = extractor(images)
    assert _rel_err(ours["pool"], pool) <= 1e-4
    assert _rel_err(ours["logits"], logits) <= 1e-4


def test_converted_h5_holds_identical_weights(reference, extractor, tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        convert_tool = importlib.import_module("convert_fid_inception")
    finally:
        sys.path.pop(0)
    out = str(tmp_path / "fid.weights.h5")
    assert convert_tool.main([reference[2], out]) == 0
    network = extractor.network
    before = [np.array(w) for w in network.get_weights()]
    network.set_weights([np.zeros_like(w) for w in before])
    sha = inception_weights.load_weights(network, out)
    for loaded, original in zip(network.get_weights(), before):
        np.testing.assert_array_equal(loaded, original)
    # The .h5 keeps the source file's hash, so records name the same weights.
    assert sha == extractor.protocol["weights_sha256"]

    # A tensor of the wrong shape in the .h5 is named.
    with h5py.File(out, "a") as f:
        found = []
        f.visititems(lambda n, g: found.append(g) if g.attrs.get("name") == "Mixed_6b_branch7x7_2_conv" else None)
        del found[0]["0"]
        found[0]["0"] = np.zeros((7, 1, 128, 128), np.float32)
    with pytest.raises(ValueError, match="Mixed_6b_branch7x7_2_conv/kernel.*(7, 1, 128, 128)"):
        inception_weights.load_keras_weights(network, out)


def _write_safetensors(path, tensors):
    # The format by its spec: u64 header length, JSON header, raw little-endian data.
    import json

    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, "<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    raw = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little") + raw + b"".join(blobs))


def test_safetensors_source_reads_like_pth(reference, extractor, tmp_path):
    state = {k: v.numpy() for k, v in reference[1].state_dict().items() if v.is_floating_point()}
    path = str(tmp_path / "fid.safetensors")
    _write_safetensors(path, state)
    loaded = inception_weights.read_safetensors(path)
    assert loaded.keys() == state.keys()
    for key in state:
        np.testing.assert_array_equal(loaded[key], state[key])
    network = extractor.network
    before = [np.array(w) for w in network.get_weights()]
    network.set_weights([np.zeros_like(w) for w in before])
    inception_weights.load_weights(network, path)
    for after, original in zip(network.get_weights(), before):
        np.testing.assert_array_equal(after, original)


def test_wrong_state_dict_names_first_bad_tensor(reference, extractor):
    state = {k: v.numpy() for k, v in reference[1].state_dict().items()}
    network = extractor.network
    bad = dict(state, **{"fc.weight": np.zeros((1000, 2048), np.float32)})
    with pytest.raises(ValueError, match=r"'fc.weight' has shape \(1000, 2048\).*\(1008, 2048\)"):
        inception_weights.assign_state_dict(network, bad)
    bad = dict(state, **{"Mixed_5b.branch5x5_2.conv.weight": np.zeros((64, 48, 3, 3), np.float32)})
    with pytest.raises(ValueError, match=r"'Mixed_5b.branch5x5_2.conv.weight'.*\(64, 48, 5, 5\)"):
        inception_weights.assign_state_dict(network, bad)
    missing = {k: v for k, v in state.items() if k != "Conv2d_1a_3x3.bn.running_var"}
    with pytest.raises(ValueError, match="'Conv2d_1a_3x3.bn.running_var' is missing"):
        inception_weights.assign_state_dict(network, missing)
    extra = dict(state, **{"head.weight": np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match="'head.weight' is not part"):
        inception_weights.assign_state_dict(network, extra)


def test_missing_weights_offline_says_where_to_put_them(monkeypatch, tmp_path):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "ganzoo"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(FileNotFoundError) as info:
        load_inception()
    message = str(info.value)
    assert inception_weights.SOURCE_FILENAME in message
    assert "tools/convert_fid_inception.py" in message
    assert str(tmp_path / "ganzoo") in message


def test_grayscale_float_and_batching(extractor):
    gray = np.random.default_rng(4).integers(0, 256, (3, 20, 24, 1), dtype=np.uint8)
    # Batches of 2 then 1 (JAX pads the short one to the compiled batch of 2).
    two_batches = extractor(gray, batch_size=2)["pool"]
    # Grayscale is RGB with equal channels; floats are rounded to uint8 first, as
    # a PNG would be; batching does not change the numbers. (Batch sizes 2 and 1
    # were compiled by the tests above: no new shape to warm up.)
    rgb_float = np.repeat(gray, 3, axis=-1).astype(np.float32) + 0.3
    np.testing.assert_allclose(extractor(rgb_float, batch_size=1)["pool"], two_batches, rtol=1e-5, atol=1e-6)


def test_bad_images_are_rejected_clearly():
    with pytest.raises(ValueError, match="rank 4"):
        check_images(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="1 .grayscale. or 3 .RGB. channels"):
        check_images(np.zeros((2, 3, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"found values in \[-1, 1\].*to_uint8"):
        check_images(np.linspace(-1, 1, 2 * 8 * 8 * 3).reshape(2, 8, 8, 3))
    with pytest.raises(ValueError, match=r"found values in \[0, 300\]"):
        check_images(np.linspace(0, 300, 2 * 8 * 8 * 3).reshape(2, 8, 8, 3))
    with pytest.warns(UserWarning, match="multiply"):
        check_images(np.full((1, 4, 4, 3), 0.5))
