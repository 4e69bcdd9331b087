"""The ledger: one SQLite file holding every run, its configuration, machine and raw per-request records.

Reports and `show` are rendered from here, never from live objects. Writes are transactional, so an
interrupted run keeps the requests that completed and is marked incomplete.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import sqlite3
import time
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import TypeAdapter

from tokenfall.errors import TokenfallError
from tokenfall.types import ModelInfo, RequestRecord, Run, Summary

_SUMMARY_JSON = TypeAdapter(Summary | None)

# Each entry brings a ledger from the version before it to its own (PRAGMA user_version). A file made before
# versions existed reads 0 and already holds version 1's tables, which is why version 1 is written idempotently.
MIGRATIONS = [
    """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, created REAL NOT NULL, finished REAL,
    status TEXT NOT NULL,           -- running | complete | incomplete | failed
    config TEXT NOT NULL, fingerprint TEXT NOT NULL, engine TEXT, summary TEXT
);
CREATE TABLE IF NOT EXISTS requests (
    run_id TEXT NOT NULL REFERENCES runs(id), level INTEGER NOT NULL, idx INTEGER NOT NULL,
    warmup INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (run_id, level, idx, warmup)
);
CREATE TABLE IF NOT EXISTS artifacts (
    sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, parent_sha256 TEXT, lever TEXT, options TEXT,
    created REAL NOT NULL, info TEXT NOT NULL   -- ModelInfo JSON
);
""",
    # the optimize lab and `runs` list runs of one kind, newest first
    "CREATE INDEX IF NOT EXISTS runs_kind_created ON runs (kind, created);",
    # results a run keeps one item at a time (a ttc run's problems), so an interrupted run resumes where it stopped
    """
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT NOT NULL REFERENCES runs(id), key TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (run_id, key)
);
""",
]
VERSION = len(MIGRATIONS)


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


_HOST = {"host": socket.gethostname(), "boot": _boot_id()}


def _process() -> dict:
    """Who owns a 'running' row: a row whose owner is gone is reaped by the next ledger open."""
    return {"pid": os.getpid()} | _HOST


def _alive(pid) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def default_db() -> Path:
    return Path(user_data_dir("tokenfall", appauthor=False)) / "ledger.sqlite"


class Ledger:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_db()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread off: inside a running event loop (Jupyter) a run's coroutine, and so its ledger
            # writes, runs in a worker thread (tokenfall.loop); the ledger is never used from two threads at once
            self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self._migrate()
        except (OSError, sqlite3.DatabaseError) as e:
            raise TokenfallError(f"ledger '{self.path}' cannot be opened ({e}); pass --db with a writable SQLite path") from e
        self.db.row_factory = sqlite3.Row
        self._reap()

    def _migrate(self) -> None:
        """WAL (readers never wait for a writing run) and the schema brought to VERSION, one transaction a step.
        A ledger from a newer tokenfall is refused rather than written in a shape it does not know."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > VERSION:
            raise TokenfallError(f"ledger '{self.path}' has schema version {version}, newer than this tokenfall's {VERSION}; "
                                 "upgrade tokenfall or pass --db with another file")
        for v in range(version, VERSION):
            self.db.executescript(f"BEGIN; {MIGRATIONS[v]} PRAGMA user_version = {v + 1}; COMMIT;")
        with contextlib.suppress(sqlite3.OperationalError):  # a read-only file keeps its journal mode
            self.db.execute("PRAGMA journal_mode=WAL")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self):
        """One transaction; a read-only or locked file becomes one line naming it."""
        try:
            with self.db:
                yield
        except sqlite3.OperationalError as e:
            raise TokenfallError(f"ledger '{self.path}' cannot be written ({e}); pass --db with a writable SQLite path") from e

    def _reap(self) -> None:
        """Runs left 'running' by a process that no longer exists (killed, out of memory) are marked failed."""
        stale = []
        for r in self.db.execute("SELECT id, fingerprint FROM runs WHERE status='running'").fetchall():
            owner = (json.loads(r["fingerprint"] or "{}") or {}).get("process") or {}
            if owner.get("host") == _HOST["host"] and owner.get("boot") == _HOST["boot"] and _alive(owner.get("pid")):
                continue
            if owner.get("host") in (None, _HOST["host"]):
                stale.append(r["id"])
        if stale:
            try:
                with self.db:
                    self.db.executemany("UPDATE runs SET status='failed', finished=? WHERE id=? AND status='running'",
                                        [(time.time(), i) for i in stale])
            except sqlite3.OperationalError:
                pass  # a read-only ledger can still be read

    def new_run(self, kind: str, config: dict, fingerprint: dict) -> str:
        run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        fingerprint = fingerprint | {"process": _process()}
        with self._write():
            self.db.execute("INSERT INTO runs (id, kind, created, status, config, fingerprint) VALUES (?,?,?,?,?,?)",
                            (run_id, kind, time.time(), "running", json.dumps(config), json.dumps(fingerprint)))
        return run_id

    def set_engine(self, run_id: str, engine: dict) -> None:
        with self._write():
            self.db.execute("UPDATE runs SET engine=? WHERE id=?", (json.dumps(engine), run_id))

    def add_requests(self, run_id: str, records: list[RequestRecord]) -> None:
        with self._write():
            self.db.executemany(
                "INSERT OR REPLACE INTO requests (run_id, level, idx, warmup, record) VALUES (?,?,?,?,?)",
                [(run_id, r.level, r.idx, int(r.warmup), r.model_dump_json()) for r in records])

    def add_item(self, run_id: str, key: str, record: str) -> None:
        """One completed unit of a run (JSON), committed at once: an interruption keeps it."""
        with self._write():
            self.db.execute("INSERT OR REPLACE INTO items (run_id, key, record) VALUES (?,?,?)", (run_id, key, record))

    def items(self, run_id: str) -> dict[str, str]:
        return {r["key"]: r["record"] for r in self.db.execute("SELECT key, record FROM items WHERE run_id=?", (run_id,))}

    def resume(self, kind: str, config: dict, model_sha256: str | None = None) -> str | None:
        """The newest run of ``kind`` with exactly this config (finished or not) and, given, of the model file with
        this sha256, marked running again under this process with its items kept: what is missing is added, what
        is there is re-read, never redone. None when there is none."""
        for r in self.db.execute("SELECT id, config, fingerprint FROM runs WHERE kind=? AND status != 'running' "
                                 "ORDER BY created DESC", (kind,)).fetchall():
            fp = json.loads(r["fingerprint"] or "{}")
            if model_sha256 is not None and (fp.get("model") or {}).get("sha256") != model_sha256:
                continue
            if json.loads(r["config"]) == json.loads(json.dumps(config)):
                fp = fp | {"process": _process()}
                with self._write():
                    self.db.execute("UPDATE runs SET status='running', finished=NULL, fingerprint=? WHERE id=?",
                                    (json.dumps(fp), r["id"]))
                return r["id"]
        return None

    def finish(self, run_id: str, status: str, summary: Summary | None) -> None:
        """The run's outcome, stored as the JSON of its typed summary."""
        data = _SUMMARY_JSON.dump_python(summary, mode="json")
        with self._write():
            self.db.execute("UPDATE runs SET status=?, finished=?, summary=? WHERE id=?",
                            (status, time.time(), json.dumps(data), run_id))

    def add_artifact(self, info: ModelInfo, parent_sha256: str | None, lever: str, options: dict) -> None:
        with self._write():
            self.db.execute("INSERT OR REPLACE INTO artifacts (sha256, path, parent_sha256, lever, options, created, info) "
                            "VALUES (?,?,?,?,?,?,?)", (info.sha256, info.path, parent_sha256, lever, json.dumps(options, sort_keys=True),
                                                       time.time(), info.model_dump_json()))

    def artifacts(self) -> list[dict]:
        rows = self.db.execute("SELECT * FROM artifacts ORDER BY created").fetchall()
        return [dict(r) | {"options": json.loads(r["options"]), "info": json.loads(r["info"])} for r in rows]

    def runs(self, limit: int | None = 50, kind: str | None = None) -> list[Run]:
        rows = self.db.execute("SELECT * FROM runs WHERE ? IS NULL OR kind=? ORDER BY created DESC LIMIT ?",
                               (kind, kind, -1 if limit is None else limit)).fetchall()
        return [self._row(r) for r in rows]

    def run(self, run_id: str) -> Run:
        rows = self.db.execute("SELECT * FROM runs WHERE id=? OR id LIKE ? ORDER BY created DESC", (run_id, run_id + "%")).fetchall()
        if not rows:
            raise TokenfallError(f"run '{run_id}' is not in the ledger {self.path}; list runs with `tokenfall runs`")
        if len(rows) > 1 and rows[0]["id"] != run_id:
            raise TokenfallError(f"run '{run_id}' is ambiguous ({len(rows)} runs match); give more of the id")
        return self._row(rows[0])

    def requests(self, run_id: str) -> list[RequestRecord]:
        rows = self.db.execute("SELECT record FROM requests WHERE run_id=? ORDER BY level, warmup DESC, idx", (run_id,)).fetchall()
        return [RequestRecord.model_validate_json(r["record"]) for r in rows]

    @staticmethod
    def _row(r: sqlite3.Row) -> Run:
        d = dict(r)
        for k in ("config", "fingerprint", "engine", "summary"):
            d[k] = json.loads(d[k]) if d[k] else None
        return Run.model_validate(d | {"config": d["config"] or {}, "fingerprint": d["fingerprint"] or {}})
