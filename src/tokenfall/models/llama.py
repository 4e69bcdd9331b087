"""Loading GGUF weights into llama.cpp (quietly), shared by the engine and the tokenizer."""

from __future__ import annotations

import ctypes
import functools
import os
import re
import signal
import threading

from tokenfall.errors import TokenfallError
from tokenfall.fingerprint import cpu_flags

KV_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8}  # ggml_type ids

_LOG_CB = None


_BUFFERS: list[bytes] = []  # "load_tensors: CPU_REPACK model buffer size = 64.00 MiB" lines of model loads


def _drop_log(level, text, data):
    """llama.cpp's log lines are dropped (they would tear through the progress display), except the
    lines naming the buffer types a model's weights were placed in, which the fingerprint records."""
    if text and b"model buffer size" in text:
        _BUFFERS.append(text)


def _on_sigint(signum, frame):
    """Ctrl-C that lands while llama.cpp is calling ``_drop_log`` would raise inside a ctypes callback,
    which swallows the exception (a model load logs hundreds of lines, so Ctrl-C there was simply lost).
    Deliver it again a moment later, once control is back outside the callback."""
    while frame is not None:
        if frame.f_code is _drop_log.__code__:
            threading.Timer(0.01, signal.raise_signal, (signal.SIGINT,)).start()
            return
        frame = frame.f_back
    raise KeyboardInterrupt


def quiet_logs():
    """Silence llama.cpp's stderr chatter once per process, keeping Ctrl-C working through it."""
    import llama_cpp

    global _LOG_CB
    if _LOG_CB is None:
        _LOG_CB = llama_cpp.llama_log_callback(_drop_log)
        llama_cpp.llama_log_set(_LOG_CB, ctypes.c_void_p(0))
        llama_cpp.llama_backend_init()
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _on_sigint)


# ggml's x86 feature names (llama_print_system_info) and the /proc/cpuinfo flag each needs.
_CPU_FLAG = {"SSE3": "pni", "SSSE3": "ssse3", "AVX": "avx", "AVX_VNNI": "avx_vnni", "AVX2": "avx2", "F16C": "f16c",
             "FMA": "fma", "BMI2": "bmi2", "AVX512": "avx512f", "AVX512_VBMI": "avx512vbmi",
             "AVX512_VNNI": "avx512_vnni", "AVX512_BF16": "avx512_bf16", "AMX_INT8": "amx_int8"}


def compiled_features() -> dict[str, str]:
    """What the installed llama.cpp was built with, e.g. {"AVX2": "1", "REPACK": "1", "AMX_INT8": "1"}."""
    import llama_cpp

    text = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    feats = {}
    for part in text.split("|"):
        k, sep, v = part.rpartition("=")
        if sep:
            feats[k.split(":")[-1].strip()] = v.strip()
    return feats


@functools.lru_cache(maxsize=1)
def backend() -> dict:
    """How this process's llama.cpp runs weights, decided before any model loads (see ``decide``)."""
    import llama_cpp

    return {"llama_cpp": llama_cpp.__version__} | decide(compiled_features(), cpu_flags(),
                                                         os.environ.get("TOKENFALL_EXTRA_BUFTS", "auto").lower())


def decide(feats: dict[str, str], flags: frozenset[str] | set[str], forced: str = "auto") -> dict:
    """Whether models load with llama.cpp's extra buffer types, given the build's features and the CPU's flags.

    llama.cpp's AMX buffer type (compiled in by a native build on an Intel AMX CPU) repacks quantized
    weights and segfaults in the first decode (llama.cpp #20824). Where it is live, extra buffer types are
    turned off — losing the CPU repack too, the only load-time switch there is; tokenfall's own build
    (scripts/llama_wheel.py) leaves AMX out so the repack stays on. A build using instructions this CPU
    lacks would die with SIGILL: refused with the fix. ``forced`` (on/off, from TOKENFALL_EXTRA_BUFTS)
    exists to measure the choice itself."""
    if flags:  # no /proc/cpuinfo (macOS): nothing to check against
        missing = [k for k, f in _CPU_FLAG.items() if feats.get(k) == "1" and f not in flags and k != "AMX_INT8"]
        if missing:
            raise TokenfallError(f"the installed llama-cpp-python was built for {', '.join(missing)}, which this CPU lacks; "
                                 "reinstall it for this CPU (make install, which keys its wheel cache by CPU level)")
    amx_live = feats.get("AMX_INT8") == "1" and "amx_int8" in flags
    if forced in ("on", "off"):
        extra, why = forced == "on", f"extra buffer types {forced} (TOKENFALL_EXTRA_BUFTS={forced})"
    elif amx_live:
        extra, why = False, ("AMX buffer type live on this CPU (segfaults on quantized weights, llama.cpp #20824): "
                             "extra buffer types off, CPU repack off too")
    else:
        extra, why = True, "extra buffer types on (CPU repack)"
    return {"features": [k for k, v in feats.items() if v == "1"], "extra_bufts": extra, "why": why}


def load_model(path: str, n_gpu_layers: int = 0, vocab_only: bool = False):
    """The model and, in ``model_buffers(model)``, the MiB its weights took per buffer type."""
    import llama_cpp

    quiet_logs()
    mp = llama_cpp.llama_model_default_params()
    mp.n_gpu_layers = n_gpu_layers
    mp.vocab_only = vocab_only
    mp.use_extra_bufts = backend()["extra_bufts"]
    start = len(_BUFFERS)
    model = llama_cpp.llama_model_load_from_file(path.encode(), mp)
    if not model:
        raise TokenfallError(f"llama.cpp could not load '{path}'; check that it is a complete GGUF file for a supported architecture")
    _LOADED[ctypes.cast(model, ctypes.c_void_p).value] = _parse_buffers(_BUFFERS[start:])
    return model


_LOADED: dict[int, dict[str, float]] = {}


def _parse_buffers(lines: list[bytes]) -> dict[str, float]:
    out: dict[str, float] = {}
    for raw in lines:
        m = re.search(r"(\S+) model buffer size\s*=\s*([\d.]+) MiB", raw.decode("utf-8", "replace"))
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out


def model_buffers(model) -> dict[str, float]:
    """MiB of weights per llama.cpp buffer type for a model from ``load_model`` (CPU_REPACK = repacked)."""
    return dict(_LOADED.get(ctypes.cast(model, ctypes.c_void_p).value, {}))


# bytes per KV element of each cache type (ggml block sizes: q8_0 stores 32 values in 34 bytes, ...)
KV_BYTES = {"f32": 4.0, "f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32, "q4_1": 20 / 32, "q5_0": 22 / 32, "q5_1": 24 / 32}


def check_memory(model, seq_ctx: int, sequences: int, kv_type: str) -> None:
    """Refuse a KV cache the machine cannot hold before llama.cpp tries (seq_ctx=10^8 grew to 23.6 GB and was
    killed by the kernel, leaving its run 'running')."""
    from tokenfall.fingerprint import available_bytes
    from tokenfall.models import architecture

    shape = architecture(model.path)
    kv = shape["n_layers"] * 2 * shape["n_kv_heads"] * shape["head_dim"] * seq_ctx * sequences * KV_BYTES[kv_type]
    need, have = kv + (model.size_bytes or 0), available_bytes()
    if have is not None and need > 0.9 * have:
        raise TokenfallError(f"the KV cache of seq_ctx={seq_ctx} x {sequences} sequences needs {kv / 2**30:.1f} GiB "
                             f"(+ {(model.size_bytes or 0) / 2**30:.2f} GiB of weights); {have / 2**30:.1f} GiB is available: "
                             "lower -o seq_ctx or -o parallel, or use -o kv_type=q8_0")
