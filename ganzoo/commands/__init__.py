"""Subcommands of the `ganzoo` CLI, one module each (see `ganzoo.cli`)."""
