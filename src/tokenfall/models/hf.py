"""Loading a GGUF file or an HF directory into transformers on torch, shared by the transformers engine,
the transformers scorer and the training-side levers.

GGUF files load through transformers' ``gguf_file=`` support (transformers 5.x dequantizes to the requested
dtype, float32 by default); HF directories load as usual.
"""

from __future__ import annotations

import os
from pathlib import Path

from tokenfall.errors import TokenfallError
from tokenfall.types import ModelInfo


def load_hf(info: ModelInfo, dtype: str = "float32", device: str = "cpu"):
    """(model, tokenizer) for a GGUF file or an HF directory, on ``device``."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' GGUF loader draws a bare tqdm bar per load
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # their bars would tear through tokenfall's own progress display
    hf_logging.set_verbosity_error()
    kw = {"gguf_file": Path(info.path).name} if info.kind == "gguf" else {}
    where = str(Path(info.path).parent) if info.kind == "gguf" else info.path
    try:
        tok = AutoTokenizer.from_pretrained(where, **kw)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=getattr(torch, dtype), **kw)
    except (OSError, ValueError, KeyError) as e:
        raise TokenfallError(f"transformers could not load '{info.ref}' ({type(e).__name__}: {str(e)[:200]})") from e
    return model.to(device).eval(), tok
