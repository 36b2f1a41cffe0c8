"""Convert official StyleGAN2 weights into ganzoo's Keras `Generator` / `Discriminator`.

Sources (all read without running code from the file):

- NVIDIA stylegan2-ada-pytorch / stylegan3 network pickles (`.pkl`) through
  `safe_pickle` (architecture kwargs come from the recorded `_init_kwargs`);
- rosinality/stylegan2-pytorch checkpoints (`.pt`) via
  `torch.load(weights_only=True)`;
- flaxmodels' pickle-free HDF5 generator weights (`.h5`).

Every source is first renamed into NVIDIA's parameter names and layouts
(`mapping.fc0.weight`, `synthesis.b4.conv1.affine.bias`, `b4.fc.weight`, ...);
one table then maps those onto the Keras variables, checking names and shapes.

`convert_to_preset(src, out_dir, recipe=...)` wraps the networks in a
`ganzoo.models.StyleGAN2` and writes a complete preset folder (the
"stylegan2" converter in the registry, `ganzoo.convert.get_converter`); `convert` writes the
bare networks.

Example:
    >>> from ganzoo.convert.stylegan2 import convert_to_preset   # doctest: +SKIP
    >>> convert_to_preset("ffhq.pkl", "presets/stylegan2-ffhq", recipe="stylegan2-ffhq")   # doctest: +SKIP
"""

import json
import os
import re

import numpy as np

from ganzoo.convert.safe_pickle import PersistentObject, load_pickle, module_state_dict

CONFIG_FORMAT = "ganzoo-stylegan2-convert/1"


class LayoutError(ValueError):
    """The source weights do not match the StyleGAN2 layout ganzoo expects.

    Example:
        >>> str(LayoutError("missing keys: b4.fc.weight"))
        'missing keys: b4.fc.weight'
    """


# ----------------------------------------------------------------------------
# NVIDIA names -> Keras variables.


def _dense_t(a):
    return np.asarray(a).T


def _conv_t(a):
    return np.transpose(a, (2, 3, 1, 0))  # OIHW -> HWIO


def _same(a):
    return np.asarray(a)


def _dense_targets(prefix, layer):
    out = {f"{prefix}.weight": (layer.kernel, _dense_t)}
    if layer.bias is not None:
        out[f"{prefix}.bias"] = (layer.bias, _same)
    return out


def _conv_targets(prefix, layer):
    out = {f"{prefix}.weight": (layer.kernel, _conv_t)}
    if getattr(layer, "bias", None) is not None:
        out[f"{prefix}.bias"] = (layer.bias, _same)
    return out


def _mapping_targets(prefix, mapping):
    out = {}
    if mapping.embed is not None:
        out.update(_dense_targets(f"{prefix}.embed", mapping.embed))
    for i, fc in enumerate(mapping.fcs):
        out.update(_dense_targets(f"{prefix}.fc{i}", fc))
    if mapping.w_avg is not None:
        out[f"{prefix}.w_avg"] = (mapping.w_avg, _same)
    return out


def generator_targets(G):
    """`{nvidia_name: (keras_variable, transform)}` for a ganzoo StyleGAN2 `Generator`.

    Example:
        >>> from ganzoo.architectures.stylegan2 import Generator
        >>> G = Generator(z_dim=8, w_dim=8, img_resolution=32, synthesis_kwargs=dict(channel_base=64, channel_max=8))
        >>> "synthesis.b32.torgb.affine.weight" in generator_targets(G)
        True
    """
    out = _mapping_targets("mapping", G.mapping)
    for block in G.synthesis.blocks:
        p = f"synthesis.b{block.resolution}"
        if block.const is not None:
            out[f"{p}.const"] = (block.const.const, lambda a: np.transpose(a, (1, 2, 0)))
        for name in ("conv0", "conv1"):
            layer = getattr(block, name)
            if layer is None:
                continue
            if layer.style_mode != "modulated":
                raise LayoutError("only style_mode='modulated' generators have an official layout")
            out[f"{p}.{name}.weight"] = (layer.conv.kernel, _conv_t)
            out[f"{p}.{name}.bias"] = (layer.bias, _same)
            out.update(_dense_targets(f"{p}.{name}.affine", layer.affine))
            if layer.noise is not None:
                out[f"{p}.{name}.noise_strength"] = (layer.noise.noise_strength, lambda a: np.reshape(a, ()))
                out[f"{p}.{name}.noise_const"] = (layer.noise.noise_const, _same)
        if block.torgb is not None:
            out[f"{p}.torgb.weight"] = (block.torgb.conv.kernel, _conv_t)
            out[f"{p}.torgb.bias"] = (block.torgb.bias, _same)
            out.update(_dense_targets(f"{p}.torgb.affine", block.torgb.affine))
    return out


def discriminator_targets(D):
    """`{nvidia_name: (keras_variable, transform)}` for a ganzoo StyleGAN2 `Discriminator`.

    Example:
        >>> from ganzoo.architectures.stylegan2 import Discriminator
        >>> D = Discriminator(img_resolution=32, channel_base=64, channel_max=8)
        >>> sorted(k for k in discriminator_targets(D) if k.startswith("b4."))[:2]
        ['b4.conv.bias', 'b4.conv.weight']
    """
    out = {}
    for block in D.blocks:
        p = f"b{block.resolution}"
        for name in ("fromrgb", "conv0", "conv1", "skip"):
            layer = getattr(block, name)
            if layer is not None:
                out.update(_conv_targets(f"{p}.{name}", layer))
    if D.mapping is not None:
        out.update(_mapping_targets("mapping", D.mapping))
    head = D.b4
    c, r = head.in_channels, head.resolution
    out.update(_conv_targets("b4.conv", head.conv))
    # NVIDIA flattens NCHW, ganzoo flattens NHWC: reorder the fc input axis.
    out["b4.fc.weight"] = (
        head.fc.kernel,
        lambda a: np.transpose(np.reshape(a, (a.shape[0], c, r, r)), (2, 3, 1, 0)).reshape(r * r * c, a.shape[0]),
    )
    out["b4.fc.bias"] = (head.fc.bias, _same)
    out.update(_dense_targets("b4.out", head.out))
    return out


def _summarize(names, limit=12):
    names = sorted(names)
    more = f" ... (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def assign_state_dict(targets, state_dict, what, resample_filter=(1, 3, 3, 1)):
    """Copy an NVIDIA-named state dict into Keras variables, strictly.

    Raises `LayoutError` naming missing / unexpected keys and shape mismatches.
    `*.resample_filter` buffers are checked against the configured filter.

    Example:
        >>> assign_state_dict({}, {"x.weight": np.zeros(2)}, "G")   # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        LayoutError: G layout does not match: unexpected keys: x.weight
    """
    from ganzoo.layers.stylegan import setup_filter

    expected_filter = setup_filter(resample_filter)
    filters = {k for k in state_dict if k.endswith("resample_filter")}
    for name in sorted(filters):
        f = np.asarray(state_dict[name], np.float32)
        f2 = np.outer(f, f) if f.ndim == 1 else f
        f2 = f2 / f2.sum() if f2.size and f2.sum() else f2  # rosinality stores the upsampling one times 4
        if f2.shape != expected_filter.shape or not np.allclose(f2, expected_filter, atol=1e-6):
            raise LayoutError(f"{what}: {name} is {f.tolist()}, expected the filter {list(resample_filter)}")
    missing = set(targets) - set(state_dict)
    unexpected = set(state_dict) - set(targets) - filters
    problems = []
    if missing:
        problems.append(f"missing keys: {_summarize(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_summarize(unexpected)}")
    values = {}
    for name, (variable, transform) in targets.items():
        if name in missing:
            continue
        value = np.asarray(transform(np.asarray(state_dict[name], np.float32)), np.float32)
        if tuple(value.shape) != tuple(variable.shape):
            problems.append(f"{name}: shape {tuple(np.shape(state_dict[name]))} does not fit {tuple(variable.shape)}")
        values[name] = value
    if problems:
        raise LayoutError(f"{what} layout does not match: " + "; ".join(problems))
    for name, (variable, _) in targets.items():
        variable.assign(values[name])


# ----------------------------------------------------------------------------
# Architecture kwargs: read from NVIDIA's `_init_kwargs`, else inferred from shapes.

_MAPPING_KEYS = {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier", "w_avg_beta"}
_SYNTHESIS_KEYS = {"channel_base", "channel_max", "conv_clamp", "architecture", "resample_filter", "use_noise",
                   "activation"}
# Performance-only options (fp16, memory format, fused conv) and Freeze-D do not change the math.
_IGNORED_KEYS = {"num_fp16_res", "fp16_channels_last", "channels_last", "freeze_layers", "class_name",
                 "fused_modconv_default"}


def _pick(kwargs, allowed, what):
    unknown = set(kwargs) - allowed - _IGNORED_KEYS
    if unknown:
        raise LayoutError(f"{what}: unsupported architecture options {sorted(unknown)}")
    return {k: v for k, v in kwargs.items() if k in allowed}


def generator_kwargs_from_nvidia(init_kwargs):
    """Translate a stylegan2-ada `Generator` `_init_kwargs` into ganzoo `Generator` kwargs.

    stylegan3's `networks_stylegan2.Generator` takes the synthesis options at
    the top level instead of in `synthesis_kwargs`; both spellings are read.

    Example:
        >>> generator_kwargs_from_nvidia(dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3,
        ...     synthesis_kwargs=dict(channel_base=16384, num_fp16_res=4)))["synthesis_kwargs"]
        {'channel_base': 16384}
    """
    kw = dict(init_kwargs)
    out = {k: kw.pop(k) for k in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels") if k in kw}
    out["mapping_kwargs"] = _pick(dict(kw.pop("mapping_kwargs", {}) or {}), _MAPPING_KEYS, "G mapping_kwargs")
    synthesis = dict(kw.pop("synthesis_kwargs", {}) or {})
    synthesis.update({k: kw.pop(k) for k in list(kw) if k in _SYNTHESIS_KEYS | _IGNORED_KEYS})
    out["synthesis_kwargs"] = _pick(synthesis, _SYNTHESIS_KEYS, "G synthesis_kwargs")
    kw.pop("epochs", None)  # some forks record a training counter here
    _pick(kw, set(), "G kwargs")
    return out


def discriminator_kwargs_from_nvidia(init_kwargs):
    """Translate a stylegan2-ada `Discriminator` `_init_kwargs` into ganzoo kwargs.

    Example:
        >>> discriminator_kwargs_from_nvidia(dict(c_dim=0, img_resolution=256, img_channels=3,
        ...     epilogue_kwargs=dict(mbstd_group_size=8)))["mbstd_group_size"]
        8
    """
    kw = dict(init_kwargs)
    block = dict(kw.pop("block_kwargs", {}) or {})
    epilogue = dict(kw.pop("epilogue_kwargs", {}) or {})
    mapping = _pick(dict(kw.pop("mapping_kwargs", {}) or {}), _MAPPING_KEYS, "D mapping_kwargs")
    out = _pick(kw, {"c_dim", "img_resolution", "img_channels", "architecture", "channel_base", "channel_max",
                     "conv_clamp", "cmap_dim"}, "D kwargs")
    out.update(_pick(block, {"activation", "resample_filter"}, "D block_kwargs"))
    epi = _pick(epilogue, {"mbstd_group_size", "mbstd_num_channels", "activation"}, "D epilogue_kwargs")
    if "activation" in epi and epi.pop("activation") != out.get("activation", "lrelu"):
        raise LayoutError("D: different activations in blocks and epilogue are not supported")
    out.update(epi)
    if mapping:
        out["mapping_kwargs"] = mapping
    return out


def _shape(sd, name):
    if name not in sd:
        raise LayoutError(f"cannot infer the architecture: no {name} in the weights")
    return np.shape(sd[name])


def _channel_schedule(channels):
    """channel_base / channel_max reproducing `{res: ch}` under min(base // res, max)."""
    channel_max = max(channels.values())
    channel_base = max(c * r for r, c in channels.items())
    if any(min(channel_base // r, channel_max) != c for r, c in channels.items()):
        raise LayoutError(f"channel counts {channels} do not follow min(channel_base / res, channel_max)")
    return channel_base, channel_max


def infer_generator_kwargs(sd):
    """Generator kwargs from an NVIDIA-named state dict's shapes (no `_init_kwargs`).

    Example:
        >>> infer_generator_kwargs({})   # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        LayoutError: no mapping.fc0.weight in the generator weights
    """
    if "mapping.fc0.weight" not in sd:
        raise LayoutError("no mapping.fc0.weight in the generator weights")
    num_layers = len([k for k in sd if re.fullmatch(r"mapping\.fc\d+\.weight", k)])
    w_dim = _shape(sd, f"mapping.fc{num_layers - 1}.weight")[0]
    embed = _shape(sd, "mapping.embed.weight") if "mapping.embed.weight" in sd else (0, 0)
    res = sorted({int(m.group(1)) for k in sd for m in [re.match(r"synthesis\.b(\d+)\.", k)] if m})
    if not res:
        raise LayoutError("no synthesis.b<res>.* weights in the generator")
    channels = {r: _shape(sd, f"synthesis.b{r}.conv1.weight")[0] for r in res}
    channel_base, channel_max = _channel_schedule(channels)
    mapping = dict(num_layers=num_layers)
    if embed[0] and embed[0] != w_dim:
        mapping["embed_features"] = int(embed[0])
    if num_layers > 1 and _shape(sd, "mapping.fc0.weight")[0] != w_dim:
        mapping["layer_features"] = int(_shape(sd, "mapping.fc0.weight")[0])
    synthesis = dict(channel_base=channel_base, channel_max=channel_max)
    if any(f"synthesis.b{r}.torgb.weight" not in sd for r in res):
        synthesis["architecture"] = "orig"
    if f"synthesis.b{res[0]}.conv1.noise_strength" not in sd:
        synthesis["use_noise"] = False
    return dict(
        z_dim=int(_shape(sd, "mapping.fc0.weight")[1] - embed[0]), c_dim=int(embed[1]), w_dim=int(w_dim),
        img_resolution=res[-1], img_channels=int(_shape(sd, f"synthesis.b{res[-1]}.torgb.weight")[0]),
        mapping_kwargs=mapping, synthesis_kwargs=synthesis,
    )


def infer_discriminator_kwargs(sd, mbstd_group_size=4):
    """Discriminator kwargs from an NVIDIA-named state dict's shapes.

    Example:
        >>> infer_discriminator_kwargs({})   # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        LayoutError: no b<res>.fromrgb.weight in the discriminator weights
    """
    res = sorted({int(m.group(1)) for k in sd for m in [re.fullmatch(r"b(\d+)\.fromrgb\.weight", k)] if m})
    if not res:
        raise LayoutError("no b<res>.fromrgb.weight in the discriminator weights")
    top = res[-1]
    blocks = sorted({int(m.group(1)) for k in sd for m in [re.match(r"b(\d+)\.conv0\.", k)] if m})
    channels = {r: _shape(sd, f"b{r}.conv0.weight")[0] for r in blocks}
    channels[4] = _shape(sd, "b4.conv.weight")[0]
    channel_base, channel_max = _channel_schedule(channels)
    out = dict(
        c_dim=int(_shape(sd, "mapping.embed.weight")[1]) if "mapping.embed.weight" in sd else 0,
        img_resolution=top, img_channels=int(_shape(sd, f"b{top}.fromrgb.weight")[1]),
        architecture="resnet" if f"b{top}.skip.weight" in sd else "orig",
        channel_base=channel_base, channel_max=channel_max, mbstd_group_size=mbstd_group_size,
        mbstd_num_channels=int(_shape(sd, "b4.conv.weight")[1] - channels[4]),
    )
    if out["c_dim"]:
        out["cmap_dim"] = int(_shape(sd, "b4.out.weight")[0])
        out["mapping_kwargs"] = dict(num_layers=len([k for k in sd if re.fullmatch(r"mapping\.fc\d+\.weight", k)]))
    return out


# ----------------------------------------------------------------------------
# Readers: each returns {"G": (state_dict, kwargs), "D": (state_dict, kwargs) | None, ...}.


def read_nvidia_pkl(path):
    """Read G_ema (and D) from an NVIDIA stylegan2-ada / stylegan3 pickle, safely.

    Example:
        >>> read_nvidia_pkl("network-snapshot.pkl")["G"][1]["img_resolution"]   # doctest: +SKIP
        1024
    """
    data = load_pickle(path)
    if not isinstance(data, dict) or not isinstance(data.get("G_ema"), PersistentObject):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise LayoutError(f"expected a dict with a 'G_ema' network (stylegan2-ada pickle), found {found}")
    out = {"format": "nvidia-pkl"}
    for key, net, kind in (("G", data["G_ema"], "Generator"), ("D", data.get("D"), "Discriminator")):
        if net is None:
            out[key] = None
            continue
        if not isinstance(net, PersistentObject) or net.class_name != kind:
            name = getattr(net, "class_name", type(net).__name__)
            raise LayoutError(f"expected a StyleGAN2 {kind} under {'G_ema' if key == 'G' else 'D'}, found {name}")
        sd = module_state_dict(net)
        init = net.init_kwargs
        if key == "G":
            kwargs = generator_kwargs_from_nvidia(init) if init else infer_generator_kwargs(sd)
        else:
            kwargs = discriminator_kwargs_from_nvidia(init) if init else infer_discriminator_kwargs(sd)
        out[key] = (sd, kwargs)
    return out


def _rosinality_g_to_nvidia(g):
    sd, blocks = {}, {}
    num_convs = len({int(m.group(1)) for k in g for m in [re.match(r"convs\.(\d+)\.", k)] if m})
    res_of = {i: 2 ** (3 + i // 2) for i in range(num_convs)}
    for k, v in g.items():
        v = np.asarray(v, np.float32)
        if m := re.fullmatch(r"style\.(\d+)\.(weight|bias)", k):
            sd[f"mapping.fc{int(m.group(1)) - 1}.{m.group(2)}"] = v
        elif k == "input.input":
            sd["synthesis.b4.const"] = v[0]
        elif m := re.fullmatch(r"(conv1|convs\.(\d+))\.(.+)", k):
            name = "synthesis.b4.conv1" if m.group(1) == "conv1" else (
                f"synthesis.b{res_of[int(m.group(2))]}.conv{int(m.group(2)) % 2}")
            rest = m.group(3)
            blocks[(name, rest)] = v
        elif m := re.fullmatch(r"(to_rgb1|to_rgbs\.(\d+))\.(.+)", k):
            name = "synthesis.b4.torgb" if m.group(1) == "to_rgb1" else f"synthesis.b{2 ** (3 + int(m.group(2)))}.torgb"
            blocks[(name, m.group(3))] = v
        elif m := re.fullmatch(r"noises\.noise_(\d+)", k):
            i = int(m.group(1))
            name = "synthesis.b4.conv1" if i == 0 else f"synthesis.b{res_of[i - 1]}.conv{(i - 1) % 2}"
            sd[f"{name}.noise_const"] = v[0, 0]
        else:
            sd[f"<rosinality>.{k}"] = v  # reported as unexpected
    for (name, rest), v in blocks.items():
        if rest == "conv.weight":
            sd[f"{name}.weight"] = v[0]
        elif rest in ("conv.modulation.weight", "conv.modulation.bias"):
            sd[f"{name}.affine.{rest.rsplit('.', 1)[1]}"] = v
        elif rest == "noise.weight":
            sd[f"{name}.noise_strength"] = v.reshape(())
        elif rest in ("activate.bias", "bias"):
            sd[f"{name}.bias"] = v.reshape(-1)
        elif rest in ("conv.blur.kernel", "upsample.kernel"):
            sd[f"{name}.resample_filter"] = v  # FIR filter (times up^2); checked, not copied
        else:
            sd[f"{name}.<rosinality>.{rest}"] = v
    return sd


def _rosinality_d_to_nvidia(d):
    sd = {}
    n = len({int(m.group(1)) for k in d for m in [re.match(r"convs\.(\d+)\.", k)] if m})
    size = 2 ** (n + 1)  # convs.0 is fromRGB, then one ResBlock per resolution down to 8
    renames = {
        "conv1.0.weight": "conv0.weight", "conv1.1.bias": "conv0.bias", "conv2.1.weight": "conv1.weight",
        "conv2.2.bias": "conv1.bias", "skip.1.weight": "skip.weight", "conv2.0.kernel": "conv1.resample_filter",
        "skip.0.kernel": "skip.resample_filter",
    }
    for k, v in d.items():
        v = np.asarray(v, np.float32)
        if k == "convs.0.0.weight":
            sd[f"b{size}.fromrgb.weight"] = v
        elif k == "convs.0.1.bias":
            sd[f"b{size}.fromrgb.bias"] = v
        elif (m := re.fullmatch(r"convs\.(\d+)\.(.+)", k)) and m.group(2) in renames:
            sd[f"b{size // 2 ** (int(m.group(1)) - 1)}.{renames[m.group(2)]}"] = v
        elif k in ("final_conv.0.weight", "final_conv.1.bias"):
            sd[f"b4.conv.{k.rsplit('.', 1)[1]}"] = v
        elif m := re.fullmatch(r"final_linear\.([01])\.(weight|bias)", k):
            sd[f"b4.{'fc' if m.group(1) == '0' else 'out'}.{m.group(2)}"] = v
        else:
            sd[f"<rosinality>.{k}"] = v
    return sd


def read_rosinality_pt(path):
    """Read a rosinality/stylegan2-pytorch checkpoint with `torch.load(weights_only=True)`.

    Uses `g_ema` (and `d`), and `latent_avg` as `w_avg` when the file has it.

    Example:
        >>> read_rosinality_pt("550000.pt")["G"][1]["img_resolution"]   # doctest: +SKIP
        256
    """
    try:
        import torch
    except ImportError as e:  # pragma: no cover - torch is an optional extra
        raise ImportError("reading rosinality .pt checkpoints needs PyTorch: pip install torch") from e
    import argparse

    # Training checkpoints also store their argparse.Namespace, a plain attribute bag.
    with torch.serialization.safe_globals([argparse.Namespace]):
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "g_ema" not in ckpt:
        found = sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise LayoutError(f"expected a rosinality checkpoint with 'g_ema', found {found}")
    g = _rosinality_g_to_nvidia({k: v.numpy() for k, v in ckpt["g_ema"].items()})
    has_w_avg = "latent_avg" in ckpt
    if has_w_avg:
        g["mapping.w_avg"] = np.asarray(ckpt["latent_avg"], np.float32).reshape(-1)
    out = {"format": "rosinality-pt", "G": (g, infer_generator_kwargs(g)), "D": None, "w_avg_missing": not has_w_avg}
    if "d" in ckpt:
        d = _rosinality_d_to_nvidia({k: v.numpy() for k, v in ckpt["d"].items()})
        out["D"] = (d, infer_discriminator_kwargs(d, mbstd_group_size=4))
    return out


def read_flaxmodels_h5(path, mapping_lr_multiplier=0.01):
    """Read flaxmodels' StyleGAN2 generator HDF5 (`stylegan2_generator_<dataset>.h5`).

    flaxmodels keeps TensorFlow's conventions: dense kernels (in, out), conv
    kernels HWIO, the up-conv kernel flipped, affine biases without their +1,
    noise maps (1, H, W, 1), and a label embedding run at the mapping lr
    multiplier (folded into the weights here).

    Example:
        >>> read_flaxmodels_h5("stylegan2_generator_ffhq.h5")["G"][1]["img_resolution"]   # doctest: +SKIP
        1024
    """
    import h5py

    sd = {}
    with h5py.File(path, "r") as f:
        if "mapping_network" not in f or "synthesis_network" not in f:
            raise LayoutError(f"expected groups mapping_network and synthesis_network, found {sorted(f)}")
        mapping, synthesis = f["mapping_network"], f["synthesis_network"]
        for name in mapping:
            if name == "w_avg":
                sd["mapping.w_avg"] = np.asarray(mapping[name], np.float32)
            elif m := re.fullmatch(r"fc(\d+)", name):
                sd[f"mapping.fc{m.group(1)}.weight"] = np.asarray(mapping[name]["weight"], np.float32).T
                sd[f"mapping.fc{m.group(1)}.bias"] = np.asarray(mapping[name]["bias"], np.float32)
            elif name == "label_embedding":
                lr = mapping_lr_multiplier
                sd["mapping.embed.weight"] = lr * np.asarray(mapping[name]["weight"], np.float32).T
                sd["mapping.embed.bias"] = lr * np.asarray(mapping[name]["bias"], np.float32)
            else:
                sd[f"<flaxmodels>.mapping_network.{name}"] = np.zeros(())
        for name in synthesis:
            if name == "const":
                sd["synthesis.b4.const"] = np.transpose(np.asarray(synthesis[name], np.float32)[0], (2, 0, 1))
                continue
            m = re.fullmatch(r"block_(\d+)x\1", name)
            if not m:
                sd[f"<flaxmodels>.synthesis_network.{name}"] = np.zeros(())
                continue
            r = int(m.group(1))
            block = synthesis[name]
            for sub in block:
                g = block[sub]
                if sub == "torgb":
                    p = f"synthesis.b{r}.torgb"
                    sd[f"{p}.weight"] = np.transpose(np.asarray(g["conv"]["weight"], np.float32), (3, 2, 0, 1))
                    sd[f"{p}.bias"] = np.asarray(g["conv"]["bias"], np.float32)
                elif lm := re.fullmatch(r"layer(\d)", sub):
                    i = int(lm.group(1))
                    up = r > 4 and i == 0
                    p = f"synthesis.b{r}.conv{1 if r == 4 else i}"
                    w = np.asarray(g["conv"]["weight"], np.float32)
                    w = w[::-1, ::-1] if up else w  # TF-style up-conv kernels are stored flipped
                    sd[f"{p}.weight"] = np.ascontiguousarray(np.transpose(w, (3, 2, 0, 1)))
                    sd[f"{p}.bias"] = np.asarray(g["conv"]["bias"], np.float32)
                    sd[f"{p}.noise_strength"] = np.asarray(g["noise_strength"], np.float32).reshape(())
                    sd[f"{p}.noise_const"] = np.asarray(g["noise_const"], np.float32)[0, :, :, 0]
                else:
                    sd[f"<flaxmodels>.{name}.{sub}"] = np.zeros(())
                    continue
                sd[f"{p}.affine.weight"] = np.asarray(g["affine"]["weight"], np.float32).T
                sd[f"{p}.affine.bias"] = np.asarray(g["affine"]["bias"], np.float32) + 1.0
    return {"format": "flaxmodels-h5", "G": (sd, infer_generator_kwargs(sd)), "D": None}


def read_source(path):
    """Read any supported source by its extension (.pkl, .pt/.pth, .h5).

    Example:
        >>> read_source("weights.bin")   # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: unsupported source 'weights.bin': expected .pkl (NVIDIA), .pt/.pth (rosinality) or .h5 (flaxmodels)
    """
    ext = os.path.splitext(str(path))[1].lower()
    readers = {".pkl": read_nvidia_pkl, ".pt": read_rosinality_pt, ".pth": read_rosinality_pt,
               ".h5": read_flaxmodels_h5, ".hdf5": read_flaxmodels_h5}
    if ext not in readers:
        raise ValueError(
            f"unsupported source {str(path)!r}: expected .pkl (NVIDIA), .pt/.pth (rosinality) or .h5 (flaxmodels)"
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path}")
    return readers[ext](path)


# ----------------------------------------------------------------------------
# Build + assign + save.


def build_generator(state_dict, kwargs):
    """Build a ganzoo `Generator` from kwargs and load an NVIDIA-named state dict into it.

    Example:
        >>> G = build_generator(sd, kwargs)   # doctest: +SKIP
    """
    from ganzoo.architectures.stylegan2 import Generator

    G = Generator(**kwargs)
    f = G.synthesis_kwargs.get("resample_filter", (1, 3, 3, 1))
    assign_state_dict(generator_targets(G), state_dict, "generator (G_ema)", resample_filter=f)
    return G


def build_discriminator(state_dict, kwargs):
    """Build a ganzoo `Discriminator` and load an NVIDIA-named state dict into it.

    Example:
        >>> D = build_discriminator(sd, kwargs)   # doctest: +SKIP
    """
    from ganzoo.architectures.stylegan2 import Discriminator

    D = Discriminator(**kwargs)
    assign_state_dict(discriminator_targets(D), state_dict, "discriminator (D)", resample_filter=D.resample_filter)
    return D


def _estimate_w_avg(G, num_samples=10000, seed=0):
    from keras import ops

    z = np.random.default_rng(seed).standard_normal((num_samples, G.z_dim)).astype(np.float32)
    c = None
    if G.c_dim:
        c = np.eye(G.c_dim, dtype=np.float32)[np.arange(num_samples) % G.c_dim]
    ws = G.mapping(z, c, update_w_avg=False)
    G.mapping.w_avg.assign(ops.mean(ws[:, 0], axis=0))


def _registered(model):
    import keras

    return keras.saving.get_registered_name(type(model))


def convert(src, out_dir):
    """Convert `src` into `out_dir/{generator,discriminator}.weights.h5` + `config.json`.

    `config.json` holds each network's registered class name and `get_config()`
    (the architecture kwargs) plus where the weights came from. When a source
    lacks `w_avg` (rosinality checkpoints without `latent_avg`) it is estimated
    from 10,000 mapped z and marked so in the config.

    Example:
        >>> convert("stylegan2-ffhq-1024x1024.pkl", "out/ffhq")   # doctest: +SKIP
        {'config': 'out/ffhq/config.json', 'generator': 'out/ffhq/generator.weights.h5', ...}
    """
    source = read_source(src)
    os.makedirs(out_dir, exist_ok=True)
    G = build_generator(*source["G"])
    info = {"path": os.path.basename(str(src)), "format": source["format"]}
    if source.get("w_avg_missing"):
        _estimate_w_avg(G)
        info["w_avg"] = "estimated from 10000 mapped z (seed 0): the source has no latent_avg"
    paths = {"generator": os.path.join(out_dir, "generator.weights.h5")}
    G.save_weights(paths["generator"])
    config = {"format": CONFIG_FORMAT, "source": info,
              "generator": {"class_name": _registered(G), "config": G.get_config()}}
    if source.get("D") is not None:
        D = build_discriminator(*source["D"])
        paths["discriminator"] = os.path.join(out_dir, "discriminator.weights.h5")
        D.save_weights(paths["discriminator"])
        config["discriminator"] = {"class_name": _registered(D), "config": D.get_config()}
    paths["config"] = os.path.join(out_dir, "config.json")
    with open(paths["config"], "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    return paths


def load_converted(out_dir):
    """Rebuild `(G, D)` from a `convert()` output folder (D is None when absent).

    Example:
        >>> G, D = load_converted("out/ffhq")   # doctest: +SKIP
    """
    from ganzoo.architectures.stylegan2 import Discriminator, Generator

    with open(os.path.join(out_dir, "config.json")) as f:
        config = json.load(f)
    if config.get("format") != CONFIG_FORMAT:
        raise ValueError(f"{out_dir}/config.json is not a {CONFIG_FORMAT} file")
    G = Generator.from_config(config["generator"]["config"])
    G.load_weights(os.path.join(out_dir, "generator.weights.h5"))
    D = None
    if "discriminator" in config:
        D = Discriminator.from_config(config["discriminator"]["config"])
        D.load_weights(os.path.join(out_dir, "discriminator.weights.h5"))
    return G, D


# ----------------------------------------------------------------------------
# Official file -> complete ganzoo preset folder (what `ganzoo.load` reads).

DEFAULT_LICENSE = "other"


def _recipe_resolution(recipe):
    for section, key in (("data", "resolution"), ("model.generator", "resolution")):
        node = recipe
        for part in section.split("."):
            node = (node or {}).get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(key) is not None:
            return int(node[key])
    return None


def _source_entry(recipe):
    for entry in ((recipe or {}).get("weights") or {}).get("sources") or []:
        if isinstance(entry, dict) and entry.get("converter") == "stylegan2":
            return entry
    return {}


def _matching_discriminator(G, recipe):
    """A randomly initialised D for sources that ship only G (flaxmodels)."""
    from ganzoo.architectures.stylegan2 import Discriminator, stylegan2_discriminator

    spec = dict(((recipe or {}).get("model") or {}).get("discriminator") or {})
    if spec.get("builder") == "stylegan2_discriminator":
        spec.pop("builder")
        return stylegan2_discriminator(**spec)
    synth = G.synthesis_kwargs
    return Discriminator(
        c_dim=G.c_dim, img_resolution=G.img_resolution, img_channels=G.img_channels,
        channel_base=synth.get("channel_base", 32768), channel_max=synth.get("channel_max", 512),
        conv_clamp=synth.get("conv_clamp"), name="discriminator",
    )


def convert_to_preset(src_path, out_dir, *, recipe=None, license=None, source=None, num_samples=16):
    """Convert an official StyleGAN2 file into a ganzoo preset folder; return its path.

    `src_path` is an NVIDIA stylegan2-ada `.pkl`, a rosinality `.pt` or a
    flaxmodels `.h5` (read without running code from the file). The folder
    holds a `ganzoo.models.StyleGAN2` whose generator and EMA are the
    source's G_ema (D from the source when it has one, else randomly
    initialised and marked so in the metadata): config.json,
    model.weights.h5, metadata.json (source, license), README.md and
    samples.png. Load it with `ganzoo.presets.load_preset(out_dir)`.

    Args:
        recipe: the preset's recipe (dict or name). Its resolution must match
            the weights; its `weights.sources` entry with `converter:
            stylegan2` gives the license and upstream address.
        license, source: override the recorded license / source text.
        num_samples: images in samples.png (truncation 0.7, seed 0).

    Example:
        >>> convert_to_preset("ffhq.pkl", "presets/stylegan2-ffhq", recipe="stylegan2-ffhq")   # doctest: +SKIP
        'presets/stylegan2-ffhq'
    """
    from ganzoo import recipes as recipes_lib
    from ganzoo.models.stylegan2 import StyleGAN2
    from ganzoo.presets import save_preset

    if recipe is not None and not isinstance(recipe, dict):
        recipe = recipes_lib.get(recipe)
    data = read_source(src_path)
    G = build_generator(*data["G"])
    if recipe is not None:
        want = _recipe_resolution(recipe)
        if want is not None and want != G.img_resolution:
            raise ValueError(
                f"{src_path} holds a {G.img_resolution}x{G.img_resolution} generator but the recipe "
                f"{recipe.get('name')!r} is for {want}x{want}; pick the matching file or recipe."
            )
    notes = []
    if data.get("w_avg_missing"):
        _estimate_w_avg(G)
        notes.append("w_avg estimated from 10000 mapped z (seed 0): the source has no latent_avg")
    if data.get("D") is not None:
        D = build_discriminator(*data["D"])
    else:
        D = _matching_discriminator(G, recipe)
        notes.append("discriminator: not in the source, randomly initialised (fine-tuning starts D from scratch)")
    extra = dict((((recipe or {}).get("model") or {}).get("extra") or {}))
    model = ((recipe or {}).get("model") or {})
    gan = StyleGAN2(G, D, penalties=model.get("penalties"), **extra)
    entry = _source_entry(recipe)
    upstream = entry.get("url") or (f"hf://{entry['hub']}/{entry.get('filename', '')}" if entry.get("hub") else None)
    source_text = source or (
        f"converted with ganzoo.convert.stylegan2 from {os.path.basename(str(src_path))} ({data['format']})"
        + (f"; upstream: {upstream}" if upstream else "")
        + (f"; {'; '.join(notes)}" if notes else "")
    )
    license = license or entry.get("license") or (recipe or {}).get("license") or DEFAULT_LICENSE
    metrics = {}
    published = ((recipe or {}).get("eval") or {}).get("published")
    if isinstance(published, dict):
        for key, value in published.items():
            if isinstance(value, dict) and value.get("value") is not None:
                metrics[key] = value
    path = save_preset(gan, out_dir, recipe=recipe, metrics=metrics, license=license, source=source_text,
                       samples=False)
    _write_samples(gan, os.path.join(path, "samples.png"), num_samples)
    return path


def _write_samples(gan, path, n):
    from ganzoo.utils.images import make_grid, save_png, to_uint8

    save_png(path, make_grid(to_uint8(gan.generate(int(n), seed=0, truncation=0.7, batch_size=4))))
