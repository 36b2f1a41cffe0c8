"""Name -> class lookup shared by objectives and penalties.

Example:
    >>> resolve({"name": "hinge", "config": {}}, OBJECTIVES, ALIASES, "objective")
"""


def resolve(identifier, classes, aliases, kind):
    """Instantiate `classes[name](**config)` from a name or `{"name", "config"}`.

    Names are case-insensitive and may be aliases; an unknown name raises a
    ValueError listing the valid ones.

    Example:
        >>> resolve("wgan", {"wasserstein": Wasserstein}, {"wgan": "wasserstein"}, "objective")
    """
    config = {}
    if isinstance(identifier, dict):
        config = dict(identifier.get("config", {}))
        identifier = identifier.get("name")
    if isinstance(identifier, str):
        key = aliases.get(identifier.lower(), identifier.lower())
        if key in classes:
            return classes[key](**config)
    valid = ", ".join(sorted(classes) + sorted(aliases))
    raise ValueError(f"Unknown {kind} {identifier!r}. Valid names: {valid}.")
