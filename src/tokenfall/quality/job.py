"""An eval run recorded in the ledger: the quality of a model on an engine, with each reference graded once."""

from __future__ import annotations

from tokenfall import __version__, models
from tokenfall.errors import Interrupted
from tokenfall.progress import Progress, Silent
from tokenfall.quality import evaluate as quality
from tokenfall.store import Ledger
from tokenfall.types import EvalConfig, EvalSummary, Run


def run(config: EvalConfig, ledger: Ledger, progress: Progress | None = None) -> Run:
    """Fidelity to a reference and task accuracy (paired with the reference on the same items), checked
    against ``config.gate``. Stored as an ``eval`` run; Ctrl-C keeps the tasks already graded."""
    progress = progress or Silent()
    prepared = quality.prepare(config)  # bad input fails before a run is recorded
    model, ref, _ = prepared
    run_id = ledger.new_run("eval", config.model_dump(), models.run_fingerprint(model, config.engine))
    ledger.set_engine(run_id, {"name": config.engine, "options": config.engine_options, "model": model.model_dump()})
    summary = EvalSummary(model=model, reference=ref, engine=config.engine)
    status = "failed"
    try:
        quality.evaluate(config, progress, summary, known=lambda sha, digest, opts: known_outcomes(ledger, config, sha, digest, opts),
                         prepared=prepared)
        status = "complete"
    except KeyboardInterrupt:
        status = "incomplete"
        raise Interrupted(run_id, len(summary.tasks), "task results") from None
    finally:
        ledger.finish(run_id, status, summary)
    return ledger.run(run_id)


def known_outcomes(ledger: Ledger, config: EvalConfig, sha: str, digest: str, options: dict) -> str | None:
    """Per-item outcomes of model ``sha`` graded with engine ``options`` on the task with ``digest``, from an
    earlier eval run of this tokenfall version on the same engine (as candidate or as reference), so a reference is
    graded once."""
    for r in ledger.runs(limit=None, kind="eval"):
        c, s = r.config, r.summary
        if (s is None or c.get("engine") != config.engine or c.get("ctx") != config.ctx
                or r.fingerprint.get("tokenfall") != __version__):  # outcomes graded by other code are not reused
            continue
        ref_opts = c.get("reference_options")
        for t in s.tasks:
            if t.items_digest != digest:
                continue
            if s.model.sha256 == sha and t.items and c.get("engine_options") == options:
                return t.items
            if s.reference is not None and s.reference.sha256 == sha and t.reference_items and ref_opts == options:
                return t.reference_items
    return None
