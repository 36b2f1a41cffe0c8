"""`ganzoo list`: every registry model with its family, resolution, weight source, license and cache state."""


def add_parser(subparsers):
    """Register `ganzoo list` on an argparse subparsers object.

    Example:
        >>> import argparse
        >>> add_parser(argparse.ArgumentParser().add_subparsers()).prog.endswith("list")
        True
    """
    p = subparsers.add_parser(
        "list",
        help="list registry models",
        description="List the models of zoo_configs/. Columns: name (aliases as 'alias -> name'), family, "
        "resolution (image side in pixels, or 2-D for toy data), source of pretrained weights (embedded = "
        "shipped in the package, a Hub repo, 'A + N more' for several sources, '-' = training recipe only), "
        "license, and cached (whether the weights load without the network: embedded, yes, no, or -). "
        "No network access.",
    )
    p.set_defaults(func=run)
    return p


def _source(recipe):
    from ganzoo import sources

    if not recipe.get("weights"):
        return "-"
    try:
        items = sources.normalize(recipe)
    except ValueError:
        return "invalid"
    first = items[0]
    text = first.get("embedded") and "embedded" or first.get("hub") or first["url"]
    if "converter" in first:
        text += f" ({first['converter']})"
    return text + (f" + {len(items) - 1} more" if len(items) > 1 else "")


def _resolution(recipe):
    data = recipe["data"]
    if str(data.get("source", "")).startswith("toy:"):
        return "2-D"
    return str(data["resolution"]) if data.get("resolution") else "-"


def rows():
    """The table as a list of tuples, header first.

    Example:
        >>> rows()[0]
        ('name', 'family', 'resolution', 'source', 'license', 'cached')
    """
    from ganzoo import recipes, sources

    table = [("name", "family", "resolution", "source", "license", "cached")]
    aliases = recipes.names()
    parsed = {stem: recipes.get(stem) for stem in set(aliases.values())}  # each file once
    for name in sorted(aliases):
        recipe = parsed[aliases[name]]
        shown = name if aliases[name] == name else f"{name} -> {aliases[name]}"
        table.append(
            (
                shown,
                str(recipe.get("family", "gan")),
                _resolution(recipe),
                _source(recipe),
                str(recipe.get("license", "-")),
                sources.cache_status(recipe),
            )
        )
    return table


def run(args):
    """Print the table; returns the exit status."""
    table = rows()
    widths = [max(len(str(r[i])) for r in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0
