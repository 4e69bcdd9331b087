"""Accuracy of N-sample strategies from a fixed pool of graded samples per problem, with intervals.

pass@k is the unbiased estimator of Chen et al. (2021) — the chance that at least one of k samples drawn
without replacement from the n taken is correct — averaged over problems. Votes (majority, log-probability
weighted) have no closed form over subsets, so their expected accuracy at k is averaged over seeded random
k-subsets; ties count as the share of tied answers that are correct (a fair coin among them). Intervals are
percentile bootstraps over problems (the problems, not the samples, are the unit of replication). Coverage vs k
is fitted with Large Language Monkeys' exponentiated power law, coverage ≈ exp(a·k^b)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """P(at least one correct among k of n samples, c of them correct), without replacement."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def vote(answers: list[str | None], correct: list[bool], weights: list[float] | None = None) -> float:
    """Credit of picking the answer with the most (weighted) votes; None (no extractable answer) never wins;
    a tie is split evenly among the tied answers."""
    score: dict[str, float] = defaultdict(float)
    right: dict[str, bool] = {}
    for i, a in enumerate(answers):
        if a is None:
            continue
        score[a] += 1.0 if weights is None else weights[i]
        right[a] = right.get(a, False) or correct[i]
    if not score:
        return 0.0
    top = max(score.values())
    tied = [a for a, s in score.items() if math.isclose(s, top, rel_tol=1e-12, abs_tol=1e-12)]
    return sum(right[a] for a in tied) / len(tied)


def vote_at_k(answers: list[str | None], correct: list[bool], k: int, weights: list[float] | None = None,
              draws: int = 200, seed: int = 0) -> float:
    """Expected vote credit over random k-subsets of one problem's samples (exact when k equals their number)."""
    n = len(answers)
    if not 1 <= k <= n:
        raise ValueError(f"vote@k needs 1 <= k <= n (n={n}, k={k})")
    if k == n:
        return vote(answers, correct, weights)
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(draws):
        idx = rng.choice(n, size=k, replace=False)
        total += vote([answers[i] for i in idx], [correct[i] for i in idx], None if weights is None else [weights[i] for i in idx])
    return total / draws


def interval(per_problem: list[float], level: float = 0.95, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap over problems."""
    x = np.asarray(per_problem, dtype=float)
    if x.size == 0:
        raise ValueError("no problems")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(x.mean()), float(lo), float(hi)


def fit_coverage(ks: list[int], coverage: list[float]) -> dict | None:
    """coverage ≈ exp(a·k^b) by least squares on log(−log coverage) = log(−a) + b·log k, over points strictly
    between 0 and 1 (at least two); None when there are too few."""
    pts = [(k, c) for k, c in zip(ks, coverage) if 0 < c < 1]
    if len(pts) < 2:
        return None
    x = np.log([k for k, _ in pts])
    y = np.log([-math.log(c) for _, c in pts])
    b, log_neg_a = np.polyfit(x, y, 1)
    a = -math.exp(log_neg_a)
    pred = [math.exp(a * k ** b) for k, _ in pts]
    return {"a": a, "b": float(b), "points": len(pts),
            "max_abs_error": max(abs(p - c) for p, (_, c) in zip(pred, pts))}


def predicted_coverage(fit: dict, k: float) -> float:
    return math.exp(fit["a"] * k ** fit["b"])
