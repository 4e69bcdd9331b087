"""The optimize search's measurements, taken for real and kept in the ledger. A bench or eval run identical in
configuration, model file (sha256), machine, llama.cpp build and tokenfall version to a completed one is reused
instead of measured again: an interrupted search resumes where it stopped, and a repeated one costs only what
changed. Runs of another tokenfall version are never reused (the code that measured them may differ)."""

from __future__ import annotations

import json
import time
from datetime import datetime

from tokenfall import __version__, fingerprint, models
from tokenfall.bench import job as bench_job
from tokenfall.errors import Interrupted, TokenfallError
from tokenfall.levers import job as levers_job
from tokenfall.progress import Progress
from tokenfall.quality import job as eval_job
from tokenfall.store import Ledger
from tokenfall.types import BenchConfig, EvalConfig, ModelInfo, Run, SubRun


class LedgerLab:
    def __init__(self, db: str | None, progress: Progress, log, time_budget_s: float | None, fresh: bool):
        self.db, self.progress, self.log, self.fresh = db, progress, log, fresh
        self.t_end = None if time_budget_s is None else time.monotonic() + time_budget_s
        self.machine = fingerprint.machine()
        self.runs: list[SubRun] = []  # in the order the search asked for them

    def resolve(self, ref):
        return models.resolve(ref)

    def reference(self, model: ModelInfo) -> ModelInfo:
        with Ledger(self.db) as ledger:
            return levers_job.float_reference(model, ledger)

    def artifact(self, lever: str, model: str, options: dict) -> ModelInfo:
        with Ledger(self.db) as ledger:
            return levers_job.apply(lever, model, options, ledger)

    def descendants(self, model: ModelInfo) -> list[ModelInfo]:
        with Ledger(self.db) as ledger:
            return levers_job.descendants(model, ledger)

    def over_budget(self) -> bool:
        return self.t_end is not None and time.monotonic() > self.t_end

    def outputs(self, run_id: str) -> dict[int, str]:
        with Ledger(self.db) as ledger:
            return {r.idx: r.output_text for r in ledger.requests(run_id) if not r.warmup and r.error is None}

    def _known(self, kind: str, config: dict, sha: str | None) -> Run | None:
        if self.fresh:
            return None
        backend = models.llama_backend(config.get("engine", "llamacpp"))
        with Ledger(self.db) as ledger:
            for r in ledger.runs(limit=None, kind=kind):
                fp = r.fingerprint
                if (r.status == "complete" and r.config == config and (fp.get("model") or {}).get("sha256") == sha
                        and fp.get("machine") == self.machine and fp.get("llama_cpp") == backend
                        and fp.get("tokenfall") == __version__):
                    return r
        return None

    def _measure(self, kind: str, config, label: str, fn) -> Run:
        row = self._known(kind, json.loads(config.model_dump_json()), models.resolve(config.model).sha256)
        reused = row is not None
        created = None
        if reused:
            created = datetime.fromtimestamp(row.created).astimezone().isoformat(timespec="seconds")
            self.log(f"  reused {kind} run {row.id} (measured {created})")
        else:
            row = fn(config)
        self.runs.append(SubRun(label=label, kind=kind, id=row.id, reused=reused, created=created))
        return row

    def bench(self, config: BenchConfig, label: str) -> Run:
        return self._measure("bench", config, label, lambda c: isolated_bench(c, self.db))

    def evaluate(self, config: EvalConfig, label: str) -> Run:
        def measure(c: EvalConfig) -> Run:
            with Ledger(self.db) as ledger:
                return eval_job.run(c, ledger, self.progress)

        return self._measure("eval", config, label, measure)


def isolated_bench(config: BenchConfig, db: str | None) -> Run:
    """A bench run in a fresh process. What a long search did before (task scoring's large arrays, engines
    started and stopped, torch) slowed llama.cpp decode in the same process by up to 30% (400 -> 296
    tok/s at 64 streams after three task evals, measured), so each timed run starts clean. Ctrl-C
    reaches the child too: it stores its run as incomplete, and the search stops here."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from tokenfall import spawn

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        out = spawn.submit(pool, _bench_child, config.model_dump_json(), db).result()
    if out.startswith("\x00"):
        raise TokenfallError(out[1:])
    return Run.model_validate_json(out)


def _bench_child(config_json: str, db: str | None) -> str:
    """The run as JSON, or its one-line error after a NUL (plain strings cross the process boundary intact)."""
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with Ledger(db) as ledger:
            return bench_job.run(BenchConfig.model_validate_json(config_json), ledger).model_dump_json()
    except (TokenfallError, Interrupted) as e:
        return "\x00" + str(e)
