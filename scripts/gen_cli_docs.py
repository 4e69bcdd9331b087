"""Regenerate docs/cli.md from the CLI's own --help and the engines' Options models.

    .venv/bin/python scripts/gen_cli_docs.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tokenfall.engines import ENGINES

COMMANDS = ["", "bench", "eval", "runs", "show", "export", "mock-server"]


def main() -> None:
    env = {**os.environ, "COLUMNS": "100"}
    out = ["# CLI reference", "",
           "Generated from `tokenfall COMMAND --help` by `scripts/gen_cli_docs.py`. Global options go before the command: "
           "`tokenfall --db ledger.sqlite bench ...`.", ""]
    for cmd in COMMANDS:
        text = subprocess.run([sys.executable, "-m", "tokenfall", *([cmd] if cmd else []), "--help"], capture_output=True,
                              text=True, env=env, check=True).stdout
        out += [f"## tokenfall {cmd}".rstrip(), "", "```text", text.rstrip(), "```", ""]
    out += ["## Engine options (`-o KEY=VALUE`)", ""]
    for name in ENGINES.names():
        out += [f"### {name}", "", "| option | default | meaning |", "|---|---|---|"]
        for field, info in ENGINES.load(name).Options.model_fields.items():
            default = "(machine cores)" if info.default_factory else info.default
            out.append(f"| `{field}` | `{default}` | {info.description or ''} |")
        out.append("")
    (Path(__file__).resolve().parents[1] / "docs" / "cli.md").write_text("\n".join(out))


if __name__ == "__main__":
    main()
