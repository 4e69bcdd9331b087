"""The in-process llama.cpp engine with continuous batching, on the bundled model."""

import asyncio
import time

from conftest import run

from tokenfall.engines import create
from tokenfall.types import Request

PROMPTS = ["The capital of France is", "Write a poem about the sea.", "1, 2, 3, 4,", "Once upon a time",
           "def fib(n):", "Tell me about cats"]


async def _generate(engine, prompt, n, **kw):
    text, times = [], []
    async for ch in engine.stream(Request(id=0, prompt=prompt, max_tokens=n, **kw)):
        text.append(ch.text)
        times += [ch.t] * ch.n_tokens
    return "".join(text), times


def test_batched_greedy_equals_single_sequence(smollm):
    async def main():
        e = create("llamacpp", smollm, {"parallel": 8})
        await e.start()
        try:
            single = [(await _generate(e, p, 40))[0] for p in PROMPTS]
            batched = await asyncio.gather(*(_generate(e, p, 40) for p in PROMPTS))
            again = await asyncio.gather(*(_generate(e, p, 40) for p in reversed(PROMPTS)))  # reused slots, other order
        finally:
            await e.stop()
        return single, [b[0] for b in batched], [a[0] for a in reversed(again)]

    single, batched, again = run(main())
    assert all(len(s) > 20 for s in single)
    assert batched == single
    assert again == single


def test_requests_join_running_batch_and_long_prompts_are_chunked(smollm):
    async def main():
        e = create("llamacpp", smollm, {"parallel": 4, "prefill_chunk": 32})
        await e.start()
        try:
            first = asyncio.create_task(_generate(e, "Count slowly:", 60))
            await asyncio.sleep(0.15)  # first is decoding now
            long_prompt = " ".join(["river garden window morning"] * 60)  # ~240 tokens -> >= 8 chunks of 32
            n_prompt = len(e.tokenizer.encode(long_prompt))
            submitted = time.monotonic()
            second = asyncio.create_task(_generate(e, long_prompt, 4))
            (text1, t1), (text2, t2) = await asyncio.gather(first, second)
        finally:
            await e.stop()
        return t1, t2, n_prompt, submitted

    t1, t2, n_prompt, submitted = run(main())
    assert len(t1) == 60 and len(t2) == 4
    assert t2[0] < t1[-1], "the second request got its first token while the first was still decoding"
    # the prompt took ceil(n/32) steps, and every one of them also advanced the running decode by a token
    chunks = -(-n_prompt // 32)
    assert chunks >= 8
    during = [t for t in t1 if submitted < t <= t2[0]]
    assert len(during) >= chunks - 1


def test_eos_stops_unless_ignored_and_context_is_checked(smollm):
    async def main():
        e = create("llamacpp", smollm, {"parallel": 2, "seq_ctx": 64})
        await e.start()
        try:
            pinned = await _generate(e, "Say hi.", 50, ignore_eos=True, chat=False)
            try:
                await _generate(e, "hello " * 40, 50)
                overflow = None
            except Exception as ex:  # EngineError with a kind
                overflow = ex
        finally:
            await e.stop()
        return pinned, overflow

    (text, times), overflow = run(main())
    assert len(times) == 50
    assert getattr(overflow, "kind", None) == "context_overflow"


def test_chat_requests_use_the_models_template(smollm):
    async def main():
        e = create("llamacpp", smollm, {"parallel": 2})
        await e.start()
        try:
            text, times = await _generate(e, "What is the capital of France?", 12, chat=True, ignore_eos=False)
            templated = e._chat("hi")
            marker = e.tokenizer.encode("<|im_start|>", special=False, parse_special=True)
            as_text = e.tokenizer.encode("<|im_start|>", special=False)
        finally:
            await e.stop()
        return text, templated, marker, as_text

    text, templated, marker, as_text = run(main())
    assert "<|im_start|>user\nhi<|im_end|>" in templated and templated.rstrip().endswith("assistant")
    assert len(marker) == 1 and len(as_text) > 1  # the template's markers become control tokens, user text never does
    assert text.strip()  # a 135M model answers something; correctness is the eval issue's business


SWEEP_TYPES = ["q8_0", "q6_k", "q4_k_m", "q4_0", "q4_1", "q2_k"]


def test_every_quant_type_loads_decodes_and_scores(reference_f32, tmp_path):
    """The test that would have caught the AMX crash: each type the sweep and optimize use is loaded by the
    engine and the scorer and asked for a few tokens, in this process, with tokenfall's buffer-type choice."""
    import numpy as np

    from tokenfall.levers.quantize import quantize
    from tokenfall.models import resolve
    from tokenfall.models.llama import backend
    from tokenfall.quality.score_llamacpp import LlamaScorer

    choice = backend()
    assert "AMX_INT8" not in choice["features"] or not choice["extra_bufts"]
    for t in SWEEP_TYPES:
        info = resolve(str(quantize(reference_f32.path, tmp_path / f"{t}.gguf", t)))

        async def main():
            e = create("llamacpp", info, {"parallel": 2, "seq_ctx": 64})
            await e.start()
            try:
                return (await _generate(e, "The capital of France is", 4))[1], e.info().buffers
            finally:
                await e.stop()

        times, buffers = run(main())
        assert len(times) == 4, t
        assert buffers and sum(buffers.values()) > 10, (t, buffers)  # MiB of weights, by buffer type
        if t == "q4_0" and choice["extra_bufts"] and "AVX2" in choice["features"]:
            assert "CPU_REPACK" in buffers, buffers  # the repack path the fix keeps
        scorer = LlamaScorer(info, n_ctx=64)
        try:
            toks = scorer.encode("The sky is blue and the grass is green.")
            rows = np.concatenate([w.copy() for w in scorer.windows(toks, 1)])
            assert rows.shape[0] == len(toks) - 1 and np.isfinite(rows).all(), t
        finally:
            scorer.close()
