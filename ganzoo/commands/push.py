"""`ganzoo push DIR REPO_ID`: upload a preset folder to the Hugging Face Hub.

    ganzoo push runs/digits/preset me/dcgan-digits --private
    ganzoo push runs/digits/preset me/dcgan-digits --token-file ~/.secrets/hf_write

The token comes from `--token-file` (a file holding only the token), else
from `HF_TOKEN` or `hf auth login`. It is never printed, logged or written,
and a preset text file that contains it is refused.
"""

import os


def add_parser(subparsers):
    """Register `ganzoo push` on an argparse subparsers object.

    Example:
        >>> import argparse
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> add_parser(sub).parse_args(["out/preset", "me/x", "--private"]).private
        True
    """
    p = subparsers.add_parser(
        "push",
        help="upload a preset folder to the Hugging Face Hub",
        description="Upload a preset folder (config.json, weights, metadata.json, README.md, samples.png) "
        "to a Hub model repo, creating the repo if needed. A model card is written from metadata.json "
        "when the folder has no README.md (the folder itself is not modified). The token is read from "
        "--token-file, else HF_TOKEN or `hf auth login`, and is never printed.",
    )
    p.add_argument("dir", help="preset folder, e.g. runs/digits/preset (from `ganzoo train`)")
    p.add_argument("repo_id", help="Hub model repo 'org/name', e.g. me/dcgan-digits")
    p.add_argument("--private", action="store_true", help="create the repo as private (only when it is new)")
    p.add_argument("--token-file", help="file that holds a Hub token with write access (and nothing else)")
    p.add_argument("--message", default="Upload ganzoo preset", help="commit message")
    p.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing to main")
    p.set_defaults(func=run)
    return p


def read_token_file(path):
    """The token in `path`, stripped; clear errors for a missing or empty file (the token is never shown).

    Example:
        >>> read_token_file("~/.secrets/hf_write")     # doctest: +SKIP
    """
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--token-file {path!r} does not exist")
    with open(path, encoding="utf-8") as f:
        token = f.read().strip()
    if not token:
        raise ValueError(f"--token-file {path!r} is empty; put a Hub token with write access in it")
    if any(c.isspace() for c in token):
        raise ValueError(f"--token-file {path!r} must hold only the token (one line, no spaces)")
    return token


def run(args):
    """Run `ganzoo push`; returns the exit status.

    Example:
        >>> from ganzoo.cli import main
        >>> main(["push", "runs/digits/preset", "me/dcgan-digits"])   # doctest: +SKIP
        0
    """
    from ganzoo.hub import push_to_hub

    token = read_token_file(args.token_file) if args.token_file else None
    url = push_to_hub(
        args.dir,
        args.repo_id,
        private=args.private,
        token=token,
        commit_message=args.message,
        create_pr=args.create_pr,
    )
    print(f"uploaded {args.dir} to {url}")
    return 0
