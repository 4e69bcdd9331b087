"""Analytical serving estimate for hardware you do not have: a roofline per decode step and per prefill,
with an engine efficiency profile (docs/estimate.md has the formulas and their sources).

    decode step (B sequences at mean context S):
        bytes = weights + B·S·kv_per_token            flops = 2·N_active·B + 4·L·H·d_h·S·B
        t_d   = max(bytes / (g·BW·eta_m), flops / (g·P·eta_c)) + t_comm + step_s + L·layer_s
    prefill (S_in tokens):
        t_p   = max((2·N_active·S_in + 2·L·H·d_h·S_in²) / (g·P·eta_p), weights / (g·BW·eta_m)) + step_s + L·layer_s
    closed loop at B streams, S_out tokens each: B requests take B·t_p + S_out·t_d
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib.resources import files

from pydantic import Field

from tokenfall.registry import did_you_mean
from tokenfall.types import Model

# bytes per weight of each storage format, and the compute precision a GPU uses for it
PRECISIONS = {
    "f32": (4.0, "bf16"), "bf16": (2.0, "bf16"), "f16": (2.0, "bf16"), "fp8": (1.0, "fp8"), "int8": (1.0, "int8"),
    "q8_0": (34 / 32, "bf16"), "q6_k": (6.5625 / 8, "bf16"), "q4_k_m": (4.85 / 8, "bf16"), "q4_0": (18 / 32, "bf16"),
    "q4_1": (20 / 32, "bf16"), "fp4": (4.5 / 8, "fp4"),
}


class Arch(Model):
    """What the roofline needs of a model."""

    name: str
    n_params: float = Field(gt=0)
    n_active: float = Field(gt=0)
    n_layers: int = Field(gt=0)
    d_model: int = Field(gt=0)
    n_heads: int = Field(gt=0)
    n_kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    weight_bytes: float = Field(gt=0)
    precision: str
    kv_bytes: float = 2.0  # per cached element (f16 KV)
    source: str = ""

    @property
    def kv_per_token(self) -> float:
        return 2.0 * self.n_layers * self.n_kv_heads * self.head_dim * self.kv_bytes


# name -> (N, N_active, layers, d_model, heads, kv heads, head_dim); published config.json values
PRESETS = {
    "llama-2-7b": (6.74e9, 6.74e9, 32, 4096, 32, 32, 128),
    "llama-2-13b": (13.0e9, 13.0e9, 40, 5120, 40, 40, 128),
    "llama-2-70b": (69.0e9, 69.0e9, 80, 8192, 64, 8, 128),
    "llama-3-8b": (8.03e9, 8.03e9, 32, 4096, 32, 8, 128),
    "llama-3-70b": (70.6e9, 70.6e9, 80, 8192, 64, 8, 128),
    "llama-3.1-405b": (405.8e9, 405.8e9, 126, 16384, 128, 8, 128),
    "mixtral-8x7b": (46.7e9, 12.9e9, 32, 4096, 32, 8, 128),
    "qwen2.5-7b": (7.62e9, 7.62e9, 28, 3584, 28, 4, 128),
    "smollm2-135m": (134.5e6, 134.5e6, 30, 576, 9, 3, 64),
}
PRESET_SOURCE = "published config.json of the model (layers, widths, heads); parameters from the model card"


def preset(name: str, precision: str) -> Arch:
    key = name.lower()
    if key not in PRESETS:
        raise did_you_mean(name, list(PRESETS), "architecture preset")
    if precision not in PRECISIONS:
        raise did_you_mean(precision, list(PRECISIONS), "precision")
    n, na, layers, d, h, kv, dh = PRESETS[key]
    return Arch(name=key, n_params=n, n_active=na, n_layers=layers, d_model=d, n_heads=h, n_kv_heads=kv, head_dim=dh,
                weight_bytes=n * PRECISIONS[precision][0], precision=precision, kv_bytes=1.0 if precision in ("fp8", "fp4") else 2.0,
                source=PRESET_SOURCE + ("; KV cache in FP8 with FP8/FP4 weights (assumption)" if precision in ("fp8", "fp4") else ""))


def from_shape(shape: dict, precision: str | None = None) -> Arch:
    """An Arch from models.architecture(): weights are the file's own bytes unless another precision is asked for."""
    prec = (precision or shape.get("quant_type") or "f16").lower()
    n = float(shape["n_params"])
    active = n
    if shape.get("n_experts") and shape.get("n_experts_used"):
        expert_share = 0.9  # assumption: experts hold ~90% of an MoE's parameters
        active = n * (1 - expert_share) + n * expert_share * shape["n_experts_used"] / shape["n_experts"]
    if precision is None:
        wb = float(shape["weight_bytes"])
    elif precision in PRECISIONS:
        wb = n * PRECISIONS[precision][0]
    else:
        raise did_you_mean(precision, list(PRECISIONS), "precision")
    return Arch(name=shape.get("name") or "model", n_params=n, n_active=active, n_layers=shape["n_layers"], d_model=shape["d_model"],
                n_heads=shape["n_heads"], n_kv_heads=shape["n_kv_heads"], head_dim=shape["head_dim"], weight_bytes=wb,
                precision=prec if prec in PRECISIONS else "f16", source="the model file's metadata")


class Profile(Model):
    """How close an engine family gets to the roofline: bandwidth and compute utilisation, fixed costs per step/layer."""

    name: str
    eta_m: float = Field(gt=0, le=4)   # above 1 only where the peak is a measured fp32 figure (CPU int8 kernels beat it)
    eta_c: float = Field(gt=0, le=4)
    eta_p: float = Field(gt=0, le=4)
    step_s: float = Field(ge=0)
    layer_s: float = Field(ge=0)
    max_batch: int = 256
    fitted_on: int = 0          # rows the free parameters were fitted on
    error: float | None = None  # median absolute relative error on those rows
    note: str = ""


@lru_cache(maxsize=1)
def devices() -> dict[str, dict]:
    data = json.loads(files("tokenfall").joinpath("data/accelerators.json").read_text())
    return {e["id"]: e for e in data["entries"]}


def device(name: str) -> dict:
    if name not in devices():
        raise did_you_mean(name, list(devices()), "hardware")
    return devices()[name]


def peak_flops(dev: dict, precision: str) -> float | None:
    """Dense FLOP/s at the compute precision the format runs at (falls back to 16-bit when the device lacks it)."""
    want = PRECISIONS.get(precision, (2.0, "bf16"))[1]
    t = dev.get("tflops") or {}
    v = t.get(want) or t.get("bf16") or t.get("fp16")
    return v * 1e12 if v else None


def fits(arch: Arch, dev: dict, batch: int, context: int, g: int = 1, usable: float = 0.9) -> dict:
    """Weights plus the KV cache of ``batch`` full contexts against ``usable`` of the devices' memory."""
    need = arch.weight_bytes + batch * context * arch.kv_per_token
    have = g * dev["memory_gb"] * 1e9 * usable
    return {"fits": need <= have, "need_gb": need / 1e9, "have_gb": have / 1e9, "weights_gb": arch.weight_bytes / 1e9,
            "kv_gb": batch * context * arch.kv_per_token / 1e9}


def _comm(arch: Arch, dev: dict, tokens: int, g: int) -> float:
    """Tensor parallel: two ring all-reduces of the activations per layer, plus 8 µs latency each (llm-analysis)."""
    if g <= 1:
        return 0.0
    link = (dev.get("link_gbs") or 32) * 1e9
    per = 2 * (g - 1) / g * tokens * arch.d_model * 2 / link + 8e-6
    return 2 * arch.n_layers * per


def decode_step(arch: Arch, dev: dict, prof: Profile, batch: int, context: float, g: int = 1) -> dict:
    bw = dev["mem_bw_gbs"] * 1e9
    p = peak_flops(dev, arch.precision)
    nbytes = arch.weight_bytes + batch * context * arch.kv_per_token
    flops = 2 * arch.n_active * batch + 4 * arch.n_layers * arch.n_heads * arch.head_dim * context * batch
    t_mem = nbytes / (g * bw * prof.eta_m)
    t_cmp = flops / (g * p * prof.eta_c) if p else 0.0
    t_fix = prof.step_s + arch.n_layers * prof.layer_s
    t = max(t_mem, t_cmp) + _comm(arch, dev, batch, g) + t_fix
    return {"t": t, "t_mem": t_mem, "t_compute": t_cmp, "t_fixed": t_fix, "bound": "memory" if t_mem >= t_cmp else "compute"}


def prefill(arch: Arch, dev: dict, prof: Profile, s_in: int, g: int = 1) -> float:
    bw = dev["mem_bw_gbs"] * 1e9
    p = peak_flops(dev, arch.precision)
    flops = 2 * arch.n_active * s_in + 2 * arch.n_layers * arch.n_heads * arch.head_dim * s_in ** 2
    t_cmp = flops / (g * p * prof.eta_p) if p else 0.0
    return max(t_cmp, arch.weight_bytes / (g * bw * prof.eta_m)) + _comm(arch, dev, s_in, g) + prof.step_s + arch.n_layers * prof.layer_s


def serve(arch: Arch, dev: dict, prof: Profile, batch: int, s_in: int, s_out: int, g: int = 1) -> dict:
    """Steady state of ``batch`` closed-loop streams on one replica of ``g`` devices."""
    m = fits(arch, dev, batch, s_in + s_out, g)
    if not m["fits"]:
        return {"batch": batch, "fits": False, "memory": m}
    step = decode_step(arch, dev, prof, batch, s_in + s_out / 2, g)
    t_p = prefill(arch, dev, prof, s_in, g)
    cycle = batch * t_p + s_out * step["t"]
    return {"batch": batch, "fits": True, "memory": m, "decode_step_s": step["t"], "bound": step["bound"], "prefill_s": t_p,
            "output_tokens_per_s": batch * s_out / cycle, "input_tokens_per_s": batch * s_in / cycle,
            "decode_tokens_per_s": batch / step["t"], "prefill_share": batch * t_p / cycle,
            "ttft_s": t_p + step["t"], "tpot_s": cycle / s_out}


def batches(prof: Profile) -> list[int]:
    out, b = [], 1
    while b <= prof.max_batch:
        out.append(b)
        b *= 2
    return out


def best_under_slo(arch: Arch, dev: dict, prof: Profile, s_in: int, s_out: int, g: int, ttft_s: float | None,
                   tpot_s: float | None) -> tuple[dict | None, list[dict]]:
    """The highest-throughput batch (powers of two up to the profile's cap) that fits and meets the SLO."""
    sweep = [serve(arch, dev, prof, b, s_in, s_out, g) for b in batches(prof)]
    ok = [s for s in sweep if s["fits"] and (tpot_s is None or s["tpot_s"] <= tpot_s) and (ttft_s is None or s["ttft_s"] <= ttft_s)]
    return (max(ok, key=lambda s: s["output_tokens_per_s"]) if ok else None), sweep


def relative_error(pred: float, meas: float) -> float:
    return (pred - meas) / meas if meas else math.inf
