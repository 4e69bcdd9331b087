"""Dequantized copies: an F32 (or F16) GGUF of any GGUF's weights, the reference for compression studies
and the starting point for quantizing to other types."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tokenfall.levers import lineage, stem
from tokenfall.models.gguf_write import dequantize
from tokenfall.types import ModelInfo


class Convert:
    name: ClassVar[str] = "convert"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        dtype: Literal["f32", "f16"] = Field("f32", description="f32 holds any quant's values exactly; f16 halves the size")

    def output_name(self, model: ModelInfo, options: Options) -> str:
        return f"{stem(model)}.{options.dtype.upper()}.gguf"

    def apply(self, model: ModelInfo, dst: Path, options: Options) -> Path:
        return dequantize(model.path, dst, options.dtype, lineage(model, self.name, options))
