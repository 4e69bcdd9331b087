"""Loading GGUF weights into llama.cpp (quietly), shared by the engine and the tokenizer."""

from __future__ import annotations

import ctypes

from tokenfall.errors import TokenfallError

KV_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8}  # ggml_type ids

_LOG_CB = None


def quiet_logs():
    """Silence llama.cpp's stderr chatter once per process (it would tear through the progress display)."""
    import llama_cpp

    global _LOG_CB
    if _LOG_CB is None:
        _LOG_CB = llama_cpp.llama_log_callback(lambda level, text, data: None)
        llama_cpp.llama_log_set(_LOG_CB, ctypes.c_void_p(0))
        llama_cpp.llama_backend_init()


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
