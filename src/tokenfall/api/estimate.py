"""Estimate: hardware you do not have, and traffic you do not have yet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tokenfall.api.ledger import show
from tokenfall.errors import TokenfallError
from tokenfall.estimate import calibrate as cal
from tokenfall.estimate import scale as sc
from tokenfall.estimate import search
from tokenfall.types import EstimateConfig, ScaleConfig


def estimate(config: EstimateConfig, db: str | None = None) -> dict:
    """Tokens/s, TTFT/TPOT and $/M of a model on hardware (catalog id or 'local') from the roofline and a fitted
    engine profile; the best batch under the SLO unless ``batch`` is given. Labelled as an estimate throughout."""
    if config.add_rows is not None and not Path(config.add_rows).is_file():
        raise TokenfallError(f"--add-rows {config.add_rows}: no such file; give a CSV with the columns of tokenfall's data/measurements.csv")
    return search.estimate(config, [show(r, db) for r in config.calibrate])


def validate_estimates(calibrate: list[str] | None = None, holdout: list[str] | None = None, db: str | None = None,
                       rows: str | None = None, add_rows: str | None = None) -> dict:
    """Predicted vs measured for every calibration row, in sample and held out (leave one out, one round out, one
    device out), plus rows never fitted on: this machine's bench runs (``holdout``) and a CSV of published results
    in the package's format (``rows``)."""
    dev = cal.local_device() if calibrate or holdout else None
    local = cal.bench_rows([show(r, db) for r in calibrate], dev) if calibrate else []
    held = cal.bench_rows([show(r, db) for r in holdout], dev) if holdout else []
    for flag, f in (("--rows", rows), ("--add-rows", add_rows)):
        if f is not None and not Path(f).is_file():
            raise TokenfallError(f"{flag} {f}: no such file; give a CSV with the columns of tokenfall's data/measurements.csv")
    return cal.validate(local, held, rows, add_rows=add_rows)


def scale(config: ScaleConfig, db: str | None = None) -> dict:
    """Traffic -> replicas, utilisation, $/M at that scale, the idle and fixed-cost shares, and the break-even
    against an API price. Replica rates come from a preset (DeepSeek's disclosure), explicit numbers, or an estimate."""
    c, est = config, None
    if c.preset:
        c, source = sc.with_preset(c)
    elif c.prefill_tok_s is None or c.decode_tok_s is None:
        est = estimate(c.estimate, db)
        c, source = sc.with_estimate(c, est)
    else:
        source = "given"
    if c.devices_per_replica is None or c.usd_per_device_hour is None:
        raise TokenfallError("give --devices-per-replica and --usd-per-device-hour with explicit replica rates")
    res = sc.scale(c.input_per_day, c.output_per_day, c.prefill_tok_s, c.decode_tok_s, c.devices_per_replica, c.usd_per_device_hour,
                   c.peak_to_mean, c.elastic, c.headroom, c.fixed_usd_per_month)
    res |= {"inputs": c.model_dump(include={"input_per_day", "output_per_day", "prefill_tok_s", "decode_tok_s", "devices_per_replica",
                                            "usd_per_device_hour", "peak_to_mean", "elastic", "headroom", "fixed_usd_per_month"}),
            "source": source, "estimate": est is not None}
    if c.preset:
        res["published"] = sc.published(c, res)
        res["prediction"] = sc.predict_deepseek(cal.profiles()["trt-llm"])
    api_price = c.api_usd_per_m
    if api_price is None and c.min_mmlu is not None:
        from tokenfall.market import prices, trend

        best = trend.cheapest_at(prices.load(), c.min_mmlu, dt.date.today())
        if best:
            api_price = best[1]
            res["api"] = {"usd_per_m": best[1], "model": best[0].model, "provider": best[0].provider, "date": best[0].date.isoformat(),
                          "why": f"cheapest blended market price at MMLU >= {c.min_mmlu:g}"}
    if api_price is not None:
        res.setdefault("api", {"usd_per_m": api_price, "why": "given"})
        res["break_even"] = sc.break_even(api_price, c.input_per_day / (c.input_per_day + c.output_per_day), c.prefill_tok_s,
                                          c.decode_tok_s, c.devices_per_replica, c.usd_per_device_hour, c.peak_to_mean, c.elastic,
                                          c.fixed_usd_per_month)
    return res
