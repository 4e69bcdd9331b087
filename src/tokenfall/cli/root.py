"""The command group and the two consoles every command prints to."""

from __future__ import annotations

import json
import os
import sys

import click
from rich.console import Console

from tokenfall import __version__

# tqdm reads TQDM_DISABLE once, when first imported (the gguf package imports it early): third-party bars
# (transformers' GGUF loader, lm-eval) would tear through tokenfall's own progress display
os.environ.setdefault("TQDM_DISABLE", "1")
# piped output (CI logs, files) gets room for the whole table instead of rich's 80-column default
out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() or "COLUMNS" in os.environ else 200)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tokenfall")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("--db", type=click.Path(dir_okay=False), help="Ledger SQLite file (default: user data dir).")
@click.pass_context
def cli(ctx, debug, db):
    """tokenfall: measure what a token costs on a real engine."""
    ctx.obj = {"debug": debug, "db": db}


def echo_json(obj) -> None:
    """One JSON document on stdout: typed results (pydantic) serialise as their fields, dicts as they are."""
    from pydantic_core import to_jsonable_python

    click.echo(json.dumps(to_jsonable_python(obj), indent=2, default=str))
