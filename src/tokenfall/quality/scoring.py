"""Log-probabilities from a model: the one capability fidelity and log-likelihood tasks need.

A scorer is opened per (model, backend). Backends: llama.cpp on any GGUF, transformers on GGUF or an HF
directory, and an OpenAI-compatible server where it echoes prompt logprobs (choice tasks only: a server
returns at most the top few log-probabilities per token, not the distribution fidelity needs)."""

from __future__ import annotations

import inspect
from typing import Iterator, Protocol

import numpy as np

from tokenfall.errors import TokenfallError
from tokenfall.registry import Registry
from tokenfall.types import ModelInfo

BACKENDS = Registry("scoring backend", {
    "llamacpp": "tokenfall.quality.score_llamacpp:LlamaScorer",
    "transformers": "tokenfall.quality.score_transformers:HFScorer",
    "openai": "tokenfall.quality.score_openai:OpenAIScorer",
})


class Scorer(Protocol):
    model: ModelInfo
    n_vocab: int
    tokenizer: object  # encode(text, special) and n_vocab, as models.tokenizers
    full_logits: bool  # False when only the sampled tokens' logprobs are available (no fidelity)
    options: dict  # the options it was opened with (set by open_scorer)

    def encode(self, text: str, bos: bool = True) -> list[int]: ...
    def windows(self, tokens: list[int], first: int) -> Iterator[np.ndarray]: ...
    def loglik(self, items: list[tuple[list[int], list[list[int]]]]) -> list[list[tuple[float, bool]]]: ...
    def close(self) -> None: ...


def open_scorer(model: ModelInfo, backend: str, options: dict | None = None) -> Scorer:
    """A scorer for ``model``; ``options`` may hold engine options, of which the backend takes the ones it knows."""
    cls = BACKENDS.load(backend)
    known = inspect.signature(cls.__init__).parameters
    taken = {k: v for k, v in (options or {}).items() if k in known}
    scorer = cls(model, **taken)
    scorer.options = taken  # what shaped its numbers: part of every cache key of its results
    return scorer


ROWS = 128  # log-softmax block: bounds memory at ROWS x vocabulary floats whatever the window


def check_window(n: int, first: int, capacity: int) -> None:
    """Refuse before a backend sees a window it cannot hold (llama.cpp would abort the process)."""
    if n > capacity or not 0 < first < n:
        raise TokenfallError(f"window of {n} tokens scored from {first} does not fit a {capacity}-token context")


def choice_loglik(scorer: Scorer, items: list[tuple[str, list[str]]]) -> list[list[tuple[float, bool]]]:
    """Per (context, continuations): each continuation's (sum of log-probabilities, greedy match).
    Local scorers tokenise here (lm-eval's split); remote ones score text themselves (``loglik_text``)."""
    if hasattr(scorer, "loglik_text"):
        return scorer.loglik_text(items)
    enc = lambda s: scorer.encode(s, bos=True)  # noqa: E731
    packed, owner = [], []  # choices share their context's tokens unless a boundary merge makes them differ
    for i, (ctx, conts) in enumerate(items):
        splits = [split_continuation(enc, ctx, c) for c in conts]
        if all(c == splits[0][0] for c, _ in splits):
            packed.append((splits[0][0], [k for _, k in splits]))
            owner.append(i)
        else:
            packed += [(c, [k]) for c, k in splits]
            owner += [i] * len(splits)
    results: list[list[tuple[float, bool]]] = [[] for _ in items]
    for i, res in zip(owner, scorer.loglik(packed)):
        results[i] += res
    return results


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float32 (float64 would double the memory of a Gemma-sized vocabulary)."""
    x = logits.astype(np.float32, copy=True)
    x -= x.max(axis=-1, keepdims=True)
    x -= np.log(np.exp(x).sum(axis=-1, keepdims=True))
    return x


def split_continuation(encode, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's rule: tokenise context+continuation whole and take as continuation the tokens past the
    length of the context's own encoding, so a word boundary is tokenised as in running text. Trailing
    spaces of the context move to the continuation first (" word" is one token in most vocabularies)."""
    stripped = context.rstrip(" ")
    whole = encode(stripped + context[len(stripped):] + continuation)
    n = len(encode(stripped))
    if n >= len(whole):
        raise TokenfallError(f"continuation {continuation[:40]!r} adds no tokens to its context")
    return whole[:n], whole[n:]
