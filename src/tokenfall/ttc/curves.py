"""Accuracy of N-sample strategies from a fixed pool of graded samples per problem, with intervals.

pass@k is the unbiased estimator of Chen et al. (2021) — the chance that at least one of k samples drawn
without replacement from the n taken is correct — averaged over problems. Votes (majority, log-probability
weighted) have no closed form over subsets, so their expected accuracy at k is averaged over seeded random
k-subsets; ties count as the share of tied answers that are correct (a fair coin among them). A verifier's pick
and early stopping (take samples until the verifier accepts one) are credited the same way. Intervals are
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


def select_at_k(answers: list[str | None], correct: list[bool], k: int, weights: list[float] | None = None,
                scores: dict[str, float] | None = None, accept: float = 0.5, draws: int = 200, seed: int = 0) -> dict:
    """Expected credit of each selection strategy on one problem's samples, over random k-subsets (the samples in
    their own order when k is all of them). A sample without an extractable answer (None) never wins; ties split
    the credit. ``majority``: most votes; ``weighted``: most summed ``weights``; ``verifier``: the answer the
    verifier ``scores`` highest; ``early``: take samples in order and stop at the first the verifier accepts
    (score >= ``accept``), else the verifier's pick of all k. ``distinct``/``early_distinct`` are the distinct
    answers verified, ``early_used`` the samples drawn before stopping — what those strategies pay for."""
    n = len(answers)
    if not 1 <= k <= n:
        raise ValueError(f"selection at k needs 1 <= k <= n (n={n}, k={k})")
    labels = sorted({a for a in answers if a is not None})
    code = {a: i for i, a in enumerate(labels)}
    codes = np.array([code.get(a, -1) if a is not None else -1 for a in answers], dtype=int)
    right = np.zeros(len(labels), dtype=bool)
    for c, ok in zip(codes, correct):
        if c >= 0:
            right[c] |= bool(ok)
    w = None if weights is None else np.asarray(weights, dtype=float)
    score = None if scores is None else np.array([scores.get(a, 0.0) for a in labels], dtype=float)
    sample_score = None if score is None else np.where(codes >= 0, score[np.maximum(codes, 0)], -1.0)

    def top(values: np.ndarray, present: np.ndarray) -> float:
        if not present.any():
            return 0.0
        best = values[present].max()
        tied = present & np.isclose(values, best, rtol=1e-12, atol=1e-12)
        return float(right[tied].mean())

    rng = np.random.default_rng(seed)
    subsets = [np.arange(n)] if k == n else [rng.choice(n, size=k, replace=False) for _ in range(draws)]
    acc: dict[str, float] = defaultdict(float)
    for idx in subsets:
        c = codes[idx]
        valid = c[c >= 0]
        counts = np.bincount(valid, minlength=len(labels)).astype(float)
        acc["majority"] += top(counts, counts > 0)
        if w is not None:
            acc["weighted"] += top(np.bincount(valid, weights=w[idx][c >= 0], minlength=len(labels)), counts > 0)
        if score is not None:
            pick = top(score, counts > 0)
            acc["verifier"] += pick
            acc["distinct"] += float((counts > 0).sum())
            hit = np.flatnonzero(sample_score[idx] >= accept)
            if hit.size:
                j = int(hit[0])
                acc["early"] += float(right[c[j]])
                acc["early_used"] += j + 1
                acc["early_distinct"] += len(set(c[:j + 1][c[:j + 1] >= 0].tolist()))
            else:
                acc["early"] += pick
                acc["early_used"] += k
                acc["early_distinct"] += float((counts > 0).sum())
    return {key: v / len(subsets) for key, v in acc.items()}


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
