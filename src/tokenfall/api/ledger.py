"""Read the ledger: runs, artifacts, exports and reports, all rendered from stored rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tokenfall.errors import TokenfallError
from tokenfall.store import Ledger
from tokenfall.types import RequestRecord, Run


def runs(db: str | None = None, limit: int = 50) -> list[Run]:
    with Ledger(db) as ledger:
        return ledger.runs(limit)


def show(run_id: str, db: str | None = None) -> Run:
    with Ledger(db) as ledger:
        return ledger.run(run_id)


def artifacts(db: str | None = None) -> list[dict]:
    with Ledger(db) as ledger:
        return ledger.artifacts()


def export(run_id: str, fmt: str, db: str | None = None) -> str:
    """A run as one JSON document (run + raw records, and the items a ttc run stores: every problem's samples) or as
    CSV of per-request records."""
    with Ledger(db) as ledger:
        run = ledger.run(run_id)
        records = ledger.requests(run.id)
        items = ledger.items(run.id)
    if fmt == "json":
        doc = {"run": run.model_dump(mode="json"), "requests": [r.model_dump() for r in records]}
        if items:
            doc["items"] = {k: json.loads(v) for k, v in sorted(items.items())}
        return json.dumps(doc, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        fields = [f for f in RequestRecord.model_fields if f != "token_times"] + ["n_token_times"]
        w = csv.DictWriter(buf, fieldnames=fields)
        w.writeheader()
        for r in records:
            d = r.model_dump()
            d["n_token_times"] = len(d.pop("token_times"))
            w.writerow(d)
        return buf.getvalue()
    raise TokenfallError(f"--format {fmt}: use json or csv")


def report(run_ids: list[str], out_dir: str | None = None, db: str | None = None) -> dict:
    """Render runs from the ledger (default: the newest optimize run) into ``out_dir`` (default:
    ./tokenfall-reports/FIRST-RUN)."""
    from tokenfall import report as render

    with Ledger(db) as ledger:
        if not run_ids:
            latest = ledger.runs(limit=1, kind="optimize")
            if not latest:
                raise TokenfallError("no optimize run in the ledger yet; run `tokenfall optimize` or name runs: tokenfall report RUN ...")
            run_ids = [latest[0].id]
        found = [ledger.run(r) for r in run_ids]
    return render.render(found, out_dir or Path("tokenfall-reports") / found[0].id)
