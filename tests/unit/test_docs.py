"""The generated references are current: docs/cli.md (every command's --help, engine and lever options) and
docs/run.schema.json (what `--json` prints of a run). Regenerate with `.venv/bin/python scripts/gen_cli_docs.py`."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts" / "gen_cli_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cli_reference_and_run_schema_are_current():
    gen = _generator()
    assert (ROOT / "docs" / "cli.md").read_text() == gen.cli_reference(), "docs/cli.md is stale: run scripts/gen_cli_docs.py"
    assert (ROOT / "docs" / "run.schema.json").read_text() == gen.run_schema(), "docs/run.schema.json is stale"
