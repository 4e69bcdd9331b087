"""Implied gross margin of API providers on an open model: their price vs an estimated cost of serving it."""

from __future__ import annotations

import statistics

from tokenfall.errors import TokenfallError
from tokenfall.market import prices
from tokenfall.market.deployment import run_model, run_model_name, run_price
from tokenfall.types import Run


def margin(model: str, rows: list, price_kind: str, weights: tuple[float, float], usd_per_m: float | None = None,
           run: Run | None = None) -> dict:
    """Each provider's latest price for ``model`` against the serving cost: ``usd_per_m`` (the user's own
    figure) or a measured ``run``. A run of a different model is scaled by active parameters (decode reads
    every active weight once per step, so cost per token grows about linearly with them at the same engine,
    hardware and quantization) -- stated in the result."""
    rows = [r for r in rows if r.open_weights and (r.price(price_kind, weights) or 0) > 0]
    card = prices.card_for(model)
    if card:
        mine = [r for r in rows if prices.card_for(r.model) == card]
        name = card.model
    else:
        names = sorted({r.model for r in rows})
        hits = [n for n in names if n.lower() == model.lower()] or [n for n in names if model.lower() in n.lower()]
        if len(hits) > 1:
            raise TokenfallError(f"{model}: matches {len(hits)} open models ({', '.join(hits[:6])}); give the full name")
        if not hits:
            from tokenfall.registry import did_you_mean
            raise did_you_mean(model, names, "open model with market prices")
        name, mine = hits[0], [r for r in rows if r.model == hits[0]]
    if not mine:
        raise TokenfallError(f"{model}: no market price for {name} in the price history")
    latest = {}
    for r in sorted(mine, key=lambda r: r.date):
        latest[r.provider] = r
    if (run is None) == (usd_per_m is None):
        raise TokenfallError("give the serving cost: --run RUN (a measured bench/optimize run) or --cost USD_PER_M")
    assumptions = []
    if usd_per_m is not None:
        if usd_per_m <= 0:
            raise TokenfallError(f"--cost {usd_per_m}: must be > 0")
        cost_usd, cost_from = usd_per_m, "given with --cost"
    else:
        cost_usd, cost_from, note = _scaled_cost(run, card, name, price_kind, weights)
        assumptions += note
    table = []
    for prov, r in sorted(latest.items(), key=lambda kv: kv[1].price(price_kind, weights)):
        p = r.price(price_kind, weights)
        table.append({"provider": prov, "date": r.date.isoformat(), "usd_per_m": p, "margin": (p - cost_usd) / p,
                      "source": r.source_price})
    med = statistics.median(t["usd_per_m"] for t in table)
    assumptions += ["market prices: each provider's latest row in the price history (list price, standard tier)",
                    "margin = (price - serving cost) / price: gross of everything but the serving hardware's hour price and energy"]
    return {"model": name, "price_kind": price_kind, "weights": list(weights), "serving_cost": cost_usd, "cost_from": cost_from,
            "providers": table, "median_price": med, "median_margin": (med - cost_usd) / med, "assumptions": assumptions}


def _scaled_cost(run: Run, target, name: str, price_kind: str, weights) -> tuple[float, str, list[str]]:
    """The run's measured $/M, scaled by active parameters when it served another model than ``target``."""
    measured, what = run_price(run, price_kind, weights)
    m = run_model(run)
    mine_card = prices.card_for(run_model_name(m))
    if mine_card and target and mine_card == target:
        return measured, what, []
    run_params = m.get("n_params") or (mine_card.active_params_b * 1e9 if mine_card and mine_card.active_params_b else None)
    if not target or not target.active_params_b or not run_params:
        raise TokenfallError(f"--run {run.id}: measured a different model and the parameter counts to scale it are unknown; "
                             "give --cost instead")
    scale = target.active_params_b * 1e9 / run_params
    return measured * scale, f"{what}, scaled x{scale:.4g} by active parameters", [
        f"run served {m.get('name') or 'its model'} ({run_params / 1e9:.3g}B parameters); {name} has "
        f"{target.active_params_b:g}B active ({target.source}); cost per token assumed proportional to active "
        "parameters on the same hardware, engine and quantization (memory-bound decode). A first-order "
        "estimate: it ignores attention/KV cost, batching limits and multi-GPU needs"]
