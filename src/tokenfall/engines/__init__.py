"""Engines behind one small protocol, reached by name. Modules are imported only when an engine is used."""

from __future__ import annotations

import importlib.util
from typing import AsyncIterator, ClassVar, Protocol

from pydantic import BaseModel, ValidationError

from tokenfall.errors import MissingDependency, invalid_options
from tokenfall.registry import Registry
from tokenfall.types import Chunk, EngineInfo, ModelInfo, Request

ENGINES = Registry("engine", {
    "llamacpp": "tokenfall.engines.llamacpp:LlamaCppEngine",
    "openai": "tokenfall.engines.openai:OpenAIEngine",
    "transformers": "tokenfall.engines.transformers:TransformersEngine",
    "routed": "tokenfall.routing.engine:RoutedEngine",  # two engines behind a router: the routing room's
})


class Tokenizer(Protocol):
    def encode(self, text: str, special: bool = True) -> list[int]: ...
    def decode(self, ids: list[int]) -> str: ...


class Engine(Protocol):
    """What the bench, eval and optimize code uses of an engine, every member of it. The optional capabilities
    at the end have defaults: an engine inherits them by subclassing ``Engine`` and overrides what it can do."""

    name: ClassVar[str]
    requires: ClassVar[tuple[tuple[str, str], ...]]  # (import name, pip extra)
    model_info: ModelInfo
    opts: BaseModel  # an instance of ``Options``, validated by ``create``
    tokenizer: Tokenizer | None  # the model's own, once started; None: prompts sized and tokens counted by --tokenizer

    class Options(BaseModel): ...

    def __init__(self, model: ModelInfo, options: BaseModel): ...
    def info(self) -> EngineInfo: ...
    async def start(self) -> None: ...
    def stream(self, request: Request) -> AsyncIterator[Chunk]: ...
    async def stop(self) -> None: ...

    # ---- optional capabilities ----

    @property
    def processes(self) -> int:
        """Client processes sharing one level's load; above 1 the runner spawns them, each with its own engine."""
        return 1

    def busy(self) -> tuple[float, float] | None:
        """Seconds of engine compute spent on prefill and on decode so far, to split the hour between input and
        output tokens; None when the engine cannot tell (the split then comes from per-request timings)."""
        return None


def create(name: str, model: ModelInfo, options: dict | None = None) -> Engine:
    """Construct an engine by name; a missing library or a bad option is a one-line user error."""
    cls = ENGINES.load(name)
    for module, extra in cls.requires:
        if importlib.util.find_spec(module) is None:
            raise MissingDependency(f"engine '{name}' needs {module}, which", extra)
    try:
        opts = cls.Options(**(options or {}))
    except ValidationError as e:
        raise invalid_options(f"engine '{name}'", e) from e
    return cls(model, opts)
