"""Preset folders, the model registry, and `ganzoo.load`.

A preset folder (KerasHub-like) holds:

    config.json        the GAN's Keras serialization (class + config)
    model.weights.h5   all weights (generator, discriminator, EMA shadows, and
                       the optimizer state of a compiled model); above
                       `max_shard_size` (2 GiB) Keras sharded weights instead:
                       model.weights.json + model_00000.weights.h5, ...
    metadata.json      ganzoo/keras versions, recipe, metrics with their
                       protocol, license, source, sha256 of each file
    README.md          the Hub model card
    samples.png        a sample grid (images) or a scatter (2-D toy data)

Weights saved on one backend load on every backend.

Registry names load through their recipe's weight sources (`ganzoo.sources`);
`generator_only=True` gives a `ganzoo.sampler.GANSampler`.

Example:
    >>> import ganzoo
    >>> gan.save_to_preset("out/ring8")
    >>> same = ganzoo.load("out/ring8")
    >>> sampler = ganzoo.load("dcgan-digits", generator_only=True)
"""

import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path

import keras

from ganzoo import recipes

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
# Sharded weights (Keras's own format): an index plus model_00000.weights.h5, ...
SHARDED_INDEX = "model.weights.json"
METADATA_FILE = "metadata.json"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE)
# Largest single weights file before the weights are split into shards, in GiB
# (Keras's unit for `max_shard_size`).
DEFAULT_MAX_SHARD_SIZE = 2.0
from ganzoo.sources import EMBEDDED_DIR  # noqa: E402  (folders shipped as package data)


def list_models():
    """Registry names from `zoo_configs/` (aliases included), sorted.

    Example:
        >>> "ring8-nsgan" in ganzoo.list_models()
        True
    """
    return sorted(recipes.names())


def _sha256(path):
    from ganzoo.hub import sha256_file

    return sha256_file(path)


def _weights_nbytes(gan):
    """Bytes of every variable `save_weights` writes (networks, EMA, optimizer slots)."""
    seen, total = set(), 0
    variables = list(gan.weights)
    for attr in ("optimizer", "g_optimizer", "d_optimizer"):
        optimizer = getattr(gan, attr, None)
        if optimizer is not None:
            variables += list(optimizer.variables)
    for v in variables:
        if id(v) in seen:
            continue
        seen.add(id(v))
        size = 1
        for dim in v.shape:
            size *= int(dim)
        total += size * _itemsize(v.dtype)
    return total


def _itemsize(dtype):
    import numpy as np

    name = keras.backend.standardize_dtype(dtype)
    return 2 if name == "bfloat16" else np.dtype(name).itemsize


def weight_files(folder):
    """The weight files of a preset folder, in load order: `[model.weights.h5]`, or the
    sharded index `model.weights.json` followed by the shards it lists.

    Raises FileNotFoundError naming every missing file.

    Example:
        >>> weight_files("out/ring8")
        ['model.weights.h5']
    """
    folder = Path(folder)
    if (folder / SHARDED_INDEX).is_file():
        try:
            index = json.loads((folder / SHARDED_INDEX).read_text())
            shards = set()
            for value in index["weight_map"].values():  # a shard name, or a list when a group spans shards
                shards.update([value] if isinstance(value, str) else value)
            shards = sorted(shards)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ValueError(
                f"{folder / SHARDED_INDEX} is not a Keras sharded-weights index ({e}); save the preset again."
            ) from None
        shards = [s for s in shards if isinstance(s, str)]
        missing = [name for name in shards if not (folder / name).is_file()]
        if missing:
            raise FileNotFoundError(
                f"Preset folder {folder} is missing weight shards {', '.join(missing)} listed in {SHARDED_INDEX}; "
                "copy or download the whole folder."
            )
        return [SHARDED_INDEX, *shards]
    if (folder / WEIGHTS_FILE).is_file():
        return [WEIGHTS_FILE]
    return []


def save_preset(
    gan,
    path,
    *,
    recipe=None,
    metrics=None,
    license=None,
    source=None,
    samples=True,
    overwrite=True,
    max_shard_size=DEFAULT_MAX_SHARD_SIZE,
):
    """Write `gan` as a preset folder, atomically.

    Args:
        gan: a `ganzoo.GAN`.
        path: the folder to create (replaced when `overwrite`).
        recipe: the recipe dict it was trained from (recorded in metadata).
        metrics: dict of results; entries may be `{"value", "protocol"}`.
        license, source: recorded in metadata and the model card.
        samples: write `samples.png`.
        max_shard_size: largest weights file in GiB (Keras's unit). When the
            weights are bigger they are written as Keras sharded weights:
            `model.weights.json` (the index) plus `model_00000.weights.h5`, ...
            `None` never shards.

    Example:
        >>> save_preset(gan, "presets/ring8", recipe=recipe, metrics={"modes": 8})
        >>> save_preset(big_gan, "presets/big", max_shard_size=1.0)   # 1 GiB shards
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    if max_shard_size is not None and not (isinstance(max_shard_size, (int, float)) and max_shard_size > 0):
        raise ValueError(f"max_shard_size must be a positive size in GiB or None, got {max_shard_size!r}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        config = keras.saving.serialize_keras_object(gan)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        if max_shard_size is not None and _weights_nbytes(gan) > max_shard_size * 1024**3:
            gan.save_weights(tmp / SHARDED_INDEX, max_shard_size=max_shard_size)
        else:
            gan.save_weights(tmp / WEIGHTS_FILE)
        if samples:
            _write_samples(gan, recipe, tmp / "samples.png")
        metadata = _metadata(gan, tmp, recipe, metrics, license, source)
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str))
        from ganzoo.hub import write_model_card

        write_model_card(tmp, metadata)
        os.chmod(tmp, 0o755)  # mkdtemp makes it owner-only; a preset is meant to be shared
        for child in tmp.iterdir():
            os.chmod(child, 0o644)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return str(path)


def _write_samples(gan, recipe, out):
    if recipe is not None:
        from ganzoo.training import save_samples

        save_samples(gan, recipe, out)
    elif gan.sample_shape == (2,):
        from ganzoo.utils.plot import scatter_png

        scatter_png(gan.generate(2500, seed=0), None, out)
    elif len(gan.sample_shape) == 3:
        from ganzoo.utils.images import make_grid, save_png, to_uint8

        save_png(out, make_grid(to_uint8(gan.generate(64, seed=0))))


# Plain numbers in `metrics` recorded as results (with the recipe's eval protocol).
_METRIC_KEYS = ("modes", "high_quality", "reverse_kl", "fid", "is", "kid", "confident", "classes", "class_kl",
                "frechet_pca")


def _metadata(gan, folder, recipe, metrics, license, source):
    import ganzoo

    recipe = recipe or {}
    protocol = (recipe.get("eval") or {}).get("protocol")
    metric_rows = {}
    for key, value in (metrics or {}).items():
        if isinstance(value, dict) and "value" in value:
            metric_rows[key] = value
        elif isinstance(value, (int, float)) and key in _METRIC_KEYS:
            metric_rows[key] = {"value": value, "protocol": protocol or "see recipe"}
    data = recipe.get("data") or {}
    return {
        "name": recipe.get("name") or gan.name,
        "family": recipe.get("family", "gan"),
        "description": recipe.get("description"),
        "ganzoo_version": ganzoo.__version__,
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "license": license or recipe.get("license", "apache-2.0"),
        "source": source or "trained with ganzoo",
        "datasets": [str(data.get("source"))] if data.get("source") else [],
        "recipe": recipe or None,
        "metrics": metric_rows,
        "sample_shape": list(gan.sample_shape),
        "latent_shape": list(gan.latent_shape),
        "files": {name: _sha256(folder / name) for name in (CONFIG_FILE, *weight_files(folder))},
    }


def check_preset_folder(path):
    """Check that `path` is a complete preset folder; return its weight files.

    Raises FileNotFoundError naming every missing file (config.json, the
    weights file, or shards listed in a sharded index).

    Example:
        >>> check_preset_folder("out/ring8")
        ['model.weights.h5']
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"No preset folder at {path}.")
    weights = weight_files(path)
    missing = [] if (path / CONFIG_FILE).is_file() else [CONFIG_FILE]
    if not weights:
        missing.append(f"{WEIGHTS_FILE} (or a sharded {SHARDED_INDEX})")
    if missing:
        present = sorted(p.name for p in path.iterdir())
        raise FileNotFoundError(
            f"Preset folder {path} is missing {', '.join(missing)} (it has: {', '.join(present) or 'nothing'}); "
            "copy or download the whole folder, or save it again with gan.save_to_preset()."
        )
    return weights


def _verify_files(path):
    meta_path = path / METADATA_FILE
    if not meta_path.is_file():
        return
    try:
        expected = json.loads(meta_path.read_text()).get("files") or {}
    except (ValueError, AttributeError) as e:
        raise ValueError(f"{meta_path} is not valid JSON ({e}); download or save the preset again.") from None
    for name, digest in expected.items():
        if (path / name).is_file() and _sha256(path / name) != digest:
            raise ValueError(
                f"{path / name} does not match the sha256 in metadata.json; the file is corrupted "
                "or was changed. Download or save the preset again."
            )


def _model_class(config, config_path):
    """The registered class a config.json names, or a clear error."""
    import ganzoo.models  # noqa: F401  (registers the model classes)

    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError(
            f"{config_path} is not a Keras serialization (expected 'class_name' and 'config' keys); "
            "is it a ganzoo preset?"
        )
    registered = config.get("registered_name") or config["class_name"]
    cls = keras.saving.get_registered_object(registered)
    if cls is None:
        raise ValueError(
            f"{config_path} names class {config['class_name']!r} (registered name {registered!r}), which is not "
            "registered in this process: import the module that defines it (decorated with "
            "@keras.saving.register_keras_serializable) before loading, or update ganzoo if the preset "
            "comes from a newer version."
        )
    return cls


def _uses_gan_sampling(cls):
    from ganzoo.engine.gan import GAN

    return isinstance(cls, type) and issubclass(cls, GAN) and all(
        getattr(cls, name) is getattr(GAN, name) for name in ("generate", "_sampling_scope", "sample_latents_numpy")
    )


def _load_sampler(path, config, weights_path):
    import copy

    from ganzoo.sampler import GANSampler

    inner = config["config"]
    generator = keras.saving.deserialize_keras_object(copy.deepcopy(inner["generator"]))
    sampler = GANSampler(generator, inner["latent_dim"], ema=inner.get("ema_decay") is not None)
    sampler.load_weights(weights_path)
    return sampler


def load_preset(path, *, generator_only=False, verify=True):
    """Load a preset folder into a `ganzoo.GAN`.

    A preset saved from a compiled model (e.g. by `ganzoo train`) comes back
    compiled, with its optimizer state; embedded presets carry none (compile
    or use `ganzoo.finetune.prepare_finetune` before training).

    Checks the sha256 recorded in `metadata.json` when present, and that no
    file is missing (each missing file is named). Sharded weights
    (`model.weights.json` + shards) load like a single `model.weights.h5`.

    With `generator_only=True` the result is a `ganzoo.sampler.GANSampler`:
    only the generator is built and only its weights and EMA shadows are read
    (no discriminator, no optimizer state); it has `generate`,
    `interpolate` and `latent_arithmetic` and gives the same samples. A
    model class with its own sampling code (one that overrides `generate`)
    is loaded in full instead, with its discriminator frozen.

    Example:
        >>> gan = load_preset("out/ring8")
        >>> gan.generate(4, seed=0).shape
        >>> sampler = load_preset("out/ring8", generator_only=True)
    """
    path = Path(path)
    weights = check_preset_folder(path)
    if verify:
        _verify_files(path)
    try:
        config = json.loads((path / CONFIG_FILE).read_text())
    except ValueError as e:
        raise ValueError(f"{path / CONFIG_FILE} is not valid JSON ({e}); download or save the preset again.") from None
    cls = _model_class(config, path / CONFIG_FILE)
    weights_path = path / weights[0]
    if generator_only and _uses_gan_sampling(cls):
        return _load_sampler(path, config, weights_path)
    try:
        gan = keras.saving.deserialize_keras_object(config)
    except TypeError as e:
        raise ValueError(
            f"{path / CONFIG_FILE}: cannot rebuild class {config.get('class_name')!r} ({e}); "
            "is it a ganzoo preset of this version?"
        ) from None
    gan.load_weights(weights_path)
    if generator_only:
        gan.discriminator.trainable = False
    return gan


def load(spec, *, revision=None, generator_only=False):
    """Load a pretrained GAN.

    `spec` is one of:
    * a registry name (`ganzoo list`) whose recipe names weights: `weights:
      {embedded: NAME}` (shipped in the package), `{hub: ORG/REPO}` (a ganzoo
      preset on the Hugging Face Hub), or `{sources: [...]}`, an ordered list
      of such sources, where a source may also be an upstream checkpoint
      converted once on first use (see `ganzoo.sources`);
    * a local preset folder;
    * a `.keras` file;
    * `hf://org/repo[@revision]` on the Hugging Face Hub.

    Args:
        revision: branch, tag or commit of a Hub preset (overrides `@rev`
            and the registry's pinned revision).
        generator_only: load only what sampling needs (a
            `ganzoo.sampler.GANSampler`; see `load_preset`).

    To fine-tune a loaded model, see `ganzoo.finetune.prepare_finetune`.

    Example:
        >>> gan = ganzoo.load("dcgan-digits")
        >>> sampler = ganzoo.load("dcgan-digits", generator_only=True)
        >>> gan = ganzoo.load("hf://someone/ring8-nsgan@main")
    """
    spec = os.fspath(spec)
    if spec.startswith("hf://"):
        from ganzoo import hub

        repo_id, spec_revision = hub.parse_hf_spec(spec)
        folder = hub.download_preset(repo_id, revision=revision or spec_revision)
        return load_preset(folder, generator_only=generator_only)
    if spec.endswith(".keras"):
        if not os.path.isfile(spec):
            raise FileNotFoundError(f"No .keras file at {spec}.")
        import ganzoo.models  # noqa: F401

        return keras.saving.load_model(spec)
    if os.path.isdir(spec):
        return load_preset(spec, generator_only=generator_only)
    if "://" in spec:
        raise ValueError(
            f"Unsupported model spec {spec!r}: use a registry name, a preset folder, a .keras file or "
            "'hf://org/repo[@revision]'."
        )
    if os.path.sep in spec or spec.startswith("."):
        raise FileNotFoundError(f"No preset folder or .keras file at {spec}.")
    recipe = recipes.get(spec)
    if not recipe.get("weights"):
        raise ValueError(
            f"{recipe['name']} is a training recipe without pretrained weights; train it with "
            f"`ganzoo train {recipe['name']} --out DIR` and load DIR/preset, or build it untrained "
            f"with ganzoo.training.build({recipe['name']!r})."
        )
    from ganzoo import sources

    return sources.load_from_sources(recipe, revision=revision, generator_only=generator_only)
