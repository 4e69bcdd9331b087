"""Search: the cheapest configuration of a model that passes the quality gate and the latency SLO."""

from __future__ import annotations

import time

from tokenfall import __version__, cost, models
from tokenfall.bench.job import check_prompts
from tokenfall.errors import Interrupted
from tokenfall.levers.job import check_quant_types
from tokenfall.optimize import Search, assumptions
from tokenfall.optimize.lab import LedgerLab
from tokenfall.progress import Progress, Silent
from tokenfall.store import Ledger
from tokenfall.types import EvalConfig, OptimizeConfig, Run


def optimize(config: OptimizeConfig, db: str | None = None, progress: Progress | None = None, log=None,
             fresh: bool = False) -> Run:
    """Run the search in ``tokenfall.optimize`` and store it as an ``optimize`` run (sub-runs referenced by id).
    Ctrl-C keeps every completed measurement; running the same command again reuses them."""
    from tokenfall.quality import evaluate as quality

    log = log or (lambda msg: None)
    check_quant_types(config.types)
    check_prompts(config.prompts)
    cost.pricing(**config.price.model_dump())
    for spec in config.tasks:  # a bad task file fails before minutes of measuring
        quality.prepare(EvalConfig(model=config.model, tasks=[spec], fidelity=False))
    lab = LedgerLab(db, progress or Silent(), log, config.time_budget_s, fresh)
    model = models.resolve(config.model)
    with Ledger(db) as ledger:
        run_id = ledger.new_run("optimize", config.model_dump(), {"machine": lab.machine, "tokenfall": __version__,
                                                                   "model": model.model_dump()})
    t0 = time.monotonic()
    search = Search(config, lab, log)
    status, summary = "failed", None
    try:
        summary = search.run()
        status = "complete"
    except (KeyboardInterrupt, Interrupted):
        status = "incomplete"
        raise Interrupted(run_id, sum(1 for r in lab.runs if not r.reused), "new measurements") from None
    finally:
        summary = (summary or search.partial()).model_copy(update={
            "runs": lab.runs, "elapsed_s": time.monotonic() - t0, "reused": sum(1 for r in lab.runs if r.reused),
            "assumptions": assumptions(config)})
        with Ledger(db) as ledger:
            ledger.finish(run_id, status, summary)
            row = ledger.run(run_id)
    return row
