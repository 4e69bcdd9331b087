"""The cost of a capability over time: the running-minimum price frontier above a score threshold and its
log-linear decline (Epoch AI's method, docs/market.md).

Frontier: walk every eligible price in date order and keep a point when it is cheaper than every earlier
one. Fit: ordinary least squares of log10(price) on the date in days; the decline factor per year is
10**(-slope*365). Intervals: the OLS t-interval (what Epoch reports) and a bootstrap over frontier points.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from scipy import stats

from tokenfall.errors import TokenfallError
from tokenfall.market.prices import BLEND, PriceRow
from tokenfall.registry import did_you_mean

# name -> (MMLU threshold, why that number)
THRESHOLDS = {
    "gpt-3": (43.9, "GPT-3 175B (davinci) MMLU 43.9, the score Epoch AI uses for its GPT-3 threshold (Gopher paper value)"),
    "gpt-3.5": (64.8, "GPT-3.5 MMLU 64.8, Epoch AI's GPT-3.5 threshold"),
    "gpt-3.5-turbo": (68.0, "gpt-3.5-turbo MMLU 68.0 (Artificial Analysis run), Epoch AI's GPT-3.5 Turbo threshold"),
    "gpt-4": (86.0, "GPT-4 (0314) MMLU 86.0 (Artificial Analysis run), Epoch AI's GPT-4 threshold; OpenAI reported 86.4"),
    "a16z-gpt-3": (42.0, "a16z 'LLMflation' (2024-11-12) GPT-3 level: MMLU 42"),
    "a16z-gpt-4": (83.0, "a16z 'LLMflation' (2024-11-12) GPT-4 level: MMLU 83"),
}
MIN_POINTS = 4
DAYS_PER_YEAR = 365  # Epoch's convention; keeps its published factors reproducible


def threshold(name: str | None, min_mmlu: float | None) -> tuple[float, str, str]:
    """(MMLU bound, short label, why that bound)."""
    if min_mmlu is not None:
        if not 0 <= min_mmlu <= 100:
            raise TokenfallError(f"--min-mmlu {min_mmlu}: must be between 0 and 100")
        return float(min_mmlu), f"MMLU >= {min_mmlu:g}", "given with --min-mmlu"
    name = (name or "gpt-3").lower()
    if name not in THRESHOLDS:
        raise did_you_mean(name, list(THRESHOLDS), "threshold")
    v, why = THRESHOLDS[name]
    return v, f"MMLU >= {v:g} ({name})", why


def frontier(rows: list[PriceRow], min_mmlu: float, kind: str = "blended", weights: tuple[float, float] = BLEND,
             include_reasoning: bool = False, open_only: bool = False) -> list[tuple[PriceRow, float]]:
    """(row, price) for each new running minimum among rows scoring at least ``min_mmlu``."""
    eligible = []
    for r in rows:
        p = r.price(kind, weights)
        if (r.mmlu is None or r.mmlu < min_mmlu or p is None or p <= 0 or r.pricing != "flat"
                or (r.reasoning and not include_reasoning) or (open_only and not r.open_weights)):
            continue
        eligible.append((r, p))
    eligible.sort(key=lambda rp: (rp[0].date, rp[1]))
    chain, best = [], math.inf
    for r, p in eligible:
        if p < best:
            chain.append((r, p))
            best = p
    return chain


def _days(d: dt.date) -> int:
    return d.toordinal()


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    xm = x.mean()
    slope = float(((x - xm) * (y - y.mean())).sum() / ((x - xm) ** 2).sum())
    return slope, float(y.mean() - slope * xm)


def factor_per_year(slope_per_day: float) -> float:
    return 10 ** (-slope_per_day * DAYS_PER_YEAR)


def fit(dates: list[dt.date], prices: list[float], level: float = 0.9, n_boot: int = 2000, seed: int = 0,
        forecast_to: dt.date | None = None) -> dict:
    """Decline of log10(price) over time: factor/year with OLS and bootstrap intervals, R², years per 10x, forecast."""
    if len(dates) < MIN_POINTS:
        raise TokenfallError(f"the frontier has {len(dates)} point(s); a trend needs at least {MIN_POINTS} "
                             "(lower the threshold, add rows, or use --include-reasoning)")
    x = np.array([_days(d) for d in dates], dtype=float)
    y = np.log10(np.array(prices, dtype=float))
    if np.ptp(x) == 0:
        raise TokenfallError("every frontier point has the same date; a trend needs dates that differ")
    n = len(x)
    slope, icpt = _ols(x, y)
    resid = y - (icpt + slope * x)
    sxx = float(((x - x.mean()) ** 2).sum())
    s2 = float((resid ** 2).sum() / (n - 2))
    se = math.sqrt(s2 / sxx)
    tq = float(stats.t.ppf(0.5 + level / 2, n - 2))
    r2 = 1 - float((resid ** 2).sum()) / float(((y - y.mean()) ** 2).sum()) if np.ptp(y) > 0 else 1.0
    rng = np.random.default_rng(seed)
    boots, lines = [], []
    for _ in range(n_boot):
        i = rng.integers(0, n, n)
        if np.ptp(x[i]) == 0:
            continue
        b, a = _ols(x[i], y[i])
        boots.append(b)
        lines.append((a, b))
    boots = np.array(boots)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    # a steeper (more negative) slope is a faster decline: the upper slope quantile gives the lower factor
    f = factor_per_year(slope)
    out = {
        "points": n, "start": dates[0].isoformat(), "end": dates[-1].isoformat(), "level": level,
        "slope_log10_per_day": slope, "intercept": icpt, "r2": r2,
        "factor_per_year": f,
        "ols_ci": [factor_per_year(slope + tq * se), factor_per_year(slope - tq * se)],
        "bootstrap_ci": [factor_per_year(float(np.quantile(boots, hi_q))), factor_per_year(float(np.quantile(boots, lo_q)))],
        "bootstrap_samples": int(len(boots)), "seed": seed,
        "years_per_10x": (1 / math.log10(f)) if f > 1 else None,
    }
    out["years_per_10x_ci"] = [1 / math.log10(c) if c > 1 else None for c in reversed(out["bootstrap_ci"])]
    end = forecast_to or dates[-1]
    xs = np.linspace(x.min(), max(float(_days(end)), x.max()), 60)
    at = np.array([[a + b * v for v in xs] for a, b in lines])
    out["trend"] = {"dates": [dt.date.fromordinal(int(round(v))).isoformat() for v in xs],
                    "usd_per_m": [10 ** (icpt + slope * v) for v in xs],
                    "lo": [10 ** float(v) for v in np.quantile(at, lo_q, axis=0)],
                    "hi": [10 ** float(v) for v in np.quantile(at, hi_q, axis=0)]}
    if forecast_to is not None:
        x0 = float(_days(forecast_to))
        mean = icpt + slope * x0
        half = tq * math.sqrt(s2 * (1 + 1 / n + (x0 - x.mean()) ** 2 / sxx))
        out["forecast"] = {"date": forecast_to.isoformat(), "usd_per_m": 10 ** mean,
                           "prediction_interval": [10 ** (mean - half), 10 ** (mean + half)],
                           "trend_ci": [10 ** float(np.quantile([a + b * x0 for a, b in lines], q)) for q in (lo_q, hi_q)]}
    return out


def cheapest_at(rows: list[PriceRow], min_mmlu: float, on: dt.date, kind: str = "blended",
                weights: tuple[float, float] = BLEND, include_reasoning: bool = False) -> tuple[PriceRow, float] | None:
    """The cheapest eligible price seen on or before ``on`` (the frontier's value that day)."""
    chain = [rp for rp in frontier(rows, min_mmlu, kind, weights, include_reasoning) if rp[0].date <= on]
    return chain[-1] if chain else None
