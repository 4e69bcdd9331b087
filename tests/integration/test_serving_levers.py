"""Serving levers inside the llama.cpp engine, on the bundled model: speculation, the prefix cache, prompt sharing."""

import asyncio

import pytest

from tests.conftest import run
from tokenfall.bench import runner
from tokenfall.engines import create
from tokenfall.errors import TokenfallError
from tokenfall.types import Load, Prompts
from tokenfall.workloads.prompts import synthetic


async def _serve(model, options, concurrency, n=6, prompts=Prompts(input_tokens=40, output_tokens=24, shared_prefix_tokens=32)):
    e = create("llamacpp", model, {"seq_ctx": 256, **options})
    await e.start()
    try:
        reqs = synthetic(n, prompts, e.tokenizer)
        sink = []
        await runner.run_level(e, reqs, Load(concurrency=concurrency, requests=n), 0, sink)
    finally:
        await e.stop()
    return reqs, sorted(sink, key=lambda r: r.idx)


def test_shared_prefix_prompts(smollm):
    from tokenfall.models.tokenizers import load

    tok = load(smollm)
    reqs = synthetic(4, Prompts(input_tokens=40, shared_prefix_tokens=32), tok)
    assert all(len(r.prompt_tokens) == 40 for r in reqs)
    assert len({tuple(r.prompt_tokens[:32]) for r in reqs}) == 1 and len({tuple(r.prompt_tokens[32:]) for r in reqs}) == 4
    with pytest.raises(TokenfallError, match="--shared-prefix"):
        synthetic(1, Prompts(input_tokens=8, shared_prefix_tokens=8), tok)


def test_prompt_lookup_speculation_writes_the_plain_greedy_text(smollm):
    _, plain = run(_serve(smollm, {}, 1))
    _, spec = run(_serve(smollm, {"speculative": "prompt-lookup", "n_draft": 4}, 1))
    assert [r.output_text for r in spec] == [r.output_text for r in plain]
    assert all(r.error is None and r.n_out_usage == 24 for r in spec)
    drafted = sum(r.n_drafted for r in spec)
    assert drafted > 0 and 0 <= sum(r.n_accepted for r in spec) <= drafted
    # accepted drafts arrive several tokens per step: fewer chunks than tokens
    assert any(len(set(r.token_times)) < len(r.token_times) for r in spec)


def test_prefix_cache_serves_the_shared_prompt_prefix(smollm):
    reqs, recs = run(_serve(smollm, {"prefix_cache": 2}, 1))
    assert all(r.error is None and r.n_out_usage == 24 for r in recs)
    # the first prompt is computed in full and kept; each later one copies its 32 shared tokens
    assert [r.n_cached for r in recs] == [0] + [32] * (len(reqs) - 1)
    # on those cache hits the text is the text plain serving writes (here; a hit prefills the rest of the prompt as
    # its own chunk, which can change greedy text in long outputs: test_served_path grades that by KLD)
    _, plain = run(_serve(smollm, {}, 1))
    assert [r.output_text for r in recs] == [r.output_text for r in plain]
    _, batched = run(_serve(smollm, {"prefix_cache": 2}, 3, n=12))
    _, plain = run(_serve(smollm, {}, 3, n=12))
    assert [r.n_cached for r in batched] == [0, 0, 0] + [32] * 9  # three streams: the second wave on hits
    assert [r.output_text for r in batched] == [r.output_text for r in plain]
    _, unrelated = run(_serve(smollm, {"prefix_cache": 2}, 1, n=2, prompts=Prompts(input_tokens=40, output_tokens=24)))
    assert [r.n_cached for r in unrelated] == [0, 0]  # unrelated prompts share nothing worth copying


def test_lever_options_are_validated_before_llama_cpp_sees_them(smollm):
    with pytest.raises(TokenfallError, match="256"):
        create("llamacpp", smollm, {"parallel": 250, "n_batch": 512, "prefix_cache": 10})


def test_identical_prompts_are_prefilled_once_and_forked(smollm):
    """share_prompts: N requests for one prompt (test-time sampling) prefill it once; each fork copies the KV and
    samples its first token from the same logits with its own sampler."""
    from tokenfall.types import Request

    async def go(share, temperature, n=12):
        e = create("llamacpp", smollm, {"seq_ctx": 256, "parallel": 8, "share_prompts": share})
        await e.start()
        prompt = "Question: what is 17 plus 25? Answer step by step. Answer:"

        async def one(i):
            text, last = "", None
            async for ch in e.stream(Request(id=i, prompt=prompt, max_tokens=16, temperature=temperature, seed=i)):
                text, last = text + ch.text, ch
            return text, last
        try:
            out = await asyncio.gather(*[one(i) for i in range(n)])
        finally:
            await e.stop()
        return out, e.prefilled

    plain, computed_plain = run(go(False, 0.0))
    shared, computed_shared = run(go(True, 0.0))
    assert [t for t, _ in shared] == [t for t, _ in plain]  # greedy: forks write what separate prefills write
    n_prompt = shared[0][1].prompt_tokens
    # 8 streams: the first request admitted in a wave prefills, those admitted while it does copy it (how the
    # 12 requests split into waves depends on when each reaches the scheduler)
    cached = [c.cached_tokens for _, c in shared]
    assert set(cached) == {0, n_prompt} and cached.count(0) <= 4
    assert [c.cached_tokens for _, c in plain] == [0] * 12 and computed_plain == 12 * n_prompt
    assert computed_shared == cached.count(0) * n_prompt  # only the requests that prefilled computed the prompt
    sampled, _ = run(go(True, 0.9))
    assert len({t for t, _ in sampled}) > 6 and all(c.completion_tokens >= 1 for _, c in sampled)
