"""Reports rendered from ledger rows only: one offline HTML file (plotly.js embedded, no network), PNG charts
and a Markdown summary. Every figure names the run it came from; every user string is escaped."""

from __future__ import annotations

import html
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from tokenfall.errors import TokenfallError
from tokenfall.report import route, ttc
from tokenfall.types import OptimizeSummary, Point, Run


def headline(s: OptimizeSummary, margin: float | None = None) -> list[str]:
    """The claim in lines: the cost ratios with their intervals, how the hour was split, quality as served, the
    task verdict against the non-inferiority ``margin`` (pp). No ratio is claimed for a configuration that missed
    the SLO or failed the gate as served."""
    c, b, h = s.chosen, s.baseline, s.headline
    if h is None or c is None:
        return [f"no headline: {s.verdict or 'nothing chosen'} (baseline {b.usd_per_m_output:.4g} $/M output tokens)"]
    o, r = h.output, h.per_request
    lines = [f"$/M output tokens: baseline {_gm(h.baseline_usd_per_m_output):.4g} -> {_gm(h.chosen_usd_per_m_output):.4g}: "
             f"{o.value:.1f}x cheaper (95% interval {o.low:.1f}-{o.high:.1f}x, {h.rounds} interleaved rounds); "
             f"all-in cost per request: {r.value:.1f}x ({r.low:.1f}-{r.high:.1f}x)",
             f"  how the hour is split: output tokens pay {h.baseline_output_share:.0%} of it in the baseline (per request, time to "
             f"first token vs decoding) and {h.chosen_output_share:.0%} in the chosen configuration (per llama.cpp step, by token "
             "counts); the per-request ratio needs no split",
             f"  chosen: {config_text(c)}; run-to-run noise {h.noise_pct:.1f}% (sd of log cost)"]
    q = c.quality
    qual = f"  quality: file KLD {q.kld:.4f}, top-1 {q.top1:.1%} vs the float weights"
    if q.served:
        f = q.served
        qual += (f"; as served: KLD {f.kld_mean:.4f}, top-1 {f.top1_agreement:.1%}, {f.sequences_identical}/{f.sequences} requests "
                 f"exactly the reference's greedy text ({f.tokens_cached or 0} prompt tokens from prefix-cache hits)")
    lines.append(qual)
    kv = c.options.get("kv_type", "f16") != "f16"
    for name, t in q.tasks.items():
        name += " (the file, f16 KV)" if kv else ""
        if not t.informative:
            lines.append(f"  {name}: reference {t.reference_acc:.3f} not clearly above chance ({t.chance:.2f}): uninformative, not gated")
        elif t.drop_upper_pp is not None:
            verdict = "" if margin is None else (f" {'<' if t.drop_upper_pp < margin else '>='} margin {margin:g} pp: "
                                                 f"{'non-inferior' if t.drop_upper_pp < margin else 'not shown non-inferior'}")
            lines.append(f"  {name}: {t.acc:.3f} vs reference {t.reference_acc:.3f} on {t.n} items: drop {-t.diff_pp:+.1f} pp, upper bound "
                         f"{t.drop_upper_pp:.1f} pp (one-sided 95%){verdict}; detectable drop {t.detectable_pp:.1f} pp")
    if q.tasks and not any(t.informative for t in q.tasks.values()):
        lines.append("  no task is done clearly above chance by the reference, so none can show a drop: the quality gate rests "
                     "on fidelity (on text and as served)")
    return lines


def _gm(xs: list[float]) -> float:
    import math

    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def config_text(p: Point) -> str:
    """A configuration in words: file, streams and the serving levers it uses."""
    o = p.options
    bits = [p.label, f"{p.concurrency} streams"]
    bits += [f"KV {o['kv_type']}"] if o.get("kv_type") else []
    bits += [f"prefix cache {o['prefix_cache']}"] if o.get("prefix_cache") else []
    bits += [f"{o['n_threads']} threads"] if o.get("n_threads") else []
    bits += ["prompt lookup"] if o.get("speculative", "none") != "none" else []
    return ", ".join(bits)


# ---- charts: one description, drawn by plotly (HTML) and matplotlib (PNG) ------------------------


def charts(s: OptimizeSummary, max_kld: float | None = None) -> list[dict]:
    """Chart specs: title, axes, series of (name, x, y, text, mode) — the same numbers in both renderings."""
    out = []
    wf = s.waterfall
    if wf:
        out.append({"id": "waterfall", "title": "Cost waterfall: $/M output tokens after each lever (log scale)",
                    "x": "", "y": "$ per million output tokens", "log_y": True, "kind": "bar",
                    "series": [{"name": "$/M output", "x": [f"{i + 1}. {w.lever}" for i, w in enumerate(wf)], "y": [w.usd_per_m_output for w in wf],
                                "text": [(f"{w.factor:.2f}x" if w.factor else "baseline") + f" · run {w.bench_run}" for w in wf]}]})
    pts = s.points
    front_q, front_l = set(s.pareto_quality), set(s.pareto_latency)
    priced = [i for i, p in enumerate(pts) if p.usd_per_m_output]
    for cid, key, scale, ylab, front in (("quality", "kld", 1.0, "mean KLD vs float weights (nats/token)", front_q),
                                         ("latency", "tpot_p50_s", 1e3, "TPOT p50 (ms)", front_l)):
        have = [i for i in priced if getattr(pts[i], key) is not None]
        if not have:
            continue
        series = [{"name": "measured", "mode": "markers", "x": [pts[i].usd_per_m_output for i in have],
                   "y": [getattr(pts[i], key) * scale for i in have], "text": [f"{config_text(pts[i])} · run {pts[i].bench_run}" for i in have]}]
        f = [i for i in sorted(front, key=lambda i: pts[i].usd_per_m_output) if i in have]
        if f:
            series.append({"name": "Pareto frontier", "mode": "lines+markers", "x": [pts[i].usd_per_m_output for i in f],
                           "y": [getattr(pts[i], key) * scale for i in f], "text": [config_text(pts[i]) for i in f]})
        c = s.chosen
        if c and getattr(c, key) is not None:
            series.append({"name": "chosen", "mode": "markers", "x": [c.usd_per_m_output], "y": [getattr(c, key) * scale],
                           "text": [config_text(c)], "size": 14})
        out.append({"id": cid, "title": f"{'Quality' if cid == 'quality' else 'Latency'} vs cost (within the SLO)",
                    "x": "$ per million output tokens (log)", "y": ylab, "log_x": True, "kind": "scatter", "series": series})
    cands = s.candidates
    if cands:
        out.append({"id": "gate", "title": "Quality gate: fidelity of every candidate file" + (f" (bound {max_kld})" if max_kld else ""),
                    "x": "", "y": "mean KLD (nats/token, log)", "log_y": True, "kind": "bar",
                    "series": [{"name": "KLD", "x": [c.label for c in cands], "y": [max(c.kld or 0.0, 1e-6) for c in cands],
                                "text": ["pass" if c.passed else "fail" for c in cands]}]})
    return out


def _plotly_figure(c: dict) -> dict:
    import plotly.graph_objects as go

    fig = go.Figure()
    for sr in c["series"]:
        if c["kind"] == "bar":
            fig.add_trace(go.Bar(name=sr["name"], x=sr["x"], y=sr["y"], text=sr["text"], textposition="outside", cliponaxis=False))
        else:
            err = {"type": "data", "array": sr["err_plus"], "arrayminus": sr["err"], "visible": True} if "err" in sr else None
            fig.add_trace(go.Scatter(name=sr["name"], x=sr["x"], y=sr["y"], text=sr["text"], mode=sr["mode"], error_y=err,
                                     marker={"size": sr.get("size", 8)}, hovertemplate="%{text}<br>x=%{x:.4g}, y=%{y:.4g}"))
    fig.update_layout(title=c["title"], xaxis_title=c["x"], yaxis_title=c["y"], template="plotly_white", height=420,
                      margin={"t": 60, "b": 60, "l": 70, "r": 20})
    if c.get("log_y"):
        fig.update_yaxes(type="log")
    if c.get("log_x"):
        fig.update_xaxes(type="log")
    return json.loads(fig.to_json())


def _png(c: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    for sr in c["series"]:
        if c["kind"] == "bar":
            bars = ax.bar(sr["x"], sr["y"], color="#4c78a8")
            for b_, t in zip(bars, sr["text"]):
                ax.annotate(t.split(" · ")[0], (b_.get_x() + b_.get_width() / 2, b_.get_height()), ha="center", va="bottom", fontsize=8)
        else:
            style = ("-o" if "markers" in sr["mode"] else "-") if "lines" in sr["mode"] else "o"
            if "err" in sr:
                ax.errorbar(sr["x"], sr["y"], yerr=[sr["err"], sr["err_plus"]], fmt=style, label=sr["name"],
                            markersize=sr.get("size", 6) * 0.8, capsize=2, linewidth=1)
            else:
                ax.plot(sr["x"], sr["y"], style, label=sr["name"], markersize=sr.get("size", 6) * 0.8)
    if c.get("log_y"):
        ax.set_yscale("log")
    if c.get("log_x"):
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # minor labels on a short log axis overlap
    if c["kind"] != "bar":
        ax.legend(fontsize=8)
    ax.set_title(c["title"], fontsize=10)
    ax.set_xlabel(c["x"])
    ax.set_ylabel(c["y"])
    ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ---- the documents ------------------------------------------------------------------------------


def _table(head: list[str], rows: list[list], esc=html.escape) -> str:
    th = "".join(f"<th>{esc(str(h))}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _md_table(head: list[str], rows: list[list]) -> str:
    def cell(v):
        return str(v).replace("|", "\\|").replace("\n", " ")
    return "\n".join(["| " + " | ".join(map(cell, head)) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(map(cell, r)) + " |" for r in rows])


def _g(x, d=4):
    return "-" if x is None else f"{x:.{d}g}"


def sections(run: Run) -> list[tuple[str, list[str], list[list]]]:
    """(title, header, rows) tables of one run, shared by the HTML and the Markdown."""
    s = run.summary
    if run.kind == "optimize" and s is not None and s.baseline:
        return _optimize_sections(s)
    if run.kind == "ttc" and s is not None:
        return ttc.sections(run)
    if run.kind == "route" and s is not None:
        return route.sections(run)
    if run.kind == "bench":
        return [(f"bench run {run.id}", ["level", "ok/fail", "out tok/s", "TTFT p50 ms", "TPOT p50 ms", "$/M in", "$/M out"],
                 [[lv.label, f"{lv.requests_ok}/{lv.requests_failed}", _g(lv.output_tokens_per_s), _g((lv.ttft_s.p50 or 0) * 1e3),
                   _g((lv.tpot_excl_first_s.p50 or 0) * 1e3), _g(lv.cost and lv.cost.usd_per_m_input),
                   _g(lv.cost and lv.cost.usd_per_m_output)] for lv in run.levels])]
    if run.kind == "eval" and s is not None:
        f = s.fidelity
        rows = [["fidelity", f"KLD {_g(f.kld_mean)}, top-1 {_g(f.top1_agreement)}, PPL ratio {_g(f.ppl_ratio)}"]] if f else []
        rows += [[t.name, f"{t.metric} {t.acc:.3f} [{t.ci[0]:.3f}, {t.ci[1]:.3f}]"] for t in s.tasks]
        return [(f"eval run {run.id}", ["what", "result"], rows)]
    return []


def _optimize_sections(s: OptimizeSummary) -> list[tuple[str, list[str], list[list]]]:
    base = s.baseline.usd_per_m_output
    out = [("Cost waterfall", ["step", "change", "$/M output", "factor", "cumulative", "$/M input", "$/M blended", "bench run"],
            [[w.lever, w.change, _g(w.usd_per_m_output), f"{w.factor:.2f}x" if w.factor else "-",
              f"{base / w.usd_per_m_output:.1f}x" if w.usd_per_m_output else "-", _g(w.usd_per_m_input),
              _g(w.usd_per_m_blended), w.bench_run] for w in s.waterfall]),
           ("Candidate files (gate: fidelity for every file; tasks cheapest benchmarked file first, until one passes)",
            ["file", "size MB", "KLD", "top-1", "tasks", "gate", "eval runs"],
            [[c.label, f"{(c.size_bytes or 0) / 1e6:.1f}", _g(c.kld), f"{c.top1:.1%}",
              "; ".join(f"{k} {v.acc:.3f} vs {v.reference_acc:.3f} (drop upper bound {_g(v.drop_upper_pp, 2)} pp)"
                        for k, v in c.tasks.items()) or next((x for x in c.checks if "not graded" in x), "-"),
              "pass" if c.passed else "fail: " + "; ".join(x for x in c.checks if "FAIL" in x), ", ".join(c.eval_runs)]
             for c in s.candidates]),
           ("Serving levers tried at the chosen concurrency", ["lever", "variant", "cost factor", "taken", "why", "bench run"],
            [[lv.lever, lv.variant, f"{lv.factor:.2f}x" if lv.factor else "-", "yes" if lv.taken else "no",
              lv.why, lv.bench_run or "-"] for lv in s.levers]),
           ("Every measured configuration", ["stage", "configuration", "$/M out", "$/M in", "out tok/s", "TTFT p90 ms",
                                             "TPOT p50 ms", "SLO", "KLD", "bench run"],
            [[p.what, config_text(p), _g(p.usd_per_m_output), _g(p.usd_per_m_input), _g(p.output_tokens_per_s),
              _g((p.ttft_p90_s or 0) * 1e3), _g((p.tpot_p50_s or 0) * 1e3), "ok" if p.slo_ok else "missed",
              _g(p.kld), p.bench_run] for p in s.points])]
    h = s.headline
    if h:
        out.insert(0, (f"The headline: {h.rounds} interleaved rounds of fresh runs (95% intervals: Welch t on log costs)",
                       ["round", "baseline $/M out", "chosen $/M out", "baseline $/1k requests", "chosen $/1k requests", "bench runs"],
                       [[str(i + 1), _g(b), _g(c), _g(1e3 * br), _g(1e3 * cr), f"{rb}, {rc}"] for i, (b, c, br, cr, rb, rc) in enumerate(zip(
                           h.baseline_usd_per_m_output, h.chosen_usd_per_m_output, h.baseline_usd_per_request,
                           h.chosen_usd_per_request, h.baseline_runs, h.chosen_runs))]
                       + [["ratio", f"{h.output.value:.2f}x [{h.output.low:.2f}, {h.output.high:.2f}]", "",
                           f"{h.per_request.value:.2f}x [{h.per_request.low:.2f}, {h.per_request.high:.2f}]", "", ""]]))
    served = s.chosen.quality.served if s.chosen else None
    if served:
        out.append(("The chosen configuration graded as served (engine at its settings vs the float reference at its defaults)",
                    ["requests", "identical to reference greedy", "prefix-cache tokens", "KLD mean", "KLD p99", "top-1", "eval runs"],
                    [[str(served.sequences), str(served.sequences_identical), str(served.tokens_cached), _g(served.kld_mean),
                      _g(served.kld_p99), f"{served.top1_agreement:.1%}", ", ".join(s.chosen.quality.eval_runs)]]))
    sp = s.speculative
    if sp:
        out.append(("Speculative decoding (prompt lookup) vs plain, 1 stream, greedy",
                    ["plain tok/s", "speculative tok/s", "speed-up", "draft acceptance", "identical text", "runs"],
                    [[_g(sp.plain_tok_s), _g(sp.speculative_tok_s), f"{sp.speedup:.2f}x" if sp.speedup else "-",
                      f"{(sp.acceptance or 0):.0%}", f"{sp.identical}/{sp.requests}", f"{sp.plain_run}, {sp.speculative_run}"]]))
    out.append(("Measurements behind this run", ["what", "kind", "run", "reused from the ledger"],
                [[r.label, r.kind, r.id, f"yes (measured {r.created})" if r.reused else "no"] for r in s.runs]))
    return out


def _environment(run: Run) -> list[list]:
    fp = run.fingerprint
    m, mod = fp.get("machine") or {}, fp.get("model") or {}
    return [["run", run.id], ["kind", run.kind], ["status", run.status], ["tokenfall", fp.get("tokenfall", "-")],
            ["CPU", f"{m.get('cpu', '-')} ({m.get('cores', '-')} cores; {', '.join(m.get('isa') or [])})"],
            ["memory", f"{(m.get('memory_bytes') or 0) / 2**30:.1f} GiB"], ["GPUs", ", ".join(m.get("gpus") or []) or "none"],
            ["OS / Python", f"{m.get('os', '-')} / {m.get('python', '-')}"],
            ["model", f"{mod.get('name', '-')} {mod.get('quant_type') or ''} sha256 {str(mod.get('sha256'))[:16]}"]]


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.headline{font-size:1.2em;font-weight:600;background:#eef5ee;padding:.6em}
.chart{min-height:420px}"""


def page(title: str, body: list[str], specs: list[tuple[str, dict]]) -> str:
    """A self-contained HTML page: plotly.js inline (works offline), figures drawn into their divs."""
    import plotly.offline

    # figure JSON goes into a script element: '<' escaped so no string can close it
    data = json.dumps(dict(specs)).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    script = ("const FIGS = " + data + ";\nlet drawn = 0;\nwindow.addEventListener('error', () => "
              "{document.body.dataset.jsErrors = String(Number(document.body.dataset.jsErrors || 0) + 1);});\n"
              "for (const [id, f] of Object.entries(FIGS)) { Plotly.newPlot(id, f.data, f.layout, {responsive: true, displaylogo: false})"
              ".then(() => { drawn += 1; document.body.dataset.chartsDrawn = String(drawn); }); }\n")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{CSS}</style>"
            f"<script>{plotly.offline.get_plotlyjs()}</script></head><body data-charts='{len(specs)}' data-js-errors='0'>"
            f"<h1>{html.escape(title)}</h1>{''.join(body)}<script>{script}</script></body></html>")


@contextmanager
def staged(out: Path):
    """A temporary directory inside ``out``, created with it. When the block succeeds, every file written there
    is renamed into ``out`` (a reader never sees a half-written file); either way the directory is removed."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TokenfallError(f"output folder '{out}' cannot be created ({e.strerror}); choose a writable folder") from e
    try:
        tmp = Path(tempfile.mkdtemp(dir=out, prefix=".tmp-"))
    except OSError as e:
        raise TokenfallError(f"output folder '{out}' cannot be written ({e.strerror}); choose a writable folder") from e
    try:
        yield tmp
        for f in sorted(tmp.iterdir()):
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def render(runs: list[Run], out_dir: str | Path) -> dict:
    """Write report.html, report.md and one PNG per chart into ``out_dir`` (atomically: a temporary
    directory renamed into place file by file). Returns the paths."""
    out = Path(out_dir)
    with staged(out) as tmp:
        body, md, pngs, specs = [], ["# tokenfall report", ""], [], []
        for run in runs:
            s = run.summary
            body.append(f"<h2>{html.escape(run.kind)} run {html.escape(run.id)}</h2>")
            md += [f"## {run.kind} run {run.id}", ""]
            if run.kind == "optimize" and s is not None and s.baseline:
                lines = headline(s, (run.config.get("gate") or {}).get("max_acc_drop"))
                body.append("<p class='headline'>" + "<br>".join(html.escape(x) for x in lines) + "</p>")
                md += [f"**{lines[0]}**", ""] + [x.strip() + "  " for x in lines[1:]] + [""]
                if s.chosen:
                    line = f"Chosen: {config_text(s.chosen)} (bench run {s.chosen.bench_run})"
                    body.append(f"<p>{html.escape(line)}</p>")
                    md += [line, ""]
            if (run.kind == "optimize" and s is not None and s.baseline) or (run.kind in ("ttc", "route") and s is not None):
                made = ({"ttc": ttc.charts, "route": route.charts}[run.kind](run) if run.kind != "optimize"
                        else charts(s, (run.config.get("gate") or {}).get("max_kld")))
                for c in made:
                    cid = f"{run.id}-{c['id']}"
                    specs.append((cid, _plotly_figure(c)))
                    body.append(f"<div class='chart' id='{html.escape(cid)}'></div>")
                    png = f"{run.id}-{c['id']}.png"
                    _png(c, tmp / png)
                    pngs.append(png)
                    md += [f"![{c['title']}]({png})", ""]
            for title, head, rows in sections(run):
                body.append(f"<h3>{html.escape(title)}</h3>" + _table(head, rows))
                md += [f"### {title}", "", _md_table(head, rows), ""]
            if run.kind == "optimize":
                said = s.assumptions if s is not None else []
                body.append("<h3>Assumptions</h3><ul>" + "".join(f"<li>{html.escape(a)}</li>" for a in said) + "</ul>")
                md += ["### Assumptions", ""] + [f"- {a}" for a in said] + [""]
            env = _environment(run)
            body.append("<h3>Environment</h3>" + _table(["", ""], env))
            md += ["### Environment", "", _md_table(["", ""], env), ""]
        (tmp / "report.html").write_text(page("tokenfall report", body, specs), encoding="utf-8")
        (tmp / "report.md").write_text("\n".join(md), encoding="utf-8")
    return {"html": str(out / "report.html"), "markdown": str(out / "report.md"), "png": [str(out / p) for p in pngs]}
