"""BigGAN-deep: equality with pytorch-pretrained-biggan, conversion, sampling API, CLI, bad input.

The reference is the PyPI port itself (`pip install --no-deps pytorch-pretrained-biggan`
plus boto3, which it imports), built with a small random config (its weight download
is unreachable here) and saved in the published folder layout.
"""

import json
import os

import keras
import numpy as np
import pytest

torch = pytest.importorskip("torch")
ppb = pytest.importorskip("pytorch_pretrained_biggan")

import ganzoo  # noqa: E402
from ganzoo.engine.latents import sample_truncated_normal  # noqa: E402
from ganzoo.models.biggan_deep import IMAGENET_CLASSES, BigGANDeep, imagenet_class_id  # noqa: E402
from ganzoo.convert.biggan import LayoutError, read_port  # noqa: E402
from ganzoo.convert.biggan import load_port_weights  # noqa: E402

Z, K = 16, 10
LAYERS = [(True, 16, 8), (True, 8, 4), (True, 4, 2), (False, 2, 1)]  # 4 -> 32 px, attention at 16 px


def _port_model():
    torch.manual_seed(0)
    cfg = ppb.BigGANConfig(output_dim=32, z_dim=Z, class_embed_dim=Z, channel_width=4, num_classes=K,
                           layers=LAYERS, attention_layer_position=2, n_stats=51, eps=1e-4)
    model = ppb.BigGAN(cfg)
    with torch.no_grad():  # non-trivial statistics and attention, like trained weights
        for name, buf in model.named_buffers():
            if name.endswith("running_means"):
                buf.copy_(0.3 * torch.randn_like(buf))
            elif name.endswith("running_vars"):
                buf.copy_(0.5 + torch.rand_like(buf))
        for name, p in model.named_parameters():
            if name.endswith("gamma"):
                p.fill_(0.7)
            elif name.endswith("generator.bn.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith("generator.bn.bias"):
                p.copy_(0.1 * torch.randn_like(p))
        model.train()  # one spectral-norm power-iteration step, as the port's TF converter wrote u and v
        model(torch.zeros(2, Z), torch.eye(K)[:2], 1.0)
    model.eval()
    return cfg, model


def _port(model, z, y, t):
    with torch.no_grad():
        out = model(torch.from_numpy(np.asarray(z, "float32")), torch.eye(K)[np.asarray(y)], t)
    return out.numpy().transpose(0, 2, 3, 1)


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    cfg, model = _port_model()
    folder = tmp_path_factory.mktemp("port")
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "config.json").write_text(cfg.to_json_string())
    return folder, model


@pytest.fixture(scope="module")
def preset(port, tmp_path_factory):
    # The registry path: a `url` + `converter: biggan` source, downloaded (here: handed the file) and
    # converted once on first use into ganzoo's cache, then found there without downloading again.
    from ganzoo import download, sources

    folder, _ = port
    url = "https://example.com/biggan-deep-tiny-pytorch_model.bin"
    recipe = {"name": "biggan-deep-tiny",
              "weights": {"sources": [{"url": url, "converter": "biggan", "license": "apache-2.0"}]}}
    calls = []

    def fake_download(address, sha256=None, **kwargs):
        calls.append(address)
        return str(folder / "pytorch_model.bin")  # config.json lies beside it, as in the port's folder

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANZOO_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.setattr(download, "url_download", fake_download)
        (src,) = sources.normalize(recipe)
        path = sources.fetch(recipe, src)
        assert path == sources.converted_dir(recipe, src)
        assert sources.fetch(recipe, src) == path and calls == [url]  # cached: converted once
    return str(path)


@pytest.fixture(scope="module")
def gan(preset):
    return ganzoo.load(preset)


@pytest.fixture(scope="module")
def sampler(preset):
    return ganzoo.load(preset, generator_only=True)


@pytest.mark.parametrize("t", [1.0, 0.4])
def test_equals_the_port(gan, port, t):
    z = sample_truncated_normal(4, Z, truncation=t, seed=3)
    y = np.array([0, 3, 9, 5])
    ours = gan.generate(latents=z, labels=y, truncation=t)
    ref = _port(port[1], z, y, t)
    assert ours.shape == (4, 32, 32, 3)
    assert np.abs(ours - ref).max() <= 1e-4
    assert ref.std() > 0.05  # a non-degenerate reference


def test_truncation_between_statistics_rows_and_seeded_latents(gan, port):
    # t = 0.37 blends two statistics rows (the port's modf weighting); generate(n, seed) draws t * TN(-2, 2).
    ours = gan.generate(4, seed=7, labels=[1, 2, 8, 0], truncation=0.37)
    z = sample_truncated_normal(4, Z, truncation=0.37, seed=7)
    assert np.abs(z).max() <= 2 * 0.37
    assert np.abs(ours - _port(port[1], z, [1, 2, 8, 0], 0.37)).max() <= 1e-4


def test_generator_only_load(sampler, port):
    assert isinstance(sampler, BigGANDeep) and not sampler.discriminator.trainable
    z = sample_truncated_normal(4, Z, truncation=0.4, seed=0)
    out = sampler.generate(latents=z, labels=4, truncation=0.4)
    assert np.abs(out - _port(port[1], z, [4] * 4, 0.4)).max() <= 1e-4


def test_preset_metadata(preset):
    meta = json.loads(open(os.path.join(preset, "metadata.json")).read())
    assert meta["license"] == "apache-2.0"
    assert "TF-Hub" in meta["source"] and "randomly initialised" in meta["source"]
    assert os.path.isfile(os.path.join(preset, "samples.png")) and os.path.isfile(os.path.join(preset, "README.md"))


def test_cli_sample_with_truncation_and_labels(preset, sampler, tmp_path, monkeypatch):
    from ganzoo.cli import main

    monkeypatch.setattr(ganzoo, "load", lambda spec, **kwargs: sampler)  # loading is tested above

    out = tmp_path / "s.npz"
    assert main(["sample", preset, "-n", "4", "--labels", "3", "--truncation", "0.4", "--seed", "5",
                 "--out", str(out), "--quiet"]) == 0
    got = np.load(out)["samples"]
    want = sampler.generate(4, seed=5, labels=3, truncation=0.4)
    assert np.abs(got - want).max() <= 1e-5
    # Class names reach the model (this one has 10 classes, not ImageNet's: a one-line error).
    assert main(["sample", preset, "-n", "1", "--labels", "tench", "--out", str(out), "--quiet"]) != 0


def test_imagenet_names():
    assert len(IMAGENET_CLASSES) == len(set(IMAGENET_CLASSES)) == 1000
    # Standard ILSVRC-2012 index order (sorted WordNet offsets, as the port's IMAGENET table).
    assert IMAGENET_CLASSES[0] == "tench" and IMAGENET_CLASSES[207] == "golden retriever"
    assert IMAGENET_CLASSES[999] == "toilet tissue"
    assert imagenet_class_id("Golden_Retriever") == 207 and imagenet_class_id("207") == 207
    with pytest.raises(ValueError, match="golden retriever"):
        imagenet_class_id("golden retreiver")


def test_bad_input(gan):
    for t in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"outside \(0, 1\]"):
            gan.generate(4, seed=0, labels=1, truncation=t)
    with pytest.raises(ValueError, match=r"class ids in \[0, 10\)"):
        gan.generate(2, seed=0, labels=[1, 10])
    with pytest.raises(ValueError, match="ImageNet"):
        gan.generate(1, seed=0, labels="tench")  # a 10-class model has no ImageNet names


def test_bad_folders(port, gan, tmp_path):
    folder, _ = port
    config, state = read_port(folder)
    missing = dict(state)
    del missing["generator.layers.1.bn_2.scale.weight_orig"]
    with pytest.raises(LayoutError, match=r"no tensor 'generator.layers.1.bn_2.scale.weight_orig'"):
        load_port_weights(gan.generator, missing)  # checks every tensor before assigning any
    bad = dict(state)
    bad["generator.gen_z.bias"] = np.zeros(7, "float32")
    with pytest.raises(LayoutError, match=r"'generator.gen_z.bias' has shape \(7,\)"):
        load_port_weights(gan.generator, bad)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="pytorch_model.bin"):
        read_port(tmp_path)


def _slow_on_jax(test):
    # Compiling BigGAN-deep's G + D train step takes minutes on 2 CPU cores (XLA 340 s, tf.function
    # 366 s measured): the step runs eagerly here, which JAX still makes slow (per-op compiles).
    return pytest.mark.slow(test) if keras.backend.backend() == "jax" else test


@_slow_on_jax
def test_fine_tuning_step_trains_generator(gan):
    G = gan.generator
    before = [np.array(keras.ops.convert_to_numpy(v)) for v in G.trainable_variables]
    u_before = np.array(keras.ops.convert_to_numpy(G.gen_z.u))
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3, 0.0, 0.999), d_optimizer=keras.optimizers.Adam(1e-3, 0.0, 0.999),
                run_eagerly=True)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    y = rng.integers(0, K, 4).astype("int32")
    gan.fit(x, y, batch_size=4, epochs=1, verbose=0)
    after = [np.array(keras.ops.convert_to_numpy(v)) for v in G.trainable_variables]
    assert len(after) > 50
    assert np.mean([np.abs(a - b).max() > 0 for a, b in zip(after, before)]) > 0.9  # nearly every weight moved
    assert np.abs(np.array(keras.ops.convert_to_numpy(G.gen_z.u)) - u_before).max() > 0  # SN u updated in training


# ----------------------------------------------------------------------------- standing statistics
def _port_with_batch_moments(model, z, y, recorded):
    """The port's forward with every batch norm normalizing by (and recording) the batch's moments:
    BigGAN-PyTorch's standing-statistics pass, written on the port's modules in torch."""
    import torch.nn.functional as F

    cls = ppb.model.BigGANBatchNorm
    original = cls.forward

    def forward(self, x, truncation, condition_vector=None):
        mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False)
        recorded.setdefault(self, []).append((mean.clone(), var.clone()))
        if self.conditional:
            h = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + self.eps)
            return h * (1 + self.scale(condition_vector))[..., None, None] + self.offset(condition_vector)[..., None, None]
        return F.batch_norm(x, mean, var, self.weight, self.bias, training=False, momentum=0.0, eps=self.eps)

    cls.forward = forward
    try:
        return _port(model, z, y, 1.0)
    finally:
        cls.forward = original


def test_recomputed_standing_statistics_equal_the_ports_batch_moments(preset, port):
    import copy

    gan = ganzoo.load(preset)  # its own copy: the tables change
    rows = gan.standing_rows([1.0])
    assert rows == [50] and gan.standing_rows([0.37]) == [18, 19] and len(gan.standing_rows()) == 51
    batches = [gan.standing_batch(50, i, 6, seed=1) for i in range(2)]
    assert np.abs(batches[0][0]).max() <= 2.0 and not np.allclose(batches[0][0], batches[1][0])
    model = copy.deepcopy(port[1])
    recorded = {}
    for z, y in batches:
        _port_with_batch_moments(model, z, y, recorded)
    with torch.no_grad():  # the port's row 50 := the mean over the two batches (biased variances)
        for bn, calls in recorded.items():
            bn.running_means[50] = torch.stack([m for m, _ in calls]).mean(0)
            bn.running_vars[50] = torch.stack([v for _, v in calls]).mean(0)
    before = np.array(keras.ops.convert_to_numpy(gan.generator.bn.running_means))
    assert gan.recompute_standing_statistics(num_batches=2, batch_size=6, seed=1, truncations=[1.0]) == [50]
    after = np.array(keras.ops.convert_to_numpy(gan.generator.bn.running_means))
    np.testing.assert_array_equal(after[:50], before[:50])  # other rows untouched
    z = sample_truncated_normal(4, Z, truncation=1.0, seed=5)
    y = np.array([2, 7, 7, 1])
    ours = gan.generate(latents=z, labels=y, truncation=1.0)
    assert np.abs(ours - _port(model, z, y, 1.0)).max() <= 1e-4
    assert np.abs(ours - _port(port[1], z, y, 1.0)).max() > 1e-2  # the statistics did change
    # One batch: inference with its statistics is the batch-moment forward on that batch.
    gan.recompute_standing_statistics(num_batches=1, batch_size=6, seed=1, truncations=[1.0])
    z, y = batches[0]
    np.testing.assert_allclose(gan.generate(latents=z, labels=y, truncation=1.0),
                               _port_with_batch_moments(port[1], z, y, {}), atol=1e-4)
    with pytest.raises(ValueError, match="batch_size >= 2"):
        gan.recompute_standing_statistics(batch_size=1)
