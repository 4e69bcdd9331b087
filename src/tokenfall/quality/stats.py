"""Accuracy intervals and paired comparisons, so a "drop" is called only when the data support it."""

from __future__ import annotations

import numpy as np

from tokenfall.types import Paired


def wilson(correct: int, n: int, level: float = 0.95) -> tuple[float, float]:
    from scipy.stats import binomtest

    if n == 0:
        return (0.0, 1.0)
    ci = binomtest(correct, n).proportion_ci(confidence_level=level, method="wilson")
    return (float(ci.low), float(ci.high))


def paired(cand: np.ndarray, ref: np.ndarray, alpha: float = 0.05, resamples: int = 2000, seed: int = 0) -> Paired:
    """McNemar's exact test (two-sided binomial on the discordant items) plus a paired bootstrap
    interval of the accuracy difference. A significant drop: p < alpha and the reference wins more."""
    from scipy.stats import binomtest

    cand, ref = np.asarray(cand, bool), np.asarray(ref, bool)
    ref_only, cand_only = int((ref & ~cand).sum()), int((cand & ~ref).sum())
    p = float(binomtest(ref_only, ref_only + cand_only, 0.5).pvalue) if ref_only + cand_only else 1.0
    diff = cand.astype(float) - ref.astype(float)
    idx = np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))
    boot = diff[idx].mean(axis=1) * 100
    return Paired(reference_acc=float(ref.mean()), diff_pp=float(diff.mean() * 100),
                  diff_ci_pp=(float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))),
                  ref_only=ref_only, cand_only=cand_only, p_value=p, significant_drop=p < alpha and ref_only > cand_only)
