"""The quality gate: bounds on fidelity and on accuracy drops, checked against one evaluation.

Accuracy is gated on non-inferiority: a task passes only when the one-sided upper bound of its drop is
below the margin, so a small sample fails rather than passes by default. A task the reference does not do
clearly above chance is reported as uninformative and not counted. A bound whose measurement is missing
fails (a gate cannot pass on evidence not taken)."""

from __future__ import annotations

from tokenfall.quality.stats import above_chance
from tokenfall.types import Fidelity, Gate, GateVerdict, TaskResult


def informative(t: TaskResult) -> bool:
    """Whether the reference does the task clearly above chance (only then can a drop show)."""
    return t.paired is None or above_chance(round(t.paired.reference_acc * t.n), t.n, t.chance)


def check(gate: Gate, fidelity: Fidelity | None, tasks: list[TaskResult]) -> GateVerdict:
    checks: list[tuple[bool, str]] = []

    def bound(name: str, limit: float | None, value: float | None, upper: bool, fmt: str) -> None:
        if limit is None:
            return
        if value is None:
            checks.append((False, f"{name}: not measured (bound {limit:{fmt}}) FAIL"))
            return
        ok = value <= limit if upper else value >= limit
        checks.append((ok, f"{name} {value:{fmt}} {'<=' if upper else '>='} {limit:{fmt}} {'pass' if ok else 'FAIL'}"))

    bound("KLD mean", gate.max_kld, fidelity and fidelity.kld_mean, True, ".4g")
    bound("top-1 agreement", gate.min_top1, fidelity and fidelity.top1_agreement, False, ".3f")
    bound("perplexity ratio", gate.max_ppl_ratio, fidelity and fidelity.ppl_ratio, True, ".4f")
    if gate.max_acc_drop is not None:
        paired = [t for t in tasks if t.paired is not None]
        if not paired:
            checks.append((False, f"accuracy drop: no task compared with the reference (bound {gate.max_acc_drop} pp) FAIL"))
        counted = 0
        for t in paired:
            p = t.paired
            if not informative(t):
                checks.append((True, f"{t.name}: reference {p.reference_acc:.3f} is not clearly above chance ({t.chance:.2f}) "
                                     f"on {t.n} items, so it cannot show a drop: uninformative, not counted"))
                continue
            counted += 1
            ok = p.drop_upper_pp < gate.max_acc_drop
            checks.append((ok, f"{t.name} {t.metric} drop {-p.diff_pp:+.1f} pp, upper bound {p.drop_upper_pp:.1f} pp "
                               f"{'<' if ok else '>='} margin {gate.max_acc_drop:g} pp (one-sided {1 - gate.alpha:.0%}, n={t.n}; "
                               f"detectable drop {p.detectable_pp:.1f} pp) {'pass' if ok else 'FAIL'}"))
        if paired and not counted:
            checks.append((True, "accuracy: no task the reference does clearly above chance; the gate rests on fidelity alone"))
    return GateVerdict(passed=all(ok for ok, _ in checks), checks=[c for _, c in checks])
