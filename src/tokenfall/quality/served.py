"""Grade what is served, not only the file: the llama.cpp engine at the serving settings (many streams,
prefix-cache hits, chunked prefill, a quantized KV cache, speculation) writes greedy continuations of the
workload's prompts and keeps each emitted token's full next-token distribution; the reference, at its own
settings, scores the same tokens teacher-forced. KL divergence and top-1 agreement then measure the served
path itself, and a request whose every token is the reference's top-1 is one the reference would have
written word for word (greedy agreement)."""

from __future__ import annotations

import asyncio

import numpy as np

from tokenfall import loop
from tokenfall.engines import create
from tokenfall.errors import EngineError, TokenfallError
from tokenfall.progress import Progress
from tokenfall.quality.fidelity import summarize
from tokenfall.quality.scoring import log_softmax, open_scorer
from tokenfall.types import Fidelity, ModelInfo, Prompts
from tokenfall.workloads import prompts as prompt_sets


FIRST_WAVE = 16  # requests of the first wave graded (all of the second wave are: they hit the prefix cache)


def served_requests(concurrency: int) -> int:
    """Enough requests for a second wave: the first wave fills the prefix cache, the second hits it."""
    return concurrency + max(8, concurrency // 4)


def serve(model: ModelInfo, options: dict, spec: Prompts, count: int, progress: Progress):
    """Serve ``count`` requests at once (the engine runs as many streams as its options allow) and return, for the
    graded ones (the first FIRST_WAVE and every later one), (prompt tokens, served tokens, their log-probability
    rows), with the prompt tokens the prefix cache supplied to them."""
    streams = options.get("parallel", 1)
    graded = [i for i in range(count) if i < min(FIRST_WAVE, streams) or i >= streams]

    async def main():
        eng = create("llamacpp", model, options)
        await eng.start()
        eng.capture = {i: [] for i in graded}
        reqs = prompt_sets.synthetic(count, spec, eng.tokenizer)  # greedy, as served
        cached = 0

        async def one(req):
            nonlocal cached
            async for ch in eng.stream(req):
                if req.id in eng.capture:
                    cached += ch.cached_tokens or 0
            progress.request_done()

        try:
            await asyncio.gather(*(one(r) for r in reqs))
        finally:
            await eng.stop()
        return [(reqs[i].prompt_tokens, *zip(*eng.capture[i])) for i in graded], cached

    try:
        return loop.run(main())
    except EngineError as e:
        raise TokenfallError(f"serving '{model.ref}' with {options} failed ({e.kind}: {e})") from e


def grade(model: ModelInfo, reference: ModelInfo, options: dict, reference_options: dict, spec: Prompts, count: int,
          progress: Progress, reference_label: str) -> Fidelity:
    """Served-path fidelity of ``model`` at ``options`` to ``reference`` at ``reference_options``, with the
    prompt tokens the prefix cache supplied while serving (zero: no cache hit was graded)."""
    progress.level(f"served path ({model.name or model.ref}, {options.get('parallel', 1)} streams)", count)
    served, cached = serve(model, options, spec, count, progress)
    n_ctx = max(len(p) + len(t) for p, t, _ in served)
    scorer = open_scorer(reference, "llamacpp", reference_options | {"n_ctx": n_ctx})
    progress.level(f"served path: reference ({reference.name or reference.ref})", len(served))
    kld, agree, nll, nll_ref, same = [], [], [], [], 0
    try:
        for prompt, tokens, rows in served:
            toks = np.asarray(tokens)
            p = np.concatenate(list(scorer.windows(list(prompt) + list(tokens), len(prompt))))
            q = log_softmax(np.stack(rows)).astype(np.float16).astype(np.float32)
            p = p.astype(np.float16).astype(np.float32)
            kld.append((np.exp(p) * (p - q)).sum(axis=1))
            hit = p.argmax(axis=1) == toks
            agree.append(hit)
            same += bool(hit.all())
            nll.append(-q[np.arange(len(toks)), toks])
            nll_ref.append(-p[np.arange(len(toks)), toks])
            progress.request_done()
    finally:
        scorer.close()
    return summarize(*(np.concatenate(x) for x in (kld, agree, nll, nll_ref)), reference=reference_label,
                     reference_sha256=reference.sha256, tokens_evaluated=int(sum(len(p) + len(t) for p, t, _ in served)),
                     path="served", sequences=len(served), sequences_identical=same, tokens_cached=cached)
