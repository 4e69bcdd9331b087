"""$/M tokens from an hourly price, energy and measured throughput (conventions in docs/methodology.md).

    $/M = (usd_per_hour / utilisation) / (tokens_per_s * 3600) * 1e6

The hour is split between input and output by the measured prefill vs decode time share, so
input and output tokens each pay for the time they used.
"""

from __future__ import annotations

import json
import os
import platform
from functools import lru_cache
from importlib.resources import files

from tokenfall.errors import TokenfallError
from tokenfall.registry import did_you_mean
from tokenfall.types import Cost, Pricing


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict]:
    data = json.loads(files("tokenfall").joinpath("data/hardware.json").read_text())
    return {e["id"]: e for e in data["entries"]}


def local_default() -> str:
    """The catalog CPU instance of this machine's architecture and vCPU count (closest), as the price of 'this hardware'."""
    arch = platform.machine().lower().replace("arm64", "aarch64")
    cpus = [e for e in catalog().values() if e["kind"] == "cpu" and e.get("arch") == arch] or [
        e for e in catalog().values() if e["kind"] == "cpu"]
    n = os.cpu_count() or 1
    return min(cpus, key=lambda e: (abs(e["vcpus"] - n), e["usd_per_hour"]))["id"]


def pricing(hardware: str | None = None, usd_per_hour: float | None = None, watts: float | None = None,
            usd_per_kwh: float = 0.15, utilisation: float = 1.0, measured_watts: float | None = None,
            remote: bool = False) -> Pricing:
    """Build the price inputs: a catalog entry, or a user's own $/hour (then energy is added on top). For a
    ``remote`` server this machine's power says nothing: a given $/hour without --watts is taken as all-in."""
    if not 0 < utilisation <= 1:
        raise TokenfallError(f"--utilisation {utilisation}: must be in (0, 1]")
    if usd_per_hour is not None and usd_per_hour < 0 or usd_per_kwh < 0:
        raise TokenfallError("prices must be >= 0 (--usd-per-hour, --usd-per-kwh)")
    if usd_per_hour is not None:
        hw_watts = watts if watts is not None else measured_watts
        if hw_watts is None and remote:
            return Pricing(hardware=hardware, usd_per_hour=usd_per_hour, usd_per_hour_source="given by user (the server's)",
                           includes_energy=True, watts=0.0, watts_source="not measurable from the client: taken as inside "
                           "the hourly price (give --watts to add it)", usd_per_kwh=usd_per_kwh, utilisation=utilisation)
        if hw_watts is None:
            raise TokenfallError("--usd-per-hour needs --watts (power draw to price energy) unless power is measurable here")
        return Pricing(hardware=hardware, usd_per_hour=usd_per_hour, usd_per_hour_source="given by user",
                       includes_energy=False, watts=hw_watts,
                       watts_source="given by user" if watts is not None else "measured (RAPL/NVML)",
                       usd_per_kwh=usd_per_kwh, utilisation=utilisation)
    hw_id = hardware or local_default()
    if hw_id not in catalog():
        raise did_you_mean(hw_id, list(catalog()), "hardware")
    e = catalog()[hw_id]
    w, w_src = (watts, "given by user") if watts is not None else (
        (measured_watts, "measured (RAPL/NVML)") if measured_watts is not None else (e["watts"], e["watts_source"]))
    return Pricing(hardware=hw_id, usd_per_hour=e["usd_per_hour"], usd_per_hour_source=f"{e['source']} ({e['date']}, {e['price_kind']})",
                   includes_energy=e["includes_energy"], watts=w, watts_source=w_src, usd_per_kwh=usd_per_kwh, utilisation=utilisation)


def per_million(usd_per_hour: float, tokens_per_s: float) -> float | None:
    return None if tokens_per_s <= 0 else usd_per_hour / (tokens_per_s * 3600.0) * 1e6


def hourly(p: Pricing) -> float:
    """$ per hour of use: the hardware's price plus energy (unless inside it), over the utilisation."""
    return (p.usd_per_hour + (0.0 if p.includes_energy else p.watts / 1000.0 * p.usd_per_kwh)) / p.utilisation


def price(p: Pricing, input_tps: float, output_tps: float, prefill_share: float, run_id: str | None = None,
          share_from: str = "per request: time to first token vs decoding") -> Cost:
    """Cost per million input/output/blended tokens for one measured steady state."""
    energy_usd_h = p.watts / 1000.0 * p.usd_per_kwh
    hour = hourly(p)
    cin = per_million(hour * prefill_share, input_tps)
    cout = per_million(hour * (1.0 - prefill_share), output_tps)
    blended = None if cin is None or cout is None else (3 * cin + cout) / 4
    wh_out = None if output_tps <= 0 else p.watts * (1.0 - prefill_share) / p.utilisation / (output_tps * 3600.0) * 1e6
    hw = f"hardware {p.hardware}: " if p.hardware else ""
    assumptions = [
        f"{hw}${p.usd_per_hour:.4g}/hour ({p.usd_per_hour_source})",
        f"power {p.watts:.4g} W ({p.watts_source}) at ${p.usd_per_kwh:.4g}/kWh = ${energy_usd_h:.4g}/hour, "
        + ("already inside the hourly price, not added" if p.includes_energy else "added to the hourly price"),
        f"utilisation {p.utilisation:.3g}: hour cost divided by it (idle time is paid for)",
        f"hour split by measured time share: prefill {prefill_share:.1%}, decode {1 - prefill_share:.1%} (from {share_from})",
        "throughput from the steady-state window of this run; blended = (3*input + output)/4",
    ]
    return Cost(usd_per_m_input=cin, usd_per_m_output=cout, usd_per_m_blended=blended, usd_per_hour_total=hour,
                prefill_share=prefill_share, wh_per_m_output=wh_out, assumptions=assumptions, run_id=run_id)
