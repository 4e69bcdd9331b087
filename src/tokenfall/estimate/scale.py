"""Economies of scale: what a traffic level does to the cost per token.

A replica (g devices) spends ``input / prefill_rate + output / decode_rate`` seconds on a day's tokens.
Traffic follows a diurnal profile (hourly shares, peak/mean given); replicas are provisioned per hour
(elastic) or for the peak all day (fixed), always in whole replicas and at least one. Cost is
provisioned replica-hours times the hourly price; utilisation is busy time over provisioned time.
"""

from __future__ import annotations

import math

from tokenfall.errors import TokenfallError
from tokenfall.types import ScaleConfig

# DeepSeek's 24-hour disclosure (2025-02-27/28), deepseek-ai/open-infra-index @56d8685,
# "Day 6: One More Thing, DeepSeek-V3/R1 Inference System Overview" (shared/research/hardware.md section 5)
DEEPSEEK_2025_02 = {
    "input_per_day": 608e9, "output_per_day": 168e9, "prefill_tok_s": 73.7e3, "decode_tok_s": 14.8e3, "devices_per_replica": 8,
    "usd_per_device_hour": 2.0, "elastic": True, "peak_to_mean": 278 / 226.75,
    "published": {"avg_nodes": 226.75, "peak_nodes": 278, "usd_per_day": 87072.0},
    "source": "DeepSeek V3/R1 inference system overview (2025-02-28): 608B input (56.3% cache hits) and 168B output tokens in "
              "24 h, ~73.7k input tok/s per H800 node in prefill, ~14.8k output tok/s per node in decode, average 226.75 and "
              "peak 278 nodes of 8 H800, $2 per GPU-hour assumed, $87,072 per day",
}


def diurnal(peak_to_mean: float) -> list[float]:
    """24 hourly traffic shares with mean 1 and the given peak/mean: a raised cosine peaking at hour 14."""
    if peak_to_mean < 1:
        raise TokenfallError(f"--peak-to-mean {peak_to_mean}: must be >= 1 (1 = flat traffic)")
    amp = min(peak_to_mean - 1, 1.0)  # a cosine can swing at most to zero at night
    shares = [1 + amp * math.cos(2 * math.pi * (h - 14) / 24) for h in range(24)]
    if peak_to_mean - 1 > 1.0:  # sharper than a cosine allows: concentrate into the busiest hours
        k = math.log(peak_to_mean) / math.log(2.0)
        shares = [s ** k for s in shares]
    mean = sum(shares) / 24
    return [s / mean for s in shares]


def scale(input_per_day: float, output_per_day: float, prefill_tok_s: float, decode_tok_s: float, devices_per_replica: int,
          usd_per_device_hour: float, peak_to_mean: float = 1.0, elastic: bool = False, headroom: float = 1.0,
          fixed_usd_per_month: float = 0.0) -> dict:
    for name, v in (("--input-per-day", input_per_day), ("--output-per-day", output_per_day)):
        if v < 0:
            raise TokenfallError(f"{name} must be >= 0")
    if input_per_day + output_per_day <= 0:
        raise TokenfallError("no traffic: give --input-per-day and/or --output-per-day")
    if prefill_tok_s <= 0 or decode_tok_s <= 0 or devices_per_replica < 1 or usd_per_device_hour < 0 or headroom < 1:
        raise TokenfallError("replica rates must be > 0, devices per replica >= 1, price >= 0, headroom >= 1")
    busy_s = input_per_day / prefill_tok_s + output_per_day / decode_tok_s   # replica-seconds of work per day
    shares = diurnal(peak_to_mean)
    need = [busy_s / 86400 * s * headroom for s in shares]                    # replicas busy in each hour
    if elastic:
        prov = [max(1, math.ceil(n - 1e-9)) for n in need]
    else:
        prov = [max(1, math.ceil(max(need) - 1e-9))] * 24
    replica_hours = float(sum(prov))
    hw_day = replica_hours * devices_per_replica * usd_per_device_hour
    fixed_day = fixed_usd_per_month * 12 / 365
    usd_day = hw_day + fixed_day
    tokens = input_per_day + output_per_day
    util = busy_s / 3600 / replica_hours
    return {"replica_seconds_per_day": busy_s, "replicas_avg_busy": busy_s / 86400, "replicas_peak": max(prov),
            "replicas_avg_provisioned": replica_hours / 24, "utilisation": util, "usd_per_day": usd_day,
            "usd_per_m_total": usd_day / tokens * 1e6,
            "usd_per_m_input": (hw_day * (input_per_day / prefill_tok_s) / busy_s if busy_s else 0) / input_per_day * 1e6 if input_per_day else None,
            "usd_per_m_output": (hw_day * (output_per_day / decode_tok_s) / busy_s if busy_s else 0) / output_per_day * 1e6 if output_per_day else None,
            "idle_share": 1 - util, "fixed_share": fixed_day / usd_day if usd_day else 0.0,
            "hourly_replicas": prov}


def break_even(api_usd_per_m: float, input_share: float, prefill_tok_s: float, decode_tok_s: float, devices_per_replica: int,
               usd_per_device_hour: float, peak_to_mean: float, elastic: bool, fixed_usd_per_month: float = 0.0) -> dict:
    """The smallest daily traffic (log grid, 1e4..1e14 tokens/day) at which self-hosting costs no more per token than the API."""
    grid = [10 ** (4 + k / 20) for k in range(201)]
    for t in grid:
        s = scale(t * input_share, t * (1 - input_share), prefill_tok_s, decode_tok_s, devices_per_replica, usd_per_device_hour,
                  peak_to_mean, elastic, fixed_usd_per_month=fixed_usd_per_month)
        if s["usd_per_m_total"] <= api_usd_per_m:
            return {"tokens_per_day": t, "usd_per_m_total": s["usd_per_m_total"], "replicas_peak": s["replicas_peak"]}
    return {"tokens_per_day": None, "usd_per_m_total": None, "replicas_peak": None}


def with_preset(c: ScaleConfig) -> tuple[ScaleConfig, str]:
    """The config completed from a published deployment (only DeepSeek's 2025-02 disclosure so far)."""
    if c.preset != "deepseek-2025-02":
        from tokenfall.registry import did_you_mean
        raise did_you_mean(c.preset, ["deepseek-2025-02"], "scale preset")
    d = DEEPSEEK_2025_02
    return c.model_copy(update={
        "input_per_day": c.input_per_day or d["input_per_day"], "output_per_day": c.output_per_day or d["output_per_day"],
        "prefill_tok_s": c.prefill_tok_s or d["prefill_tok_s"], "decode_tok_s": c.decode_tok_s or d["decode_tok_s"],
        "devices_per_replica": c.devices_per_replica or d["devices_per_replica"],
        "usd_per_device_hour": d["usd_per_device_hour"] if c.usd_per_device_hour is None else c.usd_per_device_hour,
        "elastic": True, "peak_to_mean": d["peak_to_mean"]}), d["source"]


def with_estimate(c: ScaleConfig, est: dict) -> tuple[ScaleConfig, str]:
    """The replica's rates from an estimate: prefill tokens per prefill-second and decode tokens per decode-second
    at the estimated batch, its devices and (unless given) their catalog price."""
    pt = est["point"]
    up = {"prefill_tok_s": c.prefill_tok_s or pt["input_tokens_per_s"] / max(pt["prefill_share"], 1e-12),
          "decode_tok_s": c.decode_tok_s or pt["output_tokens_per_s"] / max(1 - pt["prefill_share"], 1e-12),
          "devices_per_replica": c.devices_per_replica or est["tp"]}
    source = f"estimate ({est['profile']['name']}, {est['calibration']})"
    if c.usd_per_device_hour is None:
        if not est["prices"]:
            raise TokenfallError("no catalog price for that hardware: give --usd-per-device-hour")
        up["usd_per_device_hour"] = est["prices"][0]["usd_per_hour"] / est["tp"]
        source += f"; price {est['prices'][0]['price']}"
    return c.model_copy(update=up), source


DEEPSEEK_SETUP = {
    "decode_gpus": 144, "prefill_gpus": 32, "tpot_s": 1 / 21, "kv_len": 4989, "cache_hit": 342 / 608, "date": "2025-02-28",
    "source": "same disclosure: decode units of 18 nodes (EP144, data-parallel attention), prefill units of 4 nodes (EP32); FP8 "
              "matmuls, BF16 MLA; dual-batch overlap hides the all-to-all; 20-22 output tok/s per user; average KV length 4,989; "
              "342B of the 608B input tokens hit the KV cache"}


def predict_deepseek(prof) -> dict:
    """DeepSeek-V3/R1's per-node decode and prefill rates predicted from the model and the hardware (8x H800 per node),
    with DeepSeek's disclosed parallelism, beside the rates they disclosed. A real prediction, unlike the preset's
    consistency check, which feeds the disclosed rates back in.

    Decode, per GPU (one data-parallel attention rank): the ~16.5B always-active parameters (attention, shared expert,
    embeddings) are replicated and read every step; the routed experts are spread over the 144 GPUs; each sequence reads
    its MLA latent cache (576 BF16 values per layer and token); the batch is the largest whose step meets 21 tok/s per
    user and whose KV fits. Prefill: prompt tokens that miss the cache at the profile's compute efficiency."""
    from tokenfall.estimate import roofline as rf

    d = DEEPSEEK_SETUP
    dev = rf.device("h800")
    base = rf.preset("deepseek-v3", "fp8")
    experts = base.expert_params
    dense = base.n_params - experts                             # always-active parameters
    base = base.model_copy(update={"kv_bytes": 2.0})            # BF16 MLA latent cache
    mla = base.kv_per_token
    # per-GPU shard: replicated dense part + 1/144 of the experts, each expert fed by all 144 ranks (fill as dense)
    shard = base.model_copy(update={"n_params": dense + experts / d["decode_gpus"], "weight_bytes": dense + experts / d["decode_gpus"],
                                    "experts": None})
    p = prof.at(d["date"])
    free = dev["memory_gb"] * 1e9 * 0.9 - shard.weight_bytes
    top = free / (d["kv_len"] * mla)

    def tpot(b):
        return rf.step(shard, dev, p, b, d["kv_len"], 1)["t"]
    lo, hi = 1.0, top
    if tpot(hi) <= d["tpot_s"]:
        lo = hi
    else:
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if tpot(mid) <= d["tpot_s"] else (lo, mid)
    decode_node = 8 * lo / tpot(lo)
    pf = rf.step(base.model_copy(update={"head_dim": 160}), dev, p, 0, 0, 8, prefill_tokens=8192, prefill_context=d["kv_len"])
    computed = 8192 / pf["t"]                                   # prompt tokens one node computes per second
    prefill_node = computed / (1 - d["cache_hit"])               # counting cache hits as DeepSeek does
    pub = DEEPSEEK_2025_02
    return {"decode_tok_s_per_node": decode_node, "prefill_tok_s_per_node": prefill_node, "decode_batch_per_gpu": lo,
            "decode_step_s": tpot(lo), "published_decode": pub["decode_tok_s"], "published_prefill": pub["prefill_tok_s"],
            "decode_error": decode_node / pub["decode_tok_s"] - 1, "prefill_error": prefill_node / pub["prefill_tok_s"] - 1,
            "profile": f"{prof.name} (build {prof.date}) carried to {d['date']}, borrowed: DeepSeek's own engine has no fitted profile",
            "assumptions": [d["source"], f"always-active parameters {dense / 1e9:.1f}B replicated, {experts / 1e9:.0f}B of routed experts "
                            f"over {d['decode_gpus']} GPUs; all-to-all assumed hidden by dual-batch overlap; H800 = H100 compute and "
                            "memory (its NVLink cut does not enter: EP traffic crosses InfiniBand)",
                            f"prefill: one node's 8 GPUs at the profile's compute efficiency on 8,192-token batches at context "
                            f"{d['kv_len']}; {d['cache_hit']:.1%} of input tokens are cache hits that cost no compute"]}


def published(c: ScaleConfig, res: dict) -> dict:
    """The preset's published figures beside the reproduction, with its error."""
    pub = DEEPSEEK_2025_02["published"]
    implied = pub["usd_per_day"] / (c.input_per_day + c.output_per_day) * 1e6
    return pub | {"usd_per_m_total": implied, "error": res["usd_per_m_total"] / implied - 1}
