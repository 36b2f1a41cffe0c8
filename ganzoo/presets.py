"""Preset folders, the model registry, and `ganzoo.load`.

A preset folder (KerasHub-like) holds:

    config.json        the GAN's Keras serialization (class + config)
    model.weights.h5   all weights (generator, discriminator, EMA shadows)
    metadata.json      ganzoo/keras versions, recipe, metrics with their
                       protocol, license, source, sha256 of each file
    README.md          the Hub model card
    samples.png        a sample grid (images) or a scatter (2-D toy data)

Weights saved on one backend load on every backend.

Example:
    >>> import ganzoo
    >>> gan.save_to_preset("out/ring8")
    >>> same = ganzoo.load("out/ring8")
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
METADATA_FILE = "metadata.json"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE)
EMBEDDED_DIR = Path(__file__).resolve().parent / "presets"


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


def save_preset(gan, path, *, recipe=None, metrics=None, license=None, source=None, samples=True, overwrite=True):
    """Write `gan` as a preset folder, atomically.

    Args:
        gan: a `ganzoo.GAN`.
        path: the folder to create (replaced when `overwrite`).
        recipe: the recipe dict it was trained from (recorded in metadata).
        metrics: dict of results; entries may be `{"value", "protocol"}`.
        license, source: recorded in metadata and the model card.
        samples: write `samples.png`.

    Example:
        >>> save_preset(gan, "presets/ring8", recipe=recipe, metrics={"modes": 8})
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        config = keras.saving.serialize_keras_object(gan)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        gan.save_weights(tmp / WEIGHTS_FILE)
        if samples:
            _write_samples(gan, recipe, tmp / "samples.png")
        metadata = _metadata(gan, tmp, recipe, metrics, license, source)
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str))
        from ganzoo.hub import write_model_card

        write_model_card(tmp, metadata)
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


def _metadata(gan, folder, recipe, metrics, license, source):
    import ganzoo

    recipe = recipe or {}
    protocol = (recipe.get("eval") or {}).get("protocol")
    metric_rows = {}
    for key, value in (metrics or {}).items():
        if isinstance(value, dict) and "value" in value:
            metric_rows[key] = value
        elif isinstance(value, (int, float)) and key in ("modes", "high_quality", "reverse_kl", "fid", "is", "kid"):
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
        "files": {name: _sha256(folder / name) for name in REQUIRED_FILES},
    }


def load_preset(path, *, generator_only=False, verify=True):
    """Load a preset folder into a `ganzoo.GAN` (uncompiled).

    Checks the sha256 recorded in `metadata.json` when present.

    Example:
        >>> gan = load_preset("out/ring8")
        >>> gan.generate(4, seed=0).shape
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"No preset folder at {path}.")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(f"Preset folder {path} is missing {', '.join(missing)}.")
    if verify and (path / METADATA_FILE).is_file():
        expected = json.loads((path / METADATA_FILE).read_text()).get("files") or {}
        for name, digest in expected.items():
            if (path / name).is_file() and _sha256(path / name) != digest:
                raise ValueError(
                    f"{path / name} does not match the sha256 in metadata.json; the file is corrupted "
                    "or was changed. Download or save the preset again."
                )
    config = json.loads((path / CONFIG_FILE).read_text())
    import ganzoo.models  # noqa: F401  (registers the model classes)

    try:
        gan = keras.saving.deserialize_keras_object(config)
    except TypeError as e:
        raise ValueError(
            f"{path / CONFIG_FILE}: cannot rebuild class {config.get('class_name')!r} ({e}); "
            "is it a ganzoo preset of this version?"
        ) from None
    gan.load_weights(path / WEIGHTS_FILE)
    if generator_only:
        gan.discriminator.trainable = False
    return gan


def load(spec, *, revision=None, generator_only=False):
    """Load a pretrained GAN.

    `spec` is one of:
    * a registry name (`ganzoo list`) whose recipe names weights;
    * a local preset folder;
    * a `.keras` file;
    * `hf://org/repo[@revision]` on the Hugging Face Hub.

    Example:
        >>> gan = ganzoo.load("dcgan-digits")
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
    if os.path.sep in spec or spec.startswith("."):
        raise FileNotFoundError(f"No preset folder or .keras file at {spec}.")
    recipe = recipes.get(spec)
    weights = recipe.get("weights")
    if not weights:
        raise ValueError(
            f"{recipe['name']} is a training recipe without pretrained weights; train it with "
            f"`ganzoo train {recipe['name']} --out DIR` and load DIR/preset, or build it untrained "
            f"with ganzoo.training.build({recipe['name']!r})."
        )
    if "embedded" in weights:
        return load_preset(EMBEDDED_DIR / weights["embedded"], generator_only=generator_only)
    if "hub" in weights:
        from ganzoo import hub

        folder = hub.download_preset(
            weights["hub"], revision=revision or weights.get("revision"), sha256=weights.get("sha256")
        )
        return load_preset(folder, generator_only=generator_only)
    raise ValueError(f"{recipe['name']}: 'weights' needs an 'embedded' or 'hub' entry, got {sorted(weights)}.")
