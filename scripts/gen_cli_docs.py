"""Regenerate docs/cli.md from the CLI's own --help and the engines' Options models, and docs/run.schema.json
(what `--json` prints of a run) from the ``Run`` model. tests/unit/test_docs.py fails when either is stale.

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


DOCS = Path(__file__).resolve().parents[1] / "docs"


def run_schema() -> str:
    """The JSON Schema of a stored run, versioned with the ledger's schema."""
    import json

    from tokenfall.store import VERSION
    from tokenfall.types import Run

    schema = {"$id": f"https://tokenfall.dev/schema/run/v{VERSION}", "version": VERSION} | Run.model_json_schema()
    return json.dumps(schema, indent=1) + "\n"


def cli_reference() -> str:
    env = {**os.environ, "COLUMNS": "100"}
    out = ["# CLI reference", "",
           "Generated from `tokenfall COMMAND --help` by `scripts/gen_cli_docs.py`. Global options go before the command: "
           "`tokenfall --db ledger.sqlite bench ...`.", "",
           "## Exit codes", "",
           "Every command ends with one of these (`tokenfall.errors.ExitCode`); a failure prints one line on stderr, "
           "`--debug` shows the traceback.", "",
           "| code | meaning |", "|---:|---|",
           "| 0 | success |",
           "| 1 | the run worked and its verdict is no: `eval` gate FAIL, `bench --slo` met by fewer than `--slo-attainment` "
           "of a level's requests, `optimize` found no configuration passing the gate (or none within the SLO) |",
           "| 2 | bad input (an option, a file, the environment): nothing was measured and no run was recorded |",
           "| 3 | runtime failure: the engine or server failed (every request of a level failed: the run is stored as "
           "`failed` with its records), or an internal error |",
           "| 130 | interrupted (Ctrl-C): completed measurements are kept, the run is marked `incomplete` |", ""]
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
    return "\n".join(out)


if __name__ == "__main__":
    (DOCS / "cli.md").write_text(cli_reference())
    (DOCS / "run.schema.json").write_text(run_schema())
