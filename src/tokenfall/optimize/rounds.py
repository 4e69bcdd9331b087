"""Noise, measured: how far one configuration's cost moves between runs, and a cost ratio with its interval.

A cost comes from one closed-loop run; the same configuration measured again on the same machine moves by a
few percent (other processes, memory placement, turbo). The search measures that spread itself and makes
every lever clear it, and the headline ratio comes from interleaved rounds of fresh runs of both sides."""

from __future__ import annotations

import math

import numpy as np

from tokenfall.types import Ratio

NOISE_FLOOR = 0.015  # sd of log cost assumed at least this, whatever two runs happened to show


def noise_sd(groups: list[list[float]]) -> float | None:
    """Pooled standard deviation of log cost over groups of repeated measurements of one configuration each."""
    ss, df = 0.0, 0
    for g in groups:
        if len(g) >= 2:
            x = np.log(np.asarray(g, float))
            ss += float(((x - x.mean()) ** 2).sum())
            df += len(g) - 1
    return math.sqrt(ss / df) if df else None


def clears_noise(before: float, after: float, sd: float | None, z: float = 1.645) -> bool:
    """Whether ``after`` is cheaper than ``before`` by more than single runs of each could differ by chance:
    log(before/after) > z * sqrt(2) * sd (one-sided 95% for the difference of two runs)."""
    return math.log(before / after) > z * math.sqrt(2) * max(sd or 0.0, NOISE_FLOOR)


def ratio(base: list[float], chosen: list[float], level: float = 0.95) -> Ratio:
    """base / chosen as a ratio of geometric means, with a Welch t interval on the log scale. With three
    rounds a side, a bootstrap over rounds has only ten distinct resamples and undercovers; the t interval
    is the honest small-sample choice."""
    from scipy.stats import t

    lb, lc = np.log(np.asarray(base, float)), np.log(np.asarray(chosen, float))
    d = float(lb.mean() - lc.mean())
    vb, vc = lb.var(ddof=1) / len(lb), lc.var(ddof=1) / len(lc)
    se = math.sqrt(vb + vc)
    if se == 0:
        return Ratio(value=math.exp(d), low=math.exp(d), high=math.exp(d))
    df = (vb + vc) ** 2 / (vb ** 2 / (len(lb) - 1) + vc ** 2 / (len(lc) - 1))
    q = float(t.ppf(0.5 + level / 2, df))
    return Ratio(value=math.exp(d), low=math.exp(d - q * se), high=math.exp(d + q * se))
