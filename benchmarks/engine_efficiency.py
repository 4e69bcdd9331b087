"""The llamacpp engine vs a bare llama_decode loop on the same model, measured side by side in one run.

Bare loop: N sequences, one token each per llama_decode, greedy sampling in C, no scheduling, no streaming.
Engine: `tokenfall bench` machinery end to end (scheduler thread, asyncio streaming, per-request records).
Both use the same context settings (one KV stream per sequence, same n_batch and threads).

    python benchmarks/engine_efficiency.py [--tokens 128] [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time

import llama_cpp as ll

from tokenfall import api
from tokenfall.engines import create
from tokenfall.engines.llamacpp import LlamaCppEngine
from tokenfall.models import resolve
from tokenfall.models.tokenizers import LlamaTokenizer
from tokenfall.types import BenchConfig, Load, Prompts, Request


def bare_decode(model, n_seq: int, n_tokens: int, opts: LlamaCppEngine.Options) -> float:
    """Aggregate decode tokens/s of a plain multi-sequence llama_decode loop."""
    cp = ll.llama_context_default_params()
    cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = opts.seq_ctx * opts.parallel, opts.n_batch, opts.n_batch, opts.parallel
    cp.n_threads = cp.n_threads_batch = opts.n_threads
    cp.kv_unified, cp.no_perf = False, True
    ctx = ll.llama_init_from_model(model, cp)
    tok = LlamaTokenizer(ll.llama_model_get_vocab(model))
    b = ll.llama_batch_init(opts.n_batch, 0, 1)
    prompt = tok.encode("river garden window")
    samplers = []
    for _ in range(n_seq):
        s = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        ll.llama_sampler_chain_add(s, ll.llama_sampler_init_greedy())
        samplers.append(s)

    def put(i, token, pos, seq, logits):
        b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, logits
        b.seq_id[i][0] = seq

    n = 0
    for s in range(n_seq):
        for j, t in enumerate(prompt):
            put(n, t, j, s, j == len(prompt) - 1)
            n += 1
    b.n_tokens = n
    ll.llama_decode(ctx, b)
    last = [ll.llama_sampler_sample(samplers[s], ctx, (s + 1) * len(prompt) - 1) for s in range(n_seq)]
    t0 = time.perf_counter()
    for step in range(n_tokens):
        for s in range(n_seq):
            put(s, last[s], len(prompt) + step, s, True)
        b.n_tokens = n_seq
        ll.llama_decode(ctx, b)
        last = [ll.llama_sampler_sample(samplers[s], ctx, s) for s in range(n_seq)]
    rate = n_seq * n_tokens / (time.perf_counter() - t0)
    for s in samplers:
        ll.llama_sampler_free(s)
    ll.llama_batch_free(b)
    ll.llama_free(ctx)
    return rate


async def engine_decode(engine, n_seq: int, n_tokens: int) -> float:
    """Aggregate decode tokens/s through the engine's streaming API, over the window where all n_seq decode."""
    async def one(i):
        times = []
        async for ch in engine.stream(Request(id=i, prompt=f"river garden window {i}", max_tokens=n_tokens + 1)):
            times += [ch.t] * ch.n_tokens
        return times

    runs = await asyncio.gather(*(one(i) for i in range(n_seq)))
    t0, t1 = max(r[0] for r in runs), min(r[-1] for r in runs)
    return sum(1 for r in runs for t in r if t0 < t <= t1) / (t1 - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--tokens", type=int, default=128, help="output tokens per request / bare decode steps")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    info = resolve(a.model)
    c = a.concurrency
    engine = create("llamacpp", info, {})
    opts = engine.opts

    async def paired() -> dict[str, list[float]]:
        # alternate bare and engine runs on the very same model weights, so machine drift hits both alike
        await engine.start()
        got = {"bare1": [], "eng1": [], "bareN": [], "engN": []}
        try:
            await engine_decode(engine, 2, 16)  # warm-up
            for _ in range(a.rounds):
                got["bare1"].append(bare_decode(engine._model, 1, a.tokens, opts))
                got["eng1"].append(await engine_decode(engine, 1, a.tokens))
                got["bareN"].append(bare_decode(engine._model, c, a.tokens, opts))
                got["engN"].append(await engine_decode(engine, c, a.tokens))
        finally:
            await engine.stop()
        return got

    got = asyncio.run(paired())
    med = {k: statistics.median(v) for k, v in got.items()}
    with tempfile.TemporaryDirectory() as d:  # the full `tokenfall bench` path, closed loop at 1 and c
        cfg = BenchConfig(model=a.model, loads=[Load(concurrency=1, requests=6, warmup_requests=1),
                                                Load(concurrency=c, requests=3 * c, warmup_requests=1)],
                          prompts=Prompts(input_tokens=8, output_tokens=a.tokens))
        run = api.bench(cfg, db=f"{d}/ledger.sqlite")
    s1, sN = run.levels

    print(f"model {info.name} {info.quant_type} ({info.n_params:,} params), {opts.n_threads} threads, "
          f"{a.rounds} alternating rounds (median), {a.tokens} tokens per sequence")
    print(f"{'decode tok/s':34}{'bare llama_decode':>20}{'tokenfall llamacpp':>20}{'ratio':>8}")
    print(f"{'1 sequence':34}{med['bare1']:>20.1f}{med['eng1']:>20.1f}{med['eng1'] / med['bare1']:>8.2f}")
    print(f"{f'{c} sequences (aggregate)':34}{med['bareN']:>20.1f}{med['engN']:>20.1f}{med['engN'] / med['bareN']:>8.2f}")
    for k, v in got.items():
        print(f"  {k}: {', '.join(f'{x:.1f}' for x in v)}")
    scale = sN.output_tokens_per_s / s1.output_tokens_per_s
    print(f"tokenfall bench run {run.id}: output tok/s c=1 {s1.output_tokens_per_s:.1f}, "
          f"c={c} {sN.output_tokens_per_s:.1f}")
    ratio1 = med["eng1"] / med["bare1"]
    print(f"single-stream decode engine/bare = {ratio1:.2f} (goal >= 0.90: {'met' if ratio1 >= 0.9 else 'NOT met'})")
    print(f"aggregate output tok/s c={c} / c=1 = {scale:.2f} (goal >= 1.8: {'met' if scale >= 1.8 else 'NOT met'})")


if __name__ == "__main__":
    main()
