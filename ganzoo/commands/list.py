"""`ganzoo list`: every registry name with its family, data and weights."""


def add_parser(subparsers):
    p = subparsers.add_parser(
        "list", help="list registry models", description="List the models of zoo_configs/."
    )
    p.set_defaults(func=run)
    return p


def run(args):
    from ganzoo import recipes

    rows = [("name", "family", "data", "weights", "license")]
    aliases = recipes.names()
    for name in sorted(aliases):
        recipe = recipes.get(name)
        weights = recipe.get("weights") or {}
        source = "embedded" if "embedded" in weights else weights.get("hub", "-")
        data = recipe["data"].get("source", "-")
        if recipe["data"].get("resolution"):
            data += f" {recipe['data']['resolution']}px"
        shown = name if aliases[name] == name else f"{name} -> {aliases[name]}"
        rows.append((shown, recipe.get("family", "gan"), data, source, recipe.get("license", "-")))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0
