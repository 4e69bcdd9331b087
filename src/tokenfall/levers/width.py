"""Width pruning (Minitron-style): remove the MLP channels and attention head groups that matter least on
calibration text, keeping every block. A channel's importance is its mean absolute activation (the input
of ``down_proj``) times the norm of the weights that carry it out; a head group's (one KV head and the query
heads that share it) is the mean L2 norm of its heads' attention outputs. The same count is removed in every
block, so the GGUF keeps one ``feed_forward_length`` and one head count that llama.cpp and transformers read."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tokenfall.errors import TokenfallError
from tokenfall.levers import calibration, lineage, out_type_of, stem, write_torch
from tokenfall.models.gguf_write import check_torch_arch
from tokenfall.models.hf import load_hf
from tokenfall.types import ModelInfo

CHANNEL_MULTIPLE = 32  # kept MLP width is a multiple of the quantization block, so every type can store it


def importance(hf, tok, text: str) -> tuple[list, list]:
    """Per block: MLP channel scores (intermediate_size,) and KV-group scores (num_key_value_heads,)."""
    import torch

    cfg = hf.config
    n_head, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head
    layers = hf.model.layers
    act = [torch.zeros(cfg.intermediate_size) for _ in layers]
    heads = [torch.zeros(n_head) for _ in layers]

    def mlp_hook(i):
        return lambda _m, inputs: act[i].add_(inputs[0].abs().sum((0, 1)))

    def attn_hook(i):
        return lambda _m, inputs: heads[i].add_(inputs[0].unflatten(-1, (n_head, head_dim)).norm(dim=-1).sum((0, 1)))

    hooks = {layer.mlp.down_proj: mlp_hook(i) for i, layer in enumerate(layers)}
    hooks |= {layer.self_attn.o_proj: attn_hook(i) for i, layer in enumerate(layers)}
    n = calibration.run(hf, tok, text, hooks)
    channels = [a / n * layer.mlp.down_proj.weight.detach().norm(dim=0) for a, layer in zip(act, layers)]
    groups = [(h / n).view(n_kv, n_head // n_kv).sum(1) for h in heads]
    return channels, groups


def shrink(linear, rows=None, cols=None) -> None:
    """Keep ``rows`` (output features) and/or ``cols`` (input features) of a Linear, in place."""
    import torch

    w = linear.weight.detach()
    if rows is not None:
        w = w[rows]
        linear.out_features = len(rows)
    if cols is not None:
        w = w[:, cols]
        linear.in_features = len(cols)
    linear.weight = torch.nn.Parameter(w.contiguous())


class PruneWidth:
    name: ClassVar[str] = "prune-width"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        ffn: float = Field(0.0, ge=0.0, lt=1.0, description="fraction of MLP intermediate channels to remove in every block")
        kv_groups: int = Field(0, ge=0, description="attention KV groups (a KV head and its query heads) to remove in every block")
        calibration: str | None = Field(None, description="calibration text file (default: tokenfall's built-in openings)")
        out_type: str = Field("parent", description="file type written: parent (the parent's own), f32, f16, or a llama.cpp type")

        @model_validator(mode="after")
        def _something(self):
            if self.ffn == 0 and self.kv_groups == 0:
                raise ValueError("nothing to remove: give ffn > 0 (a fraction) or kv_groups >= 1")
            return self

    def output_name(self, model: ModelInfo, options: Options) -> str:
        tag = "".join([f".ffn{round(options.ffn * 100)}" if options.ffn else "", f".kv-{options.kv_groups}" if options.kv_groups else ""])
        return f"{stem(model)}.{out_type_of(model, options.out_type).upper()}{tag}.gguf"

    def apply(self, model: ModelInfo, dst: Path, options: Options, progress=None) -> Path:
        import torch

        check_torch_arch(model.architecture, f"changed by lever '{self.name}'")

        hf, tok = load_hf(model)
        cfg = hf.config
        n_head, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head
        keep_ch = int(round(cfg.intermediate_size * (1 - options.ffn) / CHANNEL_MULTIPLE)) * CHANNEL_MULTIPLE
        if keep_ch < CHANNEL_MULTIPLE:
            raise TokenfallError(f"ffn={options.ffn} would leave {keep_ch} of {cfg.intermediate_size} MLP channels; remove less")
        if options.kv_groups >= n_kv:
            raise TokenfallError(f"cannot remove {options.kv_groups} of {n_kv} KV groups per block; keep at least one")
        channels, groups = importance(hf, tok, calibration.calibration_text(options.calibration))
        per_group = n_head // n_kv
        for layer, ch, gr in zip(hf.model.layers, channels, groups):
            if keep_ch < cfg.intermediate_size:
                rows = torch.sort(torch.topk(ch, keep_ch).indices).values
                shrink(layer.mlp.gate_proj, rows=rows)
                shrink(layer.mlp.up_proj, rows=rows)
                shrink(layer.mlp.down_proj, cols=rows)
            if options.kv_groups:
                kept = sorted(torch.topk(gr, n_kv - options.kv_groups).indices.tolist())
                kv_rows = torch.tensor([g * head_dim + d for g in kept for d in range(head_dim)])
                q_rows = torch.tensor([(g * per_group + h) * head_dim + d for g in kept for h in range(per_group) for d in range(head_dim)])
                shrink(layer.self_attn.q_proj, rows=q_rows)
                shrink(layer.self_attn.k_proj, rows=kv_rows)
                shrink(layer.self_attn.v_proj, rows=kv_rows)
                shrink(layer.self_attn.o_proj, cols=q_rows)
        cfg.intermediate_size = keep_ch
        cfg.num_key_value_heads = n_kv - options.kv_groups
        cfg.num_attention_heads = cfg.num_key_value_heads * per_group
        cfg.head_dim = head_dim
        lin = lineage(model, self.name, options) | {"ffn_kept": f"{keep_ch}/{len(channels[0])}",
                                                     "heads_kept": f"{cfg.num_attention_heads}/{n_head}"}
        return write_torch(hf, model, dst, lin, options.out_type)
