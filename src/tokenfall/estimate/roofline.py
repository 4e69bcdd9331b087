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
import re
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
    kv_width: int | None = None        # cached values per layer and token when not K and V heads (MLA's latent: 576)
    experts: tuple[int, int] | None = None  # MoE: (routed experts, experts per token)
    source: str = ""

    @property
    def kv_per_token(self) -> float:
        width = self.kv_width or 2 * self.n_kv_heads * self.head_dim
        return float(self.n_layers * width * self.kv_bytes)

    @property
    def expert_params(self) -> float:
        """Parameters in routed experts (0 for a dense model): from N = dense + experts and N_active = dense + k/E·experts."""
        if not self.experts:
            return 0.0
        share = self.experts[1] / self.experts[0]
        return (self.n_params - self.n_active) / (1 - share)


# name -> (N, N_active, layers, d_model, heads, kv heads, head_dim); published config.json values. MoE: N counts every
# expert (all are read once a batch is large), N_active the parameters one token passes through. DeepSeek's MLA caches
# one 576-wide latent per layer (512 + 64 rope); its absorbed attention does ~4·544 FLOPs per head and context token,
# written as head_dim 544.
PRESETS = {
    "llama-2-7b": (6.74e9, 6.74e9, 32, 4096, 32, 32, 128),
    "llama-2-13b": (13.0e9, 13.0e9, 40, 5120, 40, 40, 128),
    "llama-2-70b": (69.0e9, 69.0e9, 80, 8192, 64, 8, 128),
    "llama-3-8b": (8.03e9, 8.03e9, 32, 4096, 32, 8, 128),
    "llama-3.1-8b": (8.03e9, 8.03e9, 32, 4096, 32, 8, 128),
    "llama-3-70b": (70.6e9, 70.6e9, 80, 8192, 64, 8, 128),
    "llama-3.1-70b": (70.6e9, 70.6e9, 80, 8192, 64, 8, 128),
    "llama-3.1-405b": (405.8e9, 405.8e9, 126, 16384, 128, 8, 128),
    "mixtral-8x7b": (46.7e9, 12.9e9, 32, 4096, 32, 8, 128),
    "mixtral-8x22b": (141e9, 39e9, 56, 6144, 48, 8, 128),
    "qwen3-235b-a22b": (235e9, 22e9, 94, 4096, 64, 4, 128),
    "deepseek-v3": (671e9, 37e9, 61, 7168, 128, 1, 544),
    "deepseek-r1": (671e9, 37e9, 61, 7168, 128, 1, 544),
    "qwen2.5-7b": (7.62e9, 7.62e9, 28, 3584, 28, 4, 128),
    "gpt-oss-120b": (116.8e9, 5.1e9, 36, 2880, 64, 8, 64),
    "smollm2-135m": (134.5e6, 134.5e6, 30, 576, 9, 3, 64),
}
MOE = {"mixtral-8x7b": (8, 2), "mixtral-8x22b": (8, 2), "qwen3-235b-a22b": (128, 8), "deepseek-v3": (256, 8), "deepseek-r1": (256, 8),
       "gpt-oss-120b": (128, 4)}
KV_WIDTH = {"deepseek-v3": 576, "deepseek-r1": 576}
PRESET_SOURCE = "published config.json of the model (layers, widths, heads); parameters from the model card"
MOE_SOURCE = {"deepseek-v3": "DeepSeek-V3 report arXiv:2412.19437: 671B total, 37B activated", "mixtral-8x7b": "Mistral AI: 46.7B total, 12.9B per token",
              "mixtral-8x22b": "Mistral AI: 141B total, 39B active", "qwen3-235b-a22b": "Qwen3 model card: 235B total, 22B activated",
              "gpt-oss-120b": "OpenAI gpt-oss model card: 116.8B total, 5.1B active per token (general knowledge, unverified here)"}
MOE_SOURCE["deepseek-r1"] = MOE_SOURCE["deepseek-v3"]


def preset(name: str, precision: str) -> Arch:
    key = canonical(name, MODEL_ALIASES)
    precision = PRECISION_ALIASES.get(precision.strip().lower(), precision.strip().lower())
    if key not in PRESETS:
        raise did_you_mean(name, list(PRESETS), "architecture preset")
    if precision not in PRECISIONS:
        raise did_you_mean(precision, list(PRECISIONS), "precision")
    n, na, layers, d, h, kv, dh = PRESETS[key]
    return Arch(name=key, n_params=n, n_active=na, n_layers=layers, d_model=d, n_heads=h, n_kv_heads=kv, head_dim=dh,
                weight_bytes=n * PRECISIONS[precision][0], precision=precision, kv_bytes=1.0 if precision in ("fp8", "fp4") else 2.0,
                kv_width=KV_WIDTH.get(key), experts=MOE.get(key),
                source=PRESET_SOURCE + (f" ({MOE_SOURCE[key]}; {MOE[key][0]} routed experts, {MOE[key][1]} per token)" if key in MOE else "")
                + ("; KV cache in FP8 with FP8/FP4 weights (assumption)" if precision in ("fp8", "fp4") else ""))


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
    moe = (int(shape["n_experts"]), int(shape["n_experts_used"])) if shape.get("n_experts") and shape.get("n_experts_used") else None
    return Arch(name=shape.get("name") or "model", n_params=n, n_active=active, n_layers=shape["n_layers"], d_model=shape["d_model"], experts=moe,
                n_heads=shape["n_heads"], n_kv_heads=shape["n_kv_heads"], head_dim=shape["head_dim"], weight_bytes=wb,
                precision=prec if prec in PRECISIONS else "f16", source="the model file's metadata")


class Profile(Model):
    """An engine build as (family, version, date): how close it gets to the roofline, and its fixed costs per step.

    ``speed`` scales compute and bandwidth efficiency and divides fixed costs: the software of another date,
    carried along the family's fitted trend (``gain_per_year``)."""

    name: str
    family: str = ""
    version: str = ""
    date: str | None = None           # ISO date the build was published (an MLPerf round's date)
    scheduler: str = "closed"         # "continuous" (in-flight batching, chunked prefill) or "closed" (llama.cpp slots)
    eta_m: float = Field(gt=0, le=4)   # above 1 only where the peak is a measured fp32 figure (CPU int8 kernels beat it)
    eta_c: float = Field(gt=0, le=4)
    eta_p: float = Field(gt=0, le=4)
    step_s: float = Field(ge=0)
    layer_s: float = Field(ge=0)
    fp4_exp: float = Field(default=1.0, ge=0, le=1)  # FP4 peak credited as fp8_peak · (fp4/fp8)^fp4_exp
    m_half: float = Field(default=0.0, ge=0)         # tokens per iteration at which GEMMs reach half their asymptotic rate
    prompt_scale: dict[str, float] = {}              # per benchmark data set: effective mean prompt / the stated one
    gain_per_year: float = 0.0        # software speed-up per year, fitted across rounds
    speed: float = 1.0
    max_batch: int = 256
    fitted_on: int = 0          # rows the free parameters were fitted on
    error: float | None = None  # median absolute relative error on those rows
    note: str = ""

    def at(self, date: str | None) -> "Profile":
        """This profile carried to ``date`` along its family's software trend (no change without dates)."""
        years = _years(self.date, date)
        return self.model_copy(update={"speed": self.speed * math.exp(self.gain_per_year * years)}) if years else self


def _years(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 0.0
    import datetime as dt

    def d(x):
        return dt.date.fromisoformat(x if len(x) > 7 else x + "-15")
    return (d(b) - d(a)).days / 365.25


@lru_cache(maxsize=1)
def devices() -> dict[str, dict]:
    data = json.loads(files("tokenfall").joinpath("data/accelerators.json").read_text())
    return {e["id"]: e for e in data["entries"]}


# spellings used elsewhere (MLPerf system names, vendor SKUs) -> catalog id
DEVICE_ALIASES = {"h100": "h100-sxm", "h100-sxm5": "h100-sxm", "h100-sxm-80gb": "h100-sxm", "h200-sxm": "h200", "h200-sxm-141gb": "h200",
                  "h200nvl": "h200-nvl", "b200-sxm": "b200", "b200-sxm-180gb": "b200", "gb200-186gb": "gb200", "gb200-nvl72": "gb200",
                  "gb300-nvl72": "gb300", "gb300-288gb": "gb300", "rtx-pro-6000-blackwell": "rtx-pro-6000", "rtxpro6000": "rtx-pro-6000",
                  "arc-b60": "arc-pro-b60", "a100": "a100-80gb", "a100-sxm-80gb": "a100-80gb", "xeon-6980p": "xeon-6980p-2s",
                  "2s-xeon-6980p": "xeon-6980p-2s", "epyc-9654": "epyc-9654-2s", "mi300x-192gb": "mi300x", "mi325x-256gb": "mi325x",
                  "mi355x-288gb": "mi355x"}
MODEL_ALIASES = {"llama2-70b": "llama-2-70b", "llama2-7b": "llama-2-7b", "llama2-13b": "llama-2-13b", "llama3-8b": "llama-3-8b",
                 "llama3.1-8b": "llama-3.1-8b", "llama3.1-70b": "llama-3.1-70b", "llama3.1-405b": "llama-3.1-405b",
                 "mixtral-8x7b-instruct": "mixtral-8x7b"}
PRECISION_ALIASES = {"nvfp4": "fp4", "mxfp4": "fp4", "fp16": "f16", "float16": "f16", "bfloat16": "bf16", "fp32": "f32", "w8a8": "int8"}


def canonical(name: str, aliases: dict) -> str:
    """A name in the catalog's spelling: lower case, '-' for '_' and spaces, vendor prefixes and MLPerf's accuracy
    and chat suffixes dropped (llama2-70b-interactive-99 -> llama-2-70b, NVIDIA_H200-SXM -> h200)."""
    key = re.sub(r"[_\s]+", "-", name.strip().lower())
    key = re.sub(r"^(nvidia|amd|intel|instinct|meta|mistralai|deepseek-ai|openai)-", "", key)
    key = re.sub(r"-(99|99\.9|interactive)(-99(\.9)?)?$", "", key).replace("3-1-", "3.1-")
    key = re.sub(r"-(instruct|chat|hf)$", "", key)
    return aliases.get(key, key)


def device(name: str) -> dict:
    key = canonical(name, DEVICE_ALIASES)
    if key not in devices():
        raise did_you_mean(name, list(devices()), "hardware")
    return devices()[key]


def peak_flops(dev: dict, precision: str, prof: Profile | None = None) -> float | None:
    """Dense FLOP/s at the compute precision the format runs at (falls back to 16-bit when the device lacks it).
    FP4 is credited as fp8 · (fp4/fp8)^fp4_exp: real FP4 kernels keep attention and other operators at 8/16 bits."""
    want = PRECISIONS.get(precision, (2.0, "bf16"))[1]
    t = dev.get("tflops") or {}
    v = t.get(want) or t.get("bf16") or t.get("fp16")
    if want == "fp4" and t.get("fp4") and t.get("fp8") and prof is not None:
        v = t["fp8"] * (t["fp4"] / t["fp8"]) ** prof.fp4_exp
    return v * 1e12 if v else None


def fits(arch: Arch, dev: dict, batch: int, context: float, g: int = 1, usable: float = 0.9) -> dict:
    """Weights plus the KV cache of ``batch`` contexts against ``usable`` of the devices' memory."""
    need = arch.weight_bytes + batch * context * arch.kv_per_token
    have = g * dev["memory_gb"] * 1e9 * usable
    return {"fits": need <= have, "need_gb": need / 1e9, "have_gb": have / 1e9, "weights_gb": arch.weight_bytes / 1e9,
            "kv_gb": batch * context * arch.kv_per_token / 1e9}


def _comm(arch: Arch, dev: dict, tokens: float, g: int) -> float:
    """Tensor parallel: two ring all-reduces of the activations per layer, plus 8 µs latency each (llm-analysis)."""
    if g <= 1:
        return 0.0
    link = (dev.get("link_gbs") or 32) * 1e9
    per = 2 * (g - 1) / g * tokens * arch.d_model * 2 / link + 8e-6
    return 2 * arch.n_layers * per


def step(arch: Arch, dev: dict, prof: Profile, batch: float, context: float, g: int = 1, prefill_tokens: float = 0.0,
         prefill_context: float = 0.0) -> dict:
    """One engine iteration: ``batch`` sequences decode one token at mean ``context`` while ``prefill_tokens`` of new
    prompts (mean prompt ``prefill_context``) ride along. Weight GEMMs overlap their loads with compute (decode tokens
    at eta_c, prompt tokens at eta_p, each expert's GEMM filled by its own share of the tokens); attention (reading
    every sequence's KV, computing at the KV cache's precision) runs as separate kernels, so its time adds."""
    bw = g * dev["mem_bw_gbs"] * 1e9 * prof.eta_m * prof.speed
    p = peak_flops(dev, arch.precision, prof)
    pc = g * p * prof.eta_c * prof.speed if p else None
    pk = peak_flops(dev, "fp8" if arch.kv_bytes <= 1 else "bf16")  # attention computes at the KV cache's precision
    pa = g * min(p, pk) * prof.eta_c * prof.speed if p and pk else pc
    attn_per_tok = 4 * arch.n_layers * arch.n_heads * arch.head_dim
    t_w = arch.weight_bytes / bw
    m = batch + prefill_tokens  # the GEMMs' M dimension: bigger batches (more memory for KV) keep tensor cores busier
    t_gemm = 0.0
    if pc:
        expert = arch.expert_params * arch.experts[1] / arch.experts[0] if arch.experts else 0.0  # expert params per token
        m_e = m * arch.experts[1] / arch.experts[0] if arch.experts else m                      # tokens each expert sees
        work = (2 * batch / pc + 2 * prefill_tokens * prof.eta_c / (pc * prof.eta_p))
        t_gemm = work * ((arch.n_active - expert) * _fill(m, prof) + expert * _fill(m_e, prof))
    kv_bytes = batch * context * arch.kv_per_token
    attn_flops = attn_per_tok * (batch * context + prefill_tokens * prefill_context / 2)
    t_attn = max(kv_bytes / bw, attn_flops / pa if pa else 0.0)
    t_fix = (prof.step_s + arch.n_layers * prof.layer_s) / prof.speed
    t = max(t_w, t_gemm) + t_attn + _comm(arch, dev, batch + prefill_tokens, g) + t_fix
    return {"t": t, "t_weights": t_w, "t_gemm": t_gemm, "t_attention": t_attn, "t_fixed": t_fix,
            "bound": "compute" if t_gemm > t_w else "memory"}


def _fill(m: float, prof: Profile) -> float:
    """1 / the share of its asymptotic rate a GEMM with ``m`` rows reaches: m / (m + m_half)."""
    return (m + prof.m_half) / m if m > 0 else 1.0


def decode_step(arch: Arch, dev: dict, prof: Profile, batch: int, context: float, g: int = 1) -> dict:
    return step(arch, dev, prof, batch, context, g)


def prefill(arch: Arch, dev: dict, prof: Profile, s_in: int, g: int = 1) -> float:
    """A prompt of ``s_in`` tokens alone (llama.cpp processes a slot's prompt as one batch)."""
    bw = g * dev["mem_bw_gbs"] * 1e9 * prof.eta_m * prof.speed
    p = peak_flops(dev, arch.precision, prof)
    flops = 2 * arch.n_active * s_in + 2 * arch.n_layers * arch.n_heads * arch.head_dim * s_in ** 2
    t_cmp = flops / (g * p * prof.eta_p * prof.speed) if p else 0.0
    return (max(t_cmp, arch.weight_bytes / bw) + _comm(arch, dev, s_in, g)
            + (prof.step_s + arch.n_layers * prof.layer_s) / prof.speed)


def serve(arch: Arch, dev: dict, prof: Profile, batch: int, s_in: int, s_out: int, g: int = 1) -> dict:
    """Steady state of ``batch`` closed-loop streams on one replica of ``g`` devices, prompts prefilled alone
    (llama.cpp's slots): B requests take B·t_prefill + S_out·t_decode."""
    m = fits(arch, dev, batch, s_in + s_out, g)
    if not m["fits"]:
        return {"batch": batch, "fits": False, "memory": m}
    st = decode_step(arch, dev, prof, batch, s_in + s_out / 2, g)
    t_p = prefill(arch, dev, prof, s_in, g)
    cycle = batch * t_p + s_out * st["t"]
    return {"batch": batch, "fits": True, "memory": m, "decode_step_s": st["t"], "bound": st["bound"], "prefill_s": t_p,
            "output_tokens_per_s": batch * s_out / cycle, "input_tokens_per_s": batch * s_in / cycle,
            "decode_tokens_per_s": batch / st["t"], "prefill_share": batch * t_p / cycle, "utilisation": 1.0,
            "ttft_s": t_p + st["t"], "tpot_s": cycle / s_out}


def continuous(arch: Arch, dev: dict, prof: Profile, batch: float, s_in: float, s_out: float, g: int = 1,
               ttft_s: float | None = None) -> dict:
    """Steady state of in-flight batching with chunked prefill: ``batch`` sequences decode while new prompts are
    prefilled inside the same iterations (S_in/S_out prompt tokens per generated token), so every iteration is
    one step() with B decode tokens and B·S_in/S_out prefill tokens. TPOT is that step time.

    With a TTFT limit, requests arrive as a Poisson stream (MLPerf Server) dealt round-robin to replicas, each an
    M/D/1 queue: the load is the highest share ρ of capacity at which the 99th-percentile wait (Allen–Cunneen,
    P(wait > t) ≈ ρ·exp(−2(1−ρ)·t/s) for deterministic service s) leaves room for the prompt's own prefill and
    one step within the TTFT limit."""
    m = fits(arch, dev, batch, s_in + s_out / 2, g, usable=0.9 + 1e-9)
    if not m["fits"]:
        return {"batch": batch, "fits": False, "memory": m}
    r = s_in / s_out
    st = step(arch, dev, prof, batch, s_in + s_out / 2, g, prefill_tokens=batch * r, prefill_context=s_in)
    cap = batch / st["t"]                                   # output tokens/s per replica at full load
    t_pf = step(arch, dev, prof, 0, 0, g, prefill_tokens=s_in, prefill_context=s_in)["t"]  # one mean prompt alone
    rho = 1.0
    if ttft_s is not None:
        service = s_out * st["t"] / batch                   # seconds per completed request at capacity
        rho = _load_at_p99_wait(service, ttft_s - t_pf - st["t"])
    decode_only = step(arch, dev, prof, batch, s_in + s_out / 2, g)["t"]
    pf_share = max(0.0, 1 - decode_only / st["t"])        # the hour prefill adds to the decode-only step (for $/M in vs out)
    return {"batch": batch, "fits": True, "memory": m, "decode_step_s": st["t"], "bound": st["bound"], "prefill_s": t_pf,
            "output_tokens_per_s": rho * cap, "input_tokens_per_s": rho * cap * r, "decode_tokens_per_s": cap,
            "prefill_share": pf_share, "utilisation": rho, "ttft_s": t_pf + st["t"], "tpot_s": st["t"]}


def _load_at_p99_wait(service: float, budget: float) -> float:
    """Highest utilisation ρ of an M/D/1 queue whose 99th-percentile wait stays within ``budget`` seconds (0 when
    none does)."""
    if budget <= 0:
        return 0.0

    def tail(rho):
        return rho * math.exp(-2 * (1 - rho) * budget / service)
    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if tail(mid) <= 0.01 else (lo, mid)
    return lo


def batches(prof: Profile) -> list[int]:
    """Candidate batches of the closed-loop sweep: powers of two and their midpoints up to the profile's cap."""
    top = prof.max_batch
    out, b = [], 1
    while b <= top:
        out.append(b)
        if b * 3 // 2 > b and b * 3 // 2 <= top:
            out.append(b * 3 // 2)
        b *= 2
    if top >= 1 and top not in out:
        out.append(top)
    return sorted(set(out))


def best_under_slo(arch: Arch, dev: dict, prof: Profile, s_in: float, s_out: float, g: int, ttft_s: float | None,
                   tpot_s: float | None, whole: bool = False) -> tuple[dict | None, list[dict]]:
    """The highest-throughput batch that fits and meets the SLO, under the profile's scheduler. Continuous batching:
    throughput grows with the batch, so the batch is the largest that fits in memory, stays under the profile's cap
    and keeps the TPOT (the step time) under the limit — solved as a real number, so the
    fitted parameters move the prediction smoothly (``whole`` rounds it down for a user's estimate)."""
    if prof.scheduler != "continuous":
        sweep = [serve(arch, dev, prof, b, s_in, s_out, g) for b in batches(prof)]
        ok = [s for s in sweep if s["fits"] and (tpot_s is None or s["tpot_s"] <= tpot_s) and (ttft_s is None or s["ttft_s"] <= ttft_s)]
        return (max(ok, key=lambda s: s["output_tokens_per_s"]) if ok else None), sweep
    ctx = s_in + s_out / 2
    top = min(float(prof.max_batch), (g * dev["memory_gb"] * 1e9 * 0.9 - arch.weight_bytes) / (ctx * arch.kv_per_token))
    if top < 1:
        return None, []
    r = s_in / s_out

    def tpot(b):
        return step(arch, dev, prof, b, ctx, g, prefill_tokens=b * r, prefill_context=s_in)["t"]
    b = top
    if tpot_s is not None and tpot(top) > tpot_s:
        if tpot(1.0) > tpot_s:
            return None, []
        lo, hi = 1.0, top
        for _ in range(30):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if tpot(mid) <= tpot_s else (lo, mid)
        b = lo
    pt = continuous(arch, dev, prof, math.floor(b) if whole else b, s_in, s_out, g, ttft_s)  # whole: a batch a user can set
    ok = pt["fits"] and pt["output_tokens_per_s"] > 0 and (ttft_s is None or pt["ttft_s"] <= ttft_s)
    return (pt if ok else None), [pt]


def relative_error(pred: float, meas: float) -> float:
    return (pred - meas) / meas if meas else math.inf
