"""The ledger file: schema versions and migrations (from a ledger made before versions existed: conftest's
old_ledger), WAL, typed rows that serialise back to exactly what was stored."""

import json
import sqlite3

import pytest

from tokenfall.errors import TokenfallError
from tokenfall.store import VERSION, Ledger
from tokenfall.types import EvalSummary, LevelSummary, OptimizeSummary


def test_an_old_ledger_is_migrated_and_reads_typed(old_ledger):
    raw = {r[0]: json.loads(r[1]) for r in sqlite3.connect(old_ledger).execute("SELECT id, summary FROM runs")}
    assert sqlite3.connect(old_ledger).execute("PRAGMA user_version").fetchone()[0] == 0
    with Ledger(old_ledger) as ledger:
        bench, = ledger.runs(kind="bench")
        ev, = ledger.runs(kind="eval")
        assert len(ledger.artifacts()) == 1 and len(ledger.requests(bench.id)) == 8  # 7 measured + 1 warm-up
    con = sqlite3.connect(old_ledger)
    assert con.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT name FROM sqlite_master WHERE name='runs_kind_created'").fetchone()
    assert [type(lv) for lv in bench.levels] == [LevelSummary, LevelSummary] and bench.levels[1].cost.usd_per_m_output > 0
    assert isinstance(ev.summary, EvalSummary) and ev.summary.tasks[0].n == 6
    # the typed row serialises to the JSON that was stored (`--json` and `export` keep its keys and values); fields
    # added since then appear, empty
    for run in (bench, ev):
        assert _within(raw[run.id], run.model_dump(mode="json")["summary"])


def _within(stored, now) -> bool:
    if isinstance(stored, dict):
        return isinstance(now, dict) and all(k in now and _within(v, now[k]) for k, v in stored.items())
    if isinstance(stored, list):
        return isinstance(now, list) and len(now) == len(stored) and all(map(_within, stored, now))
    return stored == now


def test_migration_is_idempotent_and_a_newer_ledger_is_refused(tmp_path, old_ledger):
    Ledger(old_ledger).close()
    with Ledger(old_ledger) as ledger:
        assert len(ledger.runs()) == 2
    newer = tmp_path / "newer.sqlite"
    sqlite3.connect(newer).execute(f"PRAGMA user_version = {VERSION + 1}")
    with pytest.raises(TokenfallError, match=f"schema version {VERSION + 1}, newer than this tokenfall's {VERSION}"):
        Ledger(newer)


def test_typed_summaries_round_trip(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        rid = ledger.new_run("optimize", {"model": None}, {"machine": {}})
        ledger.finish(rid, "incomplete", OptimizeSummary(budget_hit=True, reused=3))
        run = ledger.run(rid[:10])
    assert run.status == "incomplete" and isinstance(run.summary, OptimizeSummary)
    assert run.summary.reused == 3 and run.summary.chosen is None and run.levels == []


def test_a_reader_is_not_blocked_by_an_open_writer(tmp_path):
    path = tmp_path / "l.sqlite"
    with Ledger(path) as writer, Ledger(path) as reader:
        writer.db.execute("BEGIN IMMEDIATE")
        writer.db.execute("INSERT INTO runs (id, kind, created, status, config, fingerprint) VALUES ('x','bench',0,'running','{}','{}')")
        assert reader.runs() == []  # WAL: the reader sees the last commit instead of waiting for the writer
        writer.db.commit()
