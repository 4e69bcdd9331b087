"""A routed endpoint: the small model and the general model behind a router, served as one engine, so `bench`
measures the mix — throughput, TTFT and TPOT with the router's own cost inside them — instead of assuming it.

The model given to the command is the small one; ``large`` names the general model. Both run in this process
on llama.cpp, or the general model is any OpenAI-compatible server (``large_engine=openai`` with its
``large_options``). A cascade buffers the small model's answer until it can judge it (its mean token
probability against the threshold), so a request it escalates reaches the client only when the general model
starts answering: that wait is part of the measured TTFT, as it would be in production."""

from __future__ import annotations

import asyncio
import math
import time
from typing import AsyncIterator, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tokenfall import models
from tokenfall.engines import Engine, create
from tokenfall.errors import TokenfallError
from tokenfall.routing.routers import Router
from tokenfall.types import Chunk, EngineInfo, ModelInfo, Request


class RoutedEngine(Engine):
    name: ClassVar[str] = "routed"
    requires: ClassVar = ()

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        large: str = Field(description="the general model (a GGUF, or with large_engine=openai the served model's name)")
        router: str = Field("cascade", description="cascade, classifier, random, small, large — or a router file from `tokenfall route`")
        threshold: float | None = Field(None, description="in the router's terms, 0..1 (default: the file's, else 0.5)")
        small_options: dict = Field(default_factory=dict, description="llama.cpp options of the small model")
        large_engine: Literal["llamacpp", "openai"] = "llamacpp"
        large_options: dict = Field(default_factory=dict, description="options of the general model's engine")
        seed: int = 0

    def __init__(self, model: ModelInfo, options: Options):
        self.model_info, self.opts = model, options
        if options.router.endswith(".json"):
            self.router = Router.load(options.router, options.threshold)
        else:
            self.router = Router(options.router, 0.5 if options.threshold is None else options.threshold, seed=options.seed)
        if self.router.kind == "classifier" and not options.router.endswith(".json"):
            raise TokenfallError("router=classifier needs the trained weights: pass router=FILE.json from `tokenfall route`")
        large = models.resolve(options.large)
        if large.sha256 and large.sha256 == model.sha256:
            raise TokenfallError(f"the small and the general model are the same file ({model.path}); route between two models")
        self.small = create("llamacpp", model, options.small_options)
        self.large = create(options.large_engine, large, options.large_options)
        self.tokenizer = None
        self.counts = {"small": 0, "large": 0, "escalated": 0, "router_seconds": 0.0}

    @property
    def processes(self) -> int:
        return 1

    def busy(self) -> tuple[float, float] | None:
        """Both models' compute: a cascade's discarded small answers are paid for like the rest."""
        a, b = self.small.busy(), self.large.busy()
        return None if a is None or b is None else (a[0] + b[0], a[1] + b[1])

    def info(self) -> EngineInfo:
        return EngineInfo(name=self.name, version=self.small.info().version, options=self.opts.model_dump(), model=self.model_info,
                          stats=dict(self.counts) | {"threshold": self.router.threshold, "router": self.router.kind,
                                                     "large_model": self.large.model_info.ref})

    async def start(self) -> None:
        await self.small.start()
        await self.large.start()
        self.tokenizer = self.small.tokenizer

    async def stop(self) -> None:
        await self.small.stop()
        await self.large.stop()

    def _to_large(self, request: Request) -> Request:
        return request.model_copy(update={"prompt_tokens": None})  # the general model has its own tokenizer

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        t = time.perf_counter()
        choice = self.router.before(request.prompt)
        self.counts["router_seconds"] += time.perf_counter() - t
        if choice is not None:
            self.counts["large" if choice else "small"] += 1
            target, req = (self.large, self._to_large(request)) if choice else (self.small, request)
            async for c in target.stream(req):
                yield c
            return
        held = [c async for c in self.small.stream(request.model_copy(update={"logprobs": True}))]
        n = sum(c.n_tokens for c in held)
        confidence = math.exp(sum(c.logprob or 0.0 for c in held) / n) if n else 0.0
        if self.router.after(confidence):
            self.counts["escalated"] += 1
            self.counts["large"] += 1
            async for c in self.large.stream(self._to_large(request)):
                yield c
            return
        self.counts["small"] += 1
        for c in held:  # released now: the client sees them when the cascade has decided
            yield c.model_copy(update={"t": time.monotonic(), "logprob": c.logprob if request.logprobs else None})
            await asyncio.sleep(0)
