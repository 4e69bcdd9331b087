"""Loading GGUF weights into llama.cpp (quietly), shared by the engine and the tokenizer."""

from __future__ import annotations

import ctypes
import signal
import threading

from tokenfall.errors import TokenfallError

KV_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8}  # ggml_type ids

_LOG_CB = None


def _drop_log(level, text, data):
    """llama.cpp's log lines are dropped: they would tear through the progress display."""


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


def load_model(path: str, n_gpu_layers: int = 0, vocab_only: bool = False):
    import llama_cpp

    quiet_logs()
    mp = llama_cpp.llama_model_default_params()
    mp.n_gpu_layers = n_gpu_layers
    mp.vocab_only = vocab_only
    model = llama_cpp.llama_model_load_from_file(path.encode(), mp)
    if not model:
        raise TokenfallError(f"llama.cpp could not load '{path}'; check that it is a complete GGUF file for a supported architecture")
    return model
