"""Writing GGUF files with the `gguf` package: dequantized copies (the F32/F16 reference for compression
studies) and copies with transformer blocks removed, each carrying its lineage in metadata. Files appear
atomically: written beside the target, renamed last.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from tokenfall.errors import TokenfallError

FLOAT_TYPES = {"f32": (np.float32, 0), "f16": (np.float16, 1)}  # name -> (dtype, general.file_type)
LINEAGE_PREFIX = "tokenfall."
_BLOCK = re.compile(r"^blk\.(\d+)\.")

# (name, data, raw ggml type or None for a plain numpy array) for each tensor to write
Tensors = Callable[[object], Iterator[tuple[str, np.ndarray, object]]]


def rewrite(src: str | Path, dst: str | Path, tensors: Tensors, overrides: dict | None = None,
            lineage: dict[str, str] | None = None) -> Path:
    """Copy ``src``'s metadata (with ``overrides``: key -> (value, GGUFValueType)) and the tensors that
    ``tensors(reader)`` yields into ``dst``."""
    import gguf

    reader = gguf.GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    overrides = dict(overrides or {})
    with atomic_writer(dst, arch) as writer:
        for field in reader.fields.values():
            if field.name == "general.architecture" or field.name.startswith(("GGUF.", LINEAGE_PREFIX)):
                continue  # lineage describes one file; the parent's is reachable through its sha256
            sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
            value, vtype = overrides.pop(field.name, (field.contents(), field.types[0]))
            writer.add_key_value(field.name, value, vtype, sub_type=sub_type)
        for key, (value, vtype) in overrides.items():
            writer.add_key_value(key, value, vtype)
        for key, value in (lineage or {}).items():
            writer.add_string(LINEAGE_PREFIX + key, str(value))
        for name, data, raw_type in tensors(reader):
            if raw_type is None:
                writer.add_tensor(name, data)
            else:
                writer.add_tensor(name, data, raw_shape=data.shape, raw_dtype=raw_type)
    return Path(dst)


@contextmanager
def atomic_writer(dst: str | Path, arch: str):
    """A GGUFWriter on a temporary file beside ``dst``: written out and renamed onto ``dst`` when the block
    completes, removed if it fails, so no reader ever sees half a file."""
    import gguf

    dst = Path(dst)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.part")
    writer = gguf.GGUFWriter(tmp, arch)
    try:
        yield writer
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, dst)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise


def dequantize(src: str | Path, dst: str | Path, dtype: str = "f32", lineage: dict[str, str] | None = None) -> Path:
    """Write ``src`` with every tensor expanded to ``dtype`` (1-D tensors stay F32, as llama.cpp expects).

    The values are exactly those llama.cpp computes with from the quantized file, so a reference written
    here differs from its parent only in storage, and levers applied to it start from the weights served."""
    import gguf

    if dtype not in FLOAT_TYPES:
        raise TokenfallError(f"dtype '{dtype}' is not supported for a dequantized copy; use one of {', '.join(FLOAT_TYPES)}")
    np_dtype, file_type = FLOAT_TYPES[dtype]

    def tensors(reader):
        for t in reader.tensors:
            values = gguf.quants.dequantize(t.data, t.tensor_type)
            yield t.name, values.astype(np.float32 if values.ndim == 1 else np_dtype, copy=False), None

    return rewrite(src, dst, tensors, {"general.file_type": (file_type, gguf.GGUFValueType.UINT32)}, lineage)


def drop_layers(src: str | Path, dst: str | Path, layers: list[int], lineage: dict[str, str] | None = None) -> Path:
    """Write ``src`` without the transformer blocks ``layers`` (renumbering the rest), tensors copied as
    stored. Per-layer metadata arrays (some architectures keep one value per block) are filtered too."""
    import gguf

    reader = gguf.GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    n_layers = int(reader.fields[f"{arch}.block_count"].contents())
    drop = set(layers)
    if not drop or not drop <= set(range(n_layers)) or len(drop) >= n_layers:
        raise TokenfallError(f"layers {sorted(layers)} cannot be removed from a {n_layers}-layer model; give indices 0..{n_layers - 1} "
                             "and keep at least one")
    keep = [i for i in range(n_layers) if i not in drop]
    renumber = {old: new for new, old in enumerate(keep)}
    overrides = {f"{arch}.block_count": (len(keep), gguf.GGUFValueType.UINT32)}
    for field in reader.fields.values():
        if field.name.startswith(f"{arch}.") and field.types[0] == gguf.GGUFValueType.ARRAY and len(field.data) == n_layers:
            values = field.contents()
            overrides[field.name] = ([values[i] for i in keep], gguf.GGUFValueType.ARRAY)

    def tensors(reader):
        for t in reader.tensors:
            m = _BLOCK.match(t.name)
            if m and int(m.group(1)) in drop:
                continue
            name = _BLOCK.sub(f"blk.{renumber[int(m.group(1))]}.", t.name) if m else t.name
            yield name, t.data, t.tensor_type

    return rewrite(src, dst, tensors, overrides, lineage)


def relabel(src: str | Path, dst: str | Path, lineage: dict[str, str]) -> Path:
    """Copy ``src`` as stored, with lineage keys added (tensors are not touched)."""
    return rewrite(src, dst, lambda reader: ((t.name, t.data, t.tensor_type) for t in reader.tensors), lineage=lineage)


TORCH_ARCHS = ("llama",)  # architectures whose transformers weights this module writes back to GGUF


def check_torch_arch(arch: str | None, what: str) -> None:
    if arch not in TORCH_ARCHS:
        raise TokenfallError(f"architecture '{arch}' cannot be {what} yet; supported: {', '.join(TORCH_ARCHS)}")


def _permute_rope(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF's rotary layout (halves) -> llama.cpp's (interleaved pairs) for q/k rows, the inverse of what
    transformers' GGUF loader undoes on reading."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def from_torch(hf_model, template: str | Path, dst: str | Path, dtype: str = "f32", lineage: dict[str, str] | None = None) -> Path:
    """Write a transformers model of a llama-architecture GGUF back to GGUF, so training-side levers
    (width pruning, sparsity, distillation) return to the serving engine. Tokenizer and other metadata
    come from ``template`` (the GGUF the model was loaded from); shapes come from the model's config, so
    a model with fewer layers, heads or MLP channels writes consistent metadata."""
    import gguf

    if dtype not in FLOAT_TYPES:
        raise TokenfallError(f"dtype '{dtype}' cannot be written from torch; use one of {', '.join(FLOAT_TYPES)}")
    arch = gguf.GGUFReader(template).fields["general.architecture"].contents()
    check_torch_arch(arch, "written back from torch")
    cfg = hf_model.config
    n_head, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head
    np_dtype, file_type = FLOAT_TYPES[dtype]
    u32 = gguf.GGUFValueType.UINT32
    overrides = {f"{arch}.block_count": (cfg.num_hidden_layers, u32), f"{arch}.embedding_length": (cfg.hidden_size, u32),
                 f"{arch}.feed_forward_length": (cfg.intermediate_size, u32), f"{arch}.attention.head_count": (n_head, u32),
                 f"{arch}.attention.head_count_kv": (n_kv, u32), f"{arch}.attention.key_length": (head_dim, u32),
                 f"{arch}.attention.value_length": (head_dim, u32), "general.file_type": (file_type, u32)}
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)
    state = hf_model.state_dict()
    if getattr(cfg, "tie_word_embeddings", False):
        state.pop("lm_head.weight", None)  # llama.cpp reuses token_embd when output.weight is absent

    def tensors(_reader):
        for key, value in state.items():
            name = names.get_name(key, try_suffixes=(".weight", ".bias"))
            if name is None:
                if key.endswith("rotary_emb.inv_freq"):
                    continue  # recomputed from metadata
                raise TokenfallError(f"tensor '{key}' has no GGUF name for {arch}; this model cannot be written back")
            w = value.detach().float().cpu().numpy()
            if key.endswith("q_proj.weight"):
                w = _permute_rope(w, n_head)
            elif key.endswith("k_proj.weight"):
                w = _permute_rope(w, n_kv)
            yield name, w.astype(np.float32 if w.ndim == 1 else np_dtype), None

    return rewrite(template, dst, tensors, overrides, lineage)
