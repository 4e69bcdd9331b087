"""Regenerate docs/cli.md from the CLI's own --help and the engines' Options models.

    .venv/bin/python scripts/gen_cli_docs.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tokenfall.cli import cli
from tokenfall.engines import ENGINES
from tokenfall.levers import LEVERS

COMMANDS = ["", *cli.commands]  # every command, in the order the CLI defines them


def main() -> None:
    env = {**os.environ, "COLUMNS": "100"}
    out = ["# CLI reference", "",
           "Generated from `tokenfall COMMAND --help` by `scripts/gen_cli_docs.py`. Global options go before the command: "
           "`tokenfall --db ledger.sqlite bench ...`.", ""]
    for cmd in COMMANDS:
        text = subprocess.run([sys.executable, "-m", "tokenfall", *([cmd] if cmd else []), "--help"], capture_output=True,
                              text=True, env=env, check=True).stdout
        out += [f"## tokenfall {cmd}".rstrip(), "", "```text", text.rstrip(), "```", ""]
    for title, registry in (("Engine options (`-o KEY=VALUE`)", ENGINES), ("Lever options (library: `api.apply_lever(name, model, options)`)", LEVERS)):
        out += [f"## {title}", ""]
        for name in registry.names():
            out += [f"### {name}", "", "| option | default | meaning |", "|---|---|---|"]
            for field, info in registry.load(name).Options.model_fields.items():
                default = "(machine cores)" if info.default_factory else ("(required)" if info.is_required() else info.default)
                out.append(f"| `{field}` | `{default}` | {info.description or ''} |")
            out.append("")
    (Path(__file__).resolve().parents[1] / "docs" / "cli.md").write_text("\n".join(out))


if __name__ == "__main__":
    main()
