"""The quality gate: bounds on fidelity and on accuracy drops, checked against one evaluation.

An accuracy drop fails the gate only when it exceeds the allowed points *and* McNemar's test calls it
significant; a bound whose measurement is missing fails (a gate cannot pass on evidence not taken)."""

from __future__ import annotations

from tokenfall.types import Fidelity, Gate, GateVerdict, TaskResult


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
        for t in paired:
            p = t.paired
            drop = -p.diff_pp
            ok = not (drop > gate.max_acc_drop and p.ref_only > p.cand_only and p.p_value < gate.alpha)
            checks.append((ok, f"{t.name} {t.metric} drop {drop:+.1f} pp (p={p.p_value:.3g}, bound {gate.max_acc_drop} pp "
                               f"at alpha {gate.alpha}) {'pass' if ok else 'FAIL'}"))
    return GateVerdict(passed=all(ok for ok, _ in checks), checks=[c for _, c in checks])
