"""Published CycleGAN/pix2pix generators -> ganzoo: architecture inference and exact outputs.

The reference networks are small PyTorch modules built here with the
published module layout (junyanz/pytorch-CycleGAN-and-pix2pix: `model.N`,
`model.N.conv_block.M`, nested `model.model.1.model.3...` U-Net blocks) and
random weights; the converted Keras generator must match them to 1e-4 in
eval mode on every backend.
"""

import numpy as np
import pytest
import torch
from torch import nn

from ganzoo.models.cyclegan import CycleGAN
from ganzoo.models.pix2pix import Pix2Pix
from ganzoo.models.pix2pix.convert import LayoutError, convert_generator, convert_to_preset, infer_architecture

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _norm(kind, c):
    return nn.BatchNorm2d(c) if kind == "batch" else nn.InstanceNorm2d(c)


class _ResBlock(nn.Module):
    def __init__(self, c, norm, bias, dropout):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=bias), _norm(norm, c), nn.ReLU(True)]
        layers += [nn.Dropout(0.5)] if dropout else []
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=bias), _norm(norm, c)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class TorchResnet(nn.Module):
    """`ResnetGenerator`'s layout: pad, 7x7 conv, norm, relu, 2 downs, blocks, 2 ups, pad, 7x7 conv, tanh."""

    def __init__(self, cin=3, cout=3, ngf=8, n_blocks=2, norm="instance", dropout=False):
        super().__init__()
        bias = norm != "batch"
        m = [nn.ReflectionPad2d(3), nn.Conv2d(cin, ngf, 7, bias=bias), _norm(norm, ngf), nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2**i
            m += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias), _norm(norm, 2 * c), nn.ReLU(True)]
        m += [_ResBlock(4 * ngf, norm, bias, dropout) for _ in range(n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            m += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                  _norm(norm, c // 2), nn.ReLU(True)]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, cout, 7), nn.Tanh()]
        self.model = nn.Sequential(*m)

    def forward(self, x):
        return self.model(x)


class _UnetBlock(nn.Module):
    def __init__(self, outer_nc, inner_nc, input_nc=None, sub=None, outermost=False, innermost=False, norm="batch",
                 use_dropout=True):
        super().__init__()
        self.outermost = outermost
        bias = norm != "batch"
        input_nc = outer_nc if input_nc is None else input_nc
        down = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=bias)
        if outermost:
            seq = [down, sub, nn.ReLU(True), nn.ConvTranspose2d(2 * inner_nc, outer_nc, 4, 2, 1), nn.Tanh()]
        elif innermost:
            seq = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                   nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=bias), _norm(norm, outer_nc)]
        else:
            seq = [nn.LeakyReLU(0.2, True), down, _norm(norm, inner_nc), sub, nn.ReLU(True),
                   nn.ConvTranspose2d(2 * inner_nc, outer_nc, 4, 2, 1, bias=bias), _norm(norm, outer_nc)]
            seq += [nn.Dropout(0.5)] if use_dropout else []
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class TorchUnet(nn.Module):
    """`UnetGenerator(input_nc, output_nc, num_downs=depth, ngf, use_dropout=True)`'s layout
    (junyanz/pytorch-CycleGAN-and-pix2pix `models/networks.py`): blocks nested innermost-first, widths
    ngf * min(2^i, 8). The reference builds the innermost ngf*8 block, then `for i in range(num_downs - 5)`
    ngf*8 blocks with `use_dropout`, then ngf*4, ngf*2, ngf and the outermost block without: so block i
    (outermost 0) has dropout exactly when 4 <= i <= depth - 2."""

    def __init__(self, cin=3, cout=3, depth=5, ngf=4, norm="batch"):
        super().__init__()
        widths = [ngf * min(2**i, 8) for i in range(depth)]
        # Block i (outermost 0) takes widths[i - 1] channels down to widths[i].
        block = _UnetBlock(widths[-2], widths[-1], innermost=True, norm=norm)
        for i in reversed(range(1, depth - 1)):
            block = _UnetBlock(widths[i - 1], widths[i], sub=block, norm=norm, use_dropout=i >= 4)
        self.model = _UnetBlock(cout, widths[0], input_nc=cin, sub=block, outermost=True, norm=norm)

    def forward(self, x):
        return self.model(x)


def _randomize(net, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.state_dict().items():
            if p.dtype.is_floating_point:
                if name.endswith("running_var"):
                    p.copy_(0.5 + torch.rand(p.shape, generator=g))
                else:
                    p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return net.eval()


def _save(net, path, old_instance_stats=False):
    sd = net.state_dict()
    if old_instance_stats:  # what checkpoints of PyTorch < 0.4 carry for InstanceNorm2d
        for name, m in net.named_modules():
            if isinstance(m, nn.InstanceNorm2d):
                sd[f"{name}.running_mean"] = torch.zeros(m.num_features)
                sd[f"{name}.running_var"] = torch.ones(m.num_features)
    torch.save(sd, path)
    return path


def _compare(net, path, x):
    G, arch = convert_generator(path)
    with torch.no_grad():
        want = net(torch.from_numpy(np.transpose(x, (0, 3, 1, 2)))).numpy().transpose(0, 2, 3, 1)
    got = np.asarray(G.predict(x, verbose=0))
    return arch, float(np.abs(got - want).max())


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_resnet_round_trip(tmp_path, norm):
    net = _randomize(TorchResnet(cin=3, cout=3, ngf=8, n_blocks=3, norm=norm), seed=1)
    path = _save(net, tmp_path / "g.pth", old_instance_stats=norm == "instance")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 20, 24, 3)).astype("float32")
    arch, err = _compare(net, path, x)
    assert arch == {"kind": "resnet", "n_blocks": 3, "ngf": 8, "in_channels": 3, "out_channels": 3,
                    "norm": norm, "dropout": 0.0}
    assert err <= 1e-4


@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_unet_round_trip(tmp_path, norm):
    net = _randomize(TorchUnet(cin=3, cout=2, depth=5, ngf=4, norm=norm), seed=2)
    path = _save(net, tmp_path / "u.pth")
    x = np.random.default_rng(1).uniform(-1, 1, (2, 64, 32, 3)).astype("float32")
    arch, err = _compare(net, path, x)
    assert arch == {"kind": "unet", "depth": 5, "ngf": 4, "in_channels": 3, "out_channels": 2, "norm": norm}
    assert err <= 1e-4


def test_resnet_with_dropout_is_inferred(tmp_path):
    net = _randomize(TorchResnet(cin=1, cout=3, ngf=4, n_blocks=1, norm="instance", dropout=True), seed=3)
    x = np.random.default_rng(2).uniform(-1, 1, (1, 16, 16, 1)).astype("float32")
    arch, err = _compare(net, _save(net, tmp_path / "d.pth"), x)
    assert arch["dropout"] == 0.5 and arch["in_channels"] == 1 and err <= 1e-4


def test_unknown_layout_lists_missing_and_unexpected_keys(tmp_path):
    sd = _randomize(TorchResnet(ngf=4, n_blocks=2), seed=4).state_dict()
    sd.pop("model.1.bias")
    sd["model.99.weight"] = torch.zeros(3, 3, 1, 1)
    with pytest.raises(LayoutError, match=r"missing keys: model\.1\.bias; unexpected keys: model\.99\.weight") as e:
        infer_architecture({k: v.numpy() for k, v in sd.items()})
    assert "\n" not in str(e.value)
    with pytest.raises(LayoutError, match="neither a ResNet"):
        infer_architecture({"features.0.weight": np.zeros((3, 3, 3, 3), "float32")})


def test_preset_translates_one_way_and_refuses_bad_input(tmp_path):
    import ganzoo

    net = _randomize(TorchResnet(ngf=4, n_blocks=1), seed=5)
    out = convert_to_preset(_save(net, tmp_path / "g.pth"), tmp_path / "preset")
    gan = ganzoo.load(out)
    # The family's class, one way: G_A and a fresh D_B (the authors publish no D); it does not train.
    assert type(gan) is CycleGAN and gan.one_way and gan.network_names() == ("generator", "discriminator")
    with pytest.raises(ValueError, match="translates a2b but cannot train") as e:
        gan.compile()
    assert "\n" not in str(e.value)
    x = np.random.default_rng(3).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    with torch.no_grad():
        want = net(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
    assert np.abs(gan.translate(x) - want).max() <= 1e-4
    with pytest.raises(ValueError, match="translates one way only") as e:
        gan.translate(x, direction="b2a")
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="Grayscale images for an RGB model") as e:
        gan.translate(x[..., :1])
    assert "\n" not in str(e.value)
    meta = (tmp_path / "preset" / "metadata.json").read_text()
    assert "BSD" in meta and "kind=resnet" in meta


def test_tool_converts_from_the_command_line(tmp_path, capsys):
    import runpy

    import ganzoo

    net = _randomize(TorchUnet(depth=3, ngf=2), seed=6)
    src = _save(net, tmp_path / "u.pth")
    main = runpy.run_path("tools/convert_pix2pix.py")["main"]
    assert main([str(src), str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "model.weights.h5").is_file() and "kind=unet" in capsys.readouterr().out
    gan = ganzoo.load(tmp_path / "out")
    assert type(gan) is Pix2Pix and gan.l1_weight == 100.0 and gan.discriminator_takes_source  # values: round trips
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    assert main([str(tmp_path / "bad.pth"), str(tmp_path / "out2")]) == 1
    assert "not a PyTorch state dict" in capsys.readouterr().err


# ------------------------------------------------- U-Net depth and dropout, against the reference layout
def _reference_dropouts(num_downs, ngf):
    """`(sorted (spatial size, channels / ngf, p) of each Dropout output at the native size, stride-2 convs)`."""
    net = TorchUnet(3, 3, num_downs, ngf).eval()
    seen, size = [], 2**num_downs
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append((o.shape[2], o.shape[1] // ngf, m.p)))
             for m in net.modules() if isinstance(m, nn.Dropout)]
    with torch.no_grad():
        net(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    downs = sum(1 for m in net.modules() if isinstance(m, nn.Conv2d) and m.stride == (2, 2))
    return sorted(seen), downs


# The width does not change the structure, so ngf=2 keeps the build cheap. Measured (shared 2-core
# machine, 2026-12-02, unet_128 / unet_256): TF 0.5 / 0.6 s, JAX 1.0 / 0.4 s, torch 0.1 / 0.1 s.
@pytest.mark.parametrize("name, depth, n_dropout", [("unet_128", 7, 2), ("unet_256", 8, 3)])
def test_unet_depth_and_dropout_blocks_match_the_reference(name, depth, n_dropout):
    import keras

    from ganzoo.models.pix2pix import networks

    ngf = 2
    G = getattr(networks, name)(ngf=ngf)
    convs = [l for l in G.layers if type(l).__name__ == "Conv2D"]
    ups = [l for l in G.layers if isinstance(l, keras.layers.Conv2DTranspose)]
    assert sum(l.strides == (2, 2) for l in convs) == depth == len(convs)
    assert sum(l.strides == (2, 2) for l in ups) == depth == len(ups)
    # The reference's comment: num_downs 7 takes 128x128 (8 takes 256x256) down to 1x1 at the bottleneck.
    assert G.input.shape[1:3] == (2**depth, 2**depth)
    assert min(l.output.shape[1] for l in convs) == 1
    want, ref_downs = _reference_dropouts(depth, ngf)
    assert ref_downs == depth and len(want) == n_dropout  # reference: range(num_downs - 5)
    # The ngf*8 decoder blocks right after the innermost one (whose output is 2x2): 4x4, 8x8 (and 16x16
    # for unet_256), each ngf*8 channels wide, p = 0.5.
    assert want == [(2**k, 8, 0.5) for k in range(2, n_dropout + 2)], want
    drops = [l for l in G.layers if isinstance(l, keras.layers.Dropout)]
    got = sorted((l.output.shape[1], l.output.shape[3] // ngf, l.rate) for l in drops)
    assert got == want, (got, want)
    for layer in drops:  # reference order: up conv -> norm -> dropout, then the skip concat
        assert type(layer.input._keras_history.operation).__name__ == "BatchNormalization"
        assert [type(n.operation).__name__ for n in layer._outbound_nodes] == ["Concatenate"]


# A depth-6 U-Net from the same builder has one dropout block (block 4, as in the reference's
# range(num_downs - 5)); the placement in unet_128/unet_256 is checked above. Depth 6 rather than
# unet_128 because JAX compiles each eager dropout shape separately (~1.5 s each here).
# Measured (shared 2-core machine, 2026-12-02, in this file's run): TF 0.3 s, torch 0.1 s, JAX 2.8 s.
def test_unet_dropout_is_active_in_training_calls_only():
    import keras
    from keras import ops

    from ganzoo.models.pix2pix.networks import unet_generator

    x = np.random.default_rng(7).uniform(-1, 1, (4, 64, 64, 3)).astype("float32")
    G = unet_generator(image_size=64, depth=6, ngf=2, seed=0)
    (drop,) = [l for l in G.layers if isinstance(l, keras.layers.Dropout)]
    probe = keras.Model(G.input, [drop.output, G.output])
    train1, train2 = ([ops.convert_to_numpy(v) for v in probe(x, training=True)] for _ in range(2))
    infer1, infer2 = ([ops.convert_to_numpy(v) for v in probe(x, training=False)] for _ in range(2))
    assert np.abs(train1[1] - train2[1]).max() > 1e-3  # two training calls draw different masks
    np.testing.assert_array_equal(infer1[1], infer2[1])  # inference: deterministic
    # Half the 4 x (4x4x16) units dropped at rate 0.5 (binomial sd 0.016), none in inference. Measured
    # (global seed 1234): zeros .52/.51 JAX, .47/.51 TF, .50/.51 torch in the two calls; 0 in inference;
    # the outputs of the two training calls differ by up to .14-.22.
    assert 0.42 < (train1[0] == 0).mean() < 0.58, (train1[0] == 0).mean()
    assert (infer1[0] == 0).mean() < 0.02
    # Control: with the rate at 0, two training calls agree (batch norm's batch statistics are
    # deterministic), so the difference above is dropout's.
    drop.rate = 0.0
    a, b = (ops.convert_to_numpy(G(x, training=True)) for _ in range(2))
    assert np.abs(a - b).max() <= 1e-6


# ------------------------------------------------------------------------ a pickle that carries code
class _RunsOnLoad:
    """Pickles as a call to `os.makedirs(marker)`: an unpickler that runs code creates the folder."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.makedirs, (self.marker,))


def _code_carrying_checkpoint(tmp_path):
    net = _randomize(TorchResnet(ngf=4, n_blocks=1), seed=8)
    sd = dict(net.state_dict())
    marker = tmp_path / "payload-ran"
    sd["model.1.bias"] = _RunsOnLoad(marker)  # where a tensor should be
    path = tmp_path / "evil.pth"
    torch.save(sd, path)
    return path, marker


# Measured (2026-12-02): 0.01 s on every backend (nothing is built: the file is refused first).
def test_converter_refuses_a_pickle_that_carries_code(tmp_path, monkeypatch, capsys):
    import runpy

    path, marker = _code_carrying_checkpoint(tmp_path)
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    with pytest.raises(LayoutError) as e:
        convert_to_preset(path, tmp_path / "preset")
    message = str(e.value)
    assert "\n" not in message and "evil.pth" in message and "weights_only=True" in message
    assert not marker.exists() and not (tmp_path / "preset").exists()
    main = runpy.run_path("tools/convert_pix2pix.py")["main"]
    capsys.readouterr()
    assert main([str(path), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "evil.pth" in err
    assert not marker.exists() and not (tmp_path / "out").exists()
    assert calls and all(w is True for w in calls)  # every read asked torch for weights_only=True
    # Control: the payload is real. An unpickler that runs code (weights_only=False) creates the marker.
    monkeypatch.setattr(torch, "load", real_load)
    torch.load(path, weights_only=False)
    assert marker.is_dir()


# ------------------------------------------------ registry recipes: download -> convert -> cache -> offline
# The authors' download scripts (junyanz/pytorch-CycleGAN-and-pix2pix scripts/download_cyclegan_model.sh,
# scripts/download_pix2pix_model.sh) fetch http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/
# $FILE.pth and http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/$FILE.pth; the names they list:
CYCLEGAN_FILES = {"apple2orange", "orange2apple", "summer2winter_yosemite", "winter2summer_yosemite",
                  "horse2zebra", "zebra2horse", "monet2photo", "style_monet", "style_cezanne", "style_ukiyoe",
                  "style_vangogh", "sat2map", "map2sat", "cityscapes_photo2label", "cityscapes_label2photo",
                  "facades_photo2label", "facades_label2photo", "iphone2dslr_flower"}
PIX2PIX_FILES = {"edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night"}
JUNYANZ_LICENSE = "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix/blob/master/LICENSE"


# Measured (2026-12-02): 0.2-0.3 s on every backend (reads the YAML recipes).
def test_every_published_translator_recipe_names_the_authors_file_and_bsd_license():
    import re

    from ganzoo import recipes, sources

    checked = set()
    for name in sorted(set(recipes.names().values())):
        recipe = recipes.get(name)
        if recipe.get("family") not in ("pix2pix", "cyclegan") or not recipe.get("weights"):
            continue
        items = [s for s in sources.normalize(recipe) if "url" in s]
        assert items, f"{name}: weights without an upstream url"
        for src in items:
            m = re.fullmatch(r"http://efrosgans\.eecs\.berkeley\.edu/(cyclegan/pretrained_models|"
                             r"pix2pix/models-pytorch)/(\w+)\.pth", src["url"])
            assert m, (name, src["url"])
            assert m.group(2) in (CYCLEGAN_FILES if m.group(1).startswith("cyclegan") else PIX2PIX_FILES), name
            assert src["converter"] == "pix2pix", name
            assert src["license"] == "BSD-2-Clause" and src["license_url"] == JUNYANZ_LICENSE, name
        assert recipe["license"] == "BSD-2-Clause", name
        checked.add(name)
    # The list: CycleGAN horse2zebra, zebra2horse, monet2photo, style_monet, summer2winter_yosemite;
    # pix2pix facades_label2photo, edges2shoes, map2sat.
    assert checked >= {"cyclegan-horse2zebra", "cyclegan-zebra2horse", "cyclegan-monet2photo",
                       "cyclegan-style-monet", "cyclegan-summer2winter-yosemite", "pix2pix-facades",
                       "pix2pix-edges2shoes", "pix2pix-map2sat"}, checked


@pytest.fixture
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("GANZOO_OFFLINE", raising=False)


def _torch_out(net, x):
    with torch.no_grad():
        return net(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)


# Measured (shared 2-core machine, 2026-12-02): TF 1.6 s, JAX 2.1 s, torch 1.1 s.
def test_recipe_downloads_converts_caches_and_loads_offline(tmp_path, monkeypatch, _isolated_cache):
    import io
    import json
    from urllib.parse import urlsplit

    from ganzoo import recipes, sources
    from test_download import FileServer

    # A small generator of the published ResNet layout (old-style instance-norm statistics included)
    # served at the recipe's own path; the converter infers its (small) architecture from the file.
    net = _randomize(TorchResnet(ngf=4, n_blocks=2, norm="instance"), seed=9)
    buf = io.BytesIO()
    _save(net, buf, old_instance_stats=True)
    recipe = recipes.get("cyclegan-horse2zebra")
    (src,) = recipe["weights"]["sources"]
    upstream = src["url"]
    srv = FileServer({urlsplit(upstream).path: buf.getvalue()})
    try:
        src["url"] = srv.base + urlsplit(upstream).path
        x = np.random.default_rng(4).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
        want = _torch_out(net, x)
        gan = sources.load_from_sources(recipe)
        assert type(gan) is CycleGAN and gan.one_way
        assert np.abs(gan.translate(x) - want).max() <= 1e-4
        assert gan.provenance["license"] == "BSD-2-Clause"
        assert [p for p, _ in srv.log] == ["/cyclegan/pretrained_models/horse2zebra.pth"]  # one download
        (normalized,) = sources.normalize(recipe)
        folder = sources.converted_dir(recipe, normalized)
        assert sources.cache_status(recipe) == "yes" and (folder / "config.json").is_file()
        meta = (folder / "metadata.json").read_text()
        assert "BSD-2-Clause" in meta and "kind=resnet" in meta and "n_blocks=2" in meta
        manifest = json.loads((folder / sources.CACHE_MANIFEST).read_text())
        assert manifest["converter"] == "pix2pix" and manifest["source"] == src["url"]
    finally:
        srv.stop()  # the machine goes offline
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    again = sources.load_from_sources(recipe)
    assert np.abs(again.translate(x) - want).max() <= 1e-4
    assert len(srv.log) == 1


# Measured (shared 2-core machine, 2026-12-02): TF 0.6 s, JAX 1.7 s, torch 0.3 s.
def test_registry_name_loads_offline_from_a_prefilled_conversion_cache(tmp_path, monkeypatch, _isolated_cache):
    # What a machine without network does: convert the authors' file once where `ganzoo.load(NAME)`
    # looks for it (the cache folder keyed by the recipe's real URL), then load the registry name offline.
    import ganzoo
    from ganzoo import recipes, sources

    net = _randomize(TorchUnet(cin=3, cout=3, depth=4, ngf=2, norm="batch"), seed=10)
    path = _save(net, tmp_path / "facades_label2photo.pth")
    recipe = recipes.get("pix2pix-facades")
    (src,) = sources.normalize(recipe)
    folder = sources.converted_dir(recipe, src)
    convert_to_preset(path, folder, recipe=recipe)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert sources.cache_status(recipe) == "yes"
    gan = ganzoo.load("pix2pix-facades")  # its URL is the authors' server: unreachable and offline here
    assert type(gan) is Pix2Pix and gan.provenance["license"] == "BSD-2-Clause"
    x = np.random.default_rng(5).uniform(-1, 1, (2, 32, 16, 3)).astype("float32")
    assert np.abs(gan.translate(x) - _torch_out(net, x)).max() <= 1e-4
    assert "facades_label2photo.pth" in (folder / "metadata.json").read_text()
