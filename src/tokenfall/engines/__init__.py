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
})


class Tokenizer(Protocol):
    def encode(self, text: str, special: bool = True) -> list[int]: ...
    def decode(self, ids: list[int]) -> str: ...


class Engine(Protocol):
    name: ClassVar[str]
    requires: ClassVar[tuple[tuple[str, str], ...]]  # (import name, pip extra)
    tokenizer: Tokenizer | None

    class Options(BaseModel): ...

    def __init__(self, model: ModelInfo, options: BaseModel): ...
    def info(self) -> EngineInfo: ...
    async def start(self) -> None: ...
    def stream(self, request: Request) -> AsyncIterator[Chunk]: ...
    async def stop(self) -> None: ...


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
