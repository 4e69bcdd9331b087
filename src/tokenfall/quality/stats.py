"""Accuracy intervals and paired comparisons, so a "drop" is called only when the data support it, and a
"no drop" only when the data could have shown one."""

from __future__ import annotations

import math

import numpy as np

from tokenfall.types import Paired

POWER = 0.8  # the power at which the detectable drop is stated


def wilson(correct: int, n: int, level: float = 0.95) -> tuple[float, float]:
    from scipy.stats import binomtest

    if n == 0:
        return (0.0, 1.0)
    ci = binomtest(correct, n).proportion_ci(confidence_level=level, method="wilson")
    return (float(ci.low), float(ci.high))


def paired(cand: np.ndarray, ref: np.ndarray, alpha: float = 0.05, resamples: int = 2000, seed: int = 0) -> Paired:
    """Candidate vs reference on the same items.

    Non-inferiority: the one-sided (1 - alpha) upper bound of the accuracy drop, from the Agresti-Min
    interval of a paired difference (half an item added to each cell of the 2x2 table, which keeps the
    bound honest when few items disagree). The detectable drop is the true drop this test would flag with
    80% power at the observed rate of disagreeing items. McNemar's exact test and a paired-bootstrap 95%
    interval are kept for reading."""
    from scipy.stats import binomtest, norm

    cand, ref = np.asarray(cand, bool), np.asarray(ref, bool)
    n = len(cand)
    ref_only, cand_only = int((ref & ~cand).sum()), int((cand & ~ref).sum())
    p = float(binomtest(ref_only, ref_only + cand_only, 0.5).pvalue) if ref_only + cand_only else 1.0
    diff = cand.astype(float) - ref.astype(float)
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    boot = diff[idx].mean(axis=1) * 100
    b, c, m = ref_only + 0.5, cand_only + 0.5, n + 2
    se = math.sqrt(max(b + c - (c - b) ** 2 / m, 0.0)) / m
    z = float(norm.ppf(1 - alpha))
    return Paired(reference_acc=float(ref.mean()), diff_pp=float(diff.mean() * 100),
                  diff_ci_pp=(float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))),
                  ref_only=ref_only, cand_only=cand_only, p_value=p, significant_drop=p < alpha and ref_only > cand_only,
                  drop_upper_pp=100 * ((b - c) / m + z * se),
                  detectable_pp=100 * (z + float(norm.ppf(POWER))) * math.sqrt(b + c) / m)


def above_chance(correct: int, n: int, chance: float | None) -> bool:
    """Whether an accuracy is clearly above chance (its Wilson 95% interval excludes it). A task the
    reference cannot do above chance cannot show a drop, so it is reported but does not count."""
    return chance is None or wilson(correct, n)[0] > chance
