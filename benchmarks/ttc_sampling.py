"""Sampling N answers to one prompt vs serving N different prompts: does prefilling the shared prompt once pay?

Same model file, same run, interleaved rounds (the order alternates):
- ttc: N samples of one L-token prompt through tokenfall.ttc's path (llama.cpp with shared prompts: one prefill,
  the KV copied to every sequence), each exactly T output tokens;
- bench: `tokenfall bench` at concurrency N on the same file, N requests of L-token prompts (all different) and T
  output tokens.
Throughput on both sides = output tokens / (last token - first send) over the whole wave, so neither side's
start-up or steady-state window differs. Also per-sample engine cost at N vs at 1 (what batching the samples buys).

    python benchmarks/ttc_sampling.py [--n 64] [--prompt 256] [--tokens 32] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

from tokenfall import api
from tokenfall.engines import create
from tokenfall.models import resolve
from tokenfall.ttc.sampling import prompt_ids
from tokenfall.types import BenchConfig, Load, Prompts, Request


async def ttc_wave(model, n: int, prompt_len: int, tokens: int, seed: int) -> dict:
    eng = create("llamacpp", model, {"share_prompts": True, "prefix_cache": 1, "parallel": n, "n_batch": max(512, n),
                                     "seq_ctx": prompt_len + tokens + 32})
    await eng.start()
    try:
        rng = random.Random(seed)
        words = "the of and to in is that for it as with was on be by this are at from".split()
        ids = prompt_ids(eng, " ".join(rng.choice(words) for _ in range(prompt_len * 2)))[:prompt_len]

        async def one(i: int, prompt: list[int]) -> float:
            req = Request(id=i, prompt="", prompt_tokens=prompt, max_tokens=tokens, ignore_eos=True, temperature=0.8,
                          seed=seed * 1000 + i, logprobs=True)
            last = 0.0
            async for ch in eng.stream(req):
                last = ch.t
            return last

        warm = ids
        ids = ids[::-1]  # the timed prompt is not the warm-up's, so the prefix cache cannot serve it
        await asyncio.gather(*(one(i, warm) for i in range(2)))  # warm-up, untimed
        pre0, busy0 = eng.prefilled, eng.busy()
        t0 = time.monotonic()
        ends = await asyncio.gather(*(one(100 + i, ids) for i in range(n)))
        busy = eng.busy()
        return {"tps": n * tokens / (max(ends) - t0), "prompt_computed": eng.prefilled - pre0,
                "engine_s_per_sample": (busy[0] - busy0[0] + busy[1] - busy0[1]) / n}
    finally:
        await eng.stop()


def bench_wave(model, n: int, prompt_len: int, tokens: int, seed: int, db: str) -> float:
    run = api.bench(BenchConfig(model=model.path, engine_options={"parallel": n, "n_batch": max(512, n),
                                                                  "seq_ctx": prompt_len + tokens + 32},
                                loads=[Load(concurrency=n, requests=n, warmup_requests=2, seed=seed)],
                                prompts=Prompts(input_tokens=prompt_len, output_tokens=tokens, seed=seed)), db=db)
    recs = [r for r in _records(run.id, db) if not r.warmup]
    return sum(len(r.token_times) for r in recs) / (max(r.t_last for r in recs) - min(r.t_sent for r in recs))


def _records(run_id: str, db: str):
    from tokenfall.store import Ledger

    with Ledger(db) as led:
        return led.requests(run_id)


def interval(xs: list[float]) -> tuple[float, float]:
    rng = random.Random(0)
    ms = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(2000))
    return ms[50], ms[1949]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--prompt", type=int, default=256)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    import tempfile

    from tokenfall.fingerprint import machine

    model = resolve(a.model)
    db = tempfile.mktemp(suffix=".sqlite")
    ratios, ttc_tps, bench_tps, per_sample, computed = [], [], [], [], []
    for r in range(a.rounds):
        order = ("ttc", "bench") if r % 2 == 0 else ("bench", "ttc")
        got = {}
        for side in order:
            if side == "ttc":
                w = asyncio.run(ttc_wave(model, a.n, a.prompt, a.tokens, r))
                one = asyncio.run(ttc_wave(model, 1, a.prompt, a.tokens, r))
                got["ttc"] = w["tps"]
                per_sample.append(one["engine_s_per_sample"] / w["engine_s_per_sample"])
                computed.append(w["prompt_computed"])
            else:
                got["bench"] = bench_wave(model, a.n, a.prompt, a.tokens, r, db)
        ttc_tps.append(got["ttc"])
        bench_tps.append(got["bench"])
        ratios.append(got["ttc"] / got["bench"])
    m = machine()
    print(f"CPU {m['cpu']} ({m['cores']} cores); model {model.name}; N={a.n}, prompt {a.prompt} tokens, {a.tokens} output "
          f"tokens each; {a.rounds} interleaved rounds; medians with 95% bootstrap intervals over rounds")
    print(f"prompt tokens computed for {a.n} samples: {statistics.median(computed):.0f} (the prompt is {a.prompt})")
    print(f"ttc sampling:     {statistics.median(ttc_tps):8.1f} output tok/s")
    print(f"bench c={a.n}:      {statistics.median(bench_tps):8.1f} output tok/s")
    lo, hi = interval(ratios)
    print(f"ratio ttc/bench:  {statistics.median(ratios):8.2f}x  (95% CI {lo:.2f}-{hi:.2f}; per round: {', '.join(f'{x:.2f}' for x in ratios)})")
    lo, hi = interval(per_sample)
    print(f"engine seconds per sample, N=1 / N={a.n}: {statistics.median(per_sample):.1f}x (95% CI {lo:.1f}-{hi:.1f})")


if __name__ == "__main__":
    main()
