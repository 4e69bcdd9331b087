"""Runs and results as terminal tables (rich): what the CLI prints, testable without click or a terminal.

Every function writes to the console it is given; none reads the ledger or measures anything.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from tokenfall.quality.gate import informative
from tokenfall.types import Run


def fmt(x, scale=1.0, digits=3) -> str:
    """Three significant digits, without exponents for the everyday range (ms up to hours, tok/s)."""
    if x is None:
        return "-"
    v = x * scale
    return f"{v:,.0f}" if abs(v) >= 10 ** digits else f"{v:.{digits}g}"


def bench_table(run: Run) -> Table:
    t = Table(title=f"run {run.id} ({run.status})")
    for col in ("load", "ok/fail", "req/s", "in tok/s", "out tok/s", "TTFT p50/p90/p99 ms", "TPOT p50/p99 ms",
                "ITL p50 ms", "$/M in", "$/M out", "$/M blend"):
        t.add_column(col, justify="right")
    for s in run.levels:
        c, tt, tp = s.cost, s.ttft_s, s.tpot_excl_first_s
        t.add_row(s.label, f"{s.requests_ok}/{s.requests_failed}", fmt(s.requests_per_s),
                  fmt(s.input_tokens_per_s, digits=4), fmt(s.output_tokens_per_s, digits=4),
                  "/".join(fmt(v, 1e3) for v in (tt.p50, tt.p90, tt.p99)), "/".join(fmt(v, 1e3) for v in (tp.p50, tp.p99)),
                  fmt(s.itl_s.p50, 1e3), fmt(c and c.usd_per_m_input), fmt(c and c.usd_per_m_output), fmt(c and c.usd_per_m_blended))
    return t


def print_bench(out: Console, run: Run) -> None:
    out.print(bench_table(run))
    levels = run.levels
    for s in levels:
        if s.errors:
            out.print(f"errors at {s.label}: " + ", ".join(f"{k} x{v}" for k, v in s.errors.items()))
        if s.token_count_diff:
            out.print(f"token counts at {s.label}: server/stream {s.tokens_out} vs tokenizer {s.tokens_out_tokenizer}"
                      f" (diff {s.token_count_diff})")
        if s.goodput_rps is not None:
            out.print(f"goodput at {s.label}: {s.goodput_rps:.3g} req/s meeting the SLO ({s.slo_attainment:.1%})")
    if levels and levels[0].cost:
        out.print("[bold]cost assumptions[/bold]")
        for a in levels[0].cost.assumptions[:3]:
            out.print(f"  - {a}")
        out.print("  - per level: hour split by measured prefill/decode time share; blended = (3*in + out)/4")
    eng = run.engine or {}
    if eng:
        m = eng["model"]
        out.print(f"engine {eng['name']} ({eng['version']}); model {m.get('name')} {m.get('quant_type') or ''} sha256 {str(m.get('sha256'))[:12]}")


def print_bench_details(out: Console, run: Run) -> None:
    """What `show` adds to the bench table: the other latency views, token counts, energy, machine and build."""
    d = Table(title="details (seconds unless noted)")
    for col in ("load", "E2E p50/p99", "TPOT incl. first p50/p99 (GuideLLM)", "lateness p99", "window s",
                "out tokens: server/stream vs tokenizer", "Wh/M out"):
        d.add_column(col, justify="right")
    for s in run.levels:
        d.add_row(s.label, f"{fmt(s.e2e_s.p50)}/{fmt(s.e2e_s.p99)}", f"{fmt(s.tpot_incl_first_s.p50)}/{fmt(s.tpot_incl_first_s.p99)}",
                  fmt(s.lateness_s.p99), fmt(s.window_s),
                  f"{s.tokens_out} vs {s.tokens_out_tokenizer if s.tokens_out_tokenizer is not None else '-'}",
                  fmt(s.cost and s.cost.wh_per_m_output))
    out.print(d)
    m = run.fingerprint["machine"]
    out.print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_bytes'] and round(m['memory_bytes'] / 2**30, 1)} GiB, "
              f"ISA {' '.join(m['isa'])}, {m['os']}; GPUs: {', '.join(m['gpus']) or 'none'}")
    b, bufs = run.fingerprint.get("llama_cpp"), (run.engine or {}).get("buffers")
    if b:
        out.print(f"llama.cpp {b['llama_cpp']}: built with {' '.join(b['features'])}; {b['why']}"
                  + (f"; weights in {', '.join(f'{k} {v:.0f} MiB' for k, v in bufs.items())}" if bufs else ""), highlight=False)


def print_eval(out: Console, run: Run) -> None:
    s = run.summary
    m = s.model
    out.print(f"[bold]eval run {run.id}[/bold] ({run.status}): {m.name} {m.quant_type or ''} "
              f"sha256 {str(m.sha256)[:12]} on {s.engine}", highlight=False)
    f = s.fidelity
    if f:
        where = (f"as served: {f.sequences} requests, {f.sequences_identical} exactly the reference's greedy text, "
                 f"{f.tokens_cached or 0} prompt tokens from the prefix cache; " if f.path == "served" else "")
        t = Table(title=f"fidelity vs {f.reference} ({where}{f.tokens_scored:,} of {f.tokens_evaluated:,} tokens scored)")
        for col in ("KLD mean ± s.e.", "KLD median", "KLD p99", "KLD max", "top-1 agree", "PPL", "PPL ref", "PPL ratio"):
            t.add_column(col, justify="right")
        t.add_row(f"{f.kld_mean:.5f} ± {f.kld_sem:.5f}", f"{f.kld_median:.5f}", f"{f.kld_p99:.4f}", f"{f.kld_max:.3f}",
                  f"{f.top1_agreement:.2%}", f"{f.ppl:.3f}", f"{f.ppl_reference:.3f}", f"{f.ppl_ratio:.4f}")
        out.print(t)
    if s.tasks:
        t = Table(title="tasks (95% Wilson interval; vs reference: paired bootstrap interval, McNemar p, the drop's one-sided "
                        "upper bound and the drop detectable with 80% power)")
        for col in ("task", "metric", "n", "accuracy [95% CI]", "chance", "reference", "diff pp [95% CI]", "p", "drop upper pp",
                    "detectable pp"):
            t.add_column(col, justify="right")
        for r in s.tasks:
            p = r.paired
            t.add_row(r.name, r.metric, str(r.n), f"{r.acc:.3f} [{r.ci[0]:.3f}, {r.ci[1]:.3f}]", fmt(r.chance),
                      f"{p.reference_acc:.3f}" + ("" if informative(r) else " (at chance)") if p else "-",
                      f"{p.diff_pp:+.1f} [{p.diff_ci_pp[0]:+.1f}, {p.diff_ci_pp[1]:+.1f}]" if p else "-",
                      f"{p.p_value:.3g}" if p else "-", fmt(p and p.drop_upper_pp), fmt(p and p.detectable_pp))
        out.print(t)
    g = s.gate
    if g and g.checks:
        out.print(f"[bold]gate: {'PASS' if g.passed else 'FAIL'}[/bold]")
        for c in g.checks:
            out.print(f"  - {c}", highlight=False)


def print_quality(out: Console, evals: list[Run]) -> None:
    """Quality beside cost: the newest eval runs of the same model file (same sha256)."""
    if not evals:
        out.print("quality: no eval run of this model file yet (tokenfall eval -m MODEL --reference REF --task ...)")
        return
    out.print("[bold]quality of this model file[/bold] (eval runs, same sha256)")
    for r in evals[:3]:
        s, parts = r.summary, []
        if f := s.fidelity:
            parts.append(f"vs {f.reference}: KLD {f.kld_mean:.4g}, top-1 {f.top1_agreement:.1%}, PPL ratio {f.ppl_ratio:.4f}")
        parts += [f"{t.name} {t.metric} {t.acc:.3f} [{t.ci[0]:.3f}, {t.ci[1]:.3f}]" for t in s.tasks]
        gate = f"; gate {'PASS' if s.gate.passed else 'FAIL'}" if s.gate and s.gate.checks else ""
        out.print(f"  - {r.id} on {s.engine}: " + "; ".join(parts) + gate, highlight=False)


def runs_table(rows: list[Run]) -> Table:
    t = Table()
    for col in ("run", "kind", "status", "model", "engine", "levels", "best out tok/s", "best $/M out"):
        t.add_column(col)
    for r in rows:
        best = max(r.levels, key=lambda s: s.output_tokens_per_s, default=None)
        eng = r.engine or {}
        t.add_row(r.id, r.kind, r.status, str(r.config.get("model") or "smollm2-135m"), eng.get("name", r.config.get("engine", "")),
                  ",".join(s.label for s in r.levels), fmt(best and best.output_tokens_per_s, digits=4),
                  fmt(best and best.cost and best.cost.usd_per_m_output))
    return t


def artifacts_table(rows: list[dict]) -> Table:
    by_sha = {r["sha256"]: r for r in rows}
    t = Table()
    for col in ("sha256", "file", "size MB", "params", "quant", "lever", "options", "parent"):
        t.add_column(col)
    for r in rows:
        i = r["info"]
        parent = by_sha.get(r["parent_sha256"])
        t.add_row(r["sha256"][:12], r["path"], f"{i['size_bytes'] / 1e6:,.1f}", f"{i['n_params']:,}", str(i["quant_type"]), r["lever"],
                  json.dumps(r["options"]), (parent["path"].rsplit("/", 1)[-1] if parent else (r["parent_sha256"] or "")[:12]))
    return t


def lever_table(res: dict, title: str) -> Table:
    """Lever results side by side: size, bits/weight, speed, $/M output, fidelity, tasks, run ids."""
    t = Table(title=title)
    cols = ["model", "size MB", "params", "bits/weight (file)", "tok/s c=1", "tok/s c=16", "$/M out c=16", "KLD mean", "top-1", "PPL ratio"]
    names = sorted({n for r in res["rows"] for n in r.get("tasks", {})})
    for col in cols + names + ["runs (bench, eval)"]:
        t.add_column(col, justify="right")
    for r in res["rows"]:
        m = "decode_tok_s_c1" in r
        t.add_row(r["type"], f"{r['size_bytes'] / 1e6:,.1f}", f"{r['n_params']:,}" if r.get("n_params") else "-", fmt(r["bits_per_weight"]),
                  *([fmt(r["decode_tok_s_c1"]), fmt(r["decode_tok_s_c16"]), fmt(r["usd_per_m_output_c16"]), f"{r['kld_mean']:.4g}",
                     f"{r['top1']:.1%}", f"{r['ppl_ratio']:.4f}"] if m else ["-"] * 6),
                  *[f"{r['tasks'][n]:.3f}" if m and n in r["tasks"] else "-" for n in names],
                  f"{r.get('bench_run', '-')}, {r.get('eval_run') or '-'}")
    return t


def print_distill(out: Console, res: dict) -> None:
    lin = res["lineage"]
    out.print(f"{res['distilled']['path']}: {lin['steps_done']} steps, {int(lin['tokens_seen']):,} tokens in {float(lin['train_seconds']):,.0f} s; "
              f"loss {lin['loss_first']} -> {lin['loss_last']}", highlight=False)
    if not res["rows"]:
        return
    t = Table(title=f"teacher {res['teacher']['path']}: fidelity to it on held-out domain text and general text")
    names = sorted({n for r in res["rows"] for n in r.get("tasks", {})})
    for col in ["model", "size MB", "params", "tok/s c=1", "tok/s c=16", "$/M out c=16", "domain KLD", "domain top-1", "domain PPL",
                "general KLD", "general top-1", "general PPL"] + names + ["bench run"]:
        t.add_column(col, justify="right")
    for r in res["rows"]:
        fid = [(f"{r[f'{w}_kld']:.4g}", f"{r[f'{w}_top1']:.1%}", f"{r[f'{w}_ppl']:.3f}") if f"{w}_kld" in r else
               ("0", "100%", next((f"{x[f'{w}_ppl_teacher']:.3f}" for x in res["rows"] if f"{w}_ppl_teacher" in x), "-"))
               for w in ("domain", "general")]
        t.add_row(r["label"], f"{r['size_bytes'] / 1e6:,.1f}", f"{r['n_params']:,}", fmt(r["decode_tok_s_c1"]), fmt(r["decode_tok_s_c16"]),
                  fmt(r["usd_per_m_output_c16"]), *fid[0], *fid[1],
                  *[f"{r['tasks'][n]:.3f}" if r.get("tasks", {}).get(n) is not None else "-" for n in names], r["bench_run"])
    out.print(t)


def print_optimize(out: Console, run: Run) -> None:
    from tokenfall.report import headline

    s = run.summary
    t = Table(title=f"cost waterfall, optimize run {run.id} ($/M output tokens; every step a measured pair)")
    for col in ("step", "change", "$/M out", "factor", "cumulative", "$/M in", "$/M blended", "bench run"):
        t.add_column(col, justify="right")
    base = s.baseline.usd_per_m_output
    for w in s.waterfall:
        t.add_row(w.lever, w.change, fmt(w.usd_per_m_output, digits=4), f"{w.factor:.2f}x" if w.factor else "-",
                  f"{base / w.usd_per_m_output:.1f}x" if w.usd_per_m_output else "-", fmt(w.usd_per_m_input, digits=4),
                  fmt(w.usd_per_m_blended, digits=4), w.bench_run)
    out.print(t)
    for lv in s.levers:
        if not lv.taken:
            f = f" ({1 / lv.factor:.2f}x the output price)" if lv.factor else ""
            out.print(f"not taken: {lv.variant}{f}: {lv.why}", highlight=False)
    sp = s.speculative
    if sp:
        out.print(f"speculative decoding (prompt lookup, 1 stream): {sp.speedup:.2f}x tokens/s, acceptance "
                  f"{(sp.acceptance or 0):.0%}, greedy text identical for {sp.identical}/{sp.requests} requests", highlight=False)
    if s.budget_hit:
        out.print("the time budget ran out: the best configuration measured so far is reported")
    if s.reused:
        dates = sorted({r.created[:16].replace("T", " ") for r in s.runs if r.reused and r.created})
        out.print(f"reused {s.reused} completed measurements of this tokenfall version from the ledger"
                  + (f" (measured {dates[0]} to {dates[-1]})" if dates else ""), highlight=False)
    lines = headline(s, (run.config.get("gate") or {}).get("max_acc_drop"))
    out.print(lines[0], style="bold", highlight=False, markup=False)
    for line in lines[1:]:
        out.print(line, highlight=False, markup=False)
