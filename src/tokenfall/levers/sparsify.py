"""Unstructured sparsity for quality study: zero the least important weights of every linear layer in the
transformer blocks (embeddings and norms untouched), by magnitude |W| or by Wanda's |W| · ‖X‖₂ (the weight
times the L2 norm of its input feature on calibration text), per output row, optionally in the 2:4 pattern
(two of every four consecutive weights). llama.cpp stores and multiplies zeros like any other value, so a
sparse file is exactly as fast as its dense parent: this lever prices quality, never speed."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tokenfall.levers import calibration, lineage, out_type_of, stem, write_torch
from tokenfall.models.gguf_write import check_torch_arch
from tokenfall.models.hf import load_hf
from tokenfall.types import ModelInfo


def mask(score, sparsity: float, pattern: str):
    """Boolean keep-mask: per row, the highest-scoring (1 - sparsity) weights, or 2 of every 4 for '2:4'."""
    import torch

    if pattern == "2:4":
        groups = score.reshape(score.shape[0], -1, 4)
        keep = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, groups.topk(2, dim=-1).indices, True)
        return keep.reshape(score.shape)
    n_zero = int(score.shape[1] * sparsity)
    keep = torch.ones_like(score, dtype=torch.bool)
    if n_zero:
        keep.scatter_(1, score.topk(n_zero, dim=1, largest=False).indices, False)
    return keep


class Sparsify:
    name: ClassVar[str] = "sparsify"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        sparsity: float = Field(0.5, gt=0.0, lt=1.0, description="fraction of each linear layer's weights set to zero (2:4 is 0.5)")
        method: Literal["magnitude", "wanda"] = Field("wanda", description="score: |W|, or |W| times the input's L2 norm")
        pattern: Literal["unstructured", "2:4"] = Field("unstructured", description="2:4 keeps two of every four weights")
        calibration: str | None = Field(None, description="calibration text for wanda (default: tokenfall's built-in openings)")
        out_type: str = Field("f16", description="file type written; f16/f32 keep the zeros exact (quantized types blur them)")

    def output_name(self, model: ModelInfo, options: Options) -> str:
        amount = "2of4" if options.pattern == "2:4" else f"sp{round(options.sparsity * 100)}"
        return f"{stem(model)}.{out_type_of(model, options.out_type).upper()}.{options.method}-{amount}.gguf"

    def apply(self, model: ModelInfo, dst: Path, options: Options, progress=None) -> Path:
        import torch

        check_torch_arch(model.architecture, f"changed by lever '{self.name}'")

        hf, tok = load_hf(model)
        linears = [m for layer in hf.model.layers for m in layer.modules() if isinstance(m, torch.nn.Linear)]
        if options.method == "wanda":
            norms, _ = calibration.input_square_sums(hf, tok, calibration.calibration_text(options.calibration), linears)
        zeros = total = 0
        with torch.no_grad():
            for m in linears:
                w = m.weight
                score = w.abs() * (norms[m].sqrt().float() if options.method == "wanda" else 1.0)
                w.mul_(mask(score, options.sparsity, options.pattern))
                zeros += int((w == 0).sum())
                total += w.numel()
        lin = lineage(model, self.name, options) | {"sparsity_achieved": f"{zeros / total:.6f}", "weights_zeroed": f"{zeros}/{total}"}
        return write_torch(hf, model, dst, lin, options.out_type)
