"""Levers that turn one model artifact into a cheaper one. Each reads a GGUF and writes a new GGUF whose
metadata carries its lineage (parent sha256, lever, options, tokenfall version); the ledger records it too.
One module per lever with a small Options model, registered here by name: adding a lever is one file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar, Protocol

from pydantic import BaseModel

from tokenfall import __version__
from tokenfall.registry import Registry
from tokenfall.types import ModelInfo

LEVERS = Registry("lever", {
    "convert": "tokenfall.levers.convert:Convert",
    "quantize": "tokenfall.levers.quantize:Quantize",
    "prune": "tokenfall.levers.prune:Prune",
})


class Lever(Protocol):
    name: ClassVar[str]

    class Options(BaseModel): ...

    def output_name(self, model: ModelInfo, options: BaseModel) -> str: ...
    def apply(self, model: ModelInfo, dst: Path, options: BaseModel) -> Path: ...


def lineage(model: ModelInfo, lever: str, options: BaseModel) -> dict[str, str]:
    return {"parent_sha256": model.sha256 or "", "lever": lever, "options": json.dumps(options.model_dump(), sort_keys=True),
            "version": __version__}


def stem(model: ModelInfo) -> str:
    """A file-name stem for outputs: the model name without its quant suffix."""
    base = Path(model.path).stem if model.path else (model.name or "model")
    for q in (model.quant_type or "").lower(), (model.quant_type or "").lower().replace("all_", "").replace("mostly_", ""):
        if q and base.lower().endswith("." + q):
            return base[: -len(q) - 1]
    return base
