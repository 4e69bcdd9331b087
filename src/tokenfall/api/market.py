"""Market: the industry's price-decline curve, providers' margins on open models, and training cost."""

from __future__ import annotations

from pathlib import Path

from tokenfall import cost
from tokenfall.api.ledger import show
from tokenfall.errors import TokenfallError
from tokenfall.market import deployment as dep
from tokenfall.market.curve import frontier_curve
from tokenfall.market.margin import margin as _margin
from tokenfall.types import CurveConfig


def curve(config: CurveConfig, out_dir: str | None = None, db: str | None = None) -> dict:
    """The cheapest price at a capability over time, its decline per year with intervals, a forecast, and
    (``config.with_run``) where a measured deployment sits; writes curve.html / curve.png / frontier.csv."""
    from tokenfall.report.curve import render_curve, summary_rows

    weights = dep.weights(config.blend)
    deployment = dep.deployment(show(config.with_run, db), config.price_kind, weights, config.score) if config.with_run else None
    rows = dep.price_rows(config.prices_csv, config.extend, config.litellm)
    res, why = frontier_curve(config, rows, weights, deployment)
    res["summary_rows"] = summary_rows(res, why)
    res["files"] = render_curve(res, out_dir or Path("tokenfall-reports") / "curve")
    return res


def margin(model: str, run_id: str | None = None, usd_per_m: float | None = None, price_kind: str = "blended", blend: str = "3:1",
           prices_csv: str | None = None, extend: bool = False, litellm: bool = False, db: str | None = None) -> dict:
    """Market price of an open model vs an estimated cost of serving it (``usd_per_m`` or a measured run):
    implied gross margin per provider."""
    rows = dep.price_rows(prices_csv, extend, litellm)
    return _margin(model, rows, price_kind, dep.weights(blend), usd_per_m, show(run_id, db) if run_id else None)


def train_cost(params: float | None = None, tokens: float | None = None, model: str | None = None, hardware: list[str] | None = None,
               mfu: float | None = None, gpus: int | None = None) -> dict:
    """Training compute (6·N·D) priced on catalog accelerators; ``model`` picks a preset N and D."""
    from tokenfall.estimate import roofline as rf
    from tokenfall.estimate import training
    from tokenfall.registry import did_you_mean

    src = "given"
    if model:
        pn, pt, src = training.preset(model)
        params, tokens = params or pn, tokens or pt
    if params is None or tokens is None:
        raise TokenfallError("give --model PRESET or both --params and --tokens")
    cat = cost.catalog()
    # each price offering gets the dense 16-bit peak of the device that lists it
    peak = {pid: (d["tflops"].get("bf16") or d["tflops"].get("fp16"), d["source"]) for d in rf.devices().values() for pid in d["prices"]
            if d["tflops"].get("bf16") or d["tflops"].get("fp16")}
    ids = hardware or [k for k in cat if k in peak and cat[k]["price_kind"] in ("on-demand", "reserved-1yr")]
    for h in ids:
        if h not in cat:
            raise did_you_mean(h, list(cat), "hardware")
    accel = [cat[h] | ({"peak_tflops": peak[h][0], "peak_source": peak[h][1]} if h in peak else {}) for h in ids]
    res = training.train_cost(params, tokens, accel, mfu if mfu is not None else training.DEFAULT_MFU, gpus)
    res["model_source"] = src
    return res
