"""`ganzoo cache list | verify | clear [NAME]`: what ganzoo has cached, checked, removed.

    ganzoo cache list              # name, kind, size, hash status, source
    ganzoo cache verify            # re-hash every entry against its recorded sha256
    ganzoo cache clear stylegan2-ffhq
    ganzoo cache clear             # everything listed

Entries: downloads and converted presets under `GANZOO_CACHE` (default
~/.cache/ganzoo), the FID Inception weights, and the registry's Hub presets in
the Hugging Face cache (`HF_HOME` / `HF_HUB_CACHE`). No network access.
"""


def add_parser(subparsers):
    """Register `ganzoo cache` on an argparse subparsers object.

    Example:
        >>> import argparse
        >>> add_parser(argparse.ArgumentParser().add_subparsers()).parse_args(["clear", "x"]).name
        'x'
    """
    p = subparsers.add_parser(
        "cache",
        help="list, verify or clear cached weights",
        description="Show what is cached (name, kind, size, how its integrity is known, source), re-hash "
        "the entries against their recorded SHA-256 (verify; exit 2 if one differs), or remove entries "
        "(clear NAME, or everything). Reads GANZOO_CACHE and the Hugging Face cache; no network access.",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("list", help="list cached entries").set_defaults(func=run_list)
    v = sub.add_parser("verify", help="re-hash cached entries (exit 2 if one is corrupted)")
    v.add_argument("name", nargs="?", help="only this registry name (or fid-inception)")
    v.set_defaults(func=run_verify)
    c = sub.add_parser("clear", help="remove cached entries: NAME's, or all")
    c.add_argument("name", nargs="?", help="registry name (or fid-inception); default: everything listed")
    c.set_defaults(func=run_clear)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
    return p


def human_size(n):
    """Bytes as a short human-readable size.

    Example:
        >>> human_size(95_628_359)
        '95.6 MB'
    """
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _print_table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def _where():
    from ganzoo import hub

    try:
        hf_cache = hub._hf_cache_dir(None)
    except ImportError:
        hf_cache = "(huggingface_hub not installed)"
    return f"cache: {hub.ganzoo_cache_dir()}  (Hugging Face cache: {hf_cache})"


def run_list(args):
    """Print the cached entries; returns 0.

    Example:
        >>> from ganzoo.cli import main
        >>> main(["cache", "list"])   # doctest: +SKIP
    """
    from ganzoo import download

    entries = download.cache_entries()
    print(_where())
    if not entries:
        print("nothing cached (`ganzoo download NAME` fills the cache)")
        return 0
    rows = [("name", "kind", "size", "hash", "source")]
    rows += [(e["name"], e["kind"], human_size(e["size"]), e["hash"], e["source"]) for e in entries]
    _print_table(rows)
    return 0


def _select(name):
    from ganzoo import download, recipes

    entries = download.cache_entries()
    if name is None:
        return entries
    canonical = recipes.names().get(name, name)
    chosen = [e for e in entries if e["name"] in (name, canonical)]
    if not chosen:
        raise ValueError(f"nothing is cached for {name!r}; `ganzoo cache list` shows what is")
    return chosen


def run_verify(args):
    """Re-hash the entries; returns 2 (with a one-line error) if any is corrupted.

    Example:
        >>> from ganzoo.cli import main
        >>> main(["cache", "verify"])   # doctest: +SKIP
    """
    from ganzoo import download

    entries = _select(args.name)
    bad = []
    for e in entries:
        ok, message = download.verify_entry(e)
        status = {True: "ok", False: "CORRUPTED", None: "unchecked"}[ok]
        print(f"{e['name']}  {e['kind']}  {status}: {message}", flush=True)
        if ok is False:
            bad.append(e["name"])
    if bad:
        names = ", ".join(dict.fromkeys(bad))
        raise OSError(
            f"{len(bad)} of {len(entries)} cached entries failed verification ({names}); remove them with "
            f"`ganzoo cache clear NAME` and download again with `ganzoo download NAME`"
        )
    return 0


def run_clear(args):
    """Remove entries (NAME's, or all); returns 0, or 2 when NAME has nothing cached.

    Example:
        >>> from ganzoo.cli import main
        >>> main(["cache", "clear", "stylegan2-ffhq"])   # doctest: +SKIP
    """
    from ganzoo import download

    _select(args.name)  # a name with nothing cached is an error, before anything is removed
    removed = download.clear_cache(args.name)
    for e in removed:
        print(f"removed {e['name']} {e['kind']} {e['path']} ({human_size(e['size'])})")
    if not removed:
        print("nothing cached")
    return 0
