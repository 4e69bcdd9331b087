"""A bench run from start to finish: serve the model, warm up, drive each load level, sample power, split the
hour between prefill and decode, price each level, and keep every record in the ledger as it completes."""

from __future__ import annotations

import asyncio

from tokenfall import cost, fingerprint, loop, models
from tokenfall.bench import metrics, runner
from tokenfall.engines import Engine, create
from tokenfall.errors import Interrupted, RunFailed, TokenfallError
from tokenfall.models import tokenizers
from tokenfall.progress import Progress, Silent
from tokenfall.store import Ledger
from tokenfall.types import BenchConfig, LevelSummary, Load, Prompts, RequestRecord, Run
from tokenfall.workloads import prompts as prompt_sets

FIXES = {
    "context_overflow": "raise -o seq_ctx=N or shorten --input-tokens/--output-tokens",
    "http_401": "set the API key variable (-o api_key_env=NAME)",
    "http_404": "check the served model name after '#' and the base URL (it usually ends in /v1)",
    "connect": "check that the server is up",
    "timeout": "raise --timeout or lower the load",
}


def check(config: BenchConfig) -> None:
    """What pydantic cannot see alone: a rate for open loop, a stopping rule, a readable prompt file."""
    for load in config.loads:
        if load.mode != "concurrency" and not (load.rate and load.rate > 0):
            raise TokenfallError(f"load {load.mode}: give a positive --rate")
        if load.requests is None and load.duration_s is None:
            raise TokenfallError("give --requests or --duration so the run stops by itself")
    check_prompts(config.prompts)


def check_prompts(p: Prompts) -> None:
    if p.source == "jsonl":
        prompt_sets.read_jsonl(p.path, p)  # a missing or bad file fails here, before any model loads
    elif not p.shared_prefix_tokens < p.input_tokens:
        raise TokenfallError(f"--shared-prefix {p.shared_prefix_tokens}: must be below --input-tokens {p.input_tokens}")


def run(config: BenchConfig, ledger: Ledger, progress: Progress | None = None) -> Run:
    """Serve a model on an engine, drive each load level through it, store raw records and summaries.

    Returns the ledger row of the run. Ctrl-C keeps completed requests: the run is stored as incomplete and
    ``Interrupted`` is raised; a level whose every request failed raises ``RunFailed`` naming the likely fix.
    """
    check(config)
    progress = progress or Silent()
    model = models.resolve(config.model)
    remote = model.kind == "remote"
    if remote and config.price.hardware is None and config.price.usd_per_hour is None:
        raise TokenfallError(f"'{model.ref}' runs on another machine, so this machine's price says nothing of its $/M: "
                             "give the server's price with --hardware ID (a catalog id; a wrong one lists them all) or --usd-per-hour")
    # a remote server's watts are not this machine's: its meter reads nothing
    meter = fingerprint.PowerMeter.off() if remote else fingerprint.PowerMeter()
    cost.pricing(**config.price.model_dump(), measured_watts=0.0 if meter.source else None,
                 remote=remote)  # prices checked before minutes are spent measuring
    engine = create(config.engine, model, config.engine_options)
    fp = models.run_fingerprint(model, config.engine) | {"power_source": meter.source}
    run_id = ledger.new_run("bench", config.model_dump(), fp)
    levels = _Levels(config, engine, model, ledger, run_id, meter, progress)
    status = "failed"
    try:
        loop.run(levels.all())
        status = "failed" if any(s.requests_ok == 0 and s.requests_failed for s in levels.done) else "complete"
    except KeyboardInterrupt:
        status = "incomplete"
        kept = sum(1 for r in ledger.requests(run_id) if not r.warmup)
        raise Interrupted(run_id, kept) from None
    finally:
        ledger.finish(run_id, status, levels.done)
    failed_all = [s for s in levels.done if s.requests_ok == 0 and s.requests_failed]
    if failed_all:
        errors = failed_all[0].errors
        kinds = ", ".join(f"{k} x{v}" for k, v in errors.items())
        hint = next((FIXES[k] for k in errors if k in FIXES), "inspect them with `tokenfall export`")
        raise RunFailed(f"every request of level {failed_all[0].label} failed ({kinds}); {hint}; run {run_id} keeps the records")
    return ledger.run(run_id)


class _Levels:
    """The levels of one run on one started engine; ``done`` holds each level's summary as it completes."""

    def __init__(self, config: BenchConfig, engine: Engine, model, ledger: Ledger, run_id: str, meter, progress: Progress):
        self.config, self.engine, self.model, self.ledger, self.run_id = config, engine, model, ledger, run_id
        self.meter, self.progress = meter, progress
        self.done: list[LevelSummary] = []

    async def all(self) -> None:
        config, engine = self.config, self.engine
        await engine.start()
        try:
            self.ledger.set_engine(self.run_id, engine.info().model_dump())
            tok = engine.tokenizer
            if tok is None and config.tokenizer:
                tok = tokenizers.load(models.resolve(config.tokenizer))
            n_unique = min(max((ld.requests or 256) for ld in config.loads), 512)
            requests = prompt_sets.build(n_unique, config.prompts, tok)
            for level, load in enumerate(config.loads):
                self.done.append(await self.one(requests, tok, level, load))
            if engine.info().stats:
                self.ledger.set_engine(self.run_id, engine.info().model_dump())
        finally:
            await engine.stop()

    async def one(self, requests, tok, level: int, load: Load) -> LevelSummary:
        config, engine, meter = self.config, self.engine, self.meter
        sink: list[RequestRecord] = []
        warm = load.model_copy(update={"mode": "concurrency", "requests": load.warmup_requests, "duration_s": None,
                                       "concurrency": min(load.concurrency, max(load.warmup_requests, 1))})
        if load.warmup_requests:
            await runner.run_level(engine, requests, warm, level, sink, timeout_s=config.timeout_s, warmup=True)
        self.progress.level(load.label, load.requests)
        processes = engine.processes
        busy0 = engine.busy() if processes == 1 else None
        meter.start()
        sampler = asyncio.create_task(_sample_power(meter))
        try:
            if processes > 1:
                sink += await asyncio.to_thread(runner.run_level_processes, processes, config.engine, self.model,
                                                config.engine_options, requests, load, level, timeout_s=config.timeout_s)
            else:  # records land in sink as they complete, so an interrupt keeps them
                await runner.run_level(engine, requests, load, level, sink, timeout_s=config.timeout_s,
                                       on_tokens=self.progress.tokens, on_done=self.progress.request_done)
        finally:
            sampler.cancel()
            if tok is not None:
                runner.count_tokens(sink, requests, tok)
            self.ledger.add_requests(self.run_id, sink)
        summary = metrics.summarize(sink, level, load.label, open_loop=load.mode != "concurrency", slo=config.slo)
        p = cost.pricing(**config.price.model_dump(), measured_watts=meter.watts(), remote=self.model.kind == "remote")
        busy1 = engine.busy() if busy0 is not None else None
        if busy0 is not None and busy1 is not None and sum(busy1) > sum(busy0):
            pre, dec = (b - a for a, b in zip(busy0, busy1))
            share, how = pre / (pre + dec), "engine compute time (each llama_decode step split by its prompt vs decoded tokens)"
        else:
            ok = [r for r in sink if not r.warmup and r.error is None and r.t_first is not None]
            share, how = metrics.prefill_share(ok), "per request: time to first token vs decoding"
        summary.cost = cost.price(p, summary.input_tokens_per_s, summary.output_tokens_per_s, share, self.run_id, how)
        return summary


async def _sample_power(meter) -> None:
    """NVML gives instantaneous watts: sample once a second while the level runs (RAPL needs no sampling)."""
    while meter.nvml:
        await asyncio.to_thread(meter.sample)
        await asyncio.sleep(1.0)
