"""Depth pruning: remove the transformer blocks that change their input least (ShortGPT's Block Influence:
1 - mean cosine similarity between a block's input and output hidden states on calibration text), then
rewrite the GGUF without them. Importance is measured with transformers on the dequantized weights; the
blocks are removed from the file as stored, so the pruned model keeps the parent's quantization."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tokenfall.errors import TokenfallError
from tokenfall.levers import calibration, lineage, stem
from tokenfall.models.gguf_write import drop_layers
from tokenfall.models.hf import load_hf
from tokenfall.types import ModelInfo


def block_influence(hf, tok, text: str) -> list[float]:
    """Per block: 1 - mean over tokens of cos(input, output), in windows of 512 tokens."""
    import torch

    sims = []

    def each(_window, out):  # hidden_states: the embeddings, then each block's output
        hs = out.hidden_states
        cos = torch.stack([torch.nn.functional.cosine_similarity(hs[i][0], hs[i + 1][0], dim=-1).sum() for i in range(len(hs) - 1)])
        sims.append(cos)

    n = calibration.run(hf, tok, text, {}, each=each)
    return [float(1 - s / n) for s in torch.stack(sims).sum(0)]


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
        scores = block_influence(*load_hf(model), calibration.calibration_text(options.calibration))
        if options.layers >= len(scores):
            raise TokenfallError(f"cannot remove {options.layers} of {len(scores)} layers; keep at least one")
        order = sorted(range(len(scores)), key=lambda i: scores[i])
        return sorted(order[:options.layers]), scores

    def apply(self, model: ModelInfo, dst: Path, options: Options, progress=None) -> Path:
        drop, scores = self.choose(model, options)
        lin = lineage(model, self.name, options) | {"dropped_layers": ",".join(map(str, drop)),
                                                     "block_influence": ",".join(f"{s:.5f}" for s in scores)}
        return drop_layers(model.path, dst, drop, lin)
