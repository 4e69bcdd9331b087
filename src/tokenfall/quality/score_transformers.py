"""Full next-token distributions from HF transformers on torch (GGUF via ``gguf_file=`` or an HF directory):
the training-side view of a model, and a second backend to cross-check llama.cpp's numbers."""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np

from tokenfall.errors import TokenfallError
from tokenfall.models.hf import load_hf
from tokenfall.models.tokenizers import HFTokenizer
from tokenfall.quality.scoring import ROWS, check_window
from tokenfall.types import ModelInfo


class HFScorer:
    full_logits = True

    def __init__(self, model: ModelInfo, n_ctx: int = 512, dtype: str = "float32", device: str = "auto", n_threads: int | None = None):
        import torch

        if model.kind not in ("gguf", "hf"):
            raise TokenfallError(f"scoring with transformers needs a local GGUF file or HF directory, got '{model.ref}'")
        torch.set_num_threads(n_threads or os.cpu_count() or 1)
        self._torch, self.model, self.n_ctx = torch, model, n_ctx
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        self._model, tok = load_hf(model, dtype, self.device)
        self.tokenizer = HFTokenizer(tok)
        self.n_vocab = self._model.get_output_embeddings().weight.shape[0]

    def encode(self, text: str, bos: bool = True) -> list[int]:
        return self.tokenizer.encode(text, special=bos)

    def bos(self) -> int | None:
        tok = self.tokenizer.tok
        return tok.bos_token_id if tok.bos_token_id is not None and self.encode("a")[:1] == [tok.bos_token_id] else None

    def _logprobs(self, tokens: list[int], start: int, stop: int):
        torch = self._torch
        with torch.inference_mode():
            ids = torch.tensor([tokens], device=self.device)
            logits = self._model(ids).logits[0, start:stop].float()
            return torch.log_softmax(logits, dim=-1)

    def windows(self, tokens: list[int], first: int) -> Iterator[np.ndarray]:
        n = len(tokens)
        check_window(n, first, self.n_ctx)
        lp = self._logprobs(tokens, first - 1, n - 1)
        for r in range(0, len(lp), ROWS):
            yield lp[r:r + ROWS].cpu().numpy()

    def loglik(self, items: list[tuple[list[int], list[list[int]]]]) -> list[list[tuple[float, bool]]]:
        out = []
        for ctx, choices in items:
            res = []
            for cont in choices:
                ctx_ = ctx[-(self.n_ctx - len(cont)):]
                lp = self._logprobs(ctx_ + cont, len(ctx_) - 1, len(ctx_) + len(cont) - 1)
                target = self._torch.tensor(cont, device=lp.device)
                res.append((float(lp.gather(1, target[:, None]).sum()), bool((lp.argmax(dim=1) == target).all())))
            out.append(res)
        return out

    def close(self) -> None:
        self._model = None
