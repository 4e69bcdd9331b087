"""What training a model costs in accelerator-hours and dollars, from the standard compute estimate.

    FLOPs = 6 · N · D            (N parameters, D training tokens: forward 2ND + backward 4ND; Kaplan et al. 2020)
    accelerator-hours = FLOPs / (peak FLOP/s · MFU) / 3600
    $ = accelerator-hours · $/hour (catalog price, energy added when the price excludes it)

MFU (model FLOPs utilisation) is the share of the dense peak a real training run sustains; it is an
assumption the user should state, so it is always printed.
"""

from __future__ import annotations

from tokenfall.errors import TokenfallError
from tokenfall.registry import did_you_mean

# name -> (parameters, training tokens, source)
PRESETS = {
    "gpt-3": (175e9, 300e9, "Brown et al. 2020, 'Language Models are Few-Shot Learners' (175B parameters, 300B training tokens)"),
    "llama-2-70b": (70e9, 2e12, "Touvron et al. 2023, 'Llama 2' (70B parameters, 2.0T tokens)"),
    "llama-3.1-405b": (405e9, 15.6e12, "Meta 2024, 'The Llama 3 Herd of Models' (405B parameters, 15.6T tokens)"),
    "smollm2-135m": (135e6, 2e12, "Allal et al. 2025, SmolLM2 (135M parameters trained on 2T tokens)"),
}
DEFAULT_MFU = 0.4
MFU_SOURCE = ("assumption: 40% of dense peak; large training runs report 38-65% (MaxText on TPU v5p/v6e, "
              "shared/research/hardware.md) and less on older GPUs and smaller clusters")


def train_cost(params: float, tokens: float, accelerators: list[dict], mfu: float = DEFAULT_MFU, n_accelerators: int | None = None,
               usd_per_kwh: float = 0.15) -> dict:
    """One row per catalog accelerator: hours, dollars, and (with ``n_accelerators``) wall-clock days."""
    if params <= 0 or tokens <= 0:
        raise TokenfallError("--params and --tokens must be > 0")
    if not 0 < mfu <= 1:
        raise TokenfallError(f"--mfu {mfu}: must be in (0, 1]")
    if n_accelerators is not None and n_accelerators < 1:
        raise TokenfallError("--gpus must be >= 1")
    flops = 6.0 * params * tokens
    rows = []
    for e in accelerators:
        peak = e.get("peak_tflops")
        if not peak:
            raise TokenfallError(f"--hardware {e['id']}: no peak FLOP/s in the catalog for it; pick an accelerator with one")
        hours = flops / (peak * 1e12 * mfu) / 3600.0
        hour_usd = e["usd_per_hour"] + (0.0 if e["includes_energy"] else e["watts"] / 1000.0 * usd_per_kwh)
        rows.append({"hardware": e["id"], "accelerator": e.get("accelerator", e["id"]), "peak_tflops": peak,
                     "usd_per_hour": hour_usd, "price_date": e["date"], "price_kind": e["price_kind"],
                     "accelerator_hours": hours, "usd": hours * hour_usd,
                     "days": hours / n_accelerators / 24.0 if n_accelerators else None,
                     "sources": [f"price: {e['source']} ({e['date']})", f"peak: {e.get('peak_source', 'catalog')}"]})
    if not rows:
        raise TokenfallError("no accelerator to price: give --hardware with catalog price ids")
    return {"params": params, "tokens": tokens, "flops": flops, "mfu": mfu, "n_accelerators": n_accelerators, "rows": rows,
            "assumptions": ["FLOPs = 6·N·D (Kaplan et al. 2020, 'Scaling Laws for Neural Language Models'): no attention, "
                            "no recomputation, one epoch", f"MFU {mfu:g}: " + (MFU_SOURCE if mfu == DEFAULT_MFU else "given by user"),
                            "price per accelerator-hour from the hardware catalog, rented for the run's duration only"]}


def preset(name: str) -> tuple[float, float, str]:
    if name.lower() not in PRESETS:
        raise did_you_mean(name, list(PRESETS), "model preset")
    return PRESETS[name.lower()]
