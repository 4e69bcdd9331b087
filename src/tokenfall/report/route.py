"""A route run and a specialize result on the console, and the route run's chart: quality vs cost per request for
every router, the two models alone at the ends."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from tokenfall.types import Run


def _pct(x, ci=None) -> str:
    if x is None:
        return "-"
    return f"{x:.1%}" + (f" [{ci[0]:.1%}, {ci[1]:.1%}]" if ci else "")


def _usd(x: float) -> str:
    return f"{x * 1e6:,.2f}"


def print_route(out: Console, run: Run) -> None:
    s = run.summary
    t = Table(title=f"route run {run.id}: {s.n_test} test requests ({s.n_train} trained the classifier); cost in µ$ per request")
    for col in ("model", "in-domain", "general", "µ$/request", "$/M tokens", "µs/token"):
        t.add_column(col, justify="right")
    for label, m in (("small", s.small), ("general", s.large)):
        t.add_row(f"{label}: {m.model.ref}", _pct(m.quality_domain, m.ci_domain), _pct(m.quality_general, m.ci_general),
                  _usd(m.usd_per_request), f"{m.usd_per_m_tokens:.4f}", f"{m.seconds_per_token * 1e6:.0f}")
    out.print(t)
    out.print(f"in-domain gap, general − small: {s.gap_domain:+.1%} [{s.gap_domain_ci[0]:+.1%}, {s.gap_domain_ci[1]:+.1%}] (paired, 95%)",
              highlight=False)
    r = Table(title="routers (APGR: random = 0.5; CPT(x): share of calls to the general model recovering x of the gap)")
    for col in ("router", "APGR [95%]", "vs random", "CPT(50%)", "CPT(80%)", "at floor: share", "in-domain", "general",
                "µ$/request", "vs all-general", "threshold"):
        r.add_column(col, justify="right")
    for c in s.routers:
        if c.note:
            r.add_row(c.name, c.note)
            continue
        f = c.at_floor
        verdict = "-" if c.beats_random is None else ("beats random" if c.beats_random else "NOT better than random")
        r.add_row(c.name, "-" if c.apgr is None else f"{c.apgr:.3f}" + (f" [{c.apgr_ci[0]:.3f}, {c.apgr_ci[1]:.3f}]" if c.apgr_ci else ""),
                  verdict, _pct(c.cpt50), _pct(c.cpt80), _pct(f.share_large) if f else "none keeps the floor",
                  _pct(f.quality_domain, f.ci_domain) if f else "-", _pct(f.quality_general, f.ci_general) if f else "-",
                  _usd(f.usd_per_request) if f else "-", f"{f.usd_per_request / s.large.usd_per_request:.2f}x" if f else "-",
                  f"{f.threshold:.4g}" if f else "-")
    out.print(r)
    for c in s.routers:
        if c.file:
            out.print(f"router {c.name} at its floor point: {c.file}", highlight=False)
    for a in s.assumptions:
        out.print(f"  - {a}", highlight=False)


def print_specialize(out: Console, res: dict) -> None:
    lin = res["lineage"]
    out.print(f"{res['specialist']['path']}: {lin.get('steps_done')} steps, {int(lin.get('tokens_seen', 0)):,} tokens in "
              f"{float(lin.get('train_seconds', 0)):,.0f} s; loss {lin.get('loss_first')} -> {lin.get('loss_last')}; "
              f"teacher: {res['teacher'] or 'none (other tokenizer: cross-entropy on the corpus alone)'}", highlight=False)
    names = sorted({n for r in res["rows"] for n in r["tasks"]})
    t = Table(title=f"in-domain: {res['domain_items']} 'which continuation is real' requests from held-out text (4 choices)")
    for col in ["model", "params", "MB", "in-domain [95%]"] + names + ["tok/s c=1", "tok/s c=16", "$/M out c=16", "bench run"]:
        t.add_column(col, justify="right")
    for r in res["rows"]:
        t.add_row(r["label"], f"{r['n_params']:,}", f"{r['size_bytes'] / 1e6:,.1f}", _pct(r["domain"], r["domain_ci"]),
                  *[_pct(r["tasks"][n]["acc"], r["tasks"][n]["ci"]) if n in r["tasks"] else "-" for n in names],
                  *(f"{r[k]:,.1f}" if r.get(k) is not None else "-" for k in ("decode_tok_s_c1", "decode_tok_s_c16")),
                  f"{r['usd_per_m_output_c16']:.4f}" if r.get("usd_per_m_output_c16") is not None else "-", r.get("bench_run", "-"))
    out.print(t)
    g, ci = res["gap_general_minus_specialist"], res["gap_ci"]
    out.print(f"in-domain gap, general − specialist: {g:+.1%} [{ci[0]:+.1%}, {ci[1]:+.1%}]; specialist − base: "
              f"{res['gain_over_base']:+.1%} [{res['gain_ci'][0]:+.1%}, {res['gain_ci'][1]:+.1%}] (paired bootstrap, 95%)", highlight=False)


def charts(run: Run) -> list[dict]:
    """In-domain quality vs µ$ per request for every router (Wilson intervals), the two models alone as markers."""
    s = run.summary
    series = [{"name": c.name, "mode": "lines+markers", "x": [p.usd_per_request * 1e6 for p in c.points],
               "y": [p.quality_domain * 100 for p in c.points], "err": [(p.quality_domain - p.ci_domain[0]) * 100 for p in c.points],
               "err_plus": [(p.ci_domain[1] - p.quality_domain) * 100 for p in c.points],
               "text": [f"{p.share_large:.0%} to the general model, threshold {p.threshold:.3g} · run {run.id}" for p in c.points]}
              for c in s.routers]
    series += [{"name": f"{label} alone", "mode": "markers", "size": 12, "x": [m.usd_per_request * 1e6], "y": [m.quality_domain * 100],
                "err": [(m.quality_domain - m.ci_domain[0]) * 100], "err_plus": [(m.ci_domain[1] - m.quality_domain) * 100],
                "text": [f"{m.model.ref} · run {run.id}"]} for label, m in (("small", s.small), ("general", s.large))]
    return [{"id": "route-cost", "title": f"in-domain accuracy vs µ$ per request ({s.n_test} test requests)",
             "x": "µ$ per request", "y": "in-domain accuracy (%)", "log_x": False, "kind": "scatter", "series": series}]


def sections(run: Run) -> list[tuple[str, list[str], list[list]]]:
    s = run.summary
    rows = [[c.name, p.threshold, f"{p.share_large:.1%}", _pct(p.quality_domain, p.ci_domain), _pct(p.quality_general, p.ci_general),
             _usd(p.usd_per_request), f"{p.random_quality:.1%}"] for c in s.routers for p in c.points]
    metrics = [[c.name, c.apgr, c.apgr_ci, c.cpt50, c.cpt80, c.beats_random] for c in s.routers]
    return [(f"route run {run.id}: router curves (test split)", ["router", "threshold", "share to general", "in-domain", "general",
                                                                 "µ$/request", "random at same share"], rows),
            ("RouteLLM metrics", ["router", "APGR", "APGR 95%", "CPT(50%)", "CPT(80%)", "beats random"], metrics),
            ("assumptions", ["", ""], [[str(i + 1), a] for i, a in enumerate(s.assumptions)])]
