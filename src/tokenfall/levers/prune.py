"""Depth pruning: remove the transformer blocks that change their input least (ShortGPT's Block Influence:
1 - mean cosine similarity between a block's input and output hidden states on calibration text), then
rewrite the GGUF without them. Importance is measured with transformers on the dequantized weights; the
blocks are removed from the file as stored, so the pruned model keeps the parent's quantization."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tokenfall.errors import TokenfallError
from tokenfall.levers import lineage, stem
from tokenfall.models.gguf_write import drop_layers
from tokenfall.models.hf import load_hf
from tokenfall.types import ModelInfo
from tokenfall.workloads.texts import OPENINGS, from_files


def block_influence(model: ModelInfo, text: str, ctx: int = 512) -> list[float]:
    """Per block: 1 - mean over tokens of cos(input, output), in windows of ``ctx`` tokens."""
    import torch

    hf, tok = load_hf(model)
    ids = tok.encode(text, add_special_tokens=False)
    if len(ids) < 16:
        raise TokenfallError(f"calibration text has {len(ids)} tokens; give at least a paragraph")
    sims, n = None, 0
    with torch.inference_mode():
        for start in range(0, len(ids), ctx):
            window = torch.tensor([ids[start:start + ctx]])
            hs = hf(window, output_hidden_states=True).hidden_states  # embeddings, then each block's output
            cos = torch.stack([torch.nn.functional.cosine_similarity(hs[i][0], hs[i + 1][0], dim=-1).sum()
                               for i in range(len(hs) - 1)])
            sims = cos if sims is None else sims + cos
            n += window.shape[1]
    return [float(1 - s / n) for s in sims]


class Prune:
    name: ClassVar[str] = "prune"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        layers: int = Field(ge=1, description="how many transformer blocks to remove")
        method: Literal["block-influence"] = Field("block-influence", description="importance measure (ShortGPT)")
        calibration: str | None = Field(None, description="calibration text file (default: tokenfall's built-in openings)")

    def output_name(self, model: ModelInfo, options: Options) -> str:
        return f"{stem(model)}.{(model.quant_type or 'gguf').upper()}.drop{options.layers}.gguf"

    def choose(self, model: ModelInfo, options: Options) -> tuple[list[int], list[float]]:
        text = from_files([options.calibration]) if options.calibration else "\n\n".join(OPENINGS)
        scores = block_influence(model, text)
        if options.layers >= len(scores):
            raise TokenfallError(f"cannot remove {options.layers} of {len(scores)} layers; keep at least one")
        order = sorted(range(len(scores)), key=lambda i: scores[i])
        return sorted(order[:options.layers]), scores

    def apply(self, model: ModelInfo, dst: Path, options: Options) -> Path:
        drop, scores = self.choose(model, options)
        lin = lineage(model, self.name, options) | {"dropped_layers": ",".join(map(str, drop)),
                                                     "block_influence": ",".join(f"{s:.5f}" for s in scores)}
        return drop_layers(model.path, dst, drop, lin)
