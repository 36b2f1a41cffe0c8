"""Provenance of preset weights: what a loaded model remembers of its preset, and
what a preset saved from it inherits (license, recipe, parent).

Plain dict and file logic (metadata.json), below the model families, so the
preset writer in the engine can use it.

Example:
    >>> prov = read_provenance("ganzoo/embedded/dcgan-digits")
    >>> prov["license"]
    'apache-2.0'
"""

import json
from pathlib import Path

# What a loaded model remembers of its preset (metadata.json keys).
PROVENANCE_KEYS = ("name", "family", "license", "license_url", "license_notice", "source", "recipe", "metrics",
                   "datasets", "parent")


def read_provenance(folder, **extra):
    """What a preset folder says about where its weights come from (its metadata.json).

    Returns a dict with the `PROVENANCE_KEYS` present in metadata.json, plus
    `preset` (the folder) and `extra` (e.g. `loaded_from="dcgan-digits"`);
    `None` when the folder has no readable metadata.json.

    Example:
        >>> read_provenance("ganzoo/embedded/dcgan-digits")["license"]
        'apache-2.0'
    """
    path = Path(folder) / "metadata.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict):
        return None
    prov = {key: meta[key] for key in PROVENANCE_KEYS if meta.get(key) is not None}
    prov["preset"] = str(folder)
    prov.update({k: v for k, v in extra.items() if v is not None})
    return prov


def attach_provenance(model, provenance):
    """Set `model.provenance` (a plain attribute: not tracked by Keras, not saved as weights).

    Example:
        >>> attach_provenance(gan, read_provenance("out/ring8"))["preset"]
        'out/ring8'
    """
    if provenance is not None:
        # object.__setattr__: Keras would wrap a dict attribute in a tracked container.
        object.__setattr__(model, "provenance", dict(provenance))
    return provenance


def inherit_provenance(gan, recipe, metrics, license, source):
    """Resolve what a preset saved from `gan` says about its origin.

    A model loaded from a preset (`gan.provenance`), or a run resumed from one
    (`metrics["resumed_from"]`, set by `ganzoo train --resume`), passes on its
    license (and license_url) unless `license` is given, its recipe and name
    when no recipe is given, and is recorded as `parent` (name, source,
    license, where it was loaded from, and its metrics, which describe the
    parent, not the new weights).

    Returns `(recipe, license, source, extra)`: `extra` holds the metadata
    keys to add (`parent`, `license_url`, `name`); all unchanged and `{}` for
    a model trained from scratch.

    Example:
        >>> inherit_provenance(loaded, None, None, None, None)[1]
        'nvidia-source-code-license-nc'
    """
    prov = getattr(gan, "provenance", None)
    resumed = (metrics or {}).get("resumed_from") if isinstance(metrics, dict) else None
    if not prov and resumed:
        prov = read_provenance(resumed, loaded_from=str(resumed))
    if not isinstance(prov, dict) or not prov:
        return recipe, license, source, {}
    parent = {
        "name": prov.get("name"),
        "source": prov.get("source"),
        "license": prov.get("license"),
        "license_url": prov.get("license_url"),
        "loaded_from": prov.get("loaded_from") or prov.get("preset"),
        "metrics": prov.get("metrics") or None,
        "parent": prov.get("parent"),  # the chain back to the original weights
    }
    extra = {"parent": {k: v for k, v in parent.items() if v is not None}}
    if not recipe and isinstance(prov.get("recipe"), dict):
        recipe = prov["recipe"]
    if not (recipe or {}).get("name") and prov.get("name"):
        extra["name"] = prov["name"]
    if license is None and prov.get("license"):
        license = prov["license"]  # derived weights stay under the parent's license
        for key in ("license_url", "license_notice"):
            if prov.get(key):
                extra[key] = prov[key]
    if source is None:
        source = f"derived with ganzoo from {prov.get('name') or parent['loaded_from'] or 'a loaded preset'}"
    return recipe, license, source, extra
