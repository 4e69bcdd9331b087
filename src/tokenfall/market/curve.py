"""The price-decline curve's numbers: the frontier at a capability, its log-linear fit, the market around it,
and a measured deployment placed against the cheapest market price of its day."""

from __future__ import annotations

import datetime as dt

from tokenfall.errors import TokenfallError
from tokenfall.market import trend
from tokenfall.types import CurveConfig


def frontier_curve(c: CurveConfig, rows: list, weights: tuple[float, float], deployment: dict | None) -> tuple[dict, str]:
    """Everything the curve's page and table show, with the assumptions behind it; and why the threshold is what it is."""
    kind, reasoning, open_only = c.price_kind, c.include_reasoning, c.open_only
    min_mmlu = c.min_mmlu if c.min_mmlu is not None or c.threshold is not None or not deployment else deployment["mmlu"]
    level, label, why = trend.threshold(c.threshold, min_mmlu)
    try:
        horizon = dt.date.fromisoformat(c.forecast) if c.forecast else None
    except ValueError as e:
        raise TokenfallError(f"--forecast {c.forecast}: give a date as YYYY-MM-DD") from e
    chain = trend.frontier(rows, level, kind, weights, reasoning, open_only)
    if not chain:
        raise TokenfallError(f"no priced model scores MMLU >= {level:g} in the data ({'open weights only, ' if open_only else ''}"
                             f"{'reasoning models excluded' if not reasoning else 'reasoning included'}): the frontier is empty")
    horizon = horizon or max(dt.date.today(), chain[-1][0].date)
    f = trend.fit([r.date for r, _ in chain], [p for _, p in chain], seed=c.seed, forecast_to=horizon)
    market = [{"date": r.date.isoformat(), "usd_per_m": r.price(kind, weights), "model": r.model, "provider": r.provider,
               "mmlu": r.mmlu, "open_weights": r.open_weights}
              for r in rows if r.mmlu is not None and r.mmlu >= level and (r.price(kind, weights) or 0) > 0
              and r.pricing == "flat" and (reasoning or not r.reasoning) and (r.open_weights or not open_only)]
    frontier = [{"date": r.date.isoformat(), "model": r.model, "provider": r.provider, "mmlu": r.mmlu, "usd_per_m": p,
                 "source": r.source_price, "score_source": r.source_score} for r, p in chain]
    w = f"{weights[0]:g}:{weights[1]:g}"
    if deployment:
        best = trend.cheapest_at(rows, deployment["mmlu"], dt.date.fromisoformat(deployment["date"]), kind, weights, reasoning)
        deployment["market_best"] = ({"usd_per_m": best[1], "model": best[0].model, "provider": best[0].provider,
                                      "date": best[0].date.isoformat()} if best else None)
        deployment["vs_market"] = best[1] / deployment["usd_per_m"] if best and deployment["usd_per_m"] else None
    return {"threshold": level, "threshold_label": label,
            "price_kind": kind if kind != "blended" else f"blended {w}", "weights": list(weights), "rows_considered": len(rows),
            "eligible": len(market), "frontier": frontier, "fit": f, "market": market, "deployment": deployment,
            "assumptions": [
                f"prices: {len(rows)} rows ({'user CSV ' + c.prices_csv if c.prices_csv else 'bundled history'}"
                f"{' + bundled' if c.extend else ''}{' + installed LiteLLM map' if c.litellm else ''}); list prices, standard tier, "
                "shortest context",
                f"eligible: MMLU >= {level:g}, per-token (flat) pricing" + ("" if reasoning else ", reasoning models excluded (they spend "
                                                                            "many more tokens per answer, so $/token understates their cost)")
                + (", open weights only" if open_only else ""),
                "frontier: a price enters when it is cheaper than every earlier eligible price (running minimum; Epoch AI's method)",
                f"fit: OLS of log10(price) on date; factor per year = 10^(-slope*365); {f['level']:.0%} intervals; bootstrap seed {c.seed}",
                "dates of rows mined from package snapshots are upper bounds (first snapshot showing the price)",
                "MMLU values come from mixed harnesses (creator-reported, Artificial Analysis, HELM): each row names its source",
            ]}, why
