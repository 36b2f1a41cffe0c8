"""Convert the generators published with junyanz/pytorch-CycleGAN-and-pix2pix into ganzoo presets.

The published files (`http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/<name>.pth`,
`http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/<name>.pth`) are PyTorch state dicts of
one generator. They are read with `torch.load(weights_only=True)` (no code from
the file runs), and the architecture is inferred from the keys and shapes alone:

* ResNet (`ResnetGenerator`: keys `model.N.weight`, `model.N.conv_block.M.weight`):
  the number of residual blocks, `ngf`, input/output channels, dropout
  inside the blocks (the second conv at `conv_block.6` instead of `.5`);
* U-Net (`UnetGenerator`: nested `model.model.1.model.3.model...` blocks):
  the depth, `ngf`, input/output channels;
* the norm: BatchNorm layers have `weight`/`bias` and running statistics;
  instance norm (no affine) has no parameters. Checkpoints written by old
  PyTorch versions carry `running_mean`/`running_var` for instance norm too:
  those keys are ignored (the reference's own loader deletes them).

Any other layout is an error that lists the missing and unexpected keys.
The preset holds the family's model, one way ("a2b"): a `Pix2Pix` for a
U-Net file (with a freshly initialised conditional 70x70 PatchGAN) or a
one-way `CycleGAN` for a ResNet file (G_A with a fresh PatchGAN as D_B; no
F, no D_A). The authors publish generators only, so the discriminator's
weights are random: `translate` never uses it (only G runs), and it is there
so the preset is a complete model of its family (fine-tuning a Pix2Pix
preset starts D from scratch; a one-way CycleGAN does not train). Run `tools/convert_pix2pix.py SRC.pth OUT_DIR`, or let a
registry recipe convert its weight source on first load.

Example:
    >>> from ganzoo.models.pix2pix.convert import convert_to_preset
    >>> convert_to_preset("horse2zebra.pth", "presets/cyclegan-horse2zebra")   # doctest: +SKIP
    >>> ganzoo.load("presets/cyclegan-horse2zebra").translate(horses)          # doctest: +SKIP
"""

import os
import re

import numpy as np

# junyanz/pytorch-CycleGAN-and-pix2pix LICENSE: the 2-clause BSD text ("Copyright (c) 2017, Jun-Yan Zhu and
# Taesung Park"; it repeats the BSD notices of pix2pix and of DCGAN, whose code it adapted), for code and models.
LICENSE = "BSD-2-Clause"
LICENSE_URL = "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix/blob/master/LICENSE"
_STATS = ("running_mean", "running_var", "num_batches_tracked")


class LayoutError(ValueError):
    """A state dict that is not a published CycleGAN/pix2pix generator layout."""


def read_state_dict(path):
    """The checkpoint's tensors as `{key: float32 numpy array}` (`torch.load(weights_only=True)`).

    A `module.` prefix (saved from `DataParallel`) is removed.

    Example:
        >>> sd = read_state_dict("horse2zebra.pth")            # doctest: +SKIP
    """
    import torch

    try:
        raw = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001  (torch raises pickle / runtime errors of several kinds)
        raise LayoutError(f"{path} is not a PyTorch state dict readable with weights_only=True: "
                          f"{type(e).__name__}: {' '.join(str(e).split())[:200]}") from None
    if isinstance(raw, dict) and "state_dict" in raw and isinstance(raw["state_dict"], dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict) or not raw:
        raise LayoutError(f"{path} holds a {type(raw).__name__}, not a generator state dict.")
    out = {}
    for key, value in raw.items():
        if not hasattr(value, "detach"):
            raise LayoutError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor.")
        key = key[len("module."):] if key.startswith("module.") else key
        out[key] = value.detach().cpu().numpy()
    return out


def _is_batch_norm(sd, prefix):
    return f"{prefix}.weight" in sd and f"{prefix}.running_mean" in sd


def _index_keys(sd, prefix):
    found = set()
    for key in sd:
        m = re.match(re.escape(prefix) + r"(\d+)\.", key)
        if m:
            found.add(int(m.group(1)))
    return sorted(found)


def _conv(prefix, bias):
    return [f"{prefix}.weight"] + ([f"{prefix}.bias"] if bias else [])


def _norm(prefix, norm):
    return [f"{prefix}.{k}" for k in ("weight", "bias", "running_mean", "running_var")] if norm == "batch" else []


def _layout_error(path, arch, missing, unexpected):
    def show(keys):
        keys = sorted(keys)
        return ", ".join(keys[:8]) + (f" (+{len(keys) - 8} more)" if len(keys) > 8 else "") if keys else "none"

    return LayoutError(
        f"{path}: not a published CycleGAN/pix2pix {arch} generator layout; missing keys: {show(missing)}; "
        f"unexpected keys: {show(unexpected)}."
    )


def _resnet(sd):
    blocks = sorted({int(m.group(1)) for k in sd for m in [re.match(r"model\.(\d+)\.conv_block\.", k)] if m})
    n = len(blocks)
    if blocks != list(range(10, 10 + n)):
        return None, f"residual blocks at model.{blocks} (expected consecutive from model.10)"
    w = sd.get("model.1.weight")
    if w is None or w.ndim != 4 or w.shape[2:] != (7, 7):
        return None, "no 7x7 stem conv at model.1"
    ngf, in_channels = int(w.shape[0]), int(w.shape[1])
    norm = "batch" if _is_batch_norm(sd, "model.2") else "instance"
    dropout = n > 0 and "model.10.conv_block.6.weight" in sd and "model.10.conv_block.5.weight" not in sd
    out = sd.get(f"model.{17 + n}.weight")
    out_channels = int(out.shape[0]) if out is not None and out.ndim == 4 else 3
    arch = dict(kind="resnet", n_blocks=n, ngf=ngf, in_channels=in_channels, out_channels=out_channels,
                norm=norm, dropout=0.5 if dropout else 0.0)
    bias = norm != "batch"
    expected, mapping = {}, {}

    def add(name, conv_prefix, norm_prefix=None, conv_bias=bias, transpose=False):
        keys = _conv(conv_prefix, conv_bias)
        mapping[f"{name}_conv"] = ("conv_t" if transpose else "conv", keys)
        if norm_prefix is not None:
            nkeys = _norm(norm_prefix, norm)
            if nkeys:
                mapping[f"{name}_norm"] = ("bn", nkeys)
            keys = keys + nkeys
        expected.update(dict.fromkeys(keys))

    add("stem", "model.1", "model.2")
    add("down1", "model.4", "model.5")
    add("down2", "model.7", "model.8")
    c2 = 6 if dropout else 5
    for b in range(n):
        add(f"res{b}_1", f"model.{10 + b}.conv_block.1", f"model.{10 + b}.conv_block.2")
        add(f"res{b}_2", f"model.{10 + b}.conv_block.{c2}", f"model.{10 + b}.conv_block.{c2 + 1}")
    add("up1", f"model.{10 + n}", f"model.{11 + n}", transpose=True)
    add("up2", f"model.{13 + n}", f"model.{14 + n}", transpose=True)
    add("out", f"model.{17 + n}", conv_bias=True)
    return (arch, list(expected), mapping), None


def _unet(sd):
    prefixes, p = ["model.model."], "model.model."
    while True:
        nxt = p + ("1" if len(prefixes) == 1 else "3") + ".model."
        if not any(k.startswith(nxt) for k in sd):
            break
        prefixes.append(nxt)
        p = nxt
    depth = len(prefixes)
    if depth < 2:
        return None, "no nested U-Net blocks under model.model.1.model"
    w = sd.get("model.model.0.weight")
    up = sd.get("model.model.3.weight")
    if w is None or up is None or w.ndim != 4 or up.ndim != 4:
        return None, "no outermost down/up convs at model.model.0 / model.model.3"
    ngf, in_channels, out_channels = int(w.shape[0]), int(w.shape[1]), int(up.shape[1])
    norm = "batch" if depth > 2 and _is_batch_norm(sd, prefixes[1] + "2") else (
        "batch" if depth == 2 and _is_batch_norm(sd, prefixes[1] + "4") else "instance")
    bias = norm != "batch"
    arch = dict(kind="unet", depth=depth, ngf=ngf, in_channels=in_channels, out_channels=out_channels, norm=norm)
    expected, mapping = {}, {}
    for i, p in enumerate(prefixes):
        outer, inner = i == 0, i == depth - 1
        down = p + ("0" if outer else "1")
        upc = p + ("3" if outer or inner else "5")
        items = [(f"enc{i}_conv", "conv", _conv(down, bias))]
        if outer:
            items.append((f"dec{i}_conv", "conv_t", _conv(upc, True)))
        else:
            if not inner and norm == "batch":
                items.append((f"enc{i}_norm", "bn", _norm(p + "2", norm)))
            items.append((f"dec{i}_conv", "conv_t", _conv(upc, bias)))
            if norm == "batch":
                items.append((f"dec{i}_norm", "bn", _norm(p + ("4" if inner else "6"), norm)))
        for name, kind, keys in items:
            mapping[name] = (kind, keys)
            expected.update(dict.fromkeys(keys))
    return (arch, list(expected), mapping), None


def infer_architecture(sd, path="state dict"):
    """`(arch, mapping)` of a state dict; `arch` describes the network, `mapping` Keras layer -> keys.

    Instance-norm running statistics are ignored; any other missing or
    unexpected key is a `LayoutError` naming them.

    Example:
        >>> arch, mapping = infer_architecture(read_state_dict("horse2zebra.pth"))   # doctest: +SKIP
        >>> arch                                                                      # doctest: +SKIP
        {'kind': 'resnet', 'n_blocks': 9, 'ngf': 64, 'in_channels': 3, 'out_channels': 3, 'norm': 'instance', ...}
    """
    if any(k.startswith("model.model.") for k in sd):
        result, why = _unet(sd)
        kind = "U-Net"
    elif any(".conv_block." in k for k in sd) or "model.1.weight" in sd:
        result, why = _resnet(sd)
        kind = "ResNet"
    else:
        raise LayoutError(
            f"{path}: neither a ResNet (model.N.conv_block.M.*) nor a U-Net (model.model.*) generator; "
            f"its first keys are {', '.join(sorted(sd)[:6])}."
        )
    if result is None:
        raise LayoutError(f"{path}: not a published {kind} generator layout: {why}.")
    arch, expected, mapping = result
    ignorable = {k for k in sd if k.rsplit(".", 1)[-1] in _STATS and k not in expected}
    if arch["norm"] == "batch":  # only BatchNorm's step counter may come extra
        ignorable = {k for k in ignorable if k.endswith("num_batches_tracked")}
    given = set(sd) - ignorable
    missing, unexpected = set(expected) - given, given - set(expected)
    if missing or unexpected:
        raise _layout_error(path, kind, missing, unexpected)
    for name, (kind_, keys) in mapping.items():
        if kind_ != "bn" and sd[keys[0]].ndim != 4:
            raise LayoutError(f"{path}: {keys[0]} has shape {sd[keys[0]].shape}; a conv kernel is 4-D.")
    return arch, mapping


def build_generator(arch, seed=0):
    """The Keras generator for an inferred `arch` (any input size the architecture takes).

    Example:
        >>> G = build_generator({"kind": "resnet", "n_blocks": 9, "ngf": 64, "in_channels": 3,
        ...                      "out_channels": 3, "norm": "instance", "dropout": 0.0})
    """
    if arch["kind"] == "resnet":
        from ganzoo.models.cyclegan.networks import resnet_generator

        return resnet_generator(in_channels=arch["in_channels"], out_channels=arch["out_channels"], ngf=arch["ngf"],
                                n_blocks=arch["n_blocks"], norm=arch["norm"], dropout=arch.get("dropout", 0.0),
                                seed=seed, name="generator")
    from ganzoo.models.pix2pix.networks import unet_generator

    return unet_generator(in_channels=arch["in_channels"], out_channels=arch["out_channels"], depth=arch["depth"],
                          ngf=arch["ngf"], norm=arch["norm"], dropout=0.5, seed=seed, name="generator")


def load_weights(generator, sd, mapping):
    """Copy the state dict into the Keras generator (conv kernels (O, I, kh, kw) -> (kh, kw, I, O)).

    Example:
        >>> load_weights(G, sd, mapping)                                  # doctest: +SKIP
    """
    for name, (kind, keys) in mapping.items():
        layer = generator.get_layer(name)
        arrays = [sd[k].astype("float32") for k in keys]
        if kind in ("conv", "conv_t"):
            # Conv2d (out, in, kh, kw) and ConvTranspose2d (in, out, kh, kw) both go to Keras's
            # (kh, kw, in, out) / (kh, kw, out, in) by the same transpose.
            arrays[0] = np.transpose(arrays[0], (2, 3, 1, 0))
        want = [tuple(v.shape) for v in layer.weights]
        got = [a.shape for a in arrays]
        if want != got:
            raise LayoutError(f"layer {name}: the checkpoint gives shapes {got} for {keys}, the network has {want}.")
        layer.set_weights(arrays)


def convert_generator(src_path):
    """`(generator, arch)`: the Keras generator with the checkpoint's weights.

    Example:
        >>> G, arch = convert_generator("facades_label2photo.pth")        # doctest: +SKIP
    """
    sd = read_state_dict(src_path)
    arch, mapping = infer_architecture(sd, path=os.path.basename(os.fspath(src_path)))
    generator = build_generator(arch)
    load_weights(generator, sd, mapping)
    return generator, arch


def _source_entry(recipe):
    for src in ((recipe or {}).get("weights") or {}).get("sources") or ():
        if src.get("converter") == "pix2pix":
            return src
    return {}


def convert_to_preset(src_path, out_dir, *, recipe=None, license=None, source=None):
    """Convert a published generator file into a preset folder; return its path.

    The preset translates one way ("a2b"): a `Pix2Pix` (U-Net G and a new
    conditional 70x70 PatchGAN on pairs) or a one-way `CycleGAN` (ResNet G_A
    and a new 70x70 PatchGAN as D_B). The discriminators are randomly
    initialised (not published) and not used by `translate`. Metadata
    records the inferred architecture, the source file and the BSD-2-Clause
    license.

    Example:
        >>> convert_to_preset("horse2zebra.pth", "out/h2z", recipe="cyclegan-horse2zebra")   # doctest: +SKIP
        'out/h2z'
    """
    from ganzoo import recipes as recipes_lib
    from ganzoo.engine.preset_io import save_preset
    from ganzoo.models.cyclegan.model import CycleGAN
    from ganzoo.models.pix2pix.model import Pix2Pix
    from ganzoo.models.pix2pix.networks import patch_discriminator

    if recipe is not None and not isinstance(recipe, dict):
        recipe = recipes_lib.get(recipe)
    generator, arch = convert_generator(src_path)
    pix2pix = arch["kind"] == "unet"
    discriminator = patch_discriminator(channels=arch["out_channels"],
                                        source_channels=arch["in_channels"] if pix2pix else None,
                                        norm=arch["norm"], seed=0, name="discriminator")
    name = (recipe or {}).get("name", "translator").replace("-", "_")
    if pix2pix:
        gan = Pix2Pix(generator, discriminator, l1_weight=100.0, objective="non_saturating", name=name)
    else:
        gan = CycleGAN(generator, discriminator, objective="least_squares", name=name)  # one way: no F, no D_A
    entry = _source_entry(recipe)
    described = ", ".join(f"{k}={v}" for k, v in arch.items())
    source_text = source or (
        f"converted with ganzoo.models.pix2pix.convert from {os.path.basename(os.fspath(src_path))} ({described})"
        + (f"; upstream: {entry['url']}" if entry.get("url") else "")
        + "; discriminator: not published, randomly initialised (translate uses the generator only)"
    )
    license = license or entry.get("license") or (recipe or {}).get("license") or LICENSE
    return save_preset(gan, out_dir, recipe=recipe, license=license, source=source_text, samples=False)
