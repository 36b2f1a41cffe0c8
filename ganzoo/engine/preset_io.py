"""Writing a preset folder: what `GAN.save_to_preset` needs, below the presets module.

The engine may import this module; it imports no model family and not
`ganzoo.presets` (which reads presets back and sits above the models), so
the engine -> presets -> models -> engine circle is gone. Layout of a folder
(KerasHub-like; see `ganzoo.presets`):

    config.json        the GAN's Keras serialization (class + config)
    model.weights.h5   all weights; above `max_shard_size` Keras sharded
                       weights instead: model.weights.json + model_00000.weights.h5, ...
    metadata.json      versions, recipe, metrics with their protocol, license,
                       source, sha256 of config and weight files
    README.md          the Hub model card
    samples.png        a sample grid (images) or a scatter (2-D toy data)

Example:
    >>> from ganzoo.engine.preset_io import save_preset
    >>> save_preset(gan, "out/ring8", recipe=recipe, metrics={"modes": 8})
    'out/ring8'
"""

import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np

from ganzoo.checkpoint import apply_umask_tree, finite_json, is_no_space, no_space_error

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
# Sharded weights (Keras's own format): an index plus model_00000.weights.h5, ...
SHARDED_INDEX = "model.weights.json"
METADATA_FILE = "metadata.json"
SAMPLES_FILE = "samples.png"
# Largest single weights file before the weights are split into shards, in GiB
# (Keras's unit for `max_shard_size`).
DEFAULT_MAX_SHARD_SIZE = 2.0
# Plain numbers in `metrics` recorded as results (with the recipe's eval protocol).
_METRIC_KEYS = ("modes", "high_quality", "reverse_kl", "fid", "is", "kid", "confident", "classes", "class_kl",
                "frechet_pca")


def weight_files(folder):
    """The weight files of a preset folder, in load order: `[model.weights.h5]`, or the
    sharded index `model.weights.json` followed by the shards it lists; `[]` when none.

    Raises FileNotFoundError naming every missing shard.

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


def _optimizers(gan):
    """Every optimizer object a GAN holds (named dict, shorthands and Keras's `optimizer`)."""
    found = [getattr(gan, attr, None) for attr in ("optimizer", "g_optimizer", "d_optimizer")]
    named = getattr(gan, "optimizers", None)
    if isinstance(named, dict):
        found += list(named.values())
    return [opt for opt in found if opt is not None]


def _itemsize(dtype):
    name = keras.backend.standardize_dtype(dtype)
    return 2 if name == "bfloat16" else np.dtype(name).itemsize


def weights_nbytes(gan):
    """Bytes of every variable `save_weights` writes (networks, EMA, optimizer slots).

    Example:
        >>> weights_nbytes(gan) > 2 * 1024**3      # would `save_preset` shard it?
        False
    """
    seen, total = set(), 0
    variables = list(gan.weights)
    for optimizer in _optimizers(gan):
        variables += list(optimizer.variables)
    for v in variables:
        if id(v) in seen:
            continue
        seen.add(id(v))
        total += int(np.prod([int(dim) for dim in v.shape])) * _itemsize(v.dtype)
    return total


def _metadata(gan, folder, recipe, metrics, license, source):
    import ganzoo
    from ganzoo.hub import sha256_file  # hashlib only: no model or preset code
    from ganzoo.utils.provenance import inherit_provenance

    # A model loaded from a preset (or resumed from one) keeps its license and names its parent.
    recipe, license, source, inherited = inherit_provenance(gan, recipe, metrics, license, source)
    recipe = recipe or {}
    protocol = (recipe.get("eval") or {}).get("protocol")
    metric_rows, non_finite = {}, []
    for key, value in (metrics or {}).items():
        number = value.get("value") if isinstance(value, dict) else value
        if isinstance(number, float) and not np.isfinite(number):
            non_finite.append(key)  # JSON and the model card have no NaN: listed by name instead
        elif isinstance(value, dict) and "value" in value:
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
        **({"non_finite_metrics": non_finite} if non_finite else {}),
        **inherited,
        "sample_shape": list(gan.sample_shape),
        "latent_shape": None if gan.latent_shape is None else list(gan.latent_shape),
        "files": {name: sha256_file(folder / name) for name in (CONFIG_FILE, *weight_files(folder))},
    }


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
    samples_writer=None,
):
    """Write `gan` as a preset folder, atomically (a temporary sibling, renamed when complete).

    `GAN.save_to_preset(path, **kwargs)` is this function.

    Args:
        gan: a `ganzoo.GAN`.
        path: the folder to create (replaced when `overwrite`).
        recipe: the recipe dict it was trained from (recorded in metadata;
            a toy recipe's modes are drawn in `samples.png`).
        metrics: dict of results; entries may be `{"value", "protocol"}`.
        license, source: recorded in metadata and the model card.
        samples: write `samples.png`.
        max_shard_size: largest weights file in GiB (Keras's unit). When the
            weights are bigger they are written as Keras sharded weights:
            `model.weights.json` (the index) plus `model_00000.weights.h5`, ...
            `None` never shards.
        samples_writer: `fn(gan, path, recipe=None)` that writes
            `samples.png`; default `ganzoo.utils.plot.write_samples`.

    Returns:
        `str(path)`.

    Example:
        >>> save_preset(gan, "presets/ring8", recipe=recipe, metrics={"modes": 8})
        'presets/ring8'
        >>> save_preset(big_gan, "presets/big", max_shard_size=1.0)   # 1 GiB shards
        'presets/big'
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    if max_shard_size is not None and not (isinstance(max_shard_size, (int, float)) and max_shard_size > 0):
        raise ValueError(f"max_shard_size must be a positive size in GiB or None, got {max_shard_size!r}.")
    if samples_writer is None:
        from ganzoo.utils.plot import write_samples as samples_writer
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        config = keras.saving.serialize_keras_object(gan)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        if max_shard_size is not None and weights_nbytes(gan) > max_shard_size * 1024**3:
            gan.save_weights(tmp / SHARDED_INDEX, max_shard_size=max_shard_size)
        else:
            gan.save_weights(tmp / WEIGHTS_FILE)
        if samples:
            samples_writer(gan, tmp / SAMPLES_FILE, recipe=recipe)
        metadata, _ = finite_json(_metadata(gan, tmp, recipe, metrics, license, source))  # strict JSON: NaN -> null
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str, allow_nan=False))
        from ganzoo.hub import write_model_card  # text from metadata only: no model or preset code

        write_model_card(tmp, metadata)
        apply_umask_tree(tmp)  # mkdtemp makes it owner-only; give what a plain mkdir/open would
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, Exception) and is_no_space(e):
            raise no_space_error(path, weights_nbytes(gan) + 2**20) from None
        raise
    return str(path)
