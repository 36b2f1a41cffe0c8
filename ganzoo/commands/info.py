"""`ganzoo info NAME`: a recipe in full."""


def add_parser(subparsers):
    p = subparsers.add_parser("info", help="show a recipe", description="Print a model's recipe as YAML.")
    p.add_argument("name", help="registry name or recipe path")
    p.set_defaults(func=run)
    return p


def run(args):
    import yaml

    from ganzoo import recipes

    print(yaml.safe_dump(recipes.get(args.name), sort_keys=False).rstrip())
    return 0
