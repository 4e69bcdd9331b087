"""Loading a GGUF file or an HF directory into transformers on torch, shared by the transformers engine,
the transformers scorer and the training-side levers.

GGUF files load through transformers' ``gguf_file=`` support (transformers 5.x dequantizes to the requested
dtype, float32 by default); HF directories load as usual. That GGUF path parses the file three times and rebuilds
the tokenizer from its vocabulary (about 15 s for the bundled 135M model on 2 cores), so a small model's
dequantized copy is kept as an HF directory in the user cache, keyed by the file's sha256, and later loads read it
(about 2 s).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from platformdirs import user_cache_dir

from tokenfall.errors import TokenfallError
from tokenfall.types import ModelInfo

MAX_CACHED_BYTES = 4e9  # a larger model's float copy is not kept: disk would fill faster than loads are saved


def load_hf(info: ModelInfo, dtype: str = "float32", device: str = "cpu", cache: bool = True):
    """(model, tokenizer) for a GGUF file or an HF directory, on ``device``; ``cache=False`` reads the GGUF itself."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' GGUF loader draws a bare tqdm bar per load
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # their bars would tear through tokenfall's own progress display
    hf_logging.set_verbosity_error()
    cached = _cache_dir(info, dtype) if cache else None
    if cached is not None and cached.is_dir():
        info = info.model_copy(update={"kind": "hf", "path": str(cached)})
    kw = {"gguf_file": Path(info.path).name} if info.kind == "gguf" else {}
    where = str(Path(info.path).parent) if info.kind == "gguf" else info.path
    try:
        tok = AutoTokenizer.from_pretrained(where, **kw)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=getattr(torch, dtype), **kw)
    except (OSError, ValueError, KeyError) as e:
        raise TokenfallError(f"transformers could not load '{info.ref}' ({type(e).__name__}: {str(e)[:200]})") from e
    if cached is not None and info.kind == "gguf":
        _keep(model, tok, cached)
    return model.to(device).eval(), tok


def _cache_dir(info: ModelInfo, dtype: str) -> Path | None:
    """Where the dequantized HF copy of a GGUF file lives (None: not a GGUF, or too large to keep)."""
    import transformers

    width = 4 if dtype == "float32" else 2
    if info.kind != "gguf" or not info.sha256 or (info.n_params or 0) * width > MAX_CACHED_BYTES:
        return None
    root = Path(user_cache_dir("tokenfall", appauthor=False)) / "hf-from-gguf"
    return root / f"{info.sha256[:24]}-{dtype}-transformers-{transformers.__version__}"


def _keep(model, tok, target: Path) -> None:
    """Save the loaded model and tokenizer to ``target``, whole or not at all (written aside, then renamed)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    except OSError:
        return  # a read-only cache only costs time
    quantizer = getattr(model, "hf_quantizer", None)
    try:
        model.hf_quantizer = None  # the weights are already dequantized: transformers' GGUF marker only blocks saving
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        config = json.loads((tmp / "config.json").read_text())
        config.pop("quantization_config", None)  # nothing is quantized in the copy
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        os.replace(tmp, target)
    except OSError:
        pass  # another process kept it first, or the disk is full: this load still has its model
    finally:
        model.hf_quantizer = quantizer
        shutil.rmtree(tmp, ignore_errors=True)
