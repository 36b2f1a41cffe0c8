"""pytorch-pretrained-biggan folders (DeepMind's TF-Hub BigGAN-deep, ported) -> ganzoo presets.

The port's folder holds `config.json` (`output_dim`, `z_dim`,
`channel_width`, `num_classes`, `layers`, `attention_layer_position`,
`n_stats`, `eps`) and `pytorch_model.bin`, a plain state dict read with
`torch.load(weights_only=True)` (or `model.safetensors`), never unpickled:
spectral-norm layers as `weight_orig` / `weight_u` / `weight_v`, batch norms
as `running_means` / `running_vars` of shape (n_stats, C), one row per
truncation in [0, 1].

Spectral norm is kept as ganzoo's `SpectralNormalization` (trainable raw
weights, so fine-tuning keeps the constraint). The port evaluates
`sigma = u^T W v` from its stored vectors, which its converter made by one
power-iteration step from the TF module's `u0` (`v = W^T u0 / |.|`,
`u = W v / |.|`). Our layer runs that same step from its stored vector on
every call, so we store `u0`, recovered from `v` as the least-squares
solution of `W^T u0 = v`; the converted model then computes exactly the
port's (and the TF module's) sigma. The recovery is checked per layer.

Example:
    >>> from ganzoo.convert.biggan import convert_to_preset
    >>> convert_to_preset("biggan-deep-128/", "presets/biggan-deep-128", recipe="biggan-deep-128")  # doctest: +SKIP
"""

import json
import os
from pathlib import Path

import numpy as np

CONFIG_NAME = "config.json"
WEIGHT_NAMES = ("pytorch_model.bin", "model.safetensors")
DEFAULT_LICENSE = "apache-2.0"
_PORT_DEFAULTS = {"z_dim": 128, "channel_width": 128, "num_classes": 1000, "attention_layer_position": 8,
                  "n_stats": 51, "eps": 1e-4}


class LayoutError(ValueError):
    """The file does not hold the BigGAN-deep tensors its config describes.

    Example:
        >>> str(LayoutError("missing tensor generator.bn.running_means"))
        'missing tensor generator.bn.running_means'
    """


# ----------------------------------------------------------------------------
# Reading the port's files.


def _find_files(src):
    src = Path(src)
    if src.is_dir():
        weights = next((src / n for n in WEIGHT_NAMES if (src / n).is_file()), None)
        if weights is None:
            raise FileNotFoundError(
                f"{src} has no {' or '.join(WEIGHT_NAMES)}: pass a pytorch-pretrained-biggan folder "
                f"({CONFIG_NAME} + {WEIGHT_NAMES[0]})."
            )
        config = src / CONFIG_NAME
        return weights, (config if config.is_file() else None)
    if not src.is_file():
        raise FileNotFoundError(f"No BigGAN folder or weights file at {src}.")
    config = src.parent / CONFIG_NAME
    return src, (config if config.is_file() else None)


def read_state_dict(path):
    """The tensors of a `.bin`/`.pt` (torch, weights_only) or `.safetensors` file as numpy float32.

    Example:
        >>> state = read_state_dict("biggan-deep-128/pytorch_model.bin")   # doctest: +SKIP
    """
    path = str(path)
    if path.endswith(".safetensors"):
        from safetensors.numpy import load_file

        raw = load_file(path)
    else:
        try:
            import torch
        except ImportError:
            raise ImportError(
                f"reading {os.path.basename(path)} needs PyTorch (pip install torch, CPU is enough), "
                "or convert it to .safetensors first."
            ) from None
        raw = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(raw, dict):
            raise LayoutError(f"{path} holds a {type(raw).__name__}, not a state dict of tensors.")
        raw = {k: v.detach().cpu().float().numpy() for k, v in raw.items() if hasattr(v, "detach")}
    return {k: np.asarray(v, dtype="float32") for k, v in raw.items()}


def default_port_config(resolution):
    """The published config.json of the 128/256/512 models (pytorch-pretrained-biggan's BigGAN128/256/512).

    Example:
        >>> default_port_config(256)["output_dim"]
        256
    """
    from ganzoo.models.biggan_deep.networks import default_layers

    return {"output_dim": int(resolution), "layers": [list(x) for x in default_layers(int(resolution))],
            "class_embed_dim": 128, **_PORT_DEFAULTS}


def generator_kwargs(config):
    """`Generator` keyword arguments from a port config dict.

    Example:
        >>> generator_kwargs(default_port_config(128))["ch"]
        128
    """
    missing = [k for k in ("output_dim", "layers") if k not in config]
    if missing:
        raise LayoutError(f"{CONFIG_NAME} lacks {', '.join(missing)}; is it a pytorch-pretrained-biggan config?")
    c = {**_PORT_DEFAULTS, **config}
    return dict(resolution=int(c["output_dim"]), ch=int(c["channel_width"]), z_dim=int(c["z_dim"]),
                num_classes=int(c["num_classes"]), layers=[tuple(x) for x in c["layers"]],
                attention_position=c["attention_layer_position"], n_stats=int(c["n_stats"]), eps=float(c["eps"]))


def _recipe_config(recipe):
    spec = ((recipe or {}).get("model") or {}).get("generator") or {}
    if spec.get("resolution") is None:
        return None
    config = default_port_config(int(spec["resolution"]))
    for ours, port in (("ch", "channel_width"), ("z_dim", "z_dim"), ("num_classes", "num_classes"),
                       ("layers", "layers"), ("attention_position", "attention_layer_position"),
                       ("n_stats", "n_stats"), ("eps", "eps")):
        if spec.get(ours) is not None:
            config[port] = spec[ours]
    return config


def read_port(src, recipe=None):
    """`(config, state)` of a port folder (or weights file; config.json beside it, else from the recipe).

    Example:
        >>> config, state = read_port("biggan-deep-128/")   # doctest: +SKIP
    """
    weights, config_path = _find_files(src)
    if config_path is not None:
        try:
            config = json.loads(Path(config_path).read_text())
        except ValueError as e:
            raise LayoutError(f"{config_path} is not valid JSON ({e}).") from None
    else:
        config = _recipe_config(recipe)
        if config is None:
            raise FileNotFoundError(
                f"No {CONFIG_NAME} next to {weights} and no recipe to take the architecture from: "
                f"pass the whole folder or recipe='biggan-deep-128' (or -256, -512)."
            )
    return config, read_state_dict(weights)


# ----------------------------------------------------------------------------
# Port tensors -> Keras variables.


def recover_u0(w_orig, u, v, name):
    """The vector u0 whose one power-iteration step gives the port's (u, v); see the module docstring.

    Example:
        >>> W = np.random.default_rng(0).normal(size=(4, 6)); u0 = np.ones(4) / 2
        >>> v = W.T @ u0; v /= np.linalg.norm(v); u = W @ v; u /= np.linalg.norm(u)
        >>> u0r = recover_u0(W, u, v, "w")
        >>> bool(np.allclose(u0r / np.linalg.norm(u0r), u0, atol=1e-6))
        True
    """
    W = np.asarray(w_orig, "float64").reshape(w_orig.shape[0], -1)
    u, v = np.asarray(u, "float64"), np.asarray(v, "float64")
    x = np.linalg.lstsq(W.T, v, rcond=None)[0]
    v_rec = W.T @ x
    v_rec /= max(np.linalg.norm(v_rec), 1e-30)
    u_rec = W @ v_rec
    u_rec /= max(np.linalg.norm(u_rec), 1e-30)
    sigma, sigma_rec = float(u @ W @ v), float(u_rec @ W @ v_rec)
    if not np.isfinite(sigma_rec) or abs(sigma_rec - sigma) > 1e-5 * max(abs(sigma), 1e-12):
        raise LayoutError(
            f"{name}.weight_u / weight_v are not one power-iteration step apart (sigma {sigma:.6g} vs "
            f"{sigma_rec:.6g}): the file was not written like pytorch-pretrained-biggan's models."
        )
    return (x / np.linalg.norm(x)).astype("float32")


def _sn_targets(prefix, sn, kind):
    layer = sn.layer
    kernel = layer.embeddings if kind == "embedding" else layer.kernel
    shape = tuple(kernel.shape)
    torch_shape = (shape[3], shape[2], shape[0], shape[1]) if kind == "conv" else (shape[1], shape[0])
    entries = [(f"{prefix}.weight_orig", torch_shape), (f"{prefix}.weight_u", (torch_shape[0],)),
               (f"{prefix}.weight_v", (int(np.prod(torch_shape[1:])),))]
    if getattr(layer, "bias", None) is not None:
        entries.append((f"{prefix}.bias", tuple(layer.bias.shape)))

    def assign(state):
        w = state[f"{prefix}.weight_orig"]
        kernel.assign(np.transpose(w, (2, 3, 1, 0)) if kind == "conv" else w.T)
        sn.u.assign(recover_u0(w, state[f"{prefix}.weight_u"], state[f"{prefix}.weight_v"], prefix))
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(state[f"{prefix}.bias"])

    return entries, assign


def _plain(key, variable, transform=None):
    shape = tuple(variable.shape)
    torch_shape = shape[::-1] if transform == "T" else shape

    def assign(state):
        value = state[key]
        variable.assign(value.T if transform == "T" else value)

    return [(key, torch_shape)], assign


def weight_map(G):
    """`[(entries, assign)]`: every port tensor ganzoo's generator `G` needs, with its torch shape.

    Example:
        >>> groups = weight_map(G)
        >>> groups[0][0]
        [('embeddings.weight', (128, 1000))]
    """
    groups = [_plain("embeddings.weight", G.embeddings.embeddings, "T"),
              _sn_targets("generator.gen_z", G.gen_z, "dense")]
    att = G.attention_position
    for i, block in enumerate(G.blocks):
        k = i + (1 if att is not None and i >= att else 0)
        base = f"generator.layers.{k}"
        for j, (bn, conv) in enumerate(zip(block.bns, block.convs)):
            groups.append(_plain(f"{base}.bn_{j}.running_means", bn.running_means))
            groups.append(_plain(f"{base}.bn_{j}.running_vars", bn.running_vars))
            groups.append(_sn_targets(f"{base}.bn_{j}.scale", bn.scale, "dense"))
            groups.append(_sn_targets(f"{base}.bn_{j}.offset", bn.offset, "dense"))
            groups.append(_sn_targets(f"{base}.conv_{j}", conv, "conv"))
    if G.attention is not None:
        base = f"generator.layers.{att}"
        for ours, port in (("theta", "snconv1x1_theta"), ("phi", "snconv1x1_phi"), ("g", "snconv1x1_g"),
                           ("o_conv", "snconv1x1_o_conv")):
            groups.append(_sn_targets(f"{base}.{port}", getattr(G.attention, ours), "conv"))
        groups.append(_plain(f"{base}.gamma", G.attention.gamma))
    for key, var in (("running_means", G.bn.running_means), ("running_vars", G.bn.running_vars),
                     ("weight", G.bn.gamma), ("bias", G.bn.beta)):
        groups.append(_plain(f"generator.bn.{key}", var))
    groups.append(_sn_targets("generator.conv_to_rgb", G.conv_to_rgb, "conv"))
    return groups


def load_port_weights(G, state, where="the file"):
    """Fill ganzoo's `Generator` from a port state dict; the first missing/misshapen/unexpected tensor is an error.

    Example:
        >>> load_port_weights(G, read_state_dict("pytorch_model.bin"))   # doctest: +SKIP
    """
    groups = weight_map(G)
    known = set()
    for entries, _ in groups:
        for key, shape in entries:
            known.add(key)
            if key not in state:
                raise LayoutError(f"{where} has no tensor {key!r} (expected shape {shape}); "
                                  "is it a BigGAN-deep model matching its config.json?")
            if tuple(state[key].shape) != tuple(shape):
                raise LayoutError(f"{where}: tensor {key!r} has shape {tuple(state[key].shape)}, expected {shape} "
                                  "for the architecture in config.json.")
    extra = sorted(set(state) - known)
    if extra:
        raise LayoutError(f"{where} has a tensor ganzoo's BigGAN-deep does not know: {extra[0]!r} "
                          f"({len(extra)} unexpected in all); is it a BigGAN-deep (not BigGAN) port file?")
    for _, assign in groups:
        assign(state)
    return G


def build_generator(config, state, where="the file"):
    """ganzoo's `Generator` for a port config, filled from its state dict.

    Example:
        >>> G = build_generator(*read_port("biggan-deep-128/"))   # doctest: +SKIP
    """
    from ganzoo.models.biggan_deep.networks import Generator

    try:
        G = Generator(**generator_kwargs(config), name="generator")
    except (TypeError, ValueError) as e:
        raise LayoutError(f"{CONFIG_NAME} describes no buildable BigGAN-deep: {e}") from None
    return load_port_weights(G, state, where)


def _discriminator(G, recipe):
    from ganzoo.factory import build_network
    from ganzoo.models.biggan_deep.networks import biggan_deep_discriminator

    spec = dict(((recipe or {}).get("model") or {}).get("discriminator") or {})
    if spec.get("builder") == "biggan_deep_discriminator" and spec.get("resolution") == G.resolution:
        spec.setdefault("num_classes", G.num_classes)
        spec.setdefault("layers", [list(x) for x in G.layer_spec])
        spec.setdefault("attention_position", G.attention_position)
        return build_network(spec, "discriminator")
    return biggan_deep_discriminator(G.resolution, ch=G.ch, num_classes=G.num_classes, layers=G.layer_spec,
                                     attention_position=G.attention_position)


def _source_entry(recipe):
    for entry in ((recipe or {}).get("weights") or {}).get("sources") or []:
        if isinstance(entry, dict) and entry.get("converter") == "biggan":
            return entry
    return {}


def convert_to_preset(src_path, out_dir, *, recipe=None, license=None, source=None, num_samples=4):
    """Convert a pytorch-pretrained-biggan folder (or its weights file) into a ganzoo preset; return its path.

    The preset holds a `BigGANDeep` whose generator is the port's (exact to
    float rounding) and a randomly initialised discriminator (DeepMind did
    not release D; fine-tuning starts it from scratch), with the license and
    upstream source in metadata.json and the model card.

    Args:
        src_path: a folder with config.json + pytorch_model.bin (or
            model.safetensors), or the weights file alone (then config.json
            beside it, else the recipe's resolution, gives the architecture).
        recipe: the recipe (dict or name): architecture fallback, license, source.
        num_samples: images in samples.png (truncation 0.4, seed 0; 0 = none).

    Example:
        >>> convert_to_preset("biggan-deep-128/", "presets/biggan-deep-128", recipe="biggan-deep-128")  # doctest: +SKIP
        'presets/biggan-deep-128'
    """
    from ganzoo import recipes as recipes_lib
    from ganzoo.models.biggan_deep.model import BigGANDeep
    from ganzoo.presets import save_preset

    if recipe is not None and not isinstance(recipe, dict):
        recipe = recipes_lib.get(recipe)
    config, state = read_port(src_path, recipe)
    G = build_generator(config, state, where=str(src_path))
    want = _recipe_config(recipe)
    if want is not None and int(want["output_dim"]) != G.resolution:
        raise ValueError(f"{src_path} holds a {G.resolution}x{G.resolution} BigGAN-deep but the recipe "
                         f"{recipe.get('name')!r} is for {want['output_dim']}; pick the matching file or recipe.")
    model = (recipe or {}).get("model") or {}
    gan = BigGANDeep(G, _discriminator(G, recipe), objective=model.get("objective") or "hinge",
                     d_steps=model.get("d_steps") or 2)
    entry = _source_entry(recipe)
    upstream = entry.get("url") or (f"hf://{entry['hub']}/{entry.get('filename', '')}" if entry.get("hub") else None)
    source_text = source or (
        f"DeepMind's BigGAN-deep {G.resolution} (TF-Hub module deepmind/biggan-deep-{G.resolution}), "
        f"as ported by pytorch-pretrained-biggan; converted with ganzoo.convert.biggan from "
        f"{os.path.basename(os.path.normpath(str(src_path)))}" + (f"; upstream: {upstream}" if upstream else "")
        + "; discriminator: not released, randomly initialised"
    )
    license = license or entry.get("license") or (recipe or {}).get("license") or DEFAULT_LICENSE
    metrics = {}
    published = ((recipe or {}).get("eval") or {}).get("published")
    if isinstance(published, dict):
        metrics = {k: v for k, v in published.items() if isinstance(v, dict) and v.get("value") is not None}
    path = save_preset(gan, out_dir, recipe=recipe, metrics=metrics, license=license, source=source_text,
                       samples=False)
    if num_samples:
        from ganzoo.utils.images import make_grid, save_png, to_uint8

        labels = [207, 980, 933, 1, 88, 279, 323, 972][: int(num_samples)] * (1 + int(num_samples) // 8)
        images = gan.generate(int(num_samples), seed=0, labels=labels[: int(num_samples)] if G.num_classes == 1000
                              else 0, truncation=0.4, batch_size=4)
        save_png(os.path.join(path, "samples.png"), make_grid(to_uint8(images)))
    return path
