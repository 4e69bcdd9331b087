"""A measured run placed beside market prices: its own $/M, the model it served, and that model's capability."""

from __future__ import annotations

import datetime as dt

from tokenfall.errors import TokenfallError
from tokenfall.market import prices
from tokenfall.types import Run


def run_model(run: Run) -> dict:
    """The model a run served, as a dict of ModelInfo fields."""
    s = run.summary
    if run.kind == "optimize" and s is not None and s.model is not None:
        return s.model.model_dump()
    return ((run.engine or {}).get("model")) or run.fingerprint.get("model") or {}


def run_model_name(m: dict) -> str:
    """The strings a model card is matched against: the GGUF name, the file path, the reference."""
    return " ".join(str(m.get(k) or "") for k in ("name", "path", "ref")).strip()


def run_price(run: Run, kind: str, weights: tuple[float, float], slo_attainment: float = 0.9) -> tuple[float, str]:
    """A run's own $/M (input, output or blended at ``weights``): an optimize run's chosen configuration, or a bench
    run's cheapest level that met its SLO (every level when none had an SLO)."""
    s = run.summary
    if run.status != "complete" and not s:
        raise TokenfallError(f"run {run.id}: the run has no results (status {run.status})")
    if run.kind == "optimize":
        c = s.chosen if s is not None else None
        if not c:
            raise TokenfallError(f"run {run.id}: that optimize run chose no configuration (nothing passed the gate and SLO)")
        return (prices.price_of(c.usd_per_m_input, c.usd_per_m_output, kind, weights),
                f"optimize run {run.id}, chosen configuration (bench run {c.bench_run})")
    if run.kind != "bench":
        raise TokenfallError(f"run {run.id}: is a {run.kind} run; give a bench or optimize run")
    levels = [lv for lv in run.levels if lv.cost and lv.requests_ok > 0]
    ok = [lv for lv in levels if lv.requests_failed == 0 and lv.slo_attainment is not None and lv.slo_attainment >= slo_attainment]
    priced = [(prices.price_of(lv.cost.usd_per_m_input, lv.cost.usd_per_m_output, kind, weights), lv) for lv in ok or levels]
    priced = [(p, lv) for p, lv in priced if p is not None]
    if not priced:
        raise TokenfallError(f"run {run.id}: no level of that run has a {kind} price")
    p, lv = min(priced, key=lambda x: x[0])
    why = "cheapest level meeting its SLO" if ok else "cheapest level (no level had an SLO attainment to check)"
    return p, f"bench run {run.id} level {lv.label} ({why})"


def deployment(run: Run, kind: str, weights: tuple[float, float], score: float | None) -> dict:
    """The run as a point for the curve: date, $/M, model and its MMLU (given, or from the model card)."""
    usd, what = run_price(run, kind, weights)
    m = run_model(run)
    name = run_model_name(m) or "unknown model"
    card = prices.card_for(name)
    if score is not None:
        mmlu, src = score, "given with --score"
    elif card and card.mmlu is not None:
        mmlu, src = card.mmlu, f"{card.model} model card: {card.mmlu_note}; {card.source}"
    else:
        known = f"'{card.model}' has no MMLU score in the dataset" if card else "no model card in the dataset matches it"
        raise TokenfallError(f"run {run.id}: {known} (model {m.get('name') or name}); give its MMLU with --score N")
    return {"run": run.id, "model": card.model if card else (m.get("name") or name), "date": dt.date.fromtimestamp(run.created).isoformat(),
            "usd_per_m": usd, "what": what, "mmlu": mmlu, "score_source": src}


def weights(blend: str) -> tuple[float, float]:
    """``--blend 3:1`` as (input, output) weights."""
    try:
        a, b = (float(x) for x in blend.split(":"))
    except ValueError as e:
        raise TokenfallError(f"--blend {blend}: give input:output weights such as 3:1 or 1:1") from e
    if a < 0 or b < 0 or a + b == 0:
        raise TokenfallError(f"--blend {blend}: weights must be >= 0 and not both 0")
    return a, b


def price_rows(prices_csv: str | None, extend: bool, litellm: bool) -> list:
    rows = prices.load(prices_csv, extend=extend)
    if litellm:
        rows = rows + prices.litellm_rows()[0]
    return rows
