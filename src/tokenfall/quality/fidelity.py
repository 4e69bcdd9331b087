"""Fidelity to a reference model, llama.cpp's ``perplexity --kl-divergence`` method.

The text is cut into windows of ``ctx`` tokens (each starting with BOS when the model uses one); within
a window only positions from ``ctx * score_from`` on are scored, so every scored token has at least that
much context. The reference's log-probabilities are stored once on disk (float16, keyed by reference
sha256 + token sha256 + window settings + backend + the
reference's options, such as its KV type), so comparing N candidates costs one reference pass.
Candidate log-probabilities are rounded through float16 the same way, so a model compared with itself
gives exactly zero divergence.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from tokenfall.errors import TokenfallError
from tokenfall.models.tokenizers import vocab_digest
from tokenfall.quality.scoring import Scorer
from tokenfall.types import Fidelity


def windows(stream: list[int], bos: int | None, ctx: int, score_from: float) -> list[tuple[list[int], int]]:
    """(window tokens, first scored position) covering ``stream``; a short tail forms a last window."""
    body = ctx - (bos is not None)
    first = max(1, int(ctx * score_from))
    out = []
    for start in range(0, len(stream), body):
        w = ([bos] if bos is not None else []) + stream[start:start + body]
        if len(w) - first >= 1:
            out.append((w, first))
    return out


def cache_key(reference: Scorer, backend: str, stream: list[int], ctx: int, score_from: float) -> str:
    h = hashlib.sha256(np.asarray(stream, dtype=np.int32).tobytes()).hexdigest()
    opts = {k: v for k, v in reference.options.items() if k not in ("n_threads", "n_ctx")}  # n_ctx: ctx below
    spec = {"model": reference.model.sha256, "tokens": h, "ctx": ctx, "score_from": score_from, "backend": backend,
            "options": opts, "v": 2}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]


def _rows(scorer: Scorer, wins: list[tuple[list[int], int]], progress: Callable[[int], None]) -> Iterator[tuple]:
    """(first row index, log-prob block, its target tokens) over all windows. (Decoding the next window in
    a thread while numpy works on this one measured no faster on 2 cores: both are CPU-bound.)"""
    r = 0
    for w, first in wins:
        targets = np.asarray(w[first:])
        for block in scorer.windows(w, first):
            yield r, block, targets[:len(block)]
            targets = targets[len(block):]
            r += len(block)
        progress(len(w))


class ReferenceLogprobs:
    """The reference pass on disk: float16 log-probabilities (rows x vocab), argmax and target NLL per row."""

    def __init__(self, path: Path):
        self.path = path
        self.meta = json.loads((path / "meta.json").read_text())
        self.logp = np.memmap(path / "logp.f16", dtype=np.float16, mode="r", shape=(self.meta["rows"], self.meta["n_vocab"]))
        self.argmax = np.load(path / "argmax.npy")
        self.nll = np.load(path / "nll.npy")

    @classmethod
    def build(cls, path: Path, scorer: Scorer, wins: list[tuple[list[int], int]], progress: Callable[[int], None]) -> "ReferenceLogprobs":
        rows = sum(len(w) - f for w, f in wins)
        need = rows * scorer.n_vocab * 2
        path.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(path.parent).free
        if need > free * 0.9:
            raise TokenfallError(f"reference log-probabilities need {need / 1e9:.1f} GB and {path.parent} has {free / 1e9:.1f} GB free; "
                                 "score fewer tokens (--tokens)")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            out = np.memmap(tmp / "logp.f16", dtype=np.float16, mode="w+", shape=(rows, scorer.n_vocab))
            argmax, nll = np.empty(rows, np.int32), np.empty(rows, np.float64)
            for r, block, targets in _rows(scorer, wins, progress):
                n = len(block)
                out[r:r + n] = block
                argmax[r:r + n] = block.argmax(axis=1)
                nll[r:r + n] = -block[np.arange(n), targets].astype(np.float16).astype(np.float32)
            out.flush()
            del out
            np.save(tmp / "argmax.npy", argmax)
            np.save(tmp / "nll.npy", nll)
            (tmp / "meta.json").write_text(json.dumps({"rows": rows, "n_vocab": scorer.n_vocab, "model": scorer.model.model_dump(),
                                                      "vocab": vocab_digest(scorer.tokenizer)}))
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return cls(path)


def compare(candidate: Scorer, ref: ReferenceLogprobs, wins: list[tuple[list[int], int]],
            progress: Callable[[int], None], reference_label: str) -> Fidelity:
    """KL(reference || candidate) per scored token, top-1 agreement and perplexities."""
    if candidate.n_vocab != ref.meta["n_vocab"] or vocab_digest(candidate.tokenizer) != ref.meta["vocab"]:
        raise TokenfallError(f"candidate '{candidate.model.ref}' has a different tokenizer from reference '{reference_label}' "
                             f"(vocabulary {candidate.n_vocab} vs {ref.meta['n_vocab']} tokens or different pieces); "
                             "fidelity compares next-token distributions, which needs the same tokenizer")
    kld, agree, nll = np.empty(ref.meta["rows"]), np.empty(ref.meta["rows"], bool), np.empty(ref.meta["rows"])
    for r, block, targets in _rows(candidate, wins, progress):
        n = len(block)
        q = block.astype(np.float16).astype(np.float32)
        p = ref.logp[r:r + n].astype(np.float32)
        kld[r:r + n] = (np.exp(p) * (p - q)).sum(axis=1)
        agree[r:r + n] = block.argmax(axis=1) == ref.argmax[r:r + n]
        nll[r:r + n] = -q[np.arange(n), targets]
    return summarize(kld, agree, nll, ref.nll, reference=reference_label, reference_sha256=ref.meta["model"]["sha256"],
                     tokens_evaluated=sum(len(w) for w, _ in wins))


def summarize(kld: np.ndarray, agree: np.ndarray, nll: np.ndarray, nll_ref: np.ndarray, **fields) -> Fidelity:
    """Per-token KLD, top-1 agreement and both models' negative log-likelihoods of the scored tokens, as a summary."""
    ppl, ppl_ref = float(np.exp(nll.mean())), float(np.exp(nll_ref.mean()))
    return Fidelity(tokens_scored=len(kld), kld_mean=float(kld.mean()),
                    kld_sem=float(kld.std(ddof=1) / np.sqrt(len(kld))) if len(kld) > 1 else 0.0,
                    kld_median=float(np.median(kld)), kld_p99=float(np.percentile(kld, 99)), kld_max=float(kld.max()),
                    top1_agreement=float(agree.mean()), ppl=ppl, ppl_reference=ppl_ref, ppl_ratio=ppl / ppl_ref, **fields)
