"""`ganzoo info NAME`: a recipe in full.

    ganzoo info dcgan-digits
    ganzoo info zoo_configs/ring8-nsgan.yaml
"""


def add_parser(subparsers):
    """Register `ganzoo info` on an argparse subparsers object.

    Example:
        >>> import argparse
        >>> add_parser(argparse.ArgumentParser().add_subparsers()).parse_args(["dcgan-digits"]).name
        'dcgan-digits'
    """
    p = subparsers.add_parser(
        "info",
        help="show a recipe",
        description="Print a model's recipe as YAML: networks, objective, penalties, optimizers, data, "
        "training schedule, evaluation protocol and where its pretrained weights come from.",
    )
    p.add_argument("name", help="registry name (see `ganzoo list`) or path to a recipe YAML")
    p.set_defaults(func=run)
    return p


def run(args):
    """Print the recipe; returns the exit status.

    Example:
        >>> from ganzoo.cli import main
        >>> main(["info", "ring8-nsgan"])   # doctest: +SKIP
        0
    """
    import yaml

    from ganzoo import recipes

    print(yaml.safe_dump(recipes.get(args.name), sort_keys=False).rstrip())
    return 0
