"""Test-time compute curves: exact arithmetic of pass@k, votes, intervals and the coverage fit."""

import itertools
import math

import pytest

from tokenfall.ttc import curves


def test_pass_at_k_is_the_without_replacement_probability():
    n, c = 10, 3
    for k in range(1, n + 1):
        subsets = list(itertools.combinations(range(n), k))
        exact = sum(any(i < c for i in s) for s in subsets) / len(subsets)
        assert curves.pass_at_k(n, c, k) == pytest.approx(exact)
    assert curves.pass_at_k(5, 0, 3) == 0.0 and curves.pass_at_k(5, 3, 3) == 1.0
    with pytest.raises(ValueError, match="1 <= k <= n"):
        curves.pass_at_k(5, 1, 6)


def test_selection_credits_and_ties():
    at = lambda *a, **kw: curves.select_at_k(*a, **kw)  # noqa: E731
    assert at(["4", "4", "5"], [True, True, False], 3)["majority"] == 1.0
    assert at(["4", "5", None, None], [True, False, False, False], 4)["majority"] == 0.5  # a tie: half credit
    assert at([None, None], [False, False], 2)["majority"] == 0.0
    # weighted: one confident right answer beats two unsure wrong ones
    assert at(["4", "5", "5"], [True, False, False], 3, weights=[3.0, 1.0, 1.0])["weighted"] == 1.0
    # verifier: the highest-scored answer; early stopping: the first accepted sample, in order
    r = at(["5", "4", "5"], [False, True, False], 3, scores={"4": 0.9, "5": 0.6}, accept=0.5)
    assert r["verifier"] == 1.0 and r["distinct"] == 2
    assert r["early"] == 0.0 and r["early_used"] == 1 and r["early_distinct"] == 1
    r = at(["5", "4"], [False, True], 2, scores={"4": 0.4, "5": 0.3}, accept=0.5)  # nothing accepted: the best of all
    assert r["early"] == 1.0 and r["early_used"] == 2


def test_selection_over_subsets_matches_enumeration():
    answers, correct = ["4", "5", "5", "4", "4"], [True, False, False, True, True]
    scores = {"4": 0.3, "5": 0.8}
    subsets = list(itertools.combinations(range(5), 3))
    exact = [curves.select_at_k([answers[i] for i in s], [correct[i] for i in s], 3, scores=scores) for s in subsets]
    mc = curves.select_at_k(answers, correct, 3, scores=scores, draws=4000, seed=1)
    for key in ("majority", "verifier", "distinct"):
        assert mc[key] == pytest.approx(sum(e[key] for e in exact) / len(exact), abs=0.03)
    assert curves.select_at_k(answers, correct, 5)["majority"] == 1.0
    assert curves.select_at_k(answers, correct, 3, seed=7) == curves.select_at_k(answers, correct, 3, seed=7)  # seeded
    with pytest.raises(ValueError, match="1 <= k <= n"):
        curves.select_at_k(answers, correct, 6)


def test_bootstrap_interval_over_problems():
    m, lo, hi = curves.interval([0.0, 1.0] * 50, seed=3)
    assert m == 0.5 and lo < 0.5 < hi and hi - lo == pytest.approx(2 * 1.96 * 0.05, rel=0.2)
    assert curves.interval([0.25] * 10) == (0.25, 0.25, 0.25)


def test_coverage_fit_recovers_an_exponentiated_power_law():
    a, b = -2.0, -0.4
    ks = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000]
    cov = [math.exp(a * k ** b) for k in ks]
    fit = curves.fit_coverage(ks, cov)
    assert fit["a"] == pytest.approx(a) and fit["b"] == pytest.approx(b) and fit["max_abs_error"] < 1e-9
    assert curves.predicted_coverage(fit, 2000) == pytest.approx(math.exp(a * 2000 ** b))
    assert curves.fit_coverage([1, 2], [0.0, 1.0]) is None
