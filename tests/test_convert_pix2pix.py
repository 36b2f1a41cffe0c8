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
    def __init__(self, outer_nc, inner_nc, input_nc=None, sub=None, outermost=False, innermost=False, norm="batch"):
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
                   nn.ConvTranspose2d(2 * inner_nc, outer_nc, 4, 2, 1, bias=bias), _norm(norm, outer_nc),
                   nn.Dropout(0.5)]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class TorchUnet(nn.Module):
    """`UnetGenerator`'s layout: blocks nested innermost-first, widths ngf * min(2^i, 8)."""

    def __init__(self, cin=3, cout=3, depth=5, ngf=4, norm="batch"):
        super().__init__()
        widths = [ngf * min(2**i, 8) for i in range(depth)]
        # Block i (outermost 0) takes widths[i - 1] channels down to widths[i].
        block = _UnetBlock(widths[-2], widths[-1], innermost=True, norm=norm)
        for i in reversed(range(1, depth - 1)):
            block = _UnetBlock(widths[i - 1], widths[i], sub=block, norm=norm)
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
