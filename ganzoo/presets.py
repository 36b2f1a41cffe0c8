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

Weights saved on one backend load on every backend. Writing a folder
(`save_preset`, the same as `GAN.save_to_preset`) lives with the engine in
`ganzoo.engine.preset_io` and is re-exported here; reading one back lives here.

Registry names load through their recipe's weight sources (`ganzoo.sources`);
`generator_only=True` gives a `ganzoo.sampler.GANSampler`.

Example:
    >>> import ganzoo
    >>> gan.save_to_preset("out/ring8")
    >>> same = ganzoo.load("out/ring8")
    >>> sampler = ganzoo.load("dcgan-digits", generator_only=True)
"""

import json
import os
from pathlib import Path

import keras

from ganzoo import recipes

# The folder layout and the writer live with the engine, so `GAN.save_to_preset` writes presets
# without importing this module; reading presets back, which needs the model families, lives here.
from ganzoo.engine.preset_io import (  # noqa: F401  (re-exported: ganzoo.presets.save_preset, file names)
    CONFIG_FILE,
    DEFAULT_MAX_SHARD_SIZE,
    METADATA_FILE,
    SHARDED_INDEX,
    WEIGHTS_FILE,
    save_preset,
    weight_files,
)
from ganzoo.sources import EMBEDDED_DIR  # noqa: F401  (folders shipped as package data)

REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE)


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


# The methods a `GANSampler` shares with `GAN`; a class overriding one samples its own way. Both
# spellings of the EMA scope are listed (the engine renamed it); a name neither class has is skipped.
_SAMPLING_METHODS = ("generate", "sampling_scope", "_sampling_scope", "sample_latents_numpy")


def _uses_gan_sampling(cls):
    from ganzoo.engine.gan import GAN

    # Translators (ganzoo.engine.translation) draw no latents: they load in full.
    return isinstance(cls, type) and issubclass(cls, GAN) and not hasattr(cls, "translate") and all(
        getattr(cls, name, None) is getattr(GAN, name, None) for name in _SAMPLING_METHODS
    )


def _load_weights(model, weights_path):
    """`model.load_weights`, with a damaged or mismatched file as one line naming it."""
    try:
        model.load_weights(weights_path)
    except (OSError, ValueError, KeyError, TypeError, EOFError) as e:
        reason = " ".join(str(e).split())[:300] or type(e).__name__
        raise ValueError(
            f"{weights_path} could not be loaded ({type(e).__name__}: {reason}); the file is truncated or "
            f"corrupted, or does not match {CONFIG_FILE}: download or save the preset again."
        ) from None


def _load_sampler(path, config, weights_path):
    import copy

    from ganzoo.sampler import GANSampler

    inner = config["config"]
    generator = keras.saving.deserialize_keras_object(copy.deepcopy(inner["generator"]))
    conditional = {"num_classes": inner["num_classes"]} if inner.get("num_classes") else {}
    sampler = GANSampler(generator, inner["latent_dim"], ema=inner.get("ema_decay") is not None, **conditional)
    _load_weights(sampler, weights_path)
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

    The result carries `model.provenance`, read from `metadata.json`
    (license, license_url, source, recipe, name, metrics, the folder): a
    preset saved from it keeps that license and records it as `parent`
    (see `ganzoo.sources.inherit_provenance`).

    A damaged folder (truncated weights, config.json that is not JSON or
    names an unknown class) is a one-line ValueError naming the file;
    nothing in the folder is executed.

    Example:
        >>> gan = load_preset("out/ring8")
        >>> gan.generate(4, seed=0).shape
        >>> gan.provenance["license"]
        'apache-2.0'
        >>> sampler = load_preset("out/ring8", generator_only=True)
    """
    from ganzoo.utils.provenance import attach_provenance, read_provenance

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
    provenance = read_provenance(path)
    if generator_only and _uses_gan_sampling(cls):
        sampler = _load_sampler(path, config, weights_path)
        attach_provenance(sampler, provenance)
        return sampler
    try:
        gan = keras.saving.deserialize_keras_object(config)
    except (TypeError, ValueError, KeyError) as e:
        reason = " ".join(str(e).split())[:400]
        raise ValueError(
            f"{path / CONFIG_FILE}: cannot rebuild class {config.get('class_name')!r} ({reason}); "
            "is it a ganzoo preset of this version? Download or save the preset again."
        ) from None
    _load_weights(gan, weights_path)
    if generator_only:
        gan.discriminator.trainable = False
    attach_provenance(gan, provenance)
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
        model = load_preset(folder, generator_only=generator_only)
        if getattr(model, "provenance", None) is not None:
            model.provenance["loaded_from"] = spec
        return model
    if spec.endswith(".keras"):
        if not os.path.isfile(spec):
            raise FileNotFoundError(f"No .keras file at {spec}.")
        import ganzoo.models  # noqa: F401

        import zipfile

        try:
            return keras.saving.load_model(spec)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
            reason = " ".join(str(e).split())[:300] or type(e).__name__
            raise ValueError(
                f"{spec} could not be loaded as a Keras model ({type(e).__name__}: {reason}); the file is "
                "truncated or corrupted, or was not saved by model.save(): save or download it again."
            ) from None
    if os.path.isdir(spec):
        return load_preset(spec, generator_only=generator_only)
    from ganzoo.sources import check_model_spec

    check_model_spec(spec)  # unknown names, missing paths, recipes without weights
    recipe = recipes.get(spec)
    from ganzoo import sources

    return sources.load_from_sources(recipe, revision=revision, generator_only=generator_only)
