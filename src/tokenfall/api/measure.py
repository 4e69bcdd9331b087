"""Measure: a bench run and an eval run, each recorded in the ledger."""

from __future__ import annotations

from tokenfall.bench import job as bench_job
from tokenfall.progress import Progress
from tokenfall.quality import job as eval_job
from tokenfall.store import Ledger
from tokenfall.types import BenchConfig, EvalConfig, Run


def bench(config: BenchConfig, db: str | None = None, progress: Progress | None = None) -> Run:
    """Serve a model on an engine, drive each load level through it, store raw records and per-level metrics
    and cost. Ctrl-C keeps completed requests: the run is stored as incomplete and ``Interrupted`` is raised."""
    with Ledger(db) as ledger:
        return bench_job.run(config, ledger, progress)


def evaluate(config: EvalConfig, db: str | None = None, progress: Progress | None = None) -> Run:
    """Quality of a model on an engine: fidelity to a reference and task accuracy (paired with the
    reference on the same items), checked against ``config.gate``. Stored as an ``eval`` run."""
    with Ledger(db) as ledger:
        return eval_job.run(config, ledger, progress)


def quality_of(model_sha256: str, db: str | None = None) -> list[Run]:
    """Completed eval runs of the model with this sha256, newest first (what `show` prints beside cost)."""
    with Ledger(db) as ledger:
        return [r for r in ledger.runs(limit=None, kind="eval")
                if r.status == "complete" and r.summary is not None and r.summary.model.sha256 == model_sha256]
