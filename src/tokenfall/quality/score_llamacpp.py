"""Full next-token distributions from llama.cpp: windows of a text for fidelity, packed choices for
log-likelihood tasks (context tokens shared by every choice's sequence, as llama.cpp's hellaswag does)."""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np

from tokenfall.errors import TokenfallError
from tokenfall.models.llama import KV_TYPES, load_model
from tokenfall.models.tokenizers import LlamaTokenizer
from tokenfall.quality.scoring import ROWS, check_window, log_softmax
from tokenfall.types import ModelInfo


class LlamaScorer:
    full_logits = True

    def __init__(self, model: ModelInfo, n_ctx: int = 512, pack_tokens: int = 2048, n_seq: int = 64,
                 n_threads: int | None = None, n_gpu_layers: int = 0, kv_type: str = "f16"):
        if model.kind != "gguf":
            raise TokenfallError(f"scoring with llama.cpp needs a GGUF model, got '{model.ref}'; use --engine transformers")
        import llama_cpp as ll

        self._ll, self.model, self.n_seq = ll, model, n_seq
        self._model = load_model(model.path, n_gpu_layers)
        self.n_tokens = max(n_ctx, pack_tokens)
        cp = ll.llama_context_default_params()
        cp.n_ctx = cp.n_batch = self.n_tokens
        cp.n_ubatch = min(512, self.n_tokens)
        cp.n_seq_max = n_seq
        cp.kv_unified = True  # choices share their context's cells
        if kv_type not in KV_TYPES:
            raise TokenfallError(f"kv_type={kv_type}: use one of {', '.join(KV_TYPES)}")
        cp.type_k = cp.type_v = KV_TYPES[kv_type]  # a quantized KV cache is graded as it is served
        cp.n_threads = cp.n_threads_batch = n_threads or os.cpu_count() or 1
        cp.no_perf = True
        self._ctx = ll.llama_init_from_model(self._model, cp)
        if not self._ctx:
            raise TokenfallError(f"llama.cpp could not create a scoring context of {self.n_tokens} tokens; lower --ctx")
        self._mem = ll.llama_get_memory(self._ctx)
        self._vocab = ll.llama_model_get_vocab(self._model)
        self.n_vocab = ll.llama_vocab_n_tokens(self._vocab)
        self.tokenizer = LlamaTokenizer(self._vocab)
        self._batch = ll.llama_batch_init(self.n_tokens, 0, n_seq)

    def encode(self, text: str, bos: bool = True) -> list[int]:
        return self.tokenizer.encode(text, special=bos)

    def bos(self) -> int | None:
        t = self._ll.llama_vocab_bos(self._vocab)
        return t if t >= 0 and self._ll.llama_vocab_get_add_bos(self._vocab) else None

    def _decode(self, n: int) -> None:
        self._batch.n_tokens = n
        rc = self._ll.llama_decode(self._ctx, self._batch)
        if rc != 0:
            raise TokenfallError(f"llama_decode failed with code {rc} while scoring '{self.model.ref}'")

    def _put(self, i: int, token: int, pos: int, seqs: list[int], logits: bool) -> None:
        b = self._batch
        b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, len(seqs), logits
        for j, s in enumerate(seqs):
            b.seq_id[i][j] = s

    def _logits(self, n_out: int) -> np.ndarray:
        return np.ctypeslib.as_array(self._ll.llama_get_logits(self._ctx), shape=(n_out, self.n_vocab))

    def windows(self, tokens: list[int], first: int) -> Iterator[np.ndarray]:
        """Log-probabilities predicting tokens[first:], in blocks of ROWS rows (views are consumed before
        the next decode overwrites llama.cpp's output buffer)."""
        n = len(tokens)
        check_window(n, first, self.n_tokens)
        self._ll.llama_memory_clear(self._mem, True)
        for i, t in enumerate(tokens):
            self._put(i, t, i, [0], i >= first - 1 and i < n - 1)
        self._decode(n)
        out = self._logits(n - first)
        for r in range(0, n - first, ROWS):
            yield log_softmax(out[r:r + ROWS])

    def loglik(self, items: list[tuple[list[int], list[list[int]]]]) -> list[list[tuple[float, bool]]]:
        """Per item, per choice: (sum of the choice tokens' log-probabilities, whether greedy decoding
        would produce exactly the choice). Items are packed into batches by tokens and sequences."""
        items = [(self._fit(ctx, choices), choices) for ctx, choices in items]
        results: list[list[tuple[float, bool]]] = [[] for _ in items]
        pack: list[int] = []
        used_tokens = used_seqs = 0
        for idx, (ctx, choices) in enumerate(items):
            need = len(ctx) + sum(len(c) for c in choices)
            if pack and (used_tokens + need > self.n_tokens or used_seqs + len(choices) > self.n_seq):
                self._score_pack(items, pack, results)
                pack, used_tokens, used_seqs = [], 0, 0
            pack.append(idx)
            used_tokens += need
            used_seqs += len(choices)
        if pack:
            self._score_pack(items, pack, results)
        return results

    def _fit(self, ctx: list[int], choices: list[list[int]]) -> list[int]:
        """Drop context from the left (as lm-eval does) when an item would not fit one pack."""
        room = self.n_tokens - sum(len(c) for c in choices)
        if min(self.n_seq, room) < max(len(choices), 1) or room < 1:
            raise TokenfallError(f"an item with {len(choices)} choices of {sum(len(c) for c in choices)} tokens does not fit "
                                 f"a {self.n_tokens}-token scoring context; raise --ctx")
        return ctx[-room:]

    def _score_pack(self, items, pack: list[int], results) -> None:
        self._ll.llama_memory_clear(self._mem, True)
        i = seq = 0
        rows: list[tuple[int, int, list[int]]] = []  # (item, choice, batch-output rows predicting its tokens)
        out_row = 0
        for idx in pack:
            ctx, choices = items[idx]
            seqs = list(range(seq, seq + len(choices)))
            for p, t in enumerate(ctx):
                self._put(i, t, p, seqs, p == len(ctx) - 1)
                i += 1
            shared_row = out_row
            out_row += 1
            for c, cont in enumerate(choices):
                own = []
                for k, t in enumerate(cont):
                    last = k == len(cont) - 1
                    self._put(i, t, len(ctx) + k, [seqs[c]], not last)
                    i += 1
                    if not last:
                        own.append(out_row)
                        out_row += 1
                rows.append((idx, c, [shared_row] + own))
            seq += len(choices)
        self._decode(i)
        logits = self._logits(out_row)
        for idx, c, r in rows:
            lp = log_softmax(logits[r])
            cont = items[idx][1][c]
            total = float(lp[np.arange(len(cont)), cont].sum())
            results[idx].append((total, bool((lp.argmax(axis=1) == np.asarray(cont)).all())))

    def close(self) -> None:
        ll = self._ll
        if self._ctx:
            ll.llama_batch_free(self._batch)
            ll.llama_free(self._ctx)
            ll.llama_model_free(self._model)
            self._ctx = None
