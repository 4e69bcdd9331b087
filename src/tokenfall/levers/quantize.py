"""Quantization through llama.cpp's own ``llama_model_quantize``: the exact code path llama-quantize uses,
so a file made here is the file a llama.cpp user would serve."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tokenfall.errors import TokenfallError
from tokenfall.levers import lineage, stem
from tokenfall.models.gguf_write import relabel
from tokenfall.registry import did_you_mean
from tokenfall.types import ModelInfo


def types() -> list[str]:
    import llama_cpp as ll

    return sorted(n.removeprefix("LLAMA_FTYPE_MOSTLY_").lower() for n in dir(ll) if n.startswith("LLAMA_FTYPE_MOSTLY_"))


NEEDS_IMATRIX = ("iq1_s", "iq1_m", "iq2_xxs", "iq2_xs", "iq2_s")  # llama.cpp refuses these without one


def quantize(src: str | Path, dst: str | Path, qtype: str, n_threads: int | None = None, allow_requantize: bool = False,
             imatrix: dict[str, np.ndarray] | None = None) -> Path:
    """Write ``src`` quantized to ``qtype`` (e.g. q8_0, q4_k_m, q2_k) at ``dst``, atomically, optionally
    guided by an importance matrix (tensor name -> mean squared input activation per column).

    Quantizing an already-quantized file compounds the errors, so it needs ``allow_requantize``."""
    import ctypes

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
    if qtype.lower() in NEEDS_IMATRIX and not imatrix:
        raise TokenfallError(f"type {qtype} needs an importance matrix: add --imatrix calibrate (or an imatrix GGUF file)")
    if imatrix:  # a NULL-named entry ends the array
        keep = [np.ascontiguousarray(v, dtype=np.float32) for v in imatrix.values()]
        entries = (ll.llama_model_imatrix_data * (len(keep) + 1))()
        for e, name, values in zip(entries, imatrix, keep):
            e.name, e.data, e.size = name.encode(), values.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), values.size
        params.imatrix = ctypes.cast(entries, ctypes.POINTER(ll.llama_model_imatrix_data))
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
        imatrix: str | None = Field(None, description="importance matrix: an imatrix GGUF (llama-imatrix's), or 'calibrate' to "
                                    "compute one on the calibration text")
        calibration: str | None = Field(None, description="calibration text for --imatrix calibrate (default: built-in openings)")

        @field_validator("type")
        @classmethod
        def _known(cls, v: str) -> str:
            v = v.lower()
            if v not in types():
                raise ValueError(str(did_you_mean(v, types(), "quantization type")))
            return v

        @field_validator("imatrix")
        @classmethod
        def _imatrix_exists(cls, v: str | None) -> str | None:
            if v and v != "calibrate" and not Path(v).expanduser().is_file():
                raise ValueError(f"'{v}' does not exist; give an imatrix GGUF (llama-imatrix writes one) or 'calibrate'")
            return v

        @model_validator(mode="after")
        def _imatrix_where_needed(self):
            if self.type in NEEDS_IMATRIX and not self.imatrix:
                raise ValueError(f"type {self.type} needs an importance matrix: add --imatrix calibrate (or an imatrix GGUF file)")
            return self

    def output_name(self, model: ModelInfo, options: Options) -> str:
        return f"{stem(model)}.{options.type.upper()}{'.imatrix' if options.imatrix else ''}.gguf"

    def apply(self, model: ModelInfo, dst: Path, options: Options, progress=None) -> Path:
        """llama.cpp writes the quantized file; a metadata-only rewrite then adds the lineage keys."""
        lin = lineage(model, self.name, options)
        weights = None
        if options.imatrix:
            from tokenfall.levers import imatrix
            from tokenfall.models import sha256_file

            path = imatrix.resolve(model, options.imatrix, options.calibration)
            weights = imatrix.load(path)
            lin["imatrix_sha256"] = sha256_file(path)
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.q")
        try:
            quantize(model.path, tmp, options.type, options.n_threads, options.allow_requantize, weights)
            return relabel(tmp, dst, lin)
        finally:
            tmp.unlink(missing_ok=True)
