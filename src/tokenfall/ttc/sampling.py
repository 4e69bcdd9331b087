"""Many answers to one prompt, cheaply, and a verifier's opinion of them.

All n samples of a problem are sent at once with the same prompt tokens: the in-process llama.cpp engine (with
``share_prompts``) prefills the prompt once and copies its KV to every sequence admitted with it; samples beyond
its parallel slots run in later waves that start from the prompt kept in its prefix cache. Each sample has its
own seed, so a rerun draws the same samples. A sample stops at the task's stop strings (the stream is closed
there, so the engine stops spending on it); what it cost comes from the engine's own counters (prompt tokens
computed, seconds of prefill and decode) where the engine has them, else from the wall clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tokenfall.engines import Engine
from tokenfall.errors import EngineError
from tokenfall.types import Problem, Request

_ids = itertools.count(1 << 40)  # request ids of this process, apart from a workload's


def seed_of(*parts) -> int:
    """A stable 32-bit seed for a sample, from the run seed and where the sample sits."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:4], "little")


@dataclass
class Drawn:
    text: str
    tokens: int
    logprob: float | None
    stopped: bool  # ended by a stop string or end of generation (not by max_tokens)
    cut_by: str | None  # the stop string it was cut at
    prompt_tokens: int | None
    cached_tokens: int | None


class Meter:
    """Engine seconds (prefill, decode) and prompt tokens computed between two readings."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.t0, self.busy0, self.pre0 = time.monotonic(), engine.busy(), getattr(engine, "prefilled", None)

    def read(self) -> tuple[float, float, float, int | None]:
        wall = time.monotonic() - self.t0
        busy = self.engine.busy()
        pre = getattr(self.engine, "prefilled", None)
        computed = None if pre is None or self.pre0 is None else pre - self.pre0
        if busy is None or self.busy0 is None:
            return 0.0, wall, wall, computed  # no engine counters: the wall clock, all of it charged as decode
        return busy[0] - self.busy0[0], busy[1] - self.busy0[1], wall, computed


async def draw(engine: Engine, prompt: str, prompt_tokens: list[int] | None, max_tokens: int, temperature: float,
               top_p: float, seed: int, stops: tuple[str, ...], logprobs: bool = True) -> Drawn:
    """One sample, cut at the first stop string."""
    req = Request(id=next(_ids), prompt=prompt, prompt_tokens=prompt_tokens, max_tokens=max_tokens, ignore_eos=False,
                  temperature=temperature, top_p=top_p, seed=seed, logprobs=logprobs)
    text, n, lp, stopped, usage, cut_by = "", 0, None, False, (None, None), None
    stream = engine.stream(req)
    try:
        async for ch in stream:
            text += ch.text
            n += ch.n_tokens
            if ch.logprob is not None:
                lp = (lp or 0.0) + ch.logprob
            if ch.finish_reason is not None:
                stopped = ch.finish_reason == "stop"
                usage = (ch.prompt_tokens, ch.cached_tokens)
            found = [(i, s) for s in stops if (i := text.find(s)) >= 0]
            if found:
                cut, cut_by = min(found)
                text, stopped = text[:cut], True
                break
    finally:
        await stream.aclose()
    return Drawn(text, n, lp, stopped, cut_by, *usage)


def prompt_ids(engine: Engine, prompt: str) -> list[int] | None:
    """The prompt's tokens, once, so every sample carries the identical sequence (what prompt sharing keys on)."""
    tok = getattr(engine, "tokenizer", None)
    return tok.encode(prompt) if tok is not None else None


async def sample(engine: Engine, index: int, prompt: str, answer: str, n: int, *, max_tokens: int, temperature: float,
                 top_p: float, seed: int, stops: tuple[str, ...], extract: Callable[[str], str | None],
                 same: Callable[[str, str], bool]) -> Problem:
    """n samples of one problem, graded against its answer."""
    ids = prompt_ids(engine, prompt)
    meter = Meter(engine)
    drawn = await asyncio.gather(*(draw(engine, prompt, ids, max_tokens, temperature, top_p, seed_of(seed, index, i), stops)
                                   for i in range(n)))
    prefill_s, decode_s, wall_s, computed = meter.read()
    if computed is None:  # a server's usage: prompt tokens minus those it reports as cached
        computed = sum((d.prompt_tokens or 0) - (d.cached_tokens or 0) for d in drawn)
    answers = [extract(d.text) for d in drawn]
    return Problem(index=index, answer=answer, prompt_tokens=len(ids) if ids is not None else (drawn[0].prompt_tokens or 0),
                   prompt_computed=computed, texts=[d.text for d in drawn], answers=answers,
                   correct=[a is not None and same(a, answer) for a in answers], tokens=[d.tokens for d in drawn],
                   logprobs=[d.logprob for d in drawn], prefill_s=prefill_s, decode_s=decode_s, wall_s=wall_s)


VERIFY_SUFFIX = "\n\nIs the answer above correct? Reply Yes or No.\nReply:"


def verifier_prompt(prompt: str, answer: str) -> str:
    """The problem as the sampler saw it, the candidate's final answer, and the question put to the verifier."""
    return f"{prompt} {answer}{VERIFY_SUFFIX}"


async def verify(engine: Engine, prompt: str, answers: list[str]) -> tuple[dict[str, float], float, int]:
    """P(correct) per distinct answer: the verifier's next-token odds of " Yes" against " No" after being shown the
    problem and the answer (one forward pass each; the problem's prefix is shared through the prefix cache).
    Returns the scores, engine seconds and tokens computed."""
    tok = engine.tokenizer
    if tok is None or not hasattr(engine, "capture"):
        raise EngineError("no_logits", f"engine '{engine.name}' does not expose next-token logits; use --verifier with llamacpp")
    yes, no = tok.encode(" Yes", special=False)[0], tok.encode(" No", special=False)[0]
    meter = Meter(engine)
    scores: dict[str, float] = {}

    async def one(a: str) -> None:
        text = verifier_prompt(prompt, a)
        req = Request(id=next(_ids), prompt=text, prompt_tokens=tok.encode(text), max_tokens=1, ignore_eos=True)
        engine.capture[req.id] = []
        try:
            async for _ in engine.stream(req):
                pass
            logits = engine.capture[req.id][0][1].astype(np.float64)
        finally:
            engine.capture.pop(req.id, None)
        z = logits[[yes, no]]
        scores[a] = float(1.0 / (1.0 + np.exp(z[1] - z[0])))

    await asyncio.gather(*(one(a) for a in answers))
    prefill_s, decode_s, _, computed = meter.read()
    return scores, prefill_s + decode_s, computed or 0
