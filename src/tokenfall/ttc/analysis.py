"""From stored samples to priced curves: accuracy with intervals vs spend per problem for every strategy and k,
the coverage fit, where majority voting stops paying, and the compute-optimal choice.

Spend of a strategy at k samples, per problem (means over problems):
- tokens: prompt tokens computed + k x mean generated tokens per sample (+ verifier prompt tokens per answer checked);
- seconds: prefill seconds + k x decode seconds per sample (+ verifier seconds per answer checked);
(prompt tokens a later wave of samples recomputes count per sample, not per problem: see ``_once``)
- $: seconds x the hardware's $/engine-second.
A sample is charged the decode time it took with n samples in flight, the batched rate a server sampling many
problems at once reaches; run k samples alone and each costs more (benchmarks/ttc_sampling.py measures by how much).
"""

from __future__ import annotations

import numpy as np

from tokenfall.ttc.curves import fit_coverage, interval, pass_at_k, select_at_k
from tokenfall.types import Problem, Searched, TtcPoint

def default_ks(n: int) -> list[int]:
    ks = [1 << i for i in range(n.bit_length()) if 1 << i <= n]
    return ks + ([n] if ks[-1] != n else [])


def _weights(p: Problem) -> list[float]:
    """A sample's vote: its mean per-token probability (exp of the mean log-probability)."""
    return [float(np.exp(lp / t)) if lp is not None and t else 0.0 for lp, t in zip(p.logprobs, p.tokens)]


def _once(p: Problem) -> tuple[float, float, float, float]:
    """The prompt's share paid once per problem (tokens, seconds) and the rest, paid per sample (tokens per sample,
    seconds for all): beyond the prompt's own length, what the engine computed was the token each later wave of
    samples recomputes from the prefix cache, which a smaller k would not pay for. Seconds split as tokens do."""
    if p.prompt_computed <= p.prompt_tokens or p.prompt_computed == 0:
        return float(p.prompt_computed), p.prefill_s, 0.0, 0.0
    share = p.prompt_tokens / p.prompt_computed
    return float(p.prompt_tokens), p.prefill_s * share, (p.prompt_computed - p.prompt_tokens) / len(p.texts), p.prefill_s * (1 - share)


def points(problems: list[Problem], ks: list[int], usd_per_s: float, accept: float, seed: int = 0) -> list[TtcPoint]:
    """Every strategy at every k, priced."""
    n = min(len(p.texts) for p in problems)
    verified = all(p.scores or not any(a is not None for a in p.answers) for p in problems) and any(p.scores for p in problems)
    per = {key: {k: [] for k in ks} for key in ("coverage", "majority", "weighted", "verifier", "early")}
    used = {key: {k: [] for k in ks} for key in ("distinct", "early_used", "early_distinct")}
    for i, p in enumerate(problems):
        w = _weights(p) if all(lp is not None for lp in p.logprobs) else None
        for k in ks:
            per["coverage"][k].append(pass_at_k(n, sum(p.correct[:n]), k))
            sel = select_at_k(p.answers[:n], p.correct[:n], k, weights=w, scores=p.scores if verified else None,
                              accept=accept, seed=seed + i)
            for key, v in sel.items():
                (per if key in per else used)[key][k].append(v)
    once = [_once(p) for p in problems]
    prompt_tok, prefill_s = float(np.mean([o[0] for o in once])), float(np.mean([o[1] for o in once]))
    sample_tok = float(np.mean([np.mean(p.tokens) + o[2] for p, o in zip(problems, once)]))
    sample_s = float(np.mean([(p.decode_s + o[3]) / len(p.texts) for p, o in zip(problems, once)]))
    check = [(p.verify_s / len(p.scores), p.verify_tokens / len(p.scores)) for p in problems if p.scores]
    check_s, check_tok = (float(np.mean([c[0] for c in check])), float(np.mean([c[1] for c in check]))) if check else (0.0, 0.0)
    out = []
    for key, by_k in per.items():
        for k in ks:
            if not by_k[k]:
                continue
            samples, checks = k, 0.0
            if key == "verifier":
                checks = float(np.mean(used["distinct"][k]))
            elif key == "early":
                samples, checks = float(np.mean(used["early_used"][k])), float(np.mean(used["early_distinct"][k]))
            sec = prefill_s + samples * sample_s + checks * check_s
            acc, lo, hi = interval(by_k[k], seed=seed)
            out.append(TtcPoint(strategy=key, k=k, acc=acc, lo=lo, hi=hi, tokens=prompt_tok + samples * sample_tok + checks * check_tok,
                                seconds=sec, usd=sec * usd_per_s, deployable=key != "coverage"))
    return out


def searched_points(results: list[Searched], budget: int, usd_per_s: float, seed: int = 0) -> list[TtcPoint]:
    out = []
    for method in ("beam", "mcts"):
        rs = [r for r in results if r.method == method]
        if not rs:
            continue
        acc, lo, hi = interval([float(r.correct) for r in rs], seed=seed)
        sec = float(np.mean([r.seconds for r in rs]))
        out.append(TtcPoint(strategy=method, k=budget, acc=acc, lo=lo, hi=hi, seconds=sec, usd=sec * usd_per_s,
                            tokens=float(np.mean([r.tokens + r.prompt_computed for r in rs]))))
    return out


def coverage_fit(pts: list[TtcPoint]) -> dict | None:
    cov = sorted((p.k, p.acc) for p in pts if p.strategy == "coverage")
    return fit_coverage([k for k, _ in cov], [c for _, c in cov]) if cov else None


def plateau(pts: list[TtcPoint], within: float = 0.01) -> int | None:
    """The smallest k whose majority-vote accuracy is within ``within`` of the best k's."""
    maj = sorted((p.k, p.acc) for p in pts if p.strategy == "majority")
    if not maj:
        return None
    best = max(a for _, a in maj)
    return next(k for k, a in maj if a >= best - within)


def frontier(pts: list[TtcPoint]) -> list[TtcPoint]:
    """Deployable points that no cheaper (or equally cheap) point matches in accuracy, cheapest first."""
    out: list[TtcPoint] = []
    for p in sorted((p for p in pts if p.deployable), key=lambda p: (p.usd, -p.acc)):
        if not out or p.acc > out[-1].acc:
            out.append(p)
    return out


def choose(pts: list[TtcPoint], budget_usd: float | None, target: float | None) -> dict | None:
    """The most accurate deployable point within a $ budget per problem, and the cheapest reaching a target accuracy."""
    front = frontier(pts)
    if not front or (budget_usd is None and target is None):
        return None
    out: dict = {}
    if budget_usd is not None:
        fit = [p for p in front if p.usd <= budget_usd]
        out["budget_usd"] = budget_usd
        out["within_budget"] = fit[-1].model_dump() if fit else None
        if not fit:
            out["note"] = f"no strategy fits ${budget_usd:.3g} per problem; one sample costs ${front[0].usd:.3g}"
    if target is not None:
        hit = [p for p in front if p.acc >= target]
        out["target"] = target
        out["reaching_target"] = hit[0].model_dump() if hit else None
        if not hit:
            out.setdefault("note", f"no strategy reaches {target:.0%}; the best measured is {front[-1].acc:.1%}")
    return out
