"""A ttc run shown: the console table, the statements under it, the report's charts (accuracy vs $ per problem,
one line per strategy; coverage vs k with its fit) and tables — all from the stored summary."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from tokenfall.types import Run, TtcPoint, TtcSummary

LABELS = {"coverage": "coverage (pass@k, oracle ceiling)", "majority": "majority vote", "weighted": "log-prob weighted vote",
          "verifier": "best-of-k by verifier", "early": "verifier early stop", "beam": "beam search", "mcts": "MCTS"}


def _k(p: TtcPoint) -> str:
    return f"{p.k} tok" if p.strategy in ("beam", "mcts") else str(p.k)


HEAD = ("strategy", "k", "accuracy", "95% interval", "tokens", "engine s", "$ / problem", "$ / solved")


def _row(p: TtcPoint) -> list[str]:
    """One point as the console table and the report show it (the report without $ / solved)."""
    return [LABELS.get(p.strategy, p.strategy), _k(p), f"{p.acc:.1%}", f"{p.lo:.1%}–{p.hi:.1%}", f"{p.tokens:,.0f}",
            f"{p.seconds:.3g}", f"{p.usd:.3g}", f"{p.usd / p.acc:.3g}" if p.acc > 0 else "-"]


def statements(run: Run) -> list[str]:
    """What the curves say, in numbers that trace to this run."""
    s: TtcSummary = run.summary
    one = next((p for p in s.points if p.strategy == "majority" and p.k == 1), None)
    lines = [f"{s.model.name} on {s.task}: {s.problems} problems x {s.n} samples (temperature {s.temperature:g}, top-p {s.top_p:g}), "
             f"run {run.id}",
             f"prefill once: {s.prompt_computed:.1f} prompt tokens computed per problem for {s.n} samples of a {s.prompt_tokens:.1f}-token "
             f"prompt ({s.prompt_computed / max(s.prompt_tokens, 1e-9):.2f}x the prompt, not {s.n}x); "
             f"{s.samples_per_s:.1f} samples/s, {s.output_tokens_per_s:.0f} output tokens/s of engine time"]
    if one:
        lines.append(f"one sample: {one.acc:.1%} [{one.lo:.1%}, {one.hi:.1%}] at ${one.usd:.3g} per problem")
    if s.coverage_fit:
        f = s.coverage_fit
        cov = sorted((p.k, p.acc) for p in s.points if p.strategy == "coverage")
        lines.append(f"coverage grows from {cov[0][1]:.1%} (k={cov[0][0]}) to {cov[-1][1]:.1%} (k={cov[-1][0]}); fit coverage = "
                     f"exp({f['a']:.3f}·k^{f['b']:.3f}) over {f['points']} points, max error {f['max_abs_error']:.3f}")
    if s.majority_plateau is not None:
        best = max(p.acc for p in s.points if p.strategy == "majority")
        lines.append(f"majority vote plateaus at k={s.majority_plateau} (within 1 pp of its best, {best:.1%})")
    if s.frontier:
        lines.append("cheapest way to each accuracy: " + "; ".join(
            f"{p.acc:.1%} by {LABELS.get(p.strategy, p.strategy)} k={_k(p)} (${p.usd:.3g})" for p in s.frontier))
    if s.choice:
        c = s.choice
        if c.get("within_budget"):
            p = c["within_budget"]
            lines.append(f"within ${c['budget_usd']:.3g} per problem: {LABELS.get(p['strategy'])} at k={p['k']}, {p['acc']:.1%} "
                         f"[{p['lo']:.1%}, {p['hi']:.1%}] for ${p['usd']:.3g}")
        if c.get("reaching_target"):
            p = c["reaching_target"]
            lines.append(f"cheapest to reach {c['target']:.0%}: {LABELS.get(p['strategy'])} at k={p['k']}, {p['acc']:.1%} for ${p['usd']:.3g}")
        if c.get("note"):
            lines.append(c["note"])
    if s.comparison:
        c = s.comparison
        small = (f"{s.model.name} at the same cost: {LABELS.get(c.small.strategy)} k={c.small.k}, {c.small.acc:.1%} "
                 f"[{c.small.lo:.1%}, {c.small.hi:.1%}]" if c.small else f"{s.model.name}: no point costs this little")
        lines.append(f"{c.model.name} x 1: {c.acc:.1%} [{c.lo:.1%}, {c.hi:.1%}] at ${c.usd:.3g} per problem "
                     f"(= {c.k_equal_cost:.1f} samples of {s.model.name}); {small}")
    return lines


def print_ttc(out: Console, run: Run) -> None:
    s: TtcSummary = run.summary
    t = Table(title=f"ttc run {run.id}: accuracy vs spend per problem", title_justify="left")
    for col in HEAD:
        t.add_column(col, justify="left" if col == "strategy" else "right")
    for p in s.points:
        t.add_row(*_row(p))
    out.print(t)
    for line in statements(run):
        out.print(line, highlight=False, markup=False)
    for a in s.assumptions:
        out.print(f"- {a}", highlight=False, markup=False)


def charts(run: Run) -> list[dict]:
    s: TtcSummary = run.summary
    series = []
    for strat, label in LABELS.items():
        pts = sorted((p for p in s.points if p.strategy == strat), key=lambda p: p.usd)
        if pts:
            series.append({"name": label, "mode": "lines+markers" if len(pts) > 1 else "markers", "x": [p.usd for p in pts],
                           "y": [p.acc * 100 for p in pts], "err": [(p.acc - p.lo) * 100 for p in pts],
                           "err_plus": [(p.hi - p.acc) * 100 for p in pts],
                           "text": [f"k={_k(p)}: {p.acc:.1%} [{p.lo:.1%}, {p.hi:.1%}], {p.tokens:,.0f} tokens · run {run.id}" for p in pts]})
    if s.comparison:
        c = s.comparison
        series.append({"name": f"{c.model.name} x 1", "mode": "markers", "x": [c.usd], "y": [c.acc * 100], "size": 12,
                       "err": [(c.acc - c.lo) * 100], "err_plus": [(c.hi - c.acc) * 100], "text": [f"{c.acc:.1%} · run {run.id}"]})
    out = [{"id": "ttc-cost", "title": f"{s.task}: accuracy vs $ per problem ({s.model.name}, {s.problems} problems)",
            "x": "$ per problem (log)", "y": "accuracy (%)", "log_x": True, "kind": "scatter", "series": series}]
    cov = sorted((p for p in s.points if p.strategy == "coverage"), key=lambda p: p.k)
    if cov:
        cs = [{"name": "coverage (measured)", "mode": "markers", "x": [p.k for p in cov], "y": [p.acc * 100 for p in cov],
               "text": [f"{p.acc:.1%} · run {run.id}" for p in cov]}]
        if s.coverage_fit:
            import math

            f = s.coverage_fit
            ks = [cov[0].k * (cov[-1].k / cov[0].k) ** (i / 40) for i in range(41)]
            cs.append({"name": f"exp({f['a']:.2f}·k^{f['b']:.2f})", "mode": "lines", "x": ks,
                       "y": [100 * math.exp(f["a"] * k ** f["b"]) for k in ks], "text": ["fit"] * len(ks)})
        maj = sorted((p for p in s.points if p.strategy == "majority"), key=lambda p: p.k)
        cs.append({"name": "majority vote", "mode": "lines+markers", "x": [p.k for p in maj], "y": [p.acc * 100 for p in maj],
                   "text": [f"{p.acc:.1%}" for p in maj]})
        out.append({"id": "ttc-coverage", "title": "Coverage and majority vote vs samples per problem", "x": "k samples (log)",
                    "y": "accuracy (%)", "log_x": True, "kind": "scatter", "series": cs})
    return out


def sections(run: Run) -> list[tuple[str, list[str], list[list]]]:
    s: TtcSummary = run.summary
    return [(f"ttc run {run.id}: {s.task}", list(HEAD[:-1]), [_row(p)[:-1] for p in s.points]),
            ("what the curves say", ["", ""], [[str(i + 1), line] for i, line in enumerate(statements(run))]),
            ("assumptions", ["", ""], [[str(i + 1), a] for i, a in enumerate(s.assumptions)])]
