"""Recipes: the YAML files in `zoo_configs/`, read and checked.

A recipe names the networks, objective, penalties, optimizers, data,
training schedule and evaluation of one model. Keys are checked against
the schema below so a typo is reported by name instead of being ignored.

Example:
    >>> from ganzoo import recipes
    >>> recipe = recipes.get("ring8-nsgan")
    >>> recipe["model"]["objective"]
    'non_saturating'
"""

import copy
import difflib
import functools
import importlib.resources
import os
import re
from pathlib import Path

import yaml

# Section -> allowed keys (None: free-form mapping, checked by its consumer).
SCHEMA = {
    "name": None,
    "family": None,
    "description": None,
    "paper": None,
    "aliases": None,
    "license": None,
    "model": {
        "class": None,
        "latent_dim": None,
        "generator": None,
        "discriminator": None,
        "objective": None,
        "penalties": None,
        "d_steps": None,
        "ema_decay": None,
        "seed": None,
        "num_classes": None,
        "label_distribution": None,
        "augment": None,  # DiffAugment / ADA (ganzoo.engine.augment)
        "extra": None,
        "networks": None,  # networks beyond generator/discriminator: {name: {builder: ...}} (CycleGAN)
    },
    # One optimizer per network name (generator, discriminator, encoder, ...): ganzoo.factory checks
    # the names against the model's networks.
    "optimizers": None,
    "data": {
        "source": None,
        # A registered data maker (ganzoo.engine.registry kind "dataset", e.g. paired) and its options.
        "kind": None,
        "options": None,
        "resolution": None,
        "channels": None,
        "labels": None,
        "classes": None,
        "num_modes": None,
        "radius": None,
        "std": None,
        "size": None,
        "spacing": None,
    },
    "training": {"batch_size": None, "epochs": None, "steps_per_epoch": None, "seed": None,
                 "precision": None},  # "fp32" (default) | "bf16" (ganzoo.training.PRECISIONS)
    "eval": {"protocol": None, "num_samples": None, "published": None},
    "weights": None,
}
REQUIRED = ("name", "model", "optimizers", "data", "training")


def config_dir():
    """The folder holding the recipes (repository root or installed package).

    Example:
        >>> (config_dir() / "dcgan-digits.yaml").is_file()
        True
    """
    repo = Path(__file__).resolve().parent.parent / "zoo_configs"
    if repo.is_dir():
        return repo
    # ganzoo.zoo_configs has no __init__.py: files() of a namespace package is a
    # MultiplexedPath whose str() is not a path, so go through the parent package.
    return Path(str(importlib.resources.files("ganzoo") / "zoo_configs"))


def _all_files():
    return {p.stem: p for p in sorted(config_dir().glob("*.yaml"))}


def names():
    """Registry names: one per recipe file, plus their aliases.

    Example:
        >>> "ring8-nsgan" in names()
        True
    """
    out = {}
    for stem, path in _all_files().items():
        out[stem] = stem
        for alias in (parse(path).get("aliases") or []):
            out[alias] = stem
    return out


def validate(recipe, source="recipe"):
    """Check a recipe's keys against `SCHEMA`; raise ValueError naming the bad key."""
    if not isinstance(recipe, dict):
        raise ValueError(f"{source}: the top level must be a mapping of sections, got {type(recipe).__name__}.")
    for key, value in recipe.items():
        if key not in SCHEMA:
            hint = difflib.get_close_matches(key, SCHEMA, n=1)
            raise ValueError(
                f"{source}: unknown key {key!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else f"; valid keys: {', '.join(SCHEMA)}")
            )
        allowed = SCHEMA[key]
        if allowed is None:
            continue
        if not isinstance(value, dict):
            raise ValueError(f"{source}: {key!r} must be a mapping, got {type(value).__name__}.")
        for sub in value:
            if sub not in allowed:
                hint = difflib.get_close_matches(sub, allowed, n=1)
                raise ValueError(
                    f"{source}: unknown key '{key}.{sub}'"
                    + (f" (did you mean '{key}.{hint[0]}'?)" if hint else f"; valid keys: {', '.join(allowed)}")
                )
    for key in REQUIRED:
        if key not in recipe:
            raise ValueError(f"{source}: missing required key {key!r}.")
    for key in ("generator", "discriminator"):
        if key not in recipe["model"]:
            raise ValueError(f"{source}: missing required key 'model.{key}'.")
    return recipe


# libyaml's loader when PyYAML was built with it (pure-Python parsing of the
# ~60 recipes dominated `ganzoo list`); same safe constructor either way.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=256)
def _load_yaml(text):
    # Keyed on the text, so an edited file is parsed again; callers get a deep copy.
    return yaml.load(text, Loader=_SafeLoader)


def parse(path):
    """Read and validate one recipe file.

    Example:
        >>> recipe = parse("zoo_configs/ring8-nsgan.yaml")
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FileNotFoundError(f"No recipe file at {path}.") from None
    try:
        recipe = copy.deepcopy(_load_yaml(text))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"{path}: malformed YAML{where}: {getattr(e, 'problem', e)}") from None
    return validate(recipe, source=str(path))


def get(name_or_path):
    """Return the recipe for a registry name, alias, or a path to a YAML file.

    Unknown names get the closest registry names as suggestions.

    Example:
        >>> get("dcgan-digits")["model"]["class"]
        'GAN'
    """
    spec = os.fspath(name_or_path)
    if spec.endswith((".yaml", ".yml")) or os.path.sep in spec:
        return parse(spec)
    registry = names()
    if spec not in registry:
        close = difflib.get_close_matches(spec, registry, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValueError(f"Unknown model {spec!r}.{hint} `ganzoo list` shows every name.")
    return parse(_all_files()[registry[spec]])


_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def set_key(recipe, assignment):
    """Apply one `--set key.sub=value` (value parsed as YAML) to a recipe dict, in place.

    Example:
        >>> r = {"model": {"ema_decay": 0.999}}
        >>> set_key(r, "model.ema_decay=0.99")["model"]["ema_decay"]
        0.99
        >>> set_key(r, "model.lr=4e-4")["model"]["lr"]
        0.0004
    """
    key, sep, text = assignment.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or not key or any(not part for part in parts):
        raise ValueError(f"--set {assignment!r}: expected KEY=VALUE with a dotted key, e.g. training.epochs=3")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text  # not YAML (e.g. "a: b: c"): keep the string
    if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        value = float(value)  # YAML 1.1 reads 4e-4 (no dot) as a string; 1.2 and users read a number
    node = recipe
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            raise ValueError(f"--set {key}: {'.'.join(parts[: i + 1])} is {child!r}, not a section")
        node = child
    node[parts[-1]] = value
    return recipe


def override(recipe, assignments, source="recipe with overrides"):
    """A validated copy of `recipe` with `KEY=VALUE` assignments applied (see `set_key`).

    What `ganzoo train --set` and the benchmark scripts' `--set` do; a
    misspelt key is named with a suggestion.

    Example:
        >>> override(get("ring8-nsgan"), ["training.epochs=5"])["training"]["epochs"]
        5
    """
    recipe = copy.deepcopy(recipe)
    for assignment in assignments:
        set_key(recipe, assignment)
    return validate(recipe, source=source)
