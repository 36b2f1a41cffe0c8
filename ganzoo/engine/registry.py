"""One registry for everything a recipe names: builders, model classes,
objectives, penalties and converters.

`register(kind)` is the one decorator; `lookup(kind, name)` / `resolve(...)`
read it back. The registry lives at the bottom of the import graph (the
engine), so every layer above can register into it without import circles.

Example:
    >>> from ganzoo.engine.registry import register, lookup
    >>> @register("builder")
    ... def my_generator(latent_dim=8):
    ...     ...
    >>> lookup("builder", "my_generator") is my_generator
    True
"""

import difflib
import inspect

# "dataset": recipe data makers named by `data.kind` (paired, inpaint, ...; see ganzoo.training.make_dataset).
KINDS = ("builder", "model_class", "objective", "penalty", "converter", "dataset")
_REGISTRY = {kind: {} for kind in KINDS}
_ALIASES = {kind: {} for kind in KINDS}


def _key(kind, name):
    return name.lower() if kind in ("objective", "penalty") else name


def register(kind, name=None, aliases=()):
    """Decorator: register a function or class under `kind` and `name`.

    Args:
        kind: one of `KINDS`.
        name: the name recipes use; default: `obj.name` for objectives and
            penalties, else `obj.__name__`.
        aliases: other names that resolve to the same object.

    Example:
        >>> @register("penalty", aliases=("zero_centred_gp",))
        ... class R1(Penalty):
        ...     name = "r1"
    """
    if kind not in _REGISTRY:
        raise ValueError(f"unknown registry kind {kind!r}; valid: {', '.join(KINDS)}")

    def decorate(obj):
        key = name or (getattr(obj, "name", None) if kind in ("objective", "penalty") else None) or obj.__name__
        _REGISTRY[kind][_key(kind, key)] = obj
        for alias in aliases:
            _ALIASES[kind][_key(kind, alias)] = _key(kind, key)
        return obj

    return decorate


def entries(kind):
    """The registered `{name: object}` of one kind (a copy).

    Example:
        >>> sorted(entries("objective"))[:2]
        ['feature_matching', 'hinge']
    """
    return dict(_REGISTRY[kind])


def aliases(kind):
    """`{alias: name}` of one kind (a copy).

    Example:
        >>> aliases("objective")["wgan"]
        'wasserstein'
    """
    return dict(_ALIASES[kind])


def lookup(kind, name, where=None):
    """The object registered as `name` (or an alias), or a ValueError naming the valid ones.

    Args:
        where: the recipe key being read, for the error message (e.g.
            "model.generator.builder").

    Example:
        >>> lookup("objective", "wgan")
        <class 'ganzoo.engine.objectives.Wasserstein'>
    """
    table = _REGISTRY[kind]
    key = _key(kind, name) if isinstance(name, str) else name
    key = _ALIASES[kind].get(key, key)
    if isinstance(key, str) and key in table:
        return table[key]
    valid = sorted(table) + sorted(_ALIASES[kind])
    close = difflib.get_close_matches(str(name), valid, n=1) if isinstance(name, str) else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    prefix = f"{where}: " if where else ""
    label = kind.replace("_", " ")
    raise ValueError(f"{prefix}Unknown {label} {name!r}{hint}. Valid names: {', '.join(valid)}.")


def check_arguments(obj, config, what):
    """Raise a one-line ValueError unless `obj(**config)` binds: an unknown key
    (named, with a close match and the valid ones) or a missing required argument.

    Objects taking `**kwargs`, or whose signature cannot be read, are not checked.

    Args:
        what: how the error names the callee, e.g. "penalty 'r1'".

    Example:
        >>> check_arguments(lambda gamma=1.0, every=1: None, {"gama": 1.0}, "penalty 'r1'")
        Traceback (most recent call last):
        ValueError: penalty 'r1' has no argument 'gama' (did you mean 'gamma'?); valid: gamma, every.
    """
    try:
        signature = inspect.signature(obj)  # a class: its __init__, without self
    except (TypeError, ValueError):
        return
    params = signature.parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    valid = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key in config:
        if key not in valid:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{what} has no argument {key!r}{hint}; valid: {', '.join(valid) or 'none'}.")
    try:
        signature.bind(**config)
    except TypeError as e:  # e.g. "missing a required argument: 'x'"
        raise ValueError(f"{what}: {e}; valid: {', '.join(valid) or 'none'}.") from None


def resolve(identifier, kind):
    """Instantiate `lookup(kind, name)(**config)` from a name or `{"name", "config"}`.

    Names of objectives and penalties are case-insensitive. A config key the
    constructor does not take is a one-line ValueError naming it, a close
    match and the valid keys (not Python's TypeError).

    Example:
        >>> resolve({"name": "hinge", "config": {}}, "objective")
        Hinge()
        >>> resolve({"name": "r1", "config": {"gama": 1.0}}, "penalty")
        Traceback (most recent call last):
        ValueError: penalty 'r1' has no argument 'gama' (did you mean 'gamma'?); valid: gamma, every.
    """
    config = {}
    if isinstance(identifier, dict):
        config = identifier.get("config") or {}
        identifier = identifier.get("name")
        if not isinstance(config, dict):
            raise ValueError(
                f"{kind} {identifier!r}: config must be a mapping of arguments, got {type(config).__name__}."
            )
        config = dict(config)
    obj = lookup(kind, identifier)
    check_arguments(obj, config, f"{kind.replace('_', ' ')} {identifier!r}")
    return obj(**config)
