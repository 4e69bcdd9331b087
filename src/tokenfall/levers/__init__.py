"""Levers that turn one model artifact into a cheaper one. Each reads a GGUF and writes a new GGUF whose
metadata carries its lineage (parent sha256, lever, options, tokenfall version); the ledger records it too.
One module per lever with a small Options model, registered here by name: adding a lever is one file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar, Protocol

from pydantic import BaseModel

from tokenfall import __version__
from tokenfall.registry import Registry
from tokenfall.types import ModelInfo

LEVERS = Registry("lever", {
    "convert": "tokenfall.levers.convert:Convert",
    "quantize": "tokenfall.levers.quantize:Quantize",
    "prune": "tokenfall.levers.prune:Prune",
    "prune-width": "tokenfall.levers.width:PruneWidth",
    "sparsify": "tokenfall.levers.sparsify:Sparsify",
    "distill": "tokenfall.levers.distill:Distill",
})


class Lever(Protocol):
    name: ClassVar[str]

    class Options(BaseModel): ...

    def output_name(self, model: ModelInfo, options: BaseModel) -> str: ...
    def apply(self, model: ModelInfo, dst: Path, options: BaseModel, progress=None) -> Path: ...


def precheck(model: ModelInfo, options: BaseModel) -> None:
    """What the model's metadata can refute before minutes of calibration: blocks or KV groups to remove
    that the model does not have, a calibration file that cannot be read."""
    from tokenfall.errors import TokenfallError
    from tokenfall.files import read_text
    from tokenfall.models import architecture

    o = options.model_dump()
    if o.get("calibration"):
        read_text(o["calibration"], "calibration file")
    if o.get("layers") or o.get("kv_groups"):
        shape = architecture(model.path)
        if o.get("layers") and o["layers"] >= shape["n_layers"]:
            raise TokenfallError(f"--layers {o['layers']}: the model has {shape['n_layers']} blocks; remove at most {shape['n_layers'] - 1}")
        if o.get("kv_groups") and o["kv_groups"] >= shape["n_kv_heads"]:
            raise TokenfallError(f"--kv-groups {o['kv_groups']}: the model has {shape['n_kv_heads']} KV groups per block; "
                                 f"remove at most {shape['n_kv_heads'] - 1}")


def lineage(model: ModelInfo, lever: str, options: BaseModel) -> dict[str, str]:
    return {"parent_sha256": model.sha256 or "", "lever": lever, "options": json.dumps(options.model_dump(), sort_keys=True),
            "version": __version__}


def stem(model: ModelInfo) -> str:
    """A file-name stem for outputs: the model name without its quant suffix."""
    base = Path(model.path).stem if model.path else (model.name or "model")
    for q in (model.quant_type or "").lower(), (model.quant_type or "").lower().replace("all_", "").replace("mostly_", ""):
        if q and base.lower().endswith("." + q):
            return base[: -len(q) - 1]
    return base


def out_type_of(model: ModelInfo, out_type: str) -> str:
    """The file type a torch-side lever writes: 'parent' means the type the parent was served in."""
    if out_type != "parent":
        return out_type.lower()
    q = (model.quant_type or "f32").lower().removeprefix("all_")
    return q if q in ("f32", "f16") or q.startswith(("q", "iq", "tq")) else "f32"


def write_torch(hf_model, model: ModelInfo, dst: Path, lin: dict[str, str], out_type: str) -> Path:
    """Write a torch model (loaded from ``model``'s GGUF, then changed by a lever) back to GGUF in
    ``out_type`` ('parent', f32, f16, or a llama.cpp quantization type), lineage in its metadata.
    Quantized types are written F32 first and quantized by llama.cpp, which keeps the metadata."""
    import os

    from tokenfall.models.gguf_write import FLOAT_TYPES, from_torch

    kind = out_type_of(model, out_type)
    if kind in FLOAT_TYPES:
        return from_torch(hf_model, model.path, dst, kind, lin)
    from tokenfall.levers.quantize import quantize

    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.f32")
    try:
        from_torch(hf_model, model.path, tmp, "f32", lin)
        return quantize(tmp, dst, kind)
    finally:
        tmp.unlink(missing_ok=True)
