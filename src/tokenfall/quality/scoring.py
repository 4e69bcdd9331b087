"""Log-probabilities from a model: the one capability fidelity and log-likelihood tasks need.

A scorer is opened per (model, backend). Backends: llama.cpp on any GGUF, transformers on GGUF or an HF
directory, and an OpenAI-compatible server where it returns prompt logprobs (choice tasks only)."""

from __future__ import annotations

import hashlib
import inspect
import json
from typing import Iterator, Protocol

import numpy as np

from tokenfall.errors import TokenfallError
from tokenfall.registry import Registry
from tokenfall.types import ModelInfo

BACKENDS = Registry("scoring backend", {
    "llamacpp": "tokenfall.quality.score_llamacpp:LlamaScorer",
    "transformers": "tokenfall.quality.score_transformers:HFScorer",
})


class Scorer(Protocol):
    model: ModelInfo
    n_vocab: int
    tokenizer: object  # encode(text, special) and n_vocab, as models.tokenizers
    full_logits: bool  # False when only the sampled tokens' logprobs are available (no fidelity)

    def encode(self, text: str, bos: bool = True) -> list[int]: ...
    def windows(self, tokens: list[int], first: int) -> Iterator[np.ndarray]: ...
    def loglik(self, items: list[tuple[list[int], list[list[int]]]]) -> list[list[tuple[float, bool]]]: ...
    def close(self) -> None: ...


def open_scorer(model: ModelInfo, backend: str, options: dict | None = None) -> Scorer:
    """A scorer for ``model``; ``options`` may hold engine options, of which the backend takes the ones it knows."""
    cls = BACKENDS.load(backend)
    known = inspect.signature(cls.__init__).parameters
    return cls(model, **{k: v for k, v in (options or {}).items() if k in known})


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float32 (float64 would double the memory of a Gemma-sized vocabulary)."""
    x = logits.astype(np.float32, copy=True)
    x -= x.max(axis=-1, keepdims=True)
    x -= np.log(np.exp(x).sum(axis=-1, keepdims=True))
    return x


# Written for this check: prose, code, numbers, accents, CJK and emoji exercise most merge rules, so two
# tokenizers that agree on all of it (and on vocabulary size) agree in practice; works across backends.
PROBE = ("The 3 quick-brown foxes jumped over 1,024 lazy dogs; naïve café owners counted €12.50 each.\n"
         "def f(x):\n    return x ** 2  # square\n\tTabs, CAPS, camelCase, snake_case, 0x1F, 3.14159e-7\n"
         "東京で会いましょう。 Привет, мир! مرحبا 🙂🚀 <tag attr=\"v\">…</tag> ''quotes'' and \"quotes\"")


def vocab_digest(tokenizer) -> str:
    """Identity of a tokenizer for comparisons: vocabulary size and the encoding of PROBE."""
    return hashlib.sha256(json.dumps([tokenizer.n_vocab, tokenizer.encode(PROBE, special=False)]).encode()).hexdigest()


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
