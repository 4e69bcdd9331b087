"""Cost–quality curves of a router over a fixed set of requests, exactly: a router ranks requests by how much
they need the general model; sending the top k to it (k = 0..n) traces every operating point. RouteLLM's
metrics over that curve: PGR (performance gap recovered), APGR (its average over the share of calls to the
general model; a random router scores 0.5) and CPT(x) (the share of calls needed to recover x of the gap)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest


@dataclass
class Requests:
    """The test requests as arrays: right or wrong under each model, cost and tokens under each, segment."""

    ok_small: np.ndarray
    ok_large: np.ndarray
    usd_small: np.ndarray
    usd_large: np.ndarray
    tok_small: np.ndarray
    tok_large: np.ndarray
    domain: np.ndarray  # bool: an in-domain request (else general)

    def take(self, idx: np.ndarray) -> "Requests":
        return Requests(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.ok_small)


@dataclass
class Curve:
    """Per k = 0..n requests sent to the general model (the k ranked highest): outcomes, cost, tokens."""

    order: np.ndarray  # request indices, most in need of the general model first
    share: np.ndarray
    correct: np.ndarray  # per k: requests answered right, all / in-domain / general
    correct_domain: np.ndarray
    correct_general: np.ndarray
    usd: np.ndarray  # per k: total cost
    tokens: np.ndarray


def _top_sums(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Per k = 0..n: the sum of ``values`` over the first k requests of ``order``."""
    return np.concatenate([[0.0], np.cumsum(values[order].astype(float))])


def curve(r: Requests, scores: np.ndarray, pays_small: bool, overhead_usd: float = 0.0) -> Curve:
    """``scores``: higher = sent to the general model sooner (ties in request order). ``pays_small``: a cascade,
    where every request is first answered by the small model and escalated ones are paid twice."""
    n = len(r)
    order = np.argsort(-scores, kind="stable")
    gain = r.ok_large.astype(int) - r.ok_small.astype(int)
    base = r.ok_small.astype(int)

    def correct(mask):
        return base[mask].sum() + _top_sums(np.where(mask, gain, 0), order)

    k_usd = _top_sums(r.usd_large, order)
    k_tok = _top_sums(r.tok_large, order)
    if pays_small:
        usd, tokens = r.usd_small.sum() + k_usd, r.tok_small.sum() + k_tok
    else:
        usd = r.usd_small.sum() - _top_sums(r.usd_small, order) + k_usd
        tokens = r.tok_small.sum() - _top_sums(r.tok_small, order) + k_tok
    everything = np.ones(n, bool)
    return Curve(order, np.arange(n + 1) / n, correct(everything), correct(r.domain), correct(~r.domain),
                 usd + overhead_usd * n, tokens)


def random_curve(r: Requests) -> Curve:
    """The random router's expectation at every share: each request goes to the general model with probability
    k/n, so every sum is the straight line between all-small and all-large."""
    n = len(r)
    w = np.arange(n + 1) / n

    def line(small, large):
        return (1 - w) * small + w * large

    return Curve(np.arange(n), w, line(r.ok_small.sum(), r.ok_large.sum()),
                 line(r.ok_small[r.domain].sum(), r.ok_large[r.domain].sum()),
                 line(r.ok_small[~r.domain].sum(), r.ok_large[~r.domain].sum()),
                 line(r.usd_small.sum(), r.usd_large.sum()), line(r.tok_small.sum(), r.tok_large.sum()))


def pgr(c: Curve, n: int) -> np.ndarray | None:
    """Performance gap recovered per k: (quality − all-small) / (all-large − all-small); None when the general
    model is not better than the small one (no gap to recover)."""
    lo, hi = c.correct[0], c.correct[-1]
    if hi <= lo:
        return None
    return (c.correct - lo) / (hi - lo)


def apgr(c: Curve, n: int) -> float | None:
    """The area under PGR over the share of calls to the general model (trapezoids over k = 0..n)."""
    p = pgr(c, n)
    return None if p is None else float(np.trapezoid(p, c.share))


def cpt(c: Curve, n: int, x: float) -> float | None:
    """The smallest share of calls to the general model at which PGR reaches ``x``."""
    p = pgr(c, n)
    if p is None:
        return None
    hit = np.nonzero(p >= x - 1e-12)[0]
    return float(c.share[hit[0]]) if len(hit) else None


def apgr_interval(r: Requests, scores: np.ndarray, pays_small: bool, rounds: int = 200, seed: int = 0) -> tuple[float, float] | None:
    """95% bootstrap interval of APGR over requests (resampled with their scores; resamples without a gap skipped)."""
    rng = np.random.default_rng(seed)
    n = len(r)
    values = []
    for _ in range(rounds):
        idx = rng.integers(0, n, n)
        a = apgr(curve(r.take(idx), scores[idx], pays_small), n)
        if a is not None:
            values.append(a)
    if len(values) < rounds // 2:
        return None
    lo, hi = np.quantile(values, [0.025, 0.975])
    return float(lo), float(hi)


def floor_k(c: Curve, r: Requests, floor: float) -> int | None:
    """The cheapest k keeping ``floor`` of the general model's score on every segment present (None: none does)."""
    n_dom, n_gen = int(r.domain.sum()), int((~r.domain).sum())
    ok = c.correct_domain >= floor * r.ok_large[r.domain].sum() - 1e-9
    if n_gen:
        ok &= c.correct_general >= floor * r.ok_large[~r.domain].sum() - 1e-9
    if n_dom == 0 or not ok.any():
        return None
    ks = np.nonzero(ok)[0]
    return int(ks[np.argmin(c.usd[ks])])


def point(c: Curve, r: Requests, k: int, threshold: float, random: Curve) -> dict:
    """One operating point as the RoutePoint fields (qualities with Wilson intervals, costs per request)."""
    n, n_dom, n_gen = len(r), int(r.domain.sum()), int((~r.domain).sum())
    p = pgr(c, n)
    out = {"threshold": threshold, "share_large": float(c.share[k]), "quality": float(c.correct[k] / n),
           "quality_domain": float(c.correct_domain[k] / n_dom) if n_dom else 0.0,
           "ci_domain": wilson(int(round(c.correct_domain[k])), n_dom) if n_dom else (0.0, 0.0),
           "pgr": None if p is None else float(p[k]), "usd_per_request": float(c.usd[k] / n),
           "usd_per_m_tokens": float(c.usd[k] / c.tokens[k] * 1e6) if c.tokens[k] else 0.0,
           "random_quality": float(random.correct[k] / n)}
    if n_gen:
        out |= {"quality_general": float(c.correct_general[k] / n_gen), "ci_general": wilson(int(round(c.correct_general[k])), n_gen)}
    return out


def wilson(correct: int, n: int) -> tuple[float, float]:
    ci = binomtest(correct, n).proportion_ci(method="wilson")
    return float(ci.low), float(ci.high)


def display_ks(n: int, points: int = 41) -> list[int]:
    """The ks a chart and a table show: evenly spaced shares, 0 and n included."""
    return sorted({int(round(s * n)) for s in np.linspace(0, 1, points)})
