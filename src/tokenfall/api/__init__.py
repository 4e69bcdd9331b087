"""What the CLI and Python users share: one module per job, each function validating its config, opening the
ledger, calling the capability that does the work and returning its typed result (``Run`` for recorded runs).

    from tokenfall import api
    from tokenfall.types import BenchConfig, Load
    run = api.bench(BenchConfig(loads=[Load(concurrency=4)]))
    print(run.levels[0].cost.usd_per_m_output)
"""

from tokenfall.api.estimate import estimate, scale, validate_estimates
from tokenfall.api.ledger import artifacts, export, report, runs, show
from tokenfall.api.levers import apply_lever, artifact_dir, distill, pull, quantize_sweep
from tokenfall.api.market import curve, margin, train_cost
from tokenfall.api.measure import bench, evaluate, quality_of
from tokenfall.api.search import optimize
from tokenfall.api.route import route
from tokenfall.api.specialize import specialize
from tokenfall.api.ttc import ttc
from tokenfall.progress import Progress

__all__ = ["Progress", "apply_lever", "artifact_dir", "artifacts", "bench", "curve", "distill", "estimate", "evaluate", "export",
           "margin", "optimize", "pull", "quality_of", "quantize_sweep", "report", "route", "runs", "scale", "show", "specialize", "train_cost", "ttc",
           "validate_estimates"]
