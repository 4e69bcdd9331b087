"""Importance matrices for quantization: per weight matrix, the mean square of each input column's
activation on calibration text, which llama.cpp's quantizer uses to spend precision where activations are
large (K-quants and IQ types; the smallest IQ types need one). Computed with torch hooks and stored in
llama.cpp's own imatrix GGUF layout (``<tensor>.in_sum2`` and ``<tensor>.counts``), so a file from
``llama-imatrix`` works here and a file written here works with ``llama-quantize --imatrix``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from platformdirs import user_cache_dir

from tokenfall.errors import TokenfallError
from tokenfall.levers import calibration
from tokenfall.models.gguf_write import atomic_writer, check_torch_arch
from tokenfall.types import ModelInfo


def load(path: str | Path) -> dict[str, np.ndarray]:
    """Tensor name -> mean squared activation per input column (per expert, concatenated)."""
    import gguf

    try:
        reader = gguf.GGUFReader(path)
    except Exception as e:  # the reader raises assorted errors on bad files
        raise TokenfallError(f"imatrix '{path}' is not a readable imatrix GGUF ({type(e).__name__}); write one with "
                             "`--imatrix calibrate` or llama.cpp's llama-imatrix") from e
    tensors = {t.name: np.asarray(t.data, dtype=np.float32).reshape(-1) for t in reader.tensors}
    out = {}
    for name, sums in tensors.items():
        if name.endswith(".in_sum2"):
            base = name.removesuffix(".in_sum2")
            counts = tensors.get(base + ".counts")
            if counts is None or not counts.size or (counts <= 0).any():
                continue  # a tensor never seen in calibration carries no information
            out[base] = (sums.reshape(counts.size, -1) / counts[:, None]).reshape(-1).astype(np.float32)
    if not out:
        raise TokenfallError(f"imatrix '{path}' holds no <tensor>.in_sum2/.counts pairs; is it an imatrix file?")
    return out


def compute(model: ModelInfo, text: str, dst: Path) -> Path:
    """Run ``text`` through ``model`` (transformers, dequantized) and write its imatrix GGUF at ``dst``."""
    import gguf
    import torch

    from tokenfall.models.hf import load_hf

    check_torch_arch(model.architecture, "given an importance matrix by tokenfall")
    hf, tok = load_hf(model)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, hf.config.num_hidden_layers)
    linears = {m: names.get_name(f"{n}.weight", try_suffixes=(".weight",)) for n, m in hf.named_modules()
               if isinstance(m, torch.nn.Linear) and n != "lm_head"}
    sums, n = calibration.input_square_sums(hf, tok, text, linears)
    with atomic_writer(dst, "imatrix") as w:
        w.add_string("general.type", "imatrix")
        w.add_array("imatrix.datasets", ["tokenfall calibration text"])
        w.add_uint32("imatrix.chunk_count", 1)
        w.add_uint32("imatrix.chunk_size", n)
        for m, name in linears.items():
            w.add_tensor(f"{name}.in_sum2", sums[m].float().numpy())
            w.add_tensor(f"{name}.counts", np.array([n], dtype=np.float32))
    return dst


def resolve(model: ModelInfo, spec: str, calibration_file: str | None) -> Path:
    """``spec`` is an imatrix GGUF path, or 'calibrate': computed on the calibration text (cached per model
    sha256 and text, so a sweep over types computes it once)."""
    if spec != "calibrate":
        return Path(spec).expanduser()  # checked by the quantize options
    text = calibration.calibration_text(calibration_file)
    key = hashlib.sha256(f"{model.sha256}|{hashlib.sha256(text.encode()).hexdigest()}".encode()).hexdigest()[:24]
    path = Path(user_cache_dir("tokenfall", appauthor=False)) / "imatrix" / f"{key}.imatrix.gguf"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        compute(model, text, path)
    return path
