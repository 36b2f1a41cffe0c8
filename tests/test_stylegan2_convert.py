"""Converting official StyleGAN2 weights: exact outputs, safe loading, clear errors.

The truth is a small PyTorch reference of NVIDIA's stylegan2-ada forward pass
written here from the paper and the documented math of `networks.py`,
`upfirdn2d` and `conv2d_resample` (float64, NCHW, per-sample modulated
weights, the generic "pad / upsample, conv, FIR-downsample" resampling path).
It runs on a random state dict in NVIDIA's exact names and shapes, which is
also written as (a) a pickle in NVIDIA's `torch_utils.persistence` layout
(module source embedded, tensors through `torch.storage._load_from_bytes`),
(b) a rosinality `.pt` and (c) a flaxmodels `.h5`. Each is converted and the
Keras networks must match the reference within 1e-4 on every backend.
"""

import argparse
import contextlib
import io
import json
import math
import os
import pickle
import re
import sys
import types

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from keras import ops

from ganzoo.convert.safe_pickle import (
    MAGIC_NUMBER,
    PersistentObject,
    UnsafePickleError,
    load_pickle,
    module_state_dict,
)
from ganzoo.convert.stylegan2 import LayoutError, build_generator, convert, load_converted, read_source

SQRT2 = math.sqrt(2.0)
R, Z, W, IMG, BASE, CMAX, NMAP = 32, 16, 16, 3, 128, 16, 2  # channels: 16, 16, 8, 4 at 4, 8, 16, 32 px
CFGS = {
    "uncond": dict(c_dim=0, conv_clamp=None, d_arch="resnet", mbstd=2),
    "cond": dict(c_dim=3, conv_clamp=0.8, d_arch="orig", mbstd=4),
}


def ch(r):
    return min(BASE // r, CMAX)


# ----------------------------------------------------------------------------
# Independent reference (PyTorch, float64, NCHW), parameterised by NVIDIA names.


def ref_filter():
    f = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=torch.float64)
    f = torch.outer(f, f)
    return f / f.sum()


def ref_upfirdn2d(x, f, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0):
    """Insert up-1 zeros after each pixel, pad (x0, x1, y0, y1), convolve with f, keep every down-th pixel."""
    n, c, h, w = x.shape
    px0, px1, py0, py1 = pad
    x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]
    k = (f * gain).flip([0, 1])[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, k, groups=c)[:, :, ::down, ::down]


def ref_conv(x, w, f=None, up=1, down=1, padding=0):
    """conv2d_resample's generic path; upsampling convs are true convolutions (flipped kernel)."""
    p0 = p1 = padding
    if up > 1:
        p0, p1 = p0 + (4 + up - 1) // 2, p1 + (4 - up) // 2
    if down > 1:
        p0, p1 = p0 + (4 - down + 1) // 2, p1 + (4 - down) // 2
    x = ref_upfirdn2d(x, f if up > 1 else torch.ones(1, 1, dtype=x.dtype), up=up, pad=(p0, p1, p0, p1), gain=up * up)
    x = F.conv2d(x, w.flip([2, 3]) if up > 1 else w)
    return ref_upfirdn2d(x, f, down=down) if down > 1 else x


def ref_bias_act(x, b=None, act="linear", gain=1.0, clamp=None):
    if b is not None:
        x = x + b.reshape(1, -1, *[1] * (x.ndim - 2))
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2) * SQRT2
    x = x * gain
    return x.clamp(-clamp, clamp) if clamp is not None else x


def ref_fc(sd, p, x, act="linear", lr=1.0):
    w = sd[p + ".weight"]
    return ref_bias_act(x @ (w * (lr / math.sqrt(w.shape[1]))).T, sd[p + ".bias"] * lr, act)


def ref_mapping(sd, p, z, c, num_ws=None, psi=1.0, cutoff=None):
    def norm(v):
        return v * (v.square().mean(1, keepdim=True) + 1e-8).rsqrt()

    parts = ([norm(z)] if z is not None else []) + ([norm(ref_fc(sd, p + ".embed", c))] if c is not None else [])
    x = torch.cat(parts, 1)
    for i in range(len([k for k in sd if re.fullmatch(re.escape(p) + r"\.fc\d+\.weight", k)])):
        x = ref_fc(sd, f"{p}.fc{i}", x, "lrelu", lr=0.01)
    if num_ws is None:
        return x
    x = x[:, None].repeat(1, num_ws, 1)
    if psi != 1:
        cut = num_ws if cutoff is None else cutoff
        x[:, :cut] = sd[p + ".w_avg"] + psi * (x[:, :cut] - sd[p + ".w_avg"])
    return x


def ref_modconv(x, weight, styles, demodulate, up=1, padding=0):
    out = []
    for n in range(x.shape[0]):  # the per-sample weight w * s (* d) of the paper, one sample at a time
        w = weight * styles[n].reshape(1, -1, 1, 1)
        if demodulate:
            w = w * (w.square().sum([1, 2, 3], keepdim=True) + 1e-8).rsqrt()
        out.append(ref_conv(x[n : n + 1], w, ref_filter(), up=up, padding=padding))
    return torch.cat(out)


def ref_generator(sd, z, c=None, psi=1.0, cutoff=None, clamp=None):
    res = sorted({int(m.group(1)) for k in sd for m in [re.match(r"synthesis\.b(\d+)\.", k)] if m})
    ws = ref_mapping(sd, "mapping", z, c, num_ws=2 * int(math.log2(res[-1])) - 2, psi=psi, cutoff=cutoff)
    x = img = None
    wi = 0
    for r in res:
        p = f"synthesis.b{r}"
        if r == 4:
            x = sd[p + ".const"][None].repeat(z.shape[0], 1, 1, 1)
        for name, up in ([("conv1", 1)] if r == 4 else [("conv0", 2), ("conv1", 1)]):
            q = f"{p}.{name}"
            x = ref_modconv(x, sd[q + ".weight"], ref_fc(sd, q + ".affine", ws[:, wi]), True, up=up, padding=1)
            x = x + sd[q + ".noise_const"] * sd[q + ".noise_strength"]  # noise_mode='const'
            x = ref_bias_act(x, sd[q + ".bias"], "lrelu", clamp=clamp)
            wi += 1
        q = p + ".torgb"
        styles = ref_fc(sd, q + ".affine", ws[:, wi]) / math.sqrt(sd[q + ".weight"].shape[1])
        y = ref_bias_act(ref_modconv(x, sd[q + ".weight"], styles, False), sd[q + ".bias"], clamp=clamp)
        img = y if img is None else ref_upfirdn2d(img, ref_filter(), up=2, pad=(2, 1, 2, 1), gain=4) + y
    return img


def ref_conv_layer(sd, p, x, act="lrelu", down=1, gain=1.0, clamp=None):
    w = sd[p + ".weight"]
    x = ref_conv(x, w / math.sqrt(w[0].numel()), ref_filter(), down=down, padding=w.shape[2] // 2)
    return ref_bias_act(x, sd.get(p + ".bias"), act, gain=gain, clamp=None if clamp is None else clamp * gain)


def ref_discriminator(sd, img, c=None, group=4, clamp=None):
    res = sorted({int(m.group(1)) for k in sd for m in [re.match(r"b(\d+)\.conv0\.", k)] if m}, reverse=True)
    x = ref_conv_layer(sd, f"b{res[0]}.fromrgb", img, clamp=clamp)
    for r in res:
        p = f"b{r}"
        if p + ".skip.weight" in sd:
            y = ref_conv_layer(sd, p + ".skip", x, "linear", down=2, gain=math.sqrt(0.5))
            x = ref_conv_layer(sd, p + ".conv0", x, clamp=clamp)
            x = y + ref_conv_layer(sd, p + ".conv1", x, down=2, gain=math.sqrt(0.5), clamp=clamp)
        else:
            x = ref_conv_layer(sd, p + ".conv1", ref_conv_layer(sd, p + ".conv0", x, clamp=clamp), down=2, clamp=clamp)
    n, c_, h, w = x.shape
    g = min(group, n)
    y = x.reshape(g, -1, 1, c_, h, w)  # minibatch stddev over groups of samples {m, m + n/g, ...}
    y = ((y - y.mean(0)).square().mean(0) + 1e-8).sqrt().mean([2, 3, 4]).reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
    x = ref_conv_layer(sd, "b4.conv", torch.cat([x, y], 1), clamp=clamp)
    x = ref_fc(sd, "b4.out", ref_fc(sd, "b4.fc", x.flatten(1), "lrelu"))
    if c is not None:
        cmap = ref_mapping(sd, "mapping", None, c)
        x = (x * cmap).sum(1, keepdim=True) / math.sqrt(cmap.shape[1])
    return x


# ----------------------------------------------------------------------------
# Random networks in NVIDIA's names and shapes.


def nvidia_G_state(rng, c_dim):
    sd, ff = {}, lambda: ref_filter().numpy().astype(np.float32)
    feats = [Z + (W if c_dim else 0)] + [W] * NMAP
    if c_dim:
        sd["mapping.embed.weight"], sd["mapping.embed.bias"] = rng.standard_normal((W, c_dim)), rng.standard_normal(W)
    for i in range(NMAP):  # stored as N(0, 1) / lr_multiplier, like NVIDIA's init
        sd[f"mapping.fc{i}.weight"] = rng.standard_normal((feats[i + 1], feats[i])) / 0.01
        sd[f"mapping.fc{i}.bias"] = rng.standard_normal(feats[i + 1])
    sd["mapping.w_avg"] = rng.standard_normal(W)
    r = 4
    while r <= R:
        p = f"synthesis.b{r}"
        sd[p + ".resample_filter"] = ff()
        if r == 4:
            sd[p + ".const"] = rng.standard_normal((ch(4), 4, 4))
        for name, cin in ([("conv1", ch(4))] if r == 4 else [("conv0", ch(r // 2)), ("conv1", ch(r))]):
            q = f"{p}.{name}"
            sd[q + ".weight"] = rng.standard_normal((ch(r), cin, 3, 3))
            sd[q + ".bias"] = 0.2 * rng.standard_normal(ch(r))
            sd[q + ".noise_strength"] = np.asarray(0.3 * rng.standard_normal())
            sd[q + ".noise_const"] = rng.standard_normal((r, r))
            sd[q + ".resample_filter"] = ff()
            sd[q + ".affine.weight"] = rng.standard_normal((cin, W))
            sd[q + ".affine.bias"] = 1 + 0.2 * rng.standard_normal(cin)
        sd[p + ".torgb.weight"] = rng.standard_normal((IMG, ch(r), 1, 1))
        sd[p + ".torgb.bias"] = 0.2 * rng.standard_normal(IMG)
        sd[p + ".torgb.affine.weight"] = rng.standard_normal((ch(r), W))
        sd[p + ".torgb.affine.bias"] = 1 + 0.2 * rng.standard_normal(ch(r))
        r *= 2
    return {k: np.asarray(v, np.float32) for k, v in sd.items()}


def nvidia_D_state(rng, c_dim, arch):
    sd, ff = {}, lambda: ref_filter().numpy().astype(np.float32)
    sd[f"b{R}.fromrgb.weight"] = rng.standard_normal((ch(R), IMG, 1, 1))
    sd[f"b{R}.fromrgb.bias"] = rng.standard_normal(ch(R))
    sd[f"b{R}.fromrgb.resample_filter"] = ff()
    r = R
    while r > 4:
        p, t, o = f"b{r}", ch(r), ch(r // 2)
        sd[p + ".resample_filter"] = ff()
        for name, shape in (("conv0", (t, t, 3, 3)), ("conv1", (o, t, 3, 3))):
            sd[f"{p}.{name}.weight"] = rng.standard_normal(shape)
            sd[f"{p}.{name}.bias"] = 0.2 * rng.standard_normal(shape[0])
            sd[f"{p}.{name}.resample_filter"] = ff()
        if arch == "resnet":
            sd[p + ".skip.weight"], sd[p + ".skip.resample_filter"] = rng.standard_normal((o, t, 1, 1)), ff()
        r //= 2
    k, cm = ch(4), (ch(4) if c_dim else 1)
    sd["b4.conv.weight"], sd["b4.conv.bias"] = rng.standard_normal((k, k + 1, 3, 3)), rng.standard_normal(k)
    sd["b4.conv.resample_filter"] = ff()
    sd["b4.fc.weight"], sd["b4.fc.bias"] = rng.standard_normal((k, 16 * k)), rng.standard_normal(k)
    sd["b4.out.weight"], sd["b4.out.bias"] = rng.standard_normal((cm, k)), rng.standard_normal(cm)
    if c_dim:
        sd["mapping.embed.weight"], sd["mapping.embed.bias"] = rng.standard_normal((cm, c_dim)), rng.standard_normal(cm)
        for i in range(8):
            sd[f"mapping.fc{i}.weight"] = rng.standard_normal((cm, cm)) / 0.01
            sd[f"mapping.fc{i}.bias"] = rng.standard_normal(cm)
    return {k: np.asarray(v, np.float32) for k, v in sd.items()}


def t64(sd):
    return {k: torch.tensor(v, dtype=torch.float64) for k, v in sd.items()}


# ----------------------------------------------------------------------------
# Writing a pickle in NVIDIA's persistence layout.


@contextlib.contextmanager
def fake_nvidia_modules(reconstruct, easydict_base=dict):
    """Temporarily install `torch_utils.persistence` and `dnnlib.util` stand-ins in sys.modules."""
    pers, du = types.ModuleType("torch_utils.persistence"), types.ModuleType("dnnlib.util")
    reconstruct.__module__, reconstruct.__qualname__ = "torch_utils.persistence", "_reconstruct_persistent_obj"
    pers._reconstruct_persistent_obj = reconstruct
    du.EasyDict = type("EasyDict", (easydict_base,), {"__module__": "dnnlib.util"})
    tu, dn = types.ModuleType("torch_utils"), types.ModuleType("dnnlib")
    tu.persistence, dn.util = pers, du
    names = {"torch_utils": tu, "torch_utils.persistence": pers, "dnnlib": dn, "dnnlib.util": du}
    saved = {k: sys.modules.get(k) for k in names}
    sys.modules.update(names)
    try:
        yield du.EasyDict
    finally:
        for k, v in saved.items():
            sys.modules.pop(k) if v is None else sys.modules.__setitem__(k, v)


class NvModule(torch.nn.Module):
    """A torch module that pickles like NVIDIA's `@persistent_class` objects."""

    def __init__(self, class_name, module_src, init_kwargs=None):
        super().__init__()
        self.nv_class, self.nv_src = class_name, module_src
        self._init_args, self._init_kwargs = (), init_kwargs or {}

    def __reduce__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("nv_class", "nv_src")}
        meta = dict(type="class", version=6, module_src=self.nv_src, class_name=self.nv_class, state=state)
        return (sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj, (meta,))


_CLASSES = [  # (module path pattern, NVIDIA class name); first match wins
    (r"mapping", "MappingNetwork"),
    (r"synthesis", "SynthesisNetwork"),
    (r".*\.affine|mapping\.\w+|b4\.(fc|out)", "FullyConnectedLayer"),
    (r"synthesis\.b\d+", "SynthesisBlock"),
    (r".*\.torgb", "ToRGBLayer"),
    (r"synthesis\.b\d+\.conv\d", "SynthesisLayer"),
    (r"b4", "DiscriminatorEpilogue"),
    (r"b4\.mbstd", "MinibatchStdLayer"),
    (r"b\d+", "DiscriminatorBlock"),
    (r"b\d+\.\w+", "Conv2dLayer"),
]
_BUFFERS = ("resample_filter", "noise_const", "w_avg")


def nvidia_tree(sd, root_class, module_src, init_kwargs, extra=()):
    root = NvModule(root_class, module_src, init_kwargs)
    modules = {"": root}
    for key in list(sd) + [f"{e}.__none__" for e in extra]:
        parts = key.split(".")
        for i in range(1, len(parts)):
            path = ".".join(parts[:i])
            if path not in modules:
                cls = next(c for pattern, c in _CLASSES if re.fullmatch(pattern, path))
                modules[path] = NvModule(cls, module_src)
                if cls == "FullyConnectedLayer":  # NVIDIA keeps numpy float64 gains in __dict__
                    modules[path].weight_gain = np.float64(0.125)
                modules[".".join(parts[: i - 1])].add_module(parts[i - 1], modules[path])
        if parts[-1] == "__none__":
            continue
        leaf, value = modules[".".join(parts[:-1])], torch.tensor(sd[key])
        if parts[-1] in _BUFFERS:
            leaf.register_buffer(parts[-1], value)
        else:
            leaf.register_parameter(parts[-1], torch.nn.Parameter(value, requires_grad=False))
    return root


def write_nvidia_pkl(path, G_sd, D_sd, cfg, module_src):
    def never_called(meta):
        raise AssertionError("only used as a pickle global")

    with fake_nvidia_modules(never_called) as EasyDict:
        G_kwargs = dict(z_dim=Z, c_dim=cfg["c_dim"], w_dim=W, img_resolution=R, img_channels=IMG,
                        mapping_kwargs=EasyDict(num_layers=NMAP),
                        synthesis_kwargs=EasyDict(channel_base=BASE, channel_max=CMAX, num_fp16_res=0,
                                                  conv_clamp=cfg["conv_clamp"]))
        D_kwargs = dict(c_dim=cfg["c_dim"], img_resolution=R, img_channels=IMG, architecture=cfg["d_arch"],
                        channel_base=BASE, channel_max=CMAX, num_fp16_res=0, conv_clamp=cfg["conv_clamp"],
                        block_kwargs=EasyDict(), mapping_kwargs=EasyDict(),
                        epilogue_kwargs=EasyDict(mbstd_group_size=cfg["mbstd"]))
        data = dict(
            G=nvidia_tree(G_sd, "Generator", module_src, G_kwargs),
            D=nvidia_tree(D_sd, "Discriminator", module_src, D_kwargs, extra=["b4.mbstd"]),
            G_ema=nvidia_tree(G_sd, "Generator", module_src, G_kwargs),
            augment_pipe=None,
            training_set_kwargs=EasyDict(path="data.zip", resolution=R, use_labels=bool(cfg["c_dim"])),
        )
        with open(path, "wb") as f:
            pickle.dump(data, f, protocol=3)


@pytest.fixture
def sentinel(tmp_path):
    path = tmp_path / "SENTINEL"
    yield path
    assert not path.exists(), "code from the checkpoint ran"


@contextlib.contextmanager
def traps(sentinel):
    """While active, every importable way of running the file's code touches the sentinel."""

    def touch(*args, **kwargs):
        sentinel.write_text("ran")
        raise RuntimeError("trap")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch.storage, "_load_from_bytes", touch)
        with fake_nvidia_modules(touch, easydict_base=object):
            sys.modules["dnnlib.util"].EasyDict.__init__ = touch
            yield


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


# ----------------------------------------------------------------------------
# Tests.


@pytest.mark.parametrize("name", ["uncond", "cond"])
def test_nvidia_pkl_matches_reference(name, tmp_path, sentinel):
    cfg = CFGS[name]
    rng = np.random.default_rng(0)
    G_sd, D_sd = nvidia_G_state(rng, cfg["c_dim"]), nvidia_D_state(rng, cfg["c_dim"], cfg["d_arch"])
    src = f"open({str(sentinel)!r}, 'w').write('module_src was executed')\nclass Generator: pass\n"
    write_nvidia_pkl(tmp_path / "net.pkl", G_sd, D_sd, cfg, src)
    assert src.encode() in (tmp_path / "net.pkl").read_bytes()  # the source really is embedded

    with traps(sentinel):  # a loader that imported or exec'd anything would touch the sentinel
        paths = convert(str(tmp_path / "net.pkl"), str(tmp_path / "out"))
    assert set(paths) == {"generator", "discriminator", "config"}
    with open(paths["config"]) as f:
        config = json.load(f)
    assert config["generator"]["class_name"] == "ganzoo>StyleGAN2Generator"
    assert config["source"] == {"path": "net.pkl", "format": "nvidia-pkl"}
    G, D = load_converted(str(tmp_path / "out"))
    assert G.get_config()["synthesis_kwargs"]["conv_clamp"] == cfg["conv_clamp"]
    assert D.architecture == cfg["d_arch"] and D.mbstd_group_size == cfg["mbstd"]

    z = rng.standard_normal((4, Z)).astype(np.float32)
    c = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]] if cfg["c_dim"] else None
    c64 = None if c is None else torch.tensor(c, dtype=torch.float64)
    sd = t64(G_sd)
    for psi, cutoff in ((1.0, None), (0.6, 3)):
        want = ref_generator(sd, torch.tensor(z, dtype=torch.float64), c64, psi, cutoff, cfg["conv_clamp"])
        got = np_(G(z, c, truncation_psi=psi, truncation_cutoff=cutoff, noise_mode="const"))
        assert np.std(got) > 0.05
        np.testing.assert_allclose(got, want.permute(0, 2, 3, 1).numpy(), atol=1e-4, rtol=0)

    img = rng.standard_normal((4, R, R, IMG)).astype(np.float32)
    want = ref_discriminator(t64(D_sd), torch.tensor(img, dtype=torch.float64).permute(0, 3, 1, 2), c64,
                             group=cfg["mbstd"], clamp=cfg["conv_clamp"])
    np.testing.assert_allclose(np_(D(img, c)), want.numpy(), atol=1e-4, rtol=1e-5)


def test_layout_errors_name_the_keys(tmp_path):
    sd = nvidia_G_state(np.random.default_rng(1), 0)
    D_sd = nvidia_D_state(np.random.default_rng(1), 0, "resnet")
    pruned = {k: v for k, v in sd.items() if k != "synthesis.b16.conv0.noise_const"}
    write_nvidia_pkl(tmp_path / "pruned.pkl", pruned, D_sd, CFGS["uncond"], "")
    with pytest.raises(LayoutError, match=r"generator \(G_ema\) layout does not match: missing keys: "
                                          r"synthesis\.b16\.conv0\.noise_const$"):
        convert(str(tmp_path / "pruned.pkl"), str(tmp_path / "out"))
    kwargs = dict(z_dim=Z, w_dim=W, img_resolution=R, mapping_kwargs=dict(num_layers=NMAP),
                  synthesis_kwargs=dict(channel_base=BASE, channel_max=CMAX))
    bad = dict(sd)
    del bad["synthesis.b32.torgb.bias"]
    bad["synthesis.b32.conv1.extra_scale"] = np.ones(3, np.float32)
    with pytest.raises(LayoutError, match=r"missing keys: synthesis\.b32\.torgb\.bias.*unexpected keys: "
                                          r"synthesis\.b32\.conv1\.extra_scale"):
        build_generator(bad, kwargs)
    bad = dict(sd, **{"mapping.fc1.weight": np.ones((W, W + 1), np.float32)})
    with pytest.raises(LayoutError, match=r"mapping\.fc1\.weight: shape \(16, 17\)"):
        build_generator(bad, kwargs)
    bad = dict(sd, **{"synthesis.b8.resample_filter": np.full((4, 4), 1 / 16, np.float32)})
    with pytest.raises(LayoutError, match="resample_filter"):
        build_generator(bad, kwargs)


def test_init_kwargs_translation():
    from ganzoo.convert.stylegan2 import discriminator_kwargs_from_nvidia, generator_kwargs_from_nvidia

    # stylegan3's networks_stylegan2 keeps synthesis options at the top level.
    sg3 = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3, mapping_kwargs=dict(num_layers=2),
               channel_base=16384, channel_max=512, num_fp16_res=4, conv_clamp=256,
               fused_modconv_default="inference_only")
    want = dict(channel_base=16384, channel_max=512, conv_clamp=256)
    assert generator_kwargs_from_nvidia(sg3)["synthesis_kwargs"] == want
    with pytest.raises(LayoutError, match=r"unsupported architecture options \['num_critical'\]"):
        generator_kwargs_from_nvidia(dict(sg3, mapping_kwargs=dict(num_layers=2, num_critical=2)))
    d = discriminator_kwargs_from_nvidia(dict(
        c_dim=10, img_resolution=32, img_channels=3, architecture="orig", block_kwargs=dict(freeze_layers=2),
        epilogue_kwargs=dict(mbstd_group_size=32), mapping_kwargs=dict(num_layers=2)))
    assert d == dict(c_dim=10, img_resolution=32, img_channels=3, architecture="orig", mbstd_group_size=32,
                     mapping_kwargs=dict(num_layers=2))


def test_unknown_pickle_content_is_rejected(tmp_path, monkeypatch):
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps({"G": 1, "D": 2}))
    with pytest.raises(LayoutError, match=r"'G_ema'.*\['D', 'G'\]"):
        read_source(str(path))
    from ganzoo.convert import stylegan2 as conv

    monkeypatch.setattr(conv, "load_pickle", lambda p: {"G_ema": PersistentObject("SynthesisNetwork", {})})
    with pytest.raises(LayoutError, match="expected a StyleGAN2 Generator under G_ema, found SynthesisNetwork"):
        conv.read_nvidia_pkl("x.pkl")
    with pytest.raises(ValueError, match="unsupported source"):
        read_source(str(tmp_path / "weights.bin"))


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_booby_trapped_pickle_runs_nothing(tmp_path, sentinel):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Evil(sentinel)}))
    with pytest.raises(UnsafePickleError, match=r"refusing to unpickle global '(posix|nt)\.system'"):
        convert(str(path), str(tmp_path / "out"))
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
    try:
        import convert_stylegan2 as cli
    finally:
        sys.path.pop(0)
    assert cli.main([str(path), str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out" / "generator.weights.h5").exists()


def test_booby_trap_inside_tensor_bytes_is_refused(sentinel):
    # A "storage" whose embedded torch.save stream carries its own payload.
    inner = b"".join(pickle.dumps(v, protocol=2) for v in (MAGIC_NUMBER, 1001, {"little_endian": True}))
    inner += pickle.dumps(_Evil(sentinel), protocol=2)

    class Storage:
        def __reduce__(self):
            return (torch.storage._load_from_bytes, (inner,))

    with pytest.raises(UnsafePickleError, match="system"):
        load_pickle(io.BytesIO(pickle.dumps({"w": Storage()}, protocol=4)))


@pytest.mark.parametrize("protocol", [2, 4])
def test_tensor_and_numpy_records(protocol):
    t = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    data = {"p": torch.nn.Parameter(t, requires_grad=False), "view": t.t()[1:], "half": t.half(),
            "n": np.float64(0.25), "a": np.arange(3, dtype=np.int16), "s": {1, 2}}
    out = load_pickle(io.BytesIO(pickle.dumps(data, protocol=protocol)))
    np.testing.assert_array_equal(out["p"], t.numpy())
    np.testing.assert_array_equal(out["view"], t.t()[1:].numpy())
    assert out["half"].dtype == np.float16 and np.array_equal(out["half"], t.numpy())
    assert out["n"] == 0.25 and out["a"].tolist() == [0, 1, 2] and out["s"] == {1, 2}


def test_module_state_dict_skips_non_persistent_buffers():
    leaf = PersistentObject("L", {"_parameters": {"w": np.ones(2)}, "_buffers": {"tmp": np.ones(1), "f": np.ones(1)},
                                  "_non_persistent_buffers_set": {"tmp"}})
    assert list(module_state_dict(PersistentObject("R", {"_modules": {"a": leaf, "b": None}}))) == ["a.w", "a.f"]


def _to_rosinality(G_sd, D_sd):
    res = [2**i for i in range(2, int(math.log2(R)) + 1)]
    blur = (ref_filter() * 4).numpy().astype(np.float32)
    g = {f"style.{i + 1}.{k}": G_sd[f"mapping.fc{i}.{k}"] for i in range(NMAP) for k in ("weight", "bias")}
    g["input.input"] = G_sd["synthesis.b4.const"][None]

    def styled(dst, src, noise_idx):
        g[f"{dst}.conv.weight"] = G_sd[f"{src}.weight"][None]
        g[f"{dst}.conv.modulation.weight"] = G_sd[f"{src}.affine.weight"]
        g[f"{dst}.conv.modulation.bias"] = G_sd[f"{src}.affine.bias"]
        g[f"{dst}.noise.weight"] = G_sd[f"{src}.noise_strength"].reshape(1)
        g[f"{dst}.activate.bias"] = G_sd[f"{src}.bias"]
        g[f"noises.noise_{noise_idx}"] = G_sd[f"{src}.noise_const"][None, None]

    def torgb(dst, src):
        g[f"{dst}.conv.weight"] = G_sd[f"{src}.weight"][None]
        g[f"{dst}.conv.modulation.weight"] = G_sd[f"{src}.affine.weight"]
        g[f"{dst}.conv.modulation.bias"] = G_sd[f"{src}.affine.bias"]
        g[f"{dst}.bias"] = G_sd[f"{src}.bias"].reshape(1, -1, 1, 1)

    styled("conv1", "synthesis.b4.conv1", 0)
    torgb("to_rgb1", "synthesis.b4.torgb")
    for k, r in enumerate(res[1:]):
        styled(f"convs.{2 * k}", f"synthesis.b{r}.conv0", 2 * k + 1)
        styled(f"convs.{2 * k + 1}", f"synthesis.b{r}.conv1", 2 * k + 2)
        g[f"convs.{2 * k}.conv.blur.kernel"] = blur
        torgb(f"to_rgbs.{k}", f"synthesis.b{r}.torgb")
        g[f"to_rgbs.{k}.upsample.kernel"] = blur
    d = {"convs.0.0.weight": D_sd[f"b{R}.fromrgb.weight"], "convs.0.1.bias": D_sd[f"b{R}.fromrgb.bias"]}
    for j, r in enumerate(reversed(res[1:]), start=1):
        p = f"b{r}"
        q = f"convs.{j}"
        d.update({f"{q}.conv1.0.weight": D_sd[p + ".conv0.weight"], f"{q}.conv1.1.bias": D_sd[p + ".conv0.bias"],
                  f"{q}.conv2.0.kernel": blur / 4, f"{q}.conv2.1.weight": D_sd[p + ".conv1.weight"],
                  f"{q}.conv2.2.bias": D_sd[p + ".conv1.bias"], f"{q}.skip.0.kernel": blur / 4,
                  f"{q}.skip.1.weight": D_sd[p + ".skip.weight"]})
    d.update({"final_conv.0.weight": D_sd["b4.conv.weight"], "final_conv.1.bias": D_sd["b4.conv.bias"],
              "final_linear.0.weight": D_sd["b4.fc.weight"], "final_linear.0.bias": D_sd["b4.fc.bias"],
              "final_linear.1.weight": D_sd["b4.out.weight"], "final_linear.1.bias": D_sd["b4.out.bias"]})
    as_t = lambda sd: {k: torch.tensor(v) for k, v in sd.items()}  # noqa: E731
    return {"g_ema": as_t(g), "d": as_t(d), "latent_avg": torch.tensor(G_sd["mapping.w_avg"]),
            "args": argparse.Namespace(size=R, n_mlp=NMAP)}


def test_rosinality_pt_matches_reference(tmp_path):
    rng = np.random.default_rng(2)
    G_sd, D_sd = nvidia_G_state(rng, 0), nvidia_D_state(rng, 0, "resnet")
    torch.save(_to_rosinality(G_sd, D_sd), tmp_path / "ckpt.pt")
    convert(str(tmp_path / "ckpt.pt"), str(tmp_path / "out"))
    G, D = load_converted(str(tmp_path / "out"))
    z = rng.standard_normal((4, Z)).astype(np.float32)
    want = ref_generator(t64(G_sd), torch.tensor(z, dtype=torch.float64), psi=0.7)
    np.testing.assert_allclose(np_(G(z, truncation_psi=0.7)), want.permute(0, 2, 3, 1).numpy(), atol=1e-4, rtol=0)
    img = rng.standard_normal((4, R, R, IMG)).astype(np.float32)
    want = ref_discriminator(t64(D_sd), torch.tensor(img, dtype=torch.float64).permute(0, 3, 1, 2), group=4)
    np.testing.assert_allclose(np_(D(img)), want.numpy(), atol=1e-4, rtol=1e-5)


def test_flaxmodels_h5_matches_reference(tmp_path):
    rng = np.random.default_rng(3)
    sd = nvidia_G_state(rng, 0)
    with h5py.File(tmp_path / "stylegan2_generator_tiny.h5", "w") as f:
        m, s = f.create_group("mapping_network"), f.create_group("synthesis_network")
        m["w_avg"] = sd["mapping.w_avg"]
        for i in range(NMAP):
            m[f"fc{i}/weight"], m[f"fc{i}/bias"] = sd[f"mapping.fc{i}.weight"].T, sd[f"mapping.fc{i}.bias"]
        s["const"] = sd["synthesis.b4.const"].transpose(1, 2, 0)[None]
        for r in [2**i for i in range(2, int(math.log2(R)) + 1)]:
            layers = [("layer0", "conv1")] if r == 4 else [("layer0", "conv0"), ("layer1", "conv1")]
            for dst, src in layers + [("torgb", "torgb")]:
                p, q = f"block_{r}x{r}/{dst}", f"synthesis.b{r}.{src}"
                w = sd[q + ".weight"].transpose(2, 3, 1, 0)  # OIHW -> HWIO
                s[p + "/conv/weight"] = w[::-1, ::-1] if src == "conv0" else w  # TF flips up-conv kernels
                s[p + "/conv/bias"] = sd[q + ".bias"]
                s[p + "/affine/weight"], s[p + "/affine/bias"] = sd[q + ".affine.weight"].T, sd[q + ".affine.bias"] - 1
                if src != "torgb":
                    s[p + "/noise_strength"] = sd[q + ".noise_strength"]
                    s[p + "/noise_const"] = sd[q + ".noise_const"][None, :, :, None]
    convert(str(tmp_path / "stylegan2_generator_tiny.h5"), str(tmp_path / "out"))
    G, D = load_converted(str(tmp_path / "out"))
    assert D is None
    z = rng.standard_normal((4, Z)).astype(np.float32)
    want = ref_generator(t64(sd), torch.tensor(z, dtype=torch.float64))
    np.testing.assert_allclose(np_(G(z)), want.permute(0, 2, 3, 1).numpy(), atol=1e-4, rtol=0)
