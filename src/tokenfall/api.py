"""What the CLI and Python users share: each function takes a config, does one job, returns plain data."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Protocol

from platformdirs import user_data_dir

from tokenfall import __version__, cost, fingerprint, loop, models
from tokenfall.bench import metrics, runner
from tokenfall.engines import create
from tokenfall.errors import Interrupted, RunFailed, TokenfallError, invalid_options
from tokenfall.models import tokenizers
from tokenfall.store import Ledger
from tokenfall.types import (
    BenchConfig,
    EvalConfig,
    EvalSummary,
    LevelSummary,
    Load,
    ModelInfo,
    RequestRecord,
)
from tokenfall.workloads import prompts as prompt_sets


class Progress(Protocol):
    def level(self, label: str, total: int | None) -> None: ...
    def tokens(self, n: int) -> None: ...
    def request_done(self) -> None: ...


class _Silent:
    def level(self, label, total): pass
    def tokens(self, n): pass
    def request_done(self): pass


FIXES = {
    "context_overflow": "raise -o seq_ctx=N or shorten --input-tokens/--output-tokens",
    "http_401": "set the API key variable (-o api_key_env=NAME)",
    "http_404": "check the served model name after '#' and the base URL (it usually ends in /v1)",
    "connect": "check that the server is up",
    "timeout": "raise --timeout or lower the load",
}


def _check(config: BenchConfig) -> None:
    for load in config.loads:
        if load.mode != "concurrency" and not (load.rate and load.rate > 0):
            raise TokenfallError(f"load {load.mode}: give a positive --rate")
        if load.concurrency < 1:
            raise TokenfallError(f"--concurrency {load.concurrency}: must be >= 1")
        if load.requests is None and load.duration_s is None:
            raise TokenfallError("give --requests or --duration so the run stops by itself")
        if load.requests is not None and load.requests < 1:
            raise TokenfallError(f"--requests {load.requests}: must be >= 1")
    _check_prompts(config.prompts)


def _check_prompts(p) -> None:
    if p.source == "jsonl":
        prompt_sets.read_jsonl(p.path, p)  # a missing or bad file fails here, before any model loads
    elif not p.shared_prefix_tokens < p.input_tokens:
        raise TokenfallError(f"--shared-prefix {p.shared_prefix_tokens}: must be below --input-tokens {p.input_tokens}")


def _llama_backend(engine: str) -> dict | None:
    if engine != "llamacpp":
        return None
    from tokenfall.models.llama import backend

    return backend()


def _fingerprint(model: ModelInfo, engine: str) -> dict:
    """Machine, versions, model and, for llama.cpp, the build's features and buffer-type choice: runs that
    differ in any of these are never reused for one another."""
    fp = {"machine": fingerprint.machine(), "tokenfall": __version__, "model": model.model_dump()}
    if (b := _llama_backend(engine)) is not None:
        fp["llama_cpp"] = b
    return fp


def bench(config: BenchConfig, db: str | None = None, progress: Progress | None = None) -> dict:
    """Serve a model on an engine, drive each load level through it, store raw records and summaries.

    Returns the ledger row of the run (id, status, summary with per-level metrics and cost).
    Ctrl-C keeps completed requests: the run is stored as incomplete and ``Interrupted`` is raised.
    """
    _check(config)
    progress = progress or _Silent()
    model = models.resolve(config.model)
    remote = model.kind == "remote"
    if remote and config.price.hardware is None and config.price.usd_per_hour is None:
        raise TokenfallError(f"'{model.ref}' runs on another machine, so this machine's price says nothing of its $/M: "
                             "give the server's price with --hardware ID (see `tokenfall hardware`) or --usd-per-hour")
    # a remote server's watts are not this machine's: its meter reads nothing
    meter = fingerprint.PowerMeter.off() if remote else fingerprint.PowerMeter()
    cost.pricing(**config.price.model_dump(), measured_watts=0.0 if meter.source else None,
                 remote=remote)  # prices checked before minutes are spent measuring
    engine = create(config.engine, model, config.engine_options)
    processes = getattr(engine.opts, "processes", 1)
    ledger = Ledger(db)
    fp = _fingerprint(model, config.engine) | {"power_source": meter.source}
    run_id = ledger.new_run("bench", config.model_dump(), fp)
    summaries: list[LevelSummary] = []
    status = "failed"
    try:
        loop.run(_bench_levels(config, engine, model, processes, ledger, run_id, meter, progress, summaries))
        status = "failed" if any(s.requests_ok == 0 and s.requests_failed for s in summaries) else "complete"
    except KeyboardInterrupt:
        status = "incomplete"
        kept = sum(1 for r in ledger.requests(run_id) if not r.warmup)
        raise Interrupted(run_id, kept) from None
    finally:
        ledger.finish(run_id, status, [s.model_dump() for s in summaries])
        row = ledger.run(run_id)
        ledger.close()
    failed_all = [s for s in summaries if s.requests_ok == 0 and s.requests_failed]
    if failed_all:
        errors = failed_all[0].errors
        kinds = ", ".join(f"{k} x{v}" for k, v in errors.items())
        hint = next((FIXES[k] for k in errors if k in FIXES), "inspect them with `tokenfall export`")
        raise RunFailed(f"every request of level {failed_all[0].label} failed ({kinds}); {hint}; run {run_id} keeps the records")
    return row


async def _bench_levels(config, engine, model, processes, ledger, run_id, meter, progress, summaries: list) -> None:
    await engine.start()
    try:
        ledger.set_engine(run_id, engine.info().model_dump())
        tok = engine.tokenizer
        if tok is None and config.tokenizer:
            tok = tokenizers.load(models.resolve(config.tokenizer))
        n_unique = min(max((ld.requests or 256) for ld in config.loads), 512)
        requests = prompt_sets.build(n_unique, config.prompts, tok)
        for level, load in enumerate(config.loads):
            summaries.append(await _one_level(config, engine, model, processes, requests, tok, level, load,
                                              ledger, run_id, meter, progress))
    finally:
        await engine.stop()


async def _one_level(config, engine, model, processes, requests, tok, level, load: Load, ledger, run_id, meter, progress):
    sink: list[RequestRecord] = []
    warm = load.model_copy(update={"mode": "concurrency", "requests": load.warmup_requests, "duration_s": None,
                                   "concurrency": min(load.concurrency, max(load.warmup_requests, 1))})
    if load.warmup_requests:
        await runner.run_level(engine, requests, warm, level, sink, timeout_s=config.timeout_s, warmup=True)
    progress.level(load.label, load.requests)
    busy0 = engine.busy() if hasattr(engine, "busy") and processes == 1 else None
    meter.start()
    sampler = asyncio.create_task(_sample_power(meter))
    try:
        if processes > 1:
            sink += await asyncio.to_thread(runner.run_level_processes, processes, config.engine, model, config.engine_options,
                                            requests, load, level, timeout_s=config.timeout_s)
        else:  # records land in sink as they complete, so an interrupt keeps them
            await runner.run_level(engine, requests, load, level, sink, timeout_s=config.timeout_s,
                                   on_tokens=progress.tokens, on_done=progress.request_done)
    finally:
        sampler.cancel()
        if tok is not None:
            runner.count_tokens(sink, requests, tok)
        ledger.add_requests(run_id, sink)
    summary = metrics.summarize(sink, level, load.label, open_loop=load.mode != "concurrency", slo=config.slo)
    measured_w = meter.watts()
    p = cost.pricing(**config.price.model_dump(), measured_watts=measured_w, remote=model.kind == "remote")
    ok = [r for r in sink if not r.warmup and r.error is None and r.t_first is not None]
    if busy0 is not None and sum(engine.busy()) > sum(busy0):
        pre, dec = (b - a for a, b in zip(busy0, engine.busy()))
        share, how = pre / (pre + dec), "engine compute time (each llama_decode step split by its prompt vs decoded tokens)"
    else:
        share, how = metrics.prefill_share(ok), "per request: time to first token vs decoding"
    summary.cost = cost.price(p, summary.input_tokens_per_s, summary.output_tokens_per_s, share, run_id, how)
    return summary


async def _sample_power(meter) -> None:
    """NVML gives instantaneous watts: sample once a second while the level runs (RAPL needs no sampling)."""
    while meter.nvml:
        await asyncio.to_thread(meter.sample)
        await asyncio.sleep(1.0)


def evaluate(config: EvalConfig, db: str | None = None, progress: Progress | None = None) -> dict:
    """Quality of a model on an engine: fidelity to a reference and task accuracy (paired with the
    reference on the same items), checked against ``config.gate``. Stored as an ``eval`` run."""
    from tokenfall.quality import evaluate as quality

    progress = progress or _Silent()
    prepared = quality.prepare(config)  # bad input fails before a run is recorded
    model, ref, _ = prepared
    ledger = Ledger(db)
    fp = _fingerprint(model, config.engine)
    run_id = ledger.new_run("eval", config.model_dump(), fp)
    ledger.set_engine(run_id, {"name": config.engine, "options": config.engine_options, "model": model.model_dump()})
    summary = EvalSummary(model=model, reference=ref, engine=config.engine)
    status = "failed"
    try:
        quality.evaluate(config, progress, summary, known=lambda sha, digest: _known_outcomes(ledger, config, sha, digest),
                         prepared=prepared)
        status = "complete"
    except KeyboardInterrupt:
        status = "incomplete"
        raise Interrupted(run_id, len(summary.tasks), "task results") from None
    finally:
        ledger.finish(run_id, status, summary.model_dump())
        row = ledger.run(run_id)
        ledger.close()
    return row


def _known_outcomes(ledger: Ledger, config: EvalConfig, sha: str, digest: str) -> str | None:
    """Per-item outcomes of model ``sha`` on the task with ``digest``, from an earlier eval run on the
    same engine and options (as candidate or as reference), so a reference is graded once."""
    for run in ledger.runs(limit=None, kind="eval"):
        c, s = run["config"], run["summary"] or {}
        if c.get("engine") != config.engine or c.get("engine_options") != config.engine_options or c.get("ctx") != config.ctx:
            continue
        for t in s.get("tasks", []):
            if t["items_digest"] != digest:
                continue
            if (s["model"] or {}).get("sha256") == sha and t["items"]:
                return t["items"]
            if (s.get("reference") or {}).get("sha256") == sha and t.get("reference_items"):
                return t["reference_items"]
    return None


def quality_of(model_sha256: str, db: str | None = None) -> list[dict]:
    """Completed eval runs of the model with this sha256, newest first (what `show` prints beside cost)."""
    ledger = Ledger(db)
    try:
        return [r for r in ledger.runs(limit=None, kind="eval")
                if r["status"] == "complete" and ((r["summary"] or {}).get("model") or {}).get("sha256") == model_sha256]
    finally:
        ledger.close()


def artifact_dir() -> Path:
    return Path(user_data_dir("tokenfall", appauthor=False)) / "artifacts"


def apply_lever(lever_name: str, model_ref: str | None, options: dict, out_dir: str | None = None, db: str | None = None,
                progress=None) -> ModelInfo:
    """Pull one lever on a model: a new GGUF (reused when the same lever with the same options was already
    applied to the same parent), recorded in the ledger with its lineage."""
    from pydantic import ValidationError

    from tokenfall.levers import LEVERS, lineage, precheck

    lever = LEVERS.load(lever_name)()
    try:
        opts = lever.Options(**options)
    except ValidationError as e:
        raise invalid_options(lever_name, e) from e
    model = models.resolve(model_ref)
    if model.kind != "gguf":
        raise TokenfallError(f"lever '{lever_name}' reads GGUF files; '{model.ref}' is {model.kind}")
    precheck(model, opts)
    target = Path(out_dir).expanduser() if out_dir else artifact_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TokenfallError(f"--out-dir {target}: cannot create it ({e.strerror})") from e
    dst = target / lever.output_name(model, opts)
    want = lineage(model, lever_name, opts)
    if not (dst.is_file() and {k: v for k, v in models.lineage_of(dst).items() if k in want} == want):
        lever.apply(model, dst, opts, progress=progress)
    info = models.resolve(str(dst))
    ledger = Ledger(db)
    try:
        ledger.add_artifact(info, model.sha256, lever_name, opts.model_dump())
    finally:
        ledger.close()
    return info


def _check_quant_types(qtypes: list[str], **options) -> None:
    """Every type checked before minutes are spent on the first."""
    from tokenfall.levers.quantize import Quantize

    for q in qtypes:
        try:
            Quantize.Options(type=q, **options)
        except ValueError as e:
            raise invalid_options("quantize", e) from e


def quantize_sweep(model_ref: str | None, qtypes: list[str], out_dir: str | None = None, db: str | None = None,
                   measure: bool = True, tasks: list | None = None, tokens: int = 20480, progress: Progress | None = None,
                   imatrix: str | None = None, calibration: str | None = None) -> dict:
    """llama.cpp's quantization table, priced: every type quantized from a float reference (the model
    itself when it is F32/F16, else its F32 copy), then, with ``measure``, benchmarked (decode at 1 and 16
    streams, $/M output at 16) and evaluated (fidelity to the reference, ``tasks`` paired with it). With
    ``imatrix`` ('calibrate' or an imatrix GGUF), every type is quantized guided by it (computed once)."""
    _check_quant_types(qtypes, imatrix=imatrix, calibration=calibration)
    reference = _float_reference(models.resolve(model_ref), out_dir, db)
    rows = []
    for q in qtypes:
        art = apply_lever("quantize", reference.path, {"type": q, "imatrix": imatrix, "calibration": calibration}, out_dir, db)
        rows.append({"type": q} | _row(art, reference, measure, tasks, tokens, db, progress))
    return {"reference": reference.model_dump(), "rows": rows}


def pull(lever_name: str, model_ref: str | None, options: dict, out_dir: str | None = None, db: str | None = None,
         measure: bool = True, reference: str | None = None, tasks: list | None = None, tokens: int = 20480,
         progress: Progress | None = None) -> dict:
    """Pull one lever and, with ``measure``, put the parent and the result side by side: size, bits/weight,
    decode tok/s at 1 and 16 streams, $/M output, fidelity to ``reference`` (default: the parent's float
    weights) and ``tasks`` paired with it."""
    parent = models.resolve(model_ref)
    art = apply_lever(lever_name, parent.path, options, out_dir, db)
    ref = models.resolve(reference) if reference else _float_reference(parent, out_dir, db) if measure else None
    rows = [{"type": label} | _row(m, ref, measure, tasks, tokens, db, progress) for label, m in (("parent", parent), (lever_name, art))]
    return {"reference": ref.model_dump() if ref else None, "artifact": art.model_dump(), "lineage": models.lineage_of(art.path),
            "rows": rows}


def _float_reference(source: ModelInfo, out_dir: str | None, db: str | None) -> ModelInfo:
    """The model itself when it is F32/F16, else its F32 copy (the values llama.cpp computes with)."""
    if (source.quant_type or "").upper() in ("ALL_F32", "F16", "BF16"):
        return source
    return apply_lever("convert", source.path, {"dtype": "f32"}, out_dir, db)


def _row(m: ModelInfo, reference: ModelInfo | None, measure: bool, tasks, tokens: int, db, progress) -> dict:
    """One row of a lever table: the file's size and, with ``measure``, its price and its fidelity and
    task accuracy against ``reference`` (a model compared with itself scores KLD 0, top-1 1, not rerun)."""
    row = {"path": m.path, "sha256": m.sha256, "size_bytes": m.size_bytes, "n_params": m.n_params, "quant_type": m.quant_type,
           "bits_per_weight": m.size_bytes * 8 / m.n_params if m.n_params else None}
    if not measure:
        return row
    row |= _price(m.path, db, progress)
    if m.sha256 == reference.sha256:
        return row | {"eval_run": None, "kld_mean": 0.0, "top1": 1.0, "ppl_ratio": 1.0, "tasks": {}}
    e = evaluate(EvalConfig(model=m.path, reference=reference.path, tokens=tokens, tasks=tasks or []), db, progress)
    f = e["summary"]["fidelity"]
    return row | {"eval_run": e["id"], "kld_mean": f["kld_mean"], "top1": f["top1_agreement"], "ppl_ratio": f["ppl_ratio"],
                  "tasks": {t["name"]: t["acc"] for t in e["summary"]["tasks"]}}


def _price(path: str, db: str | None, progress: Progress | None) -> dict:
    """Decode speed at 1 and 16 streams and $/M output at 16 (32 in / 32 out tokens), one bench run."""
    from tokenfall.types import PriceSpec, Prompts

    b = bench(BenchConfig(model=path, loads=[Load(concurrency=1, requests=8), Load(concurrency=16, requests=32)],
                          prompts=Prompts(input_tokens=32, output_tokens=32), price=PriceSpec()), db, progress)
    one, many = b["summary"]
    return {"bench_run": b["id"], "decode_tok_s_c1": one["output_tokens_per_s"], "decode_tok_s_c16": many["output_tokens_per_s"],
            "usd_per_m_output_c16": many["cost"]["usd_per_m_output"]}


def distill(student_ref: str | None, teacher_ref: str, options: dict, out_dir: str | None = None, db: str | None = None,
            measure: bool = True, heldout: list[str] | None = None, tasks: list | None = None, tokens: int = 8192,
            progress: Progress | None = None, train_progress=None) -> dict:
    """Distill ``student_ref`` from ``teacher_ref`` (lever ``distill``), then, with ``measure``, grade the
    teacher, the student before and the student after side by side: fidelity to the teacher on held-out
    in-domain text (``heldout``; by default the standard library's held-out docstrings, when the corpus
    is the default) and on general text (the built-in set), task accuracy paired with the teacher, and
    decode speed and $/M output of each — the specialist's case in one table."""
    from tokenfall.workloads.texts import from_files, stdlib_docstrings_file

    teacher = models.resolve(teacher_ref)
    if options.get("corpus") and not heldout and measure:
        raise TokenfallError("--heldout: give in-domain text that is not in --corpus, to grade the student on its domain "
                             "(or --no-measure)")
    for f in (options.get("corpus") or []) + (heldout or []):
        from_files([f])  # a missing or malformed file fails before minutes of training
    art = apply_lever("distill", student_ref, {**options, "teacher": teacher.path}, out_dir, db, progress=train_progress)
    result = {"teacher": teacher.model_dump(), "student": models.resolve(student_ref).model_dump(), "distilled": art.model_dump(),
              "lineage": models.lineage_of(art.path), "rows": []}
    if not measure:
        return result
    domain = heldout or [str(stdlib_docstrings_file("heldout"))]
    for label, m in (("teacher", teacher), ("student", models.resolve(student_ref)), ("distilled", art)):
        row = {"label": label} | _row(m, None, False, None, 0, db, progress) | _price(m.path, db, progress)
        if m.sha256 != teacher.sha256:
            for where, texts, t in (("domain", domain, []), ("general", [], tasks or [])):
                e = evaluate(EvalConfig(model=m.path, reference=teacher.path, texts=texts, tokens=tokens, tasks=t), db, progress)
                f = e["summary"]["fidelity"]
                row |= {f"{where}_eval_run": e["id"], f"{where}_kld": f["kld_mean"], f"{where}_top1": f["top1_agreement"],
                        f"{where}_ppl": f["ppl"], f"{where}_ppl_teacher": f["ppl_reference"]}
                for task in e["summary"]["tasks"]:
                    row.setdefault("tasks", {})[task["name"]] = task["acc"]
                    teacher_row = result["rows"][0]
                    teacher_row.setdefault("tasks", {})[task["name"]] = (task["paired"] or {}).get("reference_acc")
        result["rows"].append(row)
    return result


class _LedgerLab:
    """Measurements for the optimize search. A bench or eval run identical in configuration, model file
    (sha256) and machine to a completed one in the ledger is reused instead of measured again: an
    interrupted search resumes where it stopped, and a repeated one costs only what changed."""

    def __init__(self, db: str | None, progress, log, time_budget_s: float | None, fresh: bool):
        import time

        self.db, self.progress, self.log, self.fresh = db, progress, log, fresh
        self.t_end = None if time_budget_s is None else time.monotonic() + time_budget_s
        self.machine = fingerprint.machine()
        self.runs: list[dict] = []  # (label, kind, id, reused) in the order the search asked for them

    def resolve(self, ref):
        return models.resolve(ref)

    def reference(self, model: ModelInfo) -> ModelInfo:
        return _float_reference(model, None, self.db)

    def artifact(self, lever: str, model: str, options: dict) -> ModelInfo:
        return apply_lever(lever, model, options, None, self.db)

    def descendants(self, model: ModelInfo) -> list[ModelInfo]:
        """Files made from ``model`` by any chain of levers, as the ledger recorded them (still on disk)."""
        rows = artifacts(self.db)
        family, found = {model.sha256}, []
        for a in rows:  # oldest first, so parents come before children
            if a["parent_sha256"] in family:
                family.add(a["sha256"])
                if Path(a["path"]).is_file():
                    found.append(ModelInfo.model_validate(a["info"]))
        return found

    def over_budget(self) -> bool:
        import time

        return self.t_end is not None and time.monotonic() > self.t_end

    def outputs(self, run_id: str) -> dict[int, str]:
        ledger = Ledger(self.db)
        try:
            return {r.idx: r.output_text for r in ledger.requests(run_id) if not r.warmup and r.error is None}
        finally:
            ledger.close()

    def _known(self, kind: str, config: dict, sha: str | None) -> dict | None:
        if self.fresh:
            return None
        backend = _llama_backend(config.get("engine", "llamacpp"))
        ledger = Ledger(self.db)
        try:
            for r in ledger.runs(limit=None, kind=kind):
                fp = r["fingerprint"] or {}
                if (r["status"] == "complete" and r["config"] == config and (fp.get("model") or {}).get("sha256") == sha
                        and fp.get("machine") == self.machine and fp.get("llama_cpp") == backend):
                    return r
        finally:
            ledger.close()
        return None

    def _measure(self, kind: str, config, label: str, fn) -> dict:
        row = self._known(kind, json.loads(config.model_dump_json()), models.resolve(config.model).sha256)
        reused = row is not None
        if reused:
            self.log(f"  reused {kind} run {row['id']}")
        else:
            row = fn(config, self.db, self.progress)
        self.runs.append({"label": label, "kind": kind, "id": row["id"], "reused": reused})
        return row

    def bench(self, config: BenchConfig, label: str) -> dict:
        return self._measure("bench", config, label, _isolated_bench)

    def evaluate(self, config: EvalConfig, label: str) -> dict:
        return self._measure("eval", config, label, evaluate)


def _isolated_bench(config: BenchConfig, db: str | None, progress=None) -> dict:
    """``bench`` in a fresh process. What a long search did before (task scoring's large arrays, engines
    started and stopped, torch) slowed llama.cpp decode in the same process by up to 30% (400 -> 296
    tok/s at 64 streams after three task evals, measured), so each timed run starts clean. Ctrl-C
    reaches the child too: it stores its run as incomplete, and the search stops here."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        out = pool.submit(_bench_child, config.model_dump_json(), db).result()
    if isinstance(out, str):
        raise TokenfallError(out)
    return out


def _bench_child(config_json: str, db: str | None):
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return bench(BenchConfig.model_validate_json(config_json), db)
    except (TokenfallError, Interrupted) as e:  # plain strings cross the process boundary intact
        return str(e)


def optimize(config, db: str | None = None, progress: Progress | None = None, log=None, fresh: bool = False) -> dict:
    """The cheapest configuration of a model that passes the quality gate and the latency SLO, found by
    the search in ``tokenfall.optimize`` and stored as an ``optimize`` run (sub-runs referenced by id).
    Ctrl-C keeps every completed measurement; running the same command again reuses them."""
    import time

    from tokenfall.optimize import Search

    log = log or (lambda msg: None)
    _check_quant_types(config.types)
    if not config.concurrency or min(config.concurrency) < 1:
        raise TokenfallError("--concurrency: give positive stream counts, e.g. 1,16,64")
    _check_prompts(config.prompts)
    cost.pricing(**config.price.model_dump())
    from tokenfall.quality import evaluate as quality

    for spec in config.tasks:  # a bad task file fails before minutes of measuring
        quality.prepare(EvalConfig(model=config.model, tasks=[spec], fidelity=False))
    lab = _LedgerLab(db, progress or _Silent(), log, config.time_budget_s, fresh)
    ledger = Ledger(db)
    model = models.resolve(config.model)
    run_id = ledger.new_run("optimize", config.model_dump(), {"machine": lab.machine, "tokenfall": __version__, "model": model.model_dump()})
    ledger.close()
    t0 = time.monotonic()
    search = Search(config, lab, log)
    status, summary = "failed", None
    try:
        summary = search.run()
        status = "complete"
    except (KeyboardInterrupt, Interrupted):
        status = "incomplete"
        raise Interrupted(run_id, sum(1 for r in lab.runs if not r["reused"]), "new measurements") from None
    finally:
        if summary is None:
            summary = {"points": search.points, "candidates": search.candidates}
        summary |= {"runs": lab.runs, "elapsed_s": time.monotonic() - t0,
                    "reused": sum(1 for r in lab.runs if r["reused"]), "assumptions": _optimize_assumptions(config)}
        ledger = Ledger(db)
        ledger.finish(run_id, status, summary)
        row = ledger.run(run_id)
        ledger.close()
    return row


def _optimize_assumptions(c) -> list[str]:
    p = c.prompts
    g = c.gate
    return [
        f"workload: {p.input_tokens} prompt tokens ({p.shared_prefix_tokens} of them a prefix shared by every request), "
        f"{p.output_tokens} output tokens, greedy, closed-loop load at each concurrency",
        f"{c.requests_per_stream:g} requests per stream at each level (at least 8); the baseline sends {c.baseline_requests}",
        f"gate: mean KLD <= {g.max_kld} nats/token vs the float weights on {c.tokens} tokens"
        + (f"; no significant accuracy drop (paired, alpha {g.alpha}) on " + ", ".join(t.source.rsplit('/', 1)[-1] for t in c.tasks)
           if c.tasks else "; no task given, so no accuracy check"),
        f"SLO: TTFT <= {c.slo.ttft_s} s and TPOT <= {c.slo.tpot_s} s for at least {c.slo_attainment:.0%} of requests",
        "a file failing the gate is not benchmarked; a serving lever is kept only if it is cheaper and within the SLO",
        "cost per output token: the hour split by measured prefill/decode time share (see docs/methodology.md)",
    ]


def report(run_ids: list[str], out_dir: str | None = None, db: str | None = None) -> dict:
    """Render runs from the ledger (default: the newest optimize run) into ``out_dir`` (default:
    ./tokenfall-reports/FIRST-RUN)."""
    from tokenfall import report as render

    ledger = Ledger(db)
    try:
        if not run_ids:
            latest = ledger.runs(limit=1, kind="optimize")
            if not latest:
                raise TokenfallError("no optimize run in the ledger yet; run `tokenfall optimize` or name runs: tokenfall report RUN ...")
            run_ids = [latest[0]["id"]]
        runs = [ledger.run(r) for r in run_ids]
    finally:
        ledger.close()
    return render.render(runs, out_dir or Path("tokenfall-reports") / runs[0]["id"])


def artifacts(db: str | None = None) -> list[dict]:
    ledger = Ledger(db)
    try:
        return ledger.artifacts()
    finally:
        ledger.close()


def runs(db: str | None = None, limit: int = 50) -> list[dict]:
    ledger = Ledger(db)
    try:
        return ledger.runs(limit)
    finally:
        ledger.close()


def show(run_id: str, db: str | None = None) -> dict:
    ledger = Ledger(db)
    try:
        return ledger.run(run_id)
    finally:
        ledger.close()


def export(run_id: str, fmt: str, db: str | None = None) -> str:
    """A run as one JSON document (run + raw records) or as CSV of per-request records."""
    ledger = Ledger(db)
    try:
        run = ledger.run(run_id)
        records = ledger.requests(run["id"])
    finally:
        ledger.close()
    if fmt == "json":
        return json.dumps({"run": run, "requests": [r.model_dump() for r in records]}, indent=2)
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


# ---- market: the industry curve, margins, training cost ----------------------------------------------


def _run_model(run: dict) -> dict:
    s = run["summary"] or {}
    if run["kind"] == "optimize" and isinstance(s, dict) and s.get("model"):
        return s["model"]
    return ((run.get("engine") or {}).get("model")) or (run.get("fingerprint") or {}).get("model") or {}


def _run_model_name(m: dict) -> str:
    """The strings a model card is matched against: the GGUF name, the file path, the reference."""
    return " ".join(str(m.get(k) or "") for k in ("name", "path", "ref")).strip()


def _run_price(run: dict, kind: str, weights: tuple[float, float], slo_attainment: float = 0.9) -> tuple[float, str]:
    """A run's own $/M (input, output or blended at ``weights``): an optimize run's chosen configuration, or a bench
    run's cheapest level that met its SLO (every level when none had an SLO)."""
    from tokenfall.market.prices import price_of

    s = run["summary"]

    def pick(c: dict) -> float | None:
        return price_of(c.get("usd_per_m_input"), c.get("usd_per_m_output"), kind, weights)

    if run["status"] != "complete" and not s:
        raise TokenfallError(f"run {run['id']}: the run has no results (status {run['status']})")
    if run["kind"] == "optimize":
        c = (s or {}).get("chosen")
        if not c:
            raise TokenfallError(f"run {run['id']}: that optimize run chose no configuration (nothing passed the gate and SLO)")
        p = pick(c)
        return p, f"optimize run {run['id']}, chosen configuration (bench run {c['bench_run']})"
    if run["kind"] != "bench" or not isinstance(s, list):
        raise TokenfallError(f"run {run['id']}: is a {run['kind']} run; give a bench or optimize run")
    levels = [lv for lv in s if lv.get("cost") and lv["requests_ok"] > 0]
    ok = [lv for lv in levels if lv["requests_failed"] == 0 and lv.get("slo_attainment") is not None
          and lv["slo_attainment"] >= slo_attainment]
    pool = ok or levels
    priced = [(pick(lv["cost"]), lv) for lv in pool]
    priced = [(p, lv) for p, lv in priced if p is not None]
    if not priced:
        raise TokenfallError(f"run {run['id']}: no level of that run has a {kind} price")
    p, lv = min(priced, key=lambda x: x[0])
    why = "cheapest level meeting its SLO" if ok else "cheapest level (no level had an SLO attainment to check)"
    return p, f"bench run {run['id']} level {lv['label']} ({why})"


def _deployment(run_id: str, kind: str, weights, score: float | None, db: str | None) -> dict:
    import datetime as dt

    from tokenfall.market import prices

    run = show(run_id, db)
    usd, what = _run_price(run, kind, weights)
    m = _run_model(run)
    name = _run_model_name(m) or "unknown model"
    card = prices.card_for(name)
    if score is not None:
        mmlu, src = score, "given with --score"
    elif card and card.mmlu is not None:
        mmlu, src = card.mmlu, f"{card.model} model card: {card.mmlu_note}; {card.source}"
    else:
        known = f"'{card.model}' has no MMLU score in the dataset" if card else "no model card in the dataset matches it"
        raise TokenfallError(f"run {run_id}: {known} (model {m.get('name') or name}); give its MMLU with --score N")
    return {"run": run["id"], "model": card.model if card else (m.get("name") or name), "date": dt.date.fromtimestamp(run["created"]).isoformat(),
            "usd_per_m": usd, "what": what, "mmlu": mmlu, "score_source": src}


def _price_rows(prices_csv: str | None, extend: bool, litellm: bool):
    from tokenfall.market import prices

    rows = prices.load(prices_csv, extend=extend)
    if litellm:
        rows = rows + prices.litellm_rows()[0]
    return rows


def _weights(blend: str) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in blend.split(":"))
    except ValueError as e:
        raise TokenfallError(f"--blend {blend}: give input:output weights such as 3:1 or 1:1") from e
    if a < 0 or b < 0 or a + b == 0:
        raise TokenfallError(f"--blend {blend}: weights must be >= 0 and not both 0")
    return a, b


def curve(threshold: str | None = None, min_mmlu: float | None = None, price_kind: str = "blended", blend: str = "3:1",
          include_reasoning: bool = False, open_only: bool = False, prices_csv: str | None = None, extend: bool = False,
          litellm: bool = False, with_run: str | None = None, score: float | None = None, forecast: str | None = None,
          out_dir: str | None = None, db: str | None = None, seed: int = 0) -> dict:
    """The cheapest price at a capability over time, its decline per year with intervals, a forecast, and (``with_run``)
    where a measured deployment sits; writes curve.html / curve.png / frontier.csv into ``out_dir``."""
    import datetime as dt

    from tokenfall.market import trend
    from tokenfall.report.curve import render_curve

    if price_kind not in ("input", "output", "blended"):
        raise TokenfallError(f"--price {price_kind}: use input, output or blended")
    weights = _weights(blend)
    deployment = _deployment(with_run, price_kind, weights, score, db) if with_run else None
    if deployment and threshold is None and min_mmlu is None:
        min_mmlu = deployment["mmlu"]
    level_, label, why = trend.threshold(threshold, min_mmlu)
    try:
        horizon = dt.date.fromisoformat(forecast) if forecast else None
    except ValueError as e:
        raise TokenfallError(f"--forecast {forecast}: give a date as YYYY-MM-DD") from e
    rows = _price_rows(prices_csv, extend, litellm)
    chain = trend.frontier(rows, level_, price_kind, weights, include_reasoning, open_only)
    if not chain:
        raise TokenfallError(f"no priced model scores MMLU >= {level_:g} in the data ({'open weights only, ' if open_only else ''}"
                             f"{'reasoning models excluded' if not include_reasoning else 'reasoning included'}): the frontier is empty")
    horizon = horizon or max(dt.date.today(), chain[-1][0].date)
    f = trend.fit([r.date for r, _ in chain], [p for _, p in chain], seed=seed, forecast_to=horizon)
    market = [{"date": r.date.isoformat(), "usd_per_m": r.price(price_kind, weights), "model": r.model, "provider": r.provider,
               "mmlu": r.mmlu, "open_weights": r.open_weights}
              for r in rows if r.mmlu is not None and r.mmlu >= level_ and (r.price(price_kind, weights) or 0) > 0
              and r.pricing == "flat" and (include_reasoning or not r.reasoning) and (r.open_weights or not open_only)]
    frontier = [{"date": r.date.isoformat(), "model": r.model, "provider": r.provider, "mmlu": r.mmlu, "usd_per_m": p,
                 "source": r.source_price, "score_source": r.source_score} for r, p in chain]
    w = f"{weights[0]:g}:{weights[1]:g}"
    res = {"threshold": level_, "threshold_label": label, "price_kind": price_kind if price_kind != "blended" else f"blended {w}",
           "weights": list(weights), "rows_considered": len(rows), "eligible": len(market), "frontier": frontier, "fit": f,
           "market": market, "deployment": deployment}
    if deployment:
        best = trend.cheapest_at(rows, deployment["mmlu"], dt.date.fromisoformat(deployment["date"]), price_kind, weights, include_reasoning)
        deployment["market_best"] = ({"usd_per_m": best[1], "model": best[0].model, "provider": best[0].provider, "date": best[0].date.isoformat()}
                                     if best else None)
        deployment["vs_market"] = best[1] / deployment["usd_per_m"] if best and deployment["usd_per_m"] else None
    fc = f["forecast"]
    res["summary_rows"] = [
        ["threshold", f"{label}: {why}"], ["price", res["price_kind"]], ["frontier points", f"{f['points']} ({f['start']} .. {f['end']})"],
        ["decline factor per year", f"{f['factor_per_year']:.2f}x"],
        [f"{f['level']:.0%} bootstrap CI ({f['bootstrap_samples']} resamples of frontier points)", f"{f['bootstrap_ci'][0]:.2f}x - {f['bootstrap_ci'][1]:.2f}x"],
        [f"{f['level']:.0%} OLS t-interval (Epoch AI's)", f"{f['ols_ci'][0]:.2f}x - {f['ols_ci'][1]:.2f}x"],
        ["R² of log10 price on date", f"{f['r2']:.3f}"],
        ["time for a 10x fall", "-" if f["years_per_10x"] is None else f"{f['years_per_10x'] * 12:.1f} months"
         + ("" if None in f["years_per_10x_ci"] else f" (CI {f['years_per_10x_ci'][0] * 12:.1f}-{f['years_per_10x_ci'][1] * 12:.1f})")],
        [f"forecast for {fc['date']}", f"${fc['usd_per_m']:.3g}/M (prediction interval ${fc['prediction_interval'][0]:.3g}-"
                                       f"${fc['prediction_interval'][1]:.3g}; trend CI ${fc['trend_ci'][0]:.3g}-${fc['trend_ci'][1]:.3g})"],
    ]
    if deployment:
        mb = deployment["market_best"]
        res["summary_rows"].append(["your deployment", f"${deployment['usd_per_m']:.4g}/M on {deployment['date']} ({deployment['what']}), "
                                    f"{deployment['model']} at MMLU {deployment['mmlu']:g}"])
        if deployment["mmlu"] < level_:
            res["summary_rows"].append(["note", f"your model's MMLU {deployment['mmlu']:g} is below the threshold {level_:g}: "
                                                "it is placed on the chart but is not at that capability"])
        res["summary_rows"].append([f"cheapest market price at MMLU >= {deployment['mmlu']:g} then",
                                    f"${mb['usd_per_m']:.4g}/M ({mb['model']}, {mb['provider']}, {mb['date']}): "
                                    + (f"yours is {deployment['vs_market']:.2f}x cheaper" if deployment["vs_market"] >= 1
                                       else f"the market is {1 / deployment['vs_market']:.2f}x cheaper") if mb else "none"])
    res["assumptions"] = [
        f"prices: {len(rows)} rows ({'user CSV ' + prices_csv if prices_csv else 'bundled history'}"
        f"{' + bundled' if extend else ''}{' + installed LiteLLM map' if litellm else ''}); list prices, standard tier, shortest context",
        f"eligible: MMLU >= {level_:g}, per-token (flat) pricing" + ("" if include_reasoning else ", reasoning models excluded (they spend "
                                                                     "many more tokens per answer, so $/token understates their cost)")
        + (", open weights only" if open_only else ""),
        "frontier: a price enters when it is cheaper than every earlier eligible price (running minimum; Epoch AI's method)",
        f"fit: OLS of log10(price) on date; factor per year = 10^(-slope*365); {f['level']:.0%} intervals; bootstrap seed {seed}",
        "dates of rows mined from package snapshots are upper bounds (first snapshot showing the price)",
        "MMLU values come from mixed harnesses (creator-reported, Artificial Analysis, HELM): each row names its source",
    ]
    res["files"] = render_curve(res, out_dir or Path("tokenfall-reports") / "curve")
    return res


def margin(model: str, run_id: str | None = None, usd_per_m: float | None = None, price_kind: str = "blended", blend: str = "3:1",
           prices_csv: str | None = None, extend: bool = False, litellm: bool = False, db: str | None = None) -> dict:
    """Market price of an open model vs an estimated cost of serving it: implied gross margin per provider.

    Serving cost comes from ``usd_per_m`` (the user's own figure) or a measured run. A run of a different
    model is scaled by active parameters (decode reads every active weight once per step, so cost per token
    grows about linearly with them at the same engine, hardware and quantization) -- stated in the result."""
    import statistics

    from tokenfall.market import prices

    weights = _weights(blend)
    rows = [r for r in _price_rows(prices_csv, extend, litellm) if r.open_weights and (r.price(price_kind, weights) or 0) > 0]
    card = prices.card_for(model)
    if card:
        mine = [r for r in rows if prices.card_for(r.model) == card]
        name = card.model
    else:
        names = sorted({r.model for r in rows})
        hits = [n for n in names if n.lower() == model.lower()] or [n for n in names if model.lower() in n.lower()]
        if len(hits) > 1:
            raise TokenfallError(f"{model}: matches {len(hits)} open models ({', '.join(hits[:6])}); give the full name")
        if not hits:
            from tokenfall.registry import did_you_mean
            raise did_you_mean(model, names, "open model with market prices")
        name, mine = hits[0], [r for r in rows if r.model == hits[0]]
    if not mine:
        raise TokenfallError(f"{model}: no market price for {name} in the price history")
    latest = {}
    for r in sorted(mine, key=lambda r: r.date):
        latest[r.provider] = r
    if (run_id is None) == (usd_per_m is None):
        raise TokenfallError("give the serving cost: --run RUN (a measured bench/optimize run) or --cost USD_PER_M")
    assumptions = []
    if usd_per_m is not None:
        if usd_per_m <= 0:
            raise TokenfallError(f"--cost {usd_per_m}: must be > 0")
        cost_usd, cost_from = usd_per_m, "given with --cost"
    else:
        run = show(run_id, db)
        measured, what = _run_price(run, price_kind, weights)
        m = _run_model(run)
        target = card
        mine_card = prices.card_for(_run_model_name(m))
        if mine_card and target and mine_card == target:
            cost_usd, cost_from = measured, what
        else:
            run_params = m.get("n_params") or (mine_card.active_params_b * 1e9 if mine_card and mine_card.active_params_b else None)
            if not target or not target.active_params_b or not run_params:
                raise TokenfallError(f"--run {run_id}: measured a different model and the parameter counts to scale it are unknown; "
                                     "give --cost instead")
            scale = target.active_params_b * 1e9 / run_params
            cost_usd, cost_from = measured * scale, f"{what}, scaled x{scale:.4g} by active parameters"
            assumptions.append(f"run served {m.get('name') or 'its model'} ({run_params / 1e9:.3g}B parameters); {name} has "
                               f"{target.active_params_b:g}B active ({target.source}); cost per token assumed proportional to active "
                               "parameters on the same hardware, engine and quantization (memory-bound decode). A first-order "
                               "estimate: it ignores attention/KV cost, batching limits and multi-GPU needs")
    table = []
    for prov, r in sorted(latest.items(), key=lambda kv: kv[1].price(price_kind, weights)):
        p = r.price(price_kind, weights)
        table.append({"provider": prov, "date": r.date.isoformat(), "usd_per_m": p, "margin": (p - cost_usd) / p,
                      "source": r.source_price})
    med = statistics.median(t["usd_per_m"] for t in table)
    assumptions += ["market prices: each provider's latest row in the price history (list price, standard tier)",
                    "margin = (price - serving cost) / price: gross of everything but the serving hardware's hour price and energy"]
    return {"model": name, "price_kind": price_kind, "weights": list(weights), "serving_cost": cost_usd, "cost_from": cost_from,
            "providers": table, "median_price": med, "median_margin": (med - cost_usd) / med, "assumptions": assumptions}


def train_cost(params: float | None = None, tokens: float | None = None, model: str | None = None, hardware: list[str] | None = None,
               mfu: float | None = None, gpus: int | None = None) -> dict:
    """Training compute (6·N·D) priced on catalog accelerators; ``model`` picks a preset N and D."""
    from tokenfall.estimate import training

    src = "given"
    if model:
        pn, pt, src = training.preset(model)
        params, tokens = params or pn, tokens or pt
    if params is None or tokens is None:
        raise TokenfallError("give --model PRESET or both --params and --tokens")
    from tokenfall.estimate import roofline as rf

    cat = cost.catalog()
    # each price offering gets the dense 16-bit peak of the device that lists it
    peak = {pid: (d["tflops"].get("bf16") or d["tflops"].get("fp16"), d["source"]) for d in rf.devices().values() for pid in d["prices"]
            if d["tflops"].get("bf16") or d["tflops"].get("fp16")}
    ids = hardware or [k for k in cat if k in peak and cat[k]["price_kind"] in ("on-demand", "reserved-1yr")]
    for h in ids:
        if h not in cat:
            from tokenfall.registry import did_you_mean
            raise did_you_mean(h, list(cat), "hardware")
    accel = [cat[h] | ({"peak_tflops": peak[h][0], "peak_source": peak[h][1]} if h in peak else {}) for h in ids]
    res = training.train_cost(params, tokens, accel, mfu if mfu is not None else training.DEFAULT_MFU, gpus)
    res["model_source"] = src
    return res


# ---- estimate: hardware you do not have, and traffic you do not have yet -----------------------------


def _default_profile(dev: dict) -> tuple[str, str]:
    """(profile, why) for a device: the engine family whose published measurements are closest to it."""
    i, kind = dev["id"], dev["kind"]
    if kind == "cpu":
        return "llamacpp-cpu", "llama.cpp on CPU, calibrated on this machine's bench runs"
    if kind == "apple":
        return "llamacpp-metal", "llama.cpp Metal, fitted on the published Apple rows"
    if i.startswith("rtx"):
        return "llamacpp-cuda", "llama.cpp CUDA, fitted on the published consumer/workstation GPU rows"
    if i.startswith("mi3"):
        return "vllm-rocm", "vLLM on ROCm, fitted on MLPerf v4.1 AMD rows"
    if kind == "tpu":
        return "trt-llm-10", "no TPU measurements in the calibration set: TensorRT-LLM's profile borrowed (treat as optimistic)"
    return "trt-llm-10", "TensorRT-LLM 10, fitted on MLPerf v4.1 NVIDIA rows"


def estimate(model: str | None = None, hardware: str = "h100-sxm", precision: str | None = None, batch: int | None = None,
             input_tokens: int = 512, output_tokens: int = 256, tp: int | None = None, profile: str | None = None,
             ttft_s: float | None = None, tpot_s: float | None = None, calibrate: list[str] | None = None, db: str | None = None) -> dict:
    """Tokens/s, TTFT/TPOT and $/M of a model on hardware (catalog id or 'local') from the roofline and a fitted
    engine profile; the best batch under the SLO unless ``batch`` is given. Labelled as an estimate throughout."""
    from tokenfall.estimate import calibrate as cal
    from tokenfall.estimate import roofline as rf

    if input_tokens < 1 or output_tokens < 1:
        raise TokenfallError("--input-tokens and --output-tokens must be >= 1")
    if batch is not None and batch < 1 or tp is not None and tp < 1:
        raise TokenfallError("--batch and --tp must be >= 1")
    dev = cal.local_device() if hardware == "local" else rf.device(hardware)
    if model and model.lower() in rf.PRESETS:
        arch = rf.preset(model, precision or "bf16")
    else:
        try:
            info = models.resolve(model)
        except TokenfallError:
            if model and "/" not in model and not model.endswith((".gguf", ".bin")):
                from tokenfall.registry import did_you_mean

                raise did_you_mean(model, [*rf.PRESETS, *models.BUNDLED], "model (architecture preset or bundled model)") from None
            raise
        if info.kind == "remote":
            raise TokenfallError(f"--model {model}: a server URL has no architecture to read; give a preset or a GGUF/HF path")
        arch = rf.from_shape(models.architecture(info.path), precision)
    local_rows = cal.bench_rows([show(r, db) for r in calibrate], cal.local_device() if hardware != "local" else dev) if calibrate else []
    profs = cal.profiles(local_rows)
    name, why = (profile, "chosen with --profile") if profile else _default_profile(dev)
    if name not in profs:
        from tokenfall.registry import did_you_mean
        raise did_you_mean(name, list(profs), "engine profile")
    prof = profs[name]
    ctx = input_tokens + output_tokens
    degrees = (1,) if dev["kind"] in ("cpu", "apple") else (1, 2, 4, 8)  # one host: no tensor parallelism across CPUs here
    if tp and tp not in degrees:
        raise TokenfallError(f"--tp {tp}: {hardware} is one host, so only --tp 1" if len(degrees) == 1
                             else f"--tp {tp}: the estimate models tensor-parallel degrees 1, 2, 4 or 8")
    g = tp or degrees[-1]  # memory only grows with the degree: if the largest allowed one cannot hold it, none can
    m = rf.fits(arch, dev, 1, ctx, g)
    if not m["fits"]:
        raise TokenfallError(f"{arch.name} ({arch.precision}) does not fit {g}x {hardware}: needs {m['need_gb']:.1f} GB (weights "
                             f"{m['weights_gb']:.1f} + one {ctx}-token context {m['kv_gb']:.2f}) > {m['have_gb']:.1f} GB usable")
    candidates = [tp] if tp else [g for g in degrees if rf.fits(arch, dev, 1, ctx, g)["fits"]]
    best = None
    for g in candidates:
        if batch is not None:
            pt = rf.serve(arch, dev, prof, batch, input_tokens, output_tokens, g)
            sw = None
            if not pt["fits"]:
                if tp:
                    m = pt["memory"]
                    raise TokenfallError(f"{arch.name} at batch {batch} does not fit {g}x {hardware}: needs {m['need_gb']:.1f} GB "
                                         f"(weights {m['weights_gb']:.1f} + KV {m['kv_gb']:.1f}) > {m['have_gb']:.1f} GB usable; "
                                         "lower --batch or raise --tp")
                continue
        else:
            pt, sw = rf.best_under_slo(arch, dev, prof, input_tokens, output_tokens, g, ttft_s, tpot_s)
            if pt is None:
                continue
        if best is None or pt["output_tokens_per_s"] / g > best[1]["output_tokens_per_s"] / best[0]:
            best = (g, pt, sw)
    if best is None:
        if batch is not None:
            raise TokenfallError(f"{arch.name} at batch {batch} does not fit {hardware} at any tensor-parallel degree up to 8; lower --batch")
        raise TokenfallError(f"no batch meets the SLO on {hardware} (ttft {ttft_s}, tpot {tpot_s} s) at any tensor-parallel degree; "
                             "relax --slo or pick faster hardware")
    g, point, sweep = best
    price_ids = dev.get("prices") or ([cost.local_default()] if dev["kind"] == "cpu" and hardware == "local" else [])
    priced = []
    for pid in price_ids:
        p = cost.pricing(hardware=pid)
        p = p.model_copy(update={"usd_per_hour": p.usd_per_hour * g, "watts": p.watts * g})
        c = cost.price(p, point["input_tokens_per_s"], point["output_tokens_per_s"], point["prefill_share"],
                       share_from="estimated: prefill vs decode time in the roofline")
        priced.append({"price": pid, "price_kind": cost.catalog()[pid]["price_kind"], "usd_per_hour": p.usd_per_hour,
                       "usd_per_m_input": c.usd_per_m_input, "usd_per_m_output": c.usd_per_m_output, "usd_per_m_blended": c.usd_per_m_blended})
    calib = (f"median absolute error {prof.error:.0%} on the {prof.fitted_on} measurements it was fitted on" if prof.error is not None
             else "UNCALIBRATED defaults (run `tokenfall bench` here and pass --calibrate RUN)")
    return {"estimate": True, "model": arch.model_dump(), "hardware": {k: v for k, v in dev.items() if k != "prices"}, "tp": g,
            "profile": prof.model_dump(), "profile_why": why, "calibration": calib, "point": point,
            "sweep": [s for s in (sweep or []) if s["fits"]], "prices": priced,
            "workload": {"input_tokens": input_tokens, "output_tokens": output_tokens, "ttft_s": ttft_s, "tpot_s": tpot_s},
            "assumptions": [
                f"ESTIMATE, not a measurement: roofline with engine profile {prof.name} ({why}); {calib}",
                f"model: {arch.name}, {arch.n_params / 1e9:.3g}B parameters ({arch.n_active / 1e9:.3g}B active), weights "
                f"{arch.weight_bytes / 1e9:.3g} GB as {arch.precision}, KV {arch.kv_bytes:g} bytes/element ({arch.source})",
                f"hardware: {dev['name']} x{g} (tensor parallel), {dev['mem_bw_gbs']:g} GB/s, "
                f"{(rf.peak_flops(dev, arch.precision) or 0) / 1e12:.4g} TFLOP/s dense ({dev['source']})",
                f"closed loop at batch {point['batch']}: each of {point['batch']} streams prefills {input_tokens} tokens, then decodes "
                f"{output_tokens}; decode at the mean context {input_tokens + output_tokens // 2}",
                "memory: weights + KV of every full context within 90% of device memory",
            ]}


def validate_estimates(calibrate: list[str] | None = None, holdout: list[str] | None = None, db: str | None = None) -> dict:
    """Predicted vs published (and vs this machine's bench runs) for every calibration row, with the errors."""
    from tokenfall.estimate import calibrate as cal

    dev = cal.local_device() if calibrate or holdout else None
    local = cal.bench_rows([show(r, db) for r in calibrate], dev) if calibrate else []
    held = cal.bench_rows([show(r, db) for r in holdout], dev) if holdout else []
    return cal.validate(local, held)


def scale(input_per_day: float, output_per_day: float, prefill_tok_s: float | None = None, decode_tok_s: float | None = None,
          devices_per_replica: int | None = None, usd_per_device_hour: float | None = None, peak_to_mean: float = 2.0,
          elastic: bool = False, headroom: float = 1.0, fixed_usd_per_month: float = 0.0, preset: str | None = None,
          estimate_args: dict | None = None, api_usd_per_m: float | None = None, min_mmlu: float | None = None) -> dict:
    """Traffic -> replicas, utilisation, $/M at that scale, the idle and fixed-cost shares, and the break-even
    against an API price. Replica rates come from a preset (DeepSeek's disclosure), explicit numbers, or an estimate."""
    import datetime as dt

    from tokenfall.estimate import scale as sc

    source, est = "given", None
    if preset:
        if preset != "deepseek-2025-02":
            from tokenfall.registry import did_you_mean
            raise did_you_mean(preset, ["deepseek-2025-02"], "scale preset")
        d = sc.DEEPSEEK_2025_02
        input_per_day, output_per_day = input_per_day or d["input_per_day"], output_per_day or d["output_per_day"]
        prefill_tok_s, decode_tok_s = prefill_tok_s or d["prefill_tok_s"], decode_tok_s or d["decode_tok_s"]
        devices_per_replica = devices_per_replica or d["devices_per_replica"]
        usd_per_device_hour = d["usd_per_device_hour"] if usd_per_device_hour is None else usd_per_device_hour
        elastic, peak_to_mean, source = True, d["peak_to_mean"], d["source"]
    elif prefill_tok_s is None or decode_tok_s is None:
        est = estimate(**(estimate_args or {}))
        pt = est["point"]
        # a replica's pure rates: prefill tokens per prefill-second, decode tokens per decode-second, at the estimated batch
        busy = pt["input_tokens_per_s"] / max(pt["prefill_share"], 1e-12)
        prefill_tok_s = prefill_tok_s or busy
        decode_tok_s = decode_tok_s or pt["output_tokens_per_s"] / max(1 - pt["prefill_share"], 1e-12)
        devices_per_replica = devices_per_replica or est["tp"]
        if usd_per_device_hour is None:
            if not est["prices"]:
                raise TokenfallError("no catalog price for that hardware: give --usd-per-device-hour")
            usd_per_device_hour = est["prices"][0]["usd_per_hour"] / est["tp"]
            source = f"estimate ({est['profile']['name']}, {est['calibration']}); price {est['prices'][0]['price']}"
        else:
            source = f"estimate ({est['profile']['name']}, {est['calibration']})"
    if devices_per_replica is None or usd_per_device_hour is None:
        raise TokenfallError("give --devices-per-replica and --usd-per-device-hour with explicit replica rates")
    res = sc.scale(input_per_day, output_per_day, prefill_tok_s, decode_tok_s, devices_per_replica, usd_per_device_hour,
                   peak_to_mean, elastic, headroom, fixed_usd_per_month)
    res |= {"inputs": {"input_per_day": input_per_day, "output_per_day": output_per_day, "prefill_tok_s": prefill_tok_s,
                       "decode_tok_s": decode_tok_s, "devices_per_replica": devices_per_replica, "usd_per_device_hour": usd_per_device_hour,
                       "peak_to_mean": peak_to_mean, "elastic": elastic, "headroom": headroom, "fixed_usd_per_month": fixed_usd_per_month},
            "source": source, "estimate": est is not None}
    if preset:
        pub = sc.DEEPSEEK_2025_02["published"]
        implied = pub["usd_per_day"] / (input_per_day + output_per_day) * 1e6
        res["published"] = pub | {"usd_per_m_total": implied, "error": res["usd_per_m_total"] / implied - 1}
    if api_usd_per_m is None and min_mmlu is not None:
        from tokenfall.market import prices, trend

        best = trend.cheapest_at(prices.load(), min_mmlu, dt.date.today())
        if best:
            api_usd_per_m = best[1]
            res["api"] = {"usd_per_m": best[1], "model": best[0].model, "provider": best[0].provider, "date": best[0].date.isoformat(),
                          "why": f"cheapest blended market price at MMLU >= {min_mmlu:g}"}
    if api_usd_per_m is not None:
        share = input_per_day / (input_per_day + output_per_day)
        res.setdefault("api", {"usd_per_m": api_usd_per_m, "why": "given"})
        res["break_even"] = sc.break_even(api_usd_per_m, share, prefill_tok_s, decode_tok_s, devices_per_replica, usd_per_device_hour,
                                          peak_to_mean, elastic, fixed_usd_per_month)
    return res
