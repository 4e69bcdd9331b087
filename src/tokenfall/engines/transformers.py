"""HF transformers ``generate`` on torch, one request at a time: the naive baseline other engines are compared to.

GGUF files load through transformers' ``gguf_file=`` support (transformers 5.x keeps the packed GGUF weights and
computes in the requested dtype, float32 by default); HF directories load as usual.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import AsyncIterator, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tokenfall.engines import Engine
from tokenfall.errors import EngineError, TokenfallError
from tokenfall.models.hf import load_hf
from tokenfall.models.tokenizers import HFTokenizer
from tokenfall.types import Chunk, EngineInfo, ModelInfo, Request


class TransformersEngine(Engine):
    name: ClassVar[str] = "transformers"
    requires: ClassVar = (("torch", "transformers"), ("transformers", "transformers"))

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        dtype: Literal["float32", "bfloat16", "float16"] = Field("float32", description="torch dtype of the weights")
        device: str = Field("auto", description="auto = cuda when present, else cpu")
        n_threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, description="torch intra-op threads")

    def __init__(self, model: ModelInfo, options: Options):
        if model.kind not in ("gguf", "hf"):
            raise TokenfallError(f"engine 'transformers' needs a local GGUF file or HF directory, got '{model.ref}'")
        self.model_info, self.opts = model, options
        self.tokenizer = None
        self._lock = asyncio.Lock()

    def info(self) -> EngineInfo:
        import torch
        import transformers

        return EngineInfo(name=self.name, version=f"transformers {transformers.__version__} torch {torch.__version__}",
                          options={**self.opts.model_dump(), "device": self._device}, model=self.model_info)

    async def start(self) -> None:
        import torch

        torch.set_num_threads(self.opts.n_threads)
        self._device = self.opts.device if self.opts.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        self._model, tok = await asyncio.to_thread(load_hf, self.model_info, self.opts.dtype, self._device)
        self.tokenizer = HFTokenizer(tok)

    async def stop(self) -> None:
        self._model = None

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        import torch
        from transformers.generation.streamers import BaseStreamer

        loop, out = asyncio.get_running_loop(), asyncio.Queue()
        tok = self.tokenizer.tok
        cancel = threading.Event()

        class Streamer(BaseStreamer):
            prompt_seen = False

            def put(self, value):
                if not self.prompt_seen:  # generate() first hands over the prompt ids
                    self.prompt_seen = True
                    return
                if cancel.is_set():
                    raise RuntimeError("cancelled")
                ids = value.reshape(-1).tolist()
                loop.call_soon_threadsafe(out.put_nowait, Chunk(t=time.monotonic(), text=tok.decode(ids), n_tokens=len(ids)))

            def end(self):
                pass

        if request.chat:
            ids = tok.apply_chat_template([{"role": "user", "content": request.prompt}], add_generation_prompt=True, tokenize=True)
            ids = list(ids["input_ids"] if hasattr(ids, "keys") else ids)
        else:
            ids = request.prompt_tokens if request.prompt_tokens is not None else self.tokenizer.encode(request.prompt)
        kw = dict(max_new_tokens=request.max_tokens, do_sample=request.temperature > 0, pad_token_id=tok.eos_token_id)
        if request.temperature > 0:
            kw["temperature"] = request.temperature
        if request.ignore_eos:
            kw["min_new_tokens"] = request.max_tokens

        def run():
            try:
                with torch.inference_mode():
                    torch.manual_seed(request.seed)
                    x = torch.tensor([ids], device=self._device)
                    self._model.generate(x, attention_mask=torch.ones_like(x), streamer=Streamer(), **kw)
                loop.call_soon_threadsafe(out.put_nowait, None)
            except Exception as e:  # surfaced to the consumer as a per-request error
                loop.call_soon_threadsafe(out.put_nowait, EngineError("generate_failed", str(e)[:200]))

        async with self._lock:  # batch 1: the naive baseline
            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            n = 0
            try:
                while True:
                    item = await out.get()
                    if isinstance(item, Exception):
                        raise item
                    if item is None:
                        yield Chunk(t=time.monotonic(), finish_reason="length" if n >= request.max_tokens else "stop",
                                    prompt_tokens=len(ids), completion_tokens=n)
                        return
                    n += item.n_tokens
                    yield item
            finally:
                cancel.set()
                await asyncio.to_thread(worker.join)
