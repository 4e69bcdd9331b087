"""Dequantized copies: an F32 (or F16) GGUF of any GGUF's weights, the reference for compression studies
and the starting point for quantizing to other types. ``via="torch"`` takes the training-side route
instead (GGUF -> transformers -> GGUF), which must give the same model back."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tokenfall.levers import lineage, stem, write_torch
from tokenfall.models.gguf_write import check_torch_arch, dequantize
from tokenfall.models.hf import load_hf
from tokenfall.types import ModelInfo


class Convert:
    name: ClassVar[str] = "convert"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        dtype: Literal["f32", "f16"] = Field("f32", description="f32 holds any quant's values exactly; f16 halves the size")
        via: Literal["gguf", "torch"] = Field("gguf", description="torch: load into transformers and write back (the round trip "
                                              "training-side levers take)")

    def output_name(self, model: ModelInfo, options: Options) -> str:
        return f"{stem(model)}.{options.dtype.upper()}{'.torch' if options.via == 'torch' else ''}.gguf"

    def apply(self, model: ModelInfo, dst: Path, options: Options, progress=None) -> Path:
        if options.via == "torch":
            check_torch_arch(model.architecture, "converted through torch")
            return write_torch(load_hf(model)[0], model, dst, lineage(model, self.name, options), options.dtype)
        return dequantize(model.path, dst, options.dtype, lineage(model, self.name, options))
