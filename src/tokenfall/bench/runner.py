"""The load generator: closed-loop concurrency or open-loop (constant/Poisson) arrivals against one engine.

It records raw monotonic timestamps only; metrics are derived later. Completed records are appended to
``sink`` as they finish, so an interrupted level keeps everything that completed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from tokenfall.errors import EngineError
from tokenfall.types import Load, Request, RequestRecord
from tokenfall.workloads.schedule import arrivals


async def one(engine, req: Request, t_scheduled: float, level: int, warmup: bool,
              timeout_s: float | None, on_tokens: Callable[[int], None] | None = None) -> RequestRecord:
    rec = RequestRecord(idx=req.id, level=level, warmup=warmup, t_scheduled=t_scheduled, t_sent=time.monotonic())
    text: list[str] = []
    try:
        async with asyncio.timeout(timeout_s):
            async for ch in engine.stream(req):
                if ch.n_tokens:
                    if rec.t_first is None:
                        rec.t_first = ch.t
                    rec.t_last = ch.t
                    rec.token_times.extend([ch.t] * ch.n_tokens)
                    if on_tokens:
                        on_tokens(ch.n_tokens)
                text.append(ch.text)
                if ch.completion_tokens is not None:
                    rec.n_out_usage = ch.completion_tokens
                if ch.prompt_tokens is not None:
                    rec.n_in_usage = ch.prompt_tokens
                if ch.cached_tokens is not None:
                    rec.n_cached = ch.cached_tokens
                if ch.draft_tokens is not None:
                    rec.n_drafted, rec.n_accepted = ch.draft_tokens, ch.draft_accepted
    except TimeoutError:
        rec.error = "timeout"
    except EngineError as e:
        rec.error = e.kind
    rec.t_done = time.monotonic()
    rec.output_text = "".join(text)
    return rec


def count_tokens(records: list[RequestRecord], requests: list[Request], tokenizer) -> None:
    """Client-side token counts with the model's own tokenizer, to set beside the server's usage."""
    for rec in records:
        req = requests[rec.idx % len(requests)]
        rec.n_in_tokenizer = len(req.prompt_tokens) if req.prompt_tokens is not None else len(tokenizer.encode(req.prompt))
        rec.n_out_tokenizer = len(tokenizer.encode(rec.output_text, special=False)) if rec.output_text else 0


async def run_level(engine, requests: list[Request], load: Load, level: int, sink: list[RequestRecord], *,
                    timeout_s: float | None = 300.0, warmup: bool = False, on_tokens: Callable[[int], None] | None = None,
                    on_done: Callable[[], None] | None = None, t0: float | None = None,
                    offsets: list[float] | None = None, first_id: int = 0, stride: int = 1) -> list[RequestRecord]:
    """Send ``requests`` (cycled) under ``load``; completed records land in ``sink``.

    A client process among several gets its share through ``offsets`` (open loop: its slice of the
    arrival schedule) and ``first_id``/``stride`` (its request numbers)."""
    t0 = time.monotonic() if t0 is None else t0
    deadline = None if load.duration_s is None or warmup else t0 + load.duration_s
    limit = load.requests
    count = 0

    def next_request(due: float) -> Request | None:
        """The next request due at ``due``, or None once the count or the duration is used up."""
        nonlocal count
        if (limit is not None and count >= limit) or (deadline is not None and due >= deadline):
            return None
        i = first_id + stride * count
        count += 1
        return requests[i % len(requests)].model_copy(update={"id": i})

    async def go(req: Request, t_sched: float) -> None:
        sink.append(await one(engine, req, t_sched, level, warmup, timeout_s, on_tokens))
        if on_done:
            on_done()

    if t0 > time.monotonic():
        await asyncio.sleep(t0 - time.monotonic())

    if load.mode == "concurrency":
        async def worker() -> None:
            while (req := next_request(now := time.monotonic())) is not None:
                await go(req, now)
        await asyncio.gather(*(worker() for _ in range(load.concurrency)))
    else:
        if offsets is None:
            offsets = arrivals(load, limit if limit is not None else int(load.rate * load.duration_s) + 1)
        cap = asyncio.Semaphore(load.max_concurrency) if load.max_concurrency else None
        tasks = []

        async def capped(req: Request, t_sched: float) -> None:
            async with cap:
                await go(req, t_sched)

        for offset in offsets:
            t_sched = t0 + offset
            delay = t_sched - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            req = next_request(t_sched)  # judged by schedule, so a late client still sends what was due
            if req is None:
                break
            tasks.append(asyncio.create_task(capped(req, t_sched) if cap else go(req, t_sched)))
        await asyncio.gather(*tasks)
    return sink


def _process_main(args: dict) -> list[RequestRecord]:
    """One client process: its own engine instance and event loop, its share of the level."""
    from tokenfall.engines import create

    async def main() -> list[RequestRecord]:
        engine = create(args["engine"], args["model"], args["options"])
        await engine.start()
        sink: list[RequestRecord] = []
        try:
            await run_level(engine, args["requests"], args["load"], args["level"], sink, timeout_s=args["timeout_s"],
                            warmup=args["warmup"], t0=args["t0"], offsets=args["offsets"],
                            first_id=args["first_id"], stride=args["stride"])
        finally:
            await engine.stop()
        return sink

    return asyncio.run(main())


def run_level_processes(processes: int, engine: str, model, options: dict, requests: list[Request], load: Load,
                        level: int, *, timeout_s: float | None, warmup: bool = False) -> list[RequestRecord]:
    """Split one level over client processes (so the client is never the bottleneck); schedule shared via t0."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from tokenfall import spawn

    k = min(processes, load.concurrency) if load.mode == "concurrency" else processes
    total = load.requests
    offsets = None if load.mode == "concurrency" else arrivals(load, total if total is not None else int(load.rate * load.duration_s) + 1)
    with ProcessPoolExecutor(k, mp_context=mp.get_context("spawn")) as pool:
        t0 = time.monotonic() + 3.0  # every process has started its engine by then
        jobs = []
        for i in range(k):
            share = load.model_copy(update={
                "concurrency": max(1, load.concurrency // k + (i < load.concurrency % k)),
                "requests": None if total is None else total // k + (i < total % k),
                "max_concurrency": None if load.max_concurrency is None else max(1, load.max_concurrency // k)})
            if share.requests == 0:
                continue
            jobs.append(spawn.submit(pool, _process_main, dict(
                engine=engine, model=model, options=options, requests=requests, load=share, level=level,
                timeout_s=timeout_s, warmup=warmup, t0=t0, offsets=None if offsets is None else offsets[i::k],
                first_id=i, stride=k)))
        return [r for j in jobs for r in j.result()]
