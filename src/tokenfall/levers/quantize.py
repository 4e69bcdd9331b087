"""Quantization through llama.cpp's own ``llama_model_quantize``: the exact code path llama-quantize uses,
so a file made here is the file a llama.cpp user would serve."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tokenfall.errors import TokenfallError
from tokenfall.levers import lineage, stem
from tokenfall.models.gguf_write import relabel
from tokenfall.registry import did_you_mean
from tokenfall.types import ModelInfo


def types() -> list[str]:
    import llama_cpp as ll

    return sorted(n.removeprefix("LLAMA_FTYPE_MOSTLY_").lower() for n in dir(ll) if n.startswith("LLAMA_FTYPE_MOSTLY_"))


def quantize(src: str | Path, dst: str | Path, qtype: str, n_threads: int | None = None, allow_requantize: bool = False) -> Path:
    """Write ``src`` quantized to ``qtype`` (e.g. q8_0, q4_k_m, q2_k) at ``dst``, atomically.

    Quantizing an already-quantized file compounds the errors, so it needs ``allow_requantize``."""
    import llama_cpp as ll

    from tokenfall.models.llama import quiet_logs

    ftype = getattr(ll, f"LLAMA_FTYPE_MOSTLY_{qtype.upper()}", None)
    if ftype is None:
        raise did_you_mean(qtype, types(), "quantization type")
    dst = Path(dst)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.part")
    quiet_logs()
    params = ll.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = n_threads or os.cpu_count() or 1
    params.allow_requantize = allow_requantize
    try:
        rc = ll.llama_model_quantize(str(src).encode(), str(tmp).encode(), params)
        if rc != 0:
            raise TokenfallError(f"llama.cpp could not quantize '{src}' to {qtype} (code {rc}); quantize from an F32/F16 file "
                                 "(tokenfall can write one from any GGUF)")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


class Quantize:
    name: ClassVar[str] = "quantize"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        type: str = Field(description="llama.cpp file type, e.g. q8_0, q6_k, q4_k_m, q4_0, q2_k, iq4_xs")
        allow_requantize: bool = Field(False, description="quantize an already-quantized file (errors compound)")
        n_threads: int | None = Field(None, ge=1, description="quantization threads (default: all cores)")

        @field_validator("type")
        @classmethod
        def _known(cls, v: str) -> str:
            v = v.lower()
            if v not in types():
                raise ValueError(str(did_you_mean(v, types(), "quantization type")))
            return v

    def output_name(self, model: ModelInfo, options: Options) -> str:
        return f"{stem(model)}.{options.type.upper()}.gguf"

    def apply(self, model: ModelInfo, dst: Path, options: Options) -> Path:
        """llama.cpp writes the quantized file; a metadata-only rewrite then adds the lineage keys."""
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.q")
        try:
            quantize(model.path, tmp, options.type, options.n_threads, options.allow_requantize)
            return relabel(tmp, dst, lineage(model, self.name, options))
        finally:
            tmp.unlink(missing_ok=True)
