"""Quantization through llama.cpp's own ``llama_model_quantize``: the exact code path llama-quantize uses,
so a file made here is the file a llama.cpp user would serve."""

from __future__ import annotations

import os
from pathlib import Path

from tokenfall.errors import TokenfallError
from tokenfall.registry import did_you_mean


def types() -> list[str]:
    import llama_cpp as ll

    return sorted(n.removeprefix("LLAMA_FTYPE_MOSTLY_").lower() for n in dir(ll) if n.startswith("LLAMA_FTYPE_MOSTLY_"))


def quantize(src: str | Path, dst: str | Path, qtype: str, n_threads: int | None = None, allow_requantize: bool = False) -> Path:
    """Write ``src`` quantized to ``qtype`` (e.g. q8_0, q4_k_m, q2_k) at ``dst``, atomically.

    Quantizing an already-quantized file compounds the errors, so it needs ``allow_requantize``."""
    import llama_cpp as ll

    from tokenfall.models.llama import _quiet_logs

    ftype = getattr(ll, f"LLAMA_FTYPE_MOSTLY_{qtype.upper()}", None)
    if ftype is None:
        raise did_you_mean(qtype, types(), "quantization type")
    dst = Path(dst)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.part")
    _quiet_logs()
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
