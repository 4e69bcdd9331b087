"""Thin command line over tokenfall.api: parse, call one api function, print."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys

import click
import pydantic
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from tokenfall import __version__
from tokenfall.errors import ExitCode, Interrupted, RunFailed, TokenfallError, VerdictNotMet

# tqdm reads TQDM_DISABLE once, when first imported (the gguf package imports it early): third-party bars
# (transformers' GGUF loader, lm-eval) would tear through tokenfall's own progress display
os.environ.setdefault("TQDM_DISABLE", "1")
# piped output (CI logs, files) gets room for the whole table instead of rich's 80-column default
out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() or "COLUMNS" in os.environ else 200)


class Number(click.ParamType):
    """A finite number in a range. click's float accepts inf, nan and 1e999 (= inf), which are never what a
    user meant here and crashed or poisoned runs downstream; this type refuses them at parse time."""

    name = "number"

    def __init__(self, lo: float | None = None, hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
                 integer: bool = False):
        self.lo, self.hi, self.lo_open, self.hi_open, self.integer = lo, hi, lo_open, hi_open, integer
        self.name = "integer" if integer else "number"

    def _range(self) -> str:
        lo = "" if self.lo is None else f"{'>' if self.lo_open else '>='} {self.lo:g}"
        hi = "" if self.hi is None else f"{'<' if self.hi_open else '<='} {self.hi:g}"
        return " and ".join(x for x in (lo, hi) if x)

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = value
        else:
            try:
                v = int(value) if self.integer else float(value)
            except (TypeError, ValueError):
                self.fail(f"'{value}' is not {'an integer' if self.integer else 'a number'}", param, ctx)
        if not math.isfinite(v):
            self.fail(f"'{value}' is not a finite number", param, ctx)
        if (self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo)) or \
           (self.hi is not None and (v >= self.hi if self.hi_open else v > self.hi)):
            self.fail(f"{value} is out of range: give a value {self._range()}", param, ctx)
        return v


POS, NONNEG, FRACTION, OPEN_FRACTION = Number(0, lo_open=True), Number(0), Number(0, 1, lo_open=True), Number(0, 1, True, True)
COUNT, COUNT0, PERCENT = Number(1, integer=True), Number(0, integer=True), Number(0, 100)


def _positives(value: str, name: str, cast: type, example: str) -> list:
    """A comma list of positive numbers (a sweep), e.g. --concurrency 1,4,16 or --rate 2,8."""
    try:
        vals = [cast(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a comma-separated list of {'integers' if cast is int else 'numbers'}", param_hint=name) from None
    if not vals or min(vals) <= 0 or not all(math.isfinite(v) for v in vals):
        raise click.BadParameter(f"'{value}': give positive finite values, e.g. {example}", param_hint=name)
    return vals


def _kv(pairs: tuple[str, ...], name: str) -> dict:
    opts = {}
    for p in pairs:
        k, sep, v = p.partition("=")
        if not sep or not k:
            raise click.BadParameter(f"'{p}': use KEY=VALUE", param_hint=name)
        try:
            opts[k] = json.loads(v)
        except json.JSONDecodeError:
            opts[k] = v
    return opts


def _slo(value: str | None) -> dict:
    if not value:
        return {}
    keys = {"ttft": "ttft_s", "tpot": "tpot_s", "e2e": "e2e_s"}
    out_ = {}
    for part in value.split(","):
        k, _, v = part.partition("=")
        if k.strip() not in keys:
            raise click.BadParameter(f"'{part}': keys are ttft, tpot, e2e (seconds), e.g. ttft=0.5,tpot=0.05", param_hint="--slo")
        try:
            out_[keys[k.strip()]] = float(v.rstrip("s"))
        except ValueError:
            raise click.BadParameter(f"'{part}': value must be seconds, e.g. ttft=0.5", param_hint="--slo") from None
    return out_


class _Live:
    """Rich progress bar with live output tokens/s."""

    def __init__(self, progress: Progress):
        self.p, self.task, self.n, self.t0 = progress, None, 0, 0.0

    def level(self, label, total):
        import time

        if self.task is not None:
            self.p.update(self.task, visible=False)
        self.task = self.p.add_task(label, total=total, tps=0.0)
        self.n, self.t0 = 0, time.monotonic()

    def tokens(self, n):
        import time

        self.n += n
        self.p.update(self.task, tps=self.n / max(time.monotonic() - self.t0, 1e-6))

    def request_done(self):
        self.p.advance(self.task)


class _Steps(_Live):
    """Progress for steps counted in items or windows rather than tokens."""

    def level(self, label, total):
        if self.task is not None:
            self.p.update(self.task, visible=False)
        self.task = self.p.add_task(label, total=total)


def _fmt(x, scale=1.0, digits=3):
    """Three significant digits, without exponents for the everyday range (ms up to hours, tok/s)."""
    if x is None:
        return "-"
    v = x * scale
    return f"{v:,.0f}" if abs(v) >= 10 ** digits else f"{v:.{digits}g}"


def _table(run: dict) -> Table:
    t = Table(title=f"run {run['id']} ({run['status']})")
    for col in ("load", "ok/fail", "req/s", "in tok/s", "out tok/s", "TTFT p50/p90/p99 ms", "TPOT p50/p99 ms",
                "ITL p50 ms", "$/M in", "$/M out", "$/M blend"):
        t.add_column(col, justify="right")
    for s in run["summary"] or []:
        c = s.get("cost") or {}
        tt, tp = s["ttft_s"], s["tpot_excl_first_s"]
        t.add_row(s["label"], f"{s['requests_ok']}/{s['requests_failed']}", _fmt(s["requests_per_s"]),
                  _fmt(s["input_tokens_per_s"], digits=4), _fmt(s["output_tokens_per_s"], digits=4),
                  "/".join(_fmt(tt[k], 1e3) for k in ("p50", "p90", "p99")),
                  "/".join(_fmt(tp[k], 1e3) for k in ("p50", "p99")), _fmt(s["itl_s"]["p50"], 1e3),
                  _fmt(c.get("usd_per_m_input")), _fmt(c.get("usd_per_m_output")), _fmt(c.get("usd_per_m_blended")))
    return t


def _print_run(run: dict) -> None:
    out.print(_table(run))
    levels = run["summary"] or []
    for s in levels:
        if s["errors"]:
            out.print(f"errors at {s['label']}: " + ", ".join(f"{k} x{v}" for k, v in s["errors"].items()))
        if s.get("token_count_diff"):
            out.print(f"token counts at {s['label']}: server/stream {s['tokens_out']} vs tokenizer {s['tokens_out_tokenizer']}"
                      f" (diff {s['token_count_diff']})")
        if s.get("goodput_rps") is not None:
            out.print(f"goodput at {s['label']}: {s['goodput_rps']:.3g} req/s meeting the SLO ({s['slo_attainment']:.1%})")
    if levels and levels[0].get("cost"):
        out.print("[bold]cost assumptions[/bold]")
        for a in levels[0]["cost"]["assumptions"][:3]:
            out.print(f"  - {a}")
        out.print("  - per level: hour split by measured prefill/decode time share; blended = (3*in + out)/4")
    eng = run.get("engine") or {}
    if eng:
        m = eng["model"]
        out.print(f"engine {eng['name']} ({eng['version']}); model {m.get('name')} {m.get('quant_type') or ''} sha256 {str(m.get('sha256'))[:12]}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tokenfall")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("--db", type=click.Path(dir_okay=False), help="Ledger SQLite file (default: user data dir).")
@click.pass_context
def cli(ctx, debug, db):
    """tokenfall: measure what a token costs on a real engine."""
    ctx.obj = {"debug": debug, "db": db}


@cli.command()
@click.option("-m", "--model", help="smollm2-135m (default), gemma3-270m, a GGUF path, an HF dir, or URL#served-name.")
@click.option("-e", "--engine", default="llamacpp", show_default=True, help="llamacpp | openai | transformers")
@click.option("-o", "--opt", "opts", multiple=True, help="Engine option KEY=VALUE (repeatable), e.g. -o parallel=16.")
@click.option("--tokenizer", help="Local model whose tokenizer sizes prompts and counts tokens (for remote servers).")
@click.option("-c", "--concurrency", default="1,4,16", show_default=True, help="Closed-loop levels (comma list = sweep).")
@click.option("--rate", help="Open-loop request rates per second (comma list); replaces --concurrency.")
@click.option("--arrival", type=click.Choice(["constant", "poisson"]), default="poisson", show_default=True)
@click.option("--max-concurrency", type=COUNT, help="Cap on in-flight requests in open loop.")
@click.option("-n", "--requests", type=COUNT, help="Requests per level [default: max(16, 4 x concurrency), or 10 s worth at --rate].")
@click.option("--duration", type=POS, help="Seconds per level (stops sending after this).")
@click.option("--warmup", type=COUNT0, default=2, show_default=True, help="Warm-up requests per level, excluded from metrics.")
@click.option("--input-tokens", type=COUNT, default=32, show_default=True)
@click.option("--output-tokens", type=COUNT, default=32, show_default=True)
@click.option("--shared-prefix", type=COUNT0, default=0, show_default=True, help="Leading prompt tokens every request shares (a system prompt).")
@click.option("--prompts", "prompts_file", type=click.Path(), help="JSONL file of {\"prompt\": ..., \"max_tokens\": ...}.")
@click.option("--no-ignore-eos", is_flag=True, help="Let the model stop early instead of pinning output length.")
@click.option("--chat", is_flag=True, help="Send prompts as chat messages.")
@click.option("--seed", type=Number(integer=True), default=0, show_default=True)
@click.option("--slo", help="Latency SLO, seconds: ttft=0.5,tpot=0.05,e2e=10. A level meeting it for fewer than "
              "--slo-attainment of its requests makes the command exit 1.")
@click.option("--slo-attainment", type=FRACTION, default=0.9, show_default=True, help="Share of requests that must meet the SLO.")
@click.option("--hardware", help="Catalog entry to price with (default: the cloud CPU instance matching this machine; "
              "required with a server URL, or --usd-per-hour).")
@click.option("--usd-per-hour", type=NONNEG, help="Your own hourly price (energy then added from --watts).")
@click.option("--watts", type=NONNEG, help="Power draw to price energy, when not measurable.")
@click.option("--usd-per-kwh", type=NONNEG, default=0.15, show_default=True)
@click.option("--utilisation", type=FRACTION, default=1.0, show_default=True, help="Share of paid hours doing this work.")
@click.option("--timeout", type=POS, default=300.0, show_default=True, help="Per-request timeout, seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.pass_context
def bench(ctx, model, engine, opts, tokenizer, concurrency, rate, arrival, max_concurrency, requests, duration, warmup,
          input_tokens, output_tokens, shared_prefix, prompts_file, no_ignore_eos, chat, seed, slo, slo_attainment, hardware,
          usd_per_hour, watts, usd_per_kwh, utilisation, timeout, as_json):
    """Serve a model, drive load through it, report latency, throughput and $/M tokens."""
    from tokenfall import api
    from tokenfall.types import BenchConfig, Load, PriceSpec, Prompts, Slo

    if rate:
        loads = [Load(mode=arrival, rate=r, max_concurrency=max_concurrency, requests=requests if requests is not None or duration else max(16, int(r * 10)),
                      duration_s=duration, warmup_requests=warmup, seed=seed) for r in _positives(rate, "--rate", float, "2,8")]
    else:
        loads = [Load(mode="concurrency", concurrency=c, requests=requests if requests is not None or duration else max(16, 4 * c),
                      duration_s=duration, warmup_requests=warmup, seed=seed) for c in _positives(concurrency, "--concurrency", int, "1,4,16")]
    config = BenchConfig(
        model=model, engine=engine, engine_options=_kv(opts, "--opt"), tokenizer=tokenizer, loads=loads,
        prompts=Prompts(source="jsonl" if prompts_file else "synthetic", path=prompts_file, input_tokens=input_tokens,
                        output_tokens=output_tokens, ignore_eos=not no_ignore_eos, chat=chat, seed=seed, shared_prefix_tokens=shared_prefix),
        slo=Slo(**_slo(slo)), slo_attainment=slo_attainment, timeout_s=timeout,
        price=PriceSpec(hardware=hardware, usd_per_hour=usd_per_hour, watts=watts, usd_per_kwh=usd_per_kwh, utilisation=utilisation))
    if as_json:
        run = api.bench(config, db=ctx.obj["db"])
        click.echo(json.dumps(run, indent=2))
    else:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[tps]:.0f} tok/s"),
                      TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as p:
            run = api.bench(config, db=ctx.obj["db"], progress=_Live(p))
        _print_run(run)
    missed = [f"{lv['label']} {lv['slo_attainment']:.0%}" for lv in run["summary"]
              if lv.get("slo_attainment") is not None and lv["slo_attainment"] < slo_attainment]
    if missed:
        raise VerdictNotMet(f"SLO met by fewer than {slo_attainment:.0%} of requests at {', '.join(missed)}")


def _task_specs(values: tuple[str, ...], limit, shots, difficulty, n_synth, seed, max_tokens) -> list:
    from tokenfall.quality.datasets import DATASETS
    from tokenfall.quality.synthetic import FAMILIES
    from tokenfall.types import TaskSpec

    specs = []
    for v in values:
        kind, sep, source = v.partition(":")
        if not sep and kind in DATASETS:
            kind, sep, source = "dataset", ":", kind
        if not sep or kind not in ("choice", "gen", "dataset", "synth", "synth-gen") or not source:
            raise click.BadParameter(f"'{v}': use a data set ({', '.join(DATASETS)}), choice:FILE.jsonl, gen:FILE.jsonl, "
                                     f"synth:FAMILY or synth-gen:FAMILY (families: {', '.join(FAMILIES)}, or all)", param_hint="--task")
        sources = list(FAMILIES) if kind.startswith("synth") and source == "all" else [source]
        specs += [TaskSpec(kind=kind, source=s_, limit=limit, shots=shots, difficulty=difficulty, n=n_synth, seed=seed,
                           max_tokens=max_tokens) for s_ in sources]
    return specs


def _print_eval(run: dict) -> None:
    s = run["summary"] or {}
    m = s.get("model") or {}
    out.print(f"[bold]eval run {run['id']}[/bold] ({run['status']}): {m.get('name')} {m.get('quant_type') or ''} "
              f"sha256 {str(m.get('sha256'))[:12]} on {s.get('engine')}", highlight=False)
    f = s.get("fidelity")
    if f:
        t = Table(title=f"fidelity vs {f['reference']} ({f['tokens_scored']:,} of {f['tokens_evaluated']:,} tokens scored)")
        for col in ("KLD mean ± s.e.", "KLD median", "KLD p99", "KLD max", "top-1 agree", "PPL", "PPL ref", "PPL ratio"):
            t.add_column(col, justify="right")
        t.add_row(f"{f['kld_mean']:.5f} ± {f['kld_sem']:.5f}", f"{f['kld_median']:.5f}", f"{f['kld_p99']:.4f}", f"{f['kld_max']:.3f}",
                  f"{f['top1_agreement']:.2%}", f"{f['ppl']:.3f}", f"{f['ppl_reference']:.3f}", f"{f['ppl_ratio']:.4f}")
        out.print(t)
    if s.get("tasks"):
        t = Table(title="tasks (95% Wilson interval; vs reference: paired bootstrap interval, McNemar p)")
        for col in ("task", "metric", "n", "accuracy [95% CI]", "reference", "diff pp [95% CI]", "p", "significant drop"):
            t.add_column(col, justify="right")
        for r in s["tasks"]:
            p = r.get("paired")
            t.add_row(r["name"], r["metric"], str(r["n"]), f"{r['acc']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]",
                      f"{p['reference_acc']:.3f}" if p else "-",
                      f"{p['diff_pp']:+.1f} [{p['diff_ci_pp'][0]:+.1f}, {p['diff_ci_pp'][1]:+.1f}]" if p else "-",
                      f"{p['p_value']:.3g}" if p else "-", ("yes" if p["significant_drop"] else "no") if p else "-")
        out.print(t)
    g = s.get("gate")
    if g and g["checks"]:
        out.print(f"[bold]gate: {'PASS' if g['passed'] else 'FAIL'}[/bold]")
        for c in g["checks"]:
            out.print(f"  - {c}", highlight=False)


def _print_quality(evals: list[dict]) -> None:
    """Quality beside cost: the newest eval runs of the same model file (same sha256)."""
    if not evals:
        out.print("quality: no eval run of this model file yet (tokenfall eval -m MODEL --reference REF --task ...)")
        return
    out.print("[bold]quality of this model file[/bold] (eval runs, same sha256)")
    for r in evals[:3]:
        s = r["summary"]
        parts = []
        if f := s.get("fidelity"):
            parts.append(f"vs {f['reference']}: KLD {f['kld_mean']:.4g}, top-1 {f['top1_agreement']:.1%}, PPL ratio {f['ppl_ratio']:.4f}")
        parts += [f"{t['name']} {t['metric']} {t['acc']:.3f} [{t['ci'][0]:.3f}, {t['ci'][1]:.3f}]" for t in s.get("tasks", [])]
        g = s.get("gate")
        gate = f"; gate {'PASS' if g['passed'] else 'FAIL'}" if g and g["checks"] else ""
        out.print(f"  - {r['id']} on {s['engine']}: " + "; ".join(parts) + gate, highlight=False)


@cli.command("eval")
@click.option("-m", "--model", help="Candidate: smollm2-135m (default), a GGUF path, an HF dir, or URL#served-name.")
@click.option("-r", "--reference", help="Reference model for fidelity and paired task comparison (e.g. an F16/F32 GGUF).")
@click.option("-e", "--engine", default="llamacpp", show_default=True, help="llamacpp | transformers | openai (generation tasks only)")
@click.option("-o", "--opt", "opts", multiple=True, help="Engine option KEY=VALUE (repeatable).")
@click.option("--text", "texts", multiple=True, type=click.Path(), help="Fidelity text: .txt, or .jsonl with a \"text\" field (repeatable). "
              "Default: built-in openings continued by the reference.")
@click.option("--tokens", type=COUNT, default=20480, show_default=True, help="Fidelity tokens to evaluate.")
@click.option("--ctx", "ctx_len", type=Number(16, integer=True), default=512, show_default=True, help="Window length in tokens.")
@click.option("--score-from", type=Number(0, 1, hi_open=True), default=0.5, show_default=True, help="Score each window from this fraction on (llama.cpp: 0.5).")
@click.option("--no-fidelity", is_flag=True, help="Skip fidelity even with --reference (tasks only).")
@click.option("-t", "--task", "task_values", multiple=True,
              help="hellaswag | gsm8k (public sets: mirror, cache or one checked download) | choice:FILE.jsonl | "
              "gen:FILE.jsonl | synth:FAMILY | synth-gen:FAMILY (repeatable; FAMILY 'all' = every family).")
@click.option("--limit", type=COUNT, help="First N items of each task.")
@click.option("--shots", type=Number(0, 64, integer=True), default=0, show_default=True, help="Generation tasks: leading items used as worked examples.")
@click.option("--difficulty", type=Number(1, 3, integer=True), default=1, show_default=True, help="Synthetic tasks.")
@click.option("--n-synth", type=COUNT, default=200, show_default=True, help="Items per synthetic task.")
@click.option("--seed", type=Number(integer=True), default=0, show_default=True, help="Synthetic tasks.")
@click.option("--max-tokens", type=COUNT, default=256, show_default=True, help="Generation tasks: output cap.")
@click.option("--max-kld", type=NONNEG, help="Gate: mean KLD bound (nats/token).")
@click.option("--min-top1", type=Number(0, 1), help="Gate: minimum top-1 agreement (fraction, e.g. 0.90).")
@click.option("--max-ppl-ratio", type=POS, help="Gate: maximum perplexity ratio candidate/reference.")
@click.option("--max-acc-drop", type=PERCENT, help="Gate: accuracy drop bound, percentage points (only significant drops count).")
@click.option("--alpha", type=OPEN_FRACTION, default=0.05, show_default=True, help="Gate: significance level of the paired test.")
@click.option("--lm-eval", "lm_eval", multiple=True, help="lm-evaluation-harness task to run through this engine (needs lm-eval).")
@click.option("--lm-eval-include", type=click.Path(), help="Directory of local lm-eval task YAMLs (no hub needed).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.pass_context
def eval_(ctx, model, reference, engine, opts, texts, tokens, ctx_len, score_from, no_fidelity, task_values, limit, shots,
          difficulty, n_synth, seed, max_tokens, max_kld, min_top1, max_ppl_ratio, max_acc_drop, alpha, lm_eval, lm_eval_include, as_json):
    """Quality on the engine that was priced: fidelity to a reference (KLD, top-1, perplexity) and task
    accuracy with intervals, paired against the reference; --max-* / --min-* bounds form the gate
    (exit 1 when it fails)."""
    from tokenfall import api
    from tokenfall.types import EvalConfig, Gate

    if limit is not None and limit < 1:
        raise click.BadParameter(f"{limit}: give a positive number of items", param_hint="--limit")
    if min_top1 is not None and not 0 <= min_top1 <= 1:
        raise click.BadParameter(f"{min_top1}: a fraction between 0 and 1, e.g. 0.90", param_hint="--min-top1")
    config = EvalConfig(model=model, reference=reference, engine=engine, engine_options=_kv(opts, "--opt"), texts=list(texts),
                        tokens=tokens, ctx=ctx_len, score_from=score_from, fidelity=not no_fidelity,
                        tasks=_task_specs(task_values, limit, shots, difficulty, n_synth, seed, max_tokens),
                        gate=Gate(max_kld=max_kld, min_top1=min_top1, max_ppl_ratio=max_ppl_ratio, max_acc_drop=max_acc_drop, alpha=alpha),
                        lm_eval=list(lm_eval), lm_eval_include=lm_eval_include, limit=limit)
    if as_json:
        run = api.evaluate(config, db=ctx.obj["db"])
        click.echo(json.dumps(run, indent=2))
    else:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as p:
            run = api.evaluate(config, db=ctx.obj["db"], progress=_Steps(p))
        _print_eval(run)
    gate = run["summary"].get("gate")
    if gate and not gate["passed"]:
        raise VerdictNotMet(f"quality gate failed: {'; '.join(c for c in gate['checks'] if 'FAIL' in c.upper()) or 'see above'}")


_OUT_DIR = click.option("--out-dir", type=click.Path(file_okay=False), help="Where artifacts go (default: user data dir/artifacts).")
_OUT_TYPE = click.option("--out-type", default="parent", show_default=True,
                         help="File type written: parent (the parent's own), f32, f16, or a llama.cpp type such as q8_0.")


@contextlib.contextmanager
def _steps():
    """A transient progress display for multi-step commands (each bench or eval level a step)."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as p:
        yield _Steps(p)


def _print_lever_table(res: dict, as_json: bool, title: str) -> None:
    """Lever results side by side: size, bits/weight, speed, $/M output, fidelity, tasks, run ids."""
    if as_json:
        click.echo(json.dumps(res, indent=2))
        return
    t = Table(title=title)
    cols = ["model", "size MB", "params", "bits/weight (file)", "tok/s c=1", "tok/s c=16", "$/M out c=16", "KLD mean", "top-1", "PPL ratio"]
    names = sorted({n for r in res["rows"] for n in r.get("tasks", {})})
    for col in cols + names + ["runs (bench, eval)"]:
        t.add_column(col, justify="right")
    for r in res["rows"]:
        m = "decode_tok_s_c1" in r
        t.add_row(r["type"], f"{r['size_bytes'] / 1e6:,.1f}", f"{r['n_params']:,}" if r.get("n_params") else "-", _fmt(r["bits_per_weight"]),
                  *([_fmt(r["decode_tok_s_c1"]), _fmt(r["decode_tok_s_c16"]), _fmt(r["usd_per_m_output_c16"]), f"{r['kld_mean']:.4g}",
                     f"{r['top1']:.1%}", f"{r['ppl_ratio']:.4f}"] if m else ["-"] * 6),
                  *[f"{r['tasks'][n]:.3f}" if m and n in r["tasks"] else "-" for n in names],
                  f"{r.get('bench_run', '-')}, {r.get('eval_run') or '-'}")
    out.print(t)


@cli.command()
@click.argument("model", required=False)
@click.option("--to", "dtype", type=click.Choice(["f32", "f16"]), default="f32", show_default=True)
@click.option("--via", type=click.Choice(["gguf", "torch"]), default="gguf", show_default=True,
              help="torch: load into transformers and write back (the training-side levers' round trip).")
@_OUT_DIR
@click.pass_context
def convert(ctx, model, dtype, via, out_dir):
    """Write a GGUF's weights dequantized to F32/F16 (the reference for compression studies)."""
    from tokenfall import api

    info = api.apply_lever("convert", model, {"dtype": dtype, "via": via}, out_dir, ctx.obj["db"])
    out.print(f"{info.path}  {info.size_bytes / 1e6:,.1f} MB  {info.n_params:,} parameters  {info.quant_type}  sha256 {info.sha256[:12]}",
              highlight=False)


@cli.command()
@click.argument("model", required=False)
@click.option("--types", "qtypes", default="q8_0,q6_k,q5_k_m,q4_k_m,q4_0,q3_k_m,q2_k", show_default=True,
              help="llama.cpp file types, comma list.")
@_OUT_DIR
@click.option("--no-measure", is_flag=True, help="Only write the files (no bench, no eval).")
@click.option("-t", "--task", "task_values", multiple=True, help="Tasks to grade each type on, paired with the reference (as in eval).")
@click.option("--limit", type=COUNT, help="First N items of each task.")
@click.option("--tokens", type=COUNT, default=20480, show_default=True, help="Fidelity tokens per type.")
@click.option("--imatrix", help="Importance matrix: 'calibrate' (computed on --calibration text) or an imatrix GGUF from llama-imatrix.")
@click.option("--calibration", type=click.Path(), help="Calibration text for --imatrix calibrate (default: built-in openings).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def quantize(ctx, model, qtypes, out_dir, no_measure, task_values, limit, tokens, imatrix, calibration, as_json):
    """Quantize a model to several llama.cpp types and price each: size, bits/weight, decode tok/s at 1 and
    16 streams, $/M output, KLD / top-1 / PPL ratio against the float reference, task accuracy."""
    from tokenfall import api

    types_ = [t.strip().lower() for t in qtypes.split(",") if t.strip()]
    if not types_:
        raise click.BadParameter("give at least one type, e.g. q8_0,q4_k_m", param_hint="--types")
    specs = _task_specs(task_values, limit, 0, 1, 200, 0, 256)
    with _steps() as p:
        res = api.quantize_sweep(model, types_, out_dir, ctx.obj["db"], measure=not no_measure, tasks=specs, tokens=tokens,
                                 progress=p, imatrix=imatrix, calibration=calibration)
    _print_lever_table(res, as_json, f"quantized from {res['reference']['path']}")


def _measure_options(f):
    """The options every measured lever command shares: what to grade against, on which tasks, how long."""
    for opt in reversed([
        click.option("--no-measure", is_flag=True, help="Only write the file (no bench, no eval)."),
        click.option("-r", "--reference", help="Reference for fidelity (default: the parent's float weights, written F32 if needed)."),
        click.option("-t", "--task", "task_values", multiple=True, help="Tasks to grade parent and result on, paired with the reference."),
        click.option("--limit", type=COUNT, help="First N items of each task."),
        click.option("--tokens", type=COUNT, default=20480, show_default=True, help="Fidelity tokens."),
        click.option("--json", "as_json", is_flag=True)]):
        f = opt(f)
    return f


def _pull(ctx, lever, model, options, out_dir, no_measure, reference, task_values, limit, tokens, as_json) -> dict:
    from tokenfall import api

    specs = _task_specs(task_values, limit, 0, 1, 200, 0, 256)
    with _steps() as p:
        res = api.pull(lever, model, options, out_dir, ctx.obj["db"], measure=not no_measure, reference=reference, tasks=specs,
                       tokens=tokens, progress=p)
    _print_lever_table(res, as_json, f"{lever} -> {res['artifact']['path']}" + (f", graded against {res['reference']['path']}"
                                                                               if res["reference"] else ""))
    return res


@cli.command()
@click.argument("model", required=False)
@click.option("--layers", type=COUNT, help="Depth: transformer blocks to remove (ShortGPT block influence).")
@click.option("--ffn", type=OPEN_FRACTION, help="Width: fraction of MLP channels to remove in every block (Minitron activation importance).")
@click.option("--kv-groups", type=COUNT, help="Width: attention KV groups (a KV head and its query heads) to remove per block.")
@click.option("--calibration", type=click.Path(), help="Calibration text file (default: built-in openings).")
@_OUT_TYPE
@_OUT_DIR
@_measure_options
@click.pass_context
def prune(ctx, model, layers, ffn, kv_groups, calibration, out_type, out_dir, **measure):
    """Structured pruning, then parent and result priced and graded side by side. Depth (--layers): drop
    the blocks that change their input least, keeping the parent's quantization. Width (--ffn,
    --kv-groups): remove the least active MLP channels and attention head groups in every block."""
    if layers and (ffn or kv_groups):
        raise click.UsageError("give --layers (depth) or --ffn/--kv-groups (width), not both")
    if layers:
        lever, options = "prune", {"layers": layers, "calibration": calibration}
    elif ffn or kv_groups:
        lever, options = "prune-width", {"ffn": ffn or 0.0, "kv_groups": kv_groups or 0, "calibration": calibration, "out_type": out_type}
    else:
        raise click.UsageError("say what to remove: --layers N, or --ffn FRACTION and/or --kv-groups N")
    lin = _pull(ctx, lever, model, options, out_dir, **measure)["lineage"]
    if measure["as_json"]:
        return
    if layers:
        out.print(f"removed blocks {lin.get('dropped_layers')}; block influence per block: {lin.get('block_influence')}", highlight=False)
    else:
        out.print(f"MLP channels kept per block {lin.get('ffn_kept')}; attention heads kept {lin.get('heads_kept')}", highlight=False)


@cli.command()
@click.argument("model", required=False)
@click.option("--sparsity", type=OPEN_FRACTION, default=0.5, show_default=True, help="Fraction of each linear layer's weights zeroed.")
@click.option("--method", type=click.Choice(["wanda", "magnitude"]), default="wanda", show_default=True)
@click.option("--pattern", type=click.Choice(["unstructured", "2:4"]), default="unstructured", show_default=True)
@click.option("--calibration", type=click.Path(), help="Calibration text for wanda (default: built-in openings).")
@click.option("--out-type", default="f16", show_default=True, help="File type written; f16/f32 keep the zeros exact.")
@_OUT_DIR
@_measure_options
@click.pass_context
def sparsify(ctx, model, sparsity, method, pattern, calibration, out_type, out_dir, **measure):
    """Unstructured sparsity (magnitude or Wanda, optionally 2:4) for quality study, parent and result
    graded side by side. llama.cpp multiplies zeros like any other weight: no speed-up from sparsity."""
    options = {"sparsity": 0.5 if pattern == "2:4" else sparsity, "method": method, "pattern": pattern, "calibration": calibration,
               "out_type": out_type}
    lin = _pull(ctx, "sparsify", model, options, out_dir, **measure)["lineage"]
    if not measure["as_json"]:
        out.print(f"weights zeroed in the blocks' linear layers: {float(lin['sparsity_achieved']):.1%} "
                  "(no speed-up on llama.cpp: it stores and multiplies the zeros)", highlight=False)


@cli.command()
@click.argument("student")
@click.option("--teacher", required=True, help="Teacher model (e.g. the unpruned F32 reference), same tokenizer.")
@click.option("--corpus", multiple=True, type=click.Path(), help="Training text file (repeatable; default: the standard library's "
              "docstrings, train split).")
@click.option("--heldout", multiple=True, type=click.Path(), help="In-domain text not in --corpus, to grade on (default with the "
              "default corpus: the held-out docstrings).")
@click.option("--steps", type=COUNT, default=200, show_default=True, help="Optimizer steps (about 5 s each here at the defaults).")
@click.option("--minutes", type=POS, help="Stop training after this many minutes (the file is written with the steps done).")
@click.option("--seq-len", type=Number(8, integer=True), default=256, show_default=True)
@click.option("--batch", type=COUNT, default=4, show_default=True)
@click.option("--lr", type=POS, default=6e-4, show_default=True, help="Peak AdamW learning rate (linear warm-up, cosine decay).")
@click.option("--temperature", type=POS, default=2.0, show_default=True)
@click.option("--ce-weight", type=NONNEG, default=0.0, show_default=True, help="Weight of next-token cross-entropy beside the KL term.")
@click.option("--train-embeddings", is_flag=True, help="Also train the tied embeddings (slower).")
@click.option("--seed", type=Number(integer=True), default=0, show_default=True)
@_OUT_TYPE
@_OUT_DIR
@click.option("--no-measure", is_flag=True, help="Only train and write the file.")
@click.option("-t", "--task", "task_values", multiple=True, help="Tasks to grade teacher, student and distilled on (as in eval).")
@click.option("--limit", type=COUNT, help="First N items of each task.")
@click.option("--tokens", type=COUNT, default=8192, show_default=True, help="Fidelity tokens per text.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def distill(ctx, student, teacher, corpus, heldout, steps, minutes, seq_len, batch, lr, temperature, ce_weight, train_embeddings, seed,
            out_type, out_dir, no_measure, task_values, limit, tokens, as_json):
    """Distill a student (e.g. a pruned model) from a teacher: forward KL at a temperature on a corpus,
    torch on the CPU, resumable (Ctrl-C keeps a checkpoint; the same command resumes). Then grade teacher,
    student and distilled side by side: fidelity on held-out in-domain and general text, tasks, $/M output."""
    from tokenfall import api

    options = {"corpus": list(corpus) or None, "steps": steps, "minutes": minutes, "seq_len": seq_len, "batch": batch, "lr": lr,
               "temperature": temperature, "ce_weight": ce_weight, "train_embeddings": train_embeddings, "seed": seed, "out_type": out_type}
    specs = _task_specs(task_values, limit, 0, 1, 200, 0, 256)
    with _steps() as progress:
        train = progress.p.add_task("distilling", total=steps)

        def on_step(step, total, loss):
            progress.p.update(train, completed=step, total=total, description="distilling" + ("" if loss is None else f", loss {loss:.4f}"),
                              visible=step < total)

        res = api.distill(student, teacher, options, out_dir, ctx.obj["db"], measure=not no_measure, heldout=list(heldout) or None,
                          tasks=specs, tokens=tokens, progress=progress, train_progress=on_step)
    if as_json:
        click.echo(json.dumps(res, indent=2))
        return
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
        t.add_row(r["label"], f"{r['size_bytes'] / 1e6:,.1f}", f"{r['n_params']:,}", _fmt(r["decode_tok_s_c1"]), _fmt(r["decode_tok_s_c16"]),
                  _fmt(r["usd_per_m_output_c16"]), *fid[0], *fid[1],
                  *[f"{r['tasks'][n]:.3f}" if r.get("tasks", {}).get(n) is not None else "-" for n in names], r["bench_run"])
    out.print(t)


@cli.command("models")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def models_(ctx, as_json):
    """List model artifacts written by levers, with size, parameters, quant type and parent."""
    from tokenfall import api

    rows = api.artifacts(ctx.obj["db"])
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    by_sha = {r["sha256"]: r for r in rows}
    t = Table()
    for col in ("sha256", "file", "size MB", "params", "quant", "lever", "options", "parent"):
        t.add_column(col)
    for r in rows:
        i = r["info"]
        parent = by_sha.get(r["parent_sha256"])
        t.add_row(r["sha256"][:12], r["path"], f"{i['size_bytes'] / 1e6:,.1f}", f"{i['n_params']:,}", str(i["quant_type"]), r["lever"],
                  json.dumps(r["options"]), (parent["path"].rsplit("/", 1)[-1] if parent else (r["parent_sha256"] or "")[:12]))
    out.print(t)


@cli.command()
@click.option("--limit", type=COUNT, default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx, limit, as_json):
    """List stored runs, newest first."""
    from tokenfall import api

    rows = api.runs(ctx.obj["db"], limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    t = Table()
    for col in ("run", "kind", "status", "model", "engine", "levels", "best out tok/s", "best $/M out"):
        t.add_column(col)
    for r in rows:
        levels = r["summary"] if isinstance(r["summary"], list) else []
        best = max(levels, key=lambda s: s["output_tokens_per_s"], default=None)
        eng = r["engine"] or {}
        t.add_row(r["id"], r["kind"], r["status"], str(r["config"].get("model") or "smollm2-135m"), eng.get("name", r["config"].get("engine", "")),
                  ",".join(s["label"] for s in levels), _fmt(best and best["output_tokens_per_s"], digits=4),
                  _fmt(best and (best.get("cost") or {}).get("usd_per_m_output")))
    out.print(t)


@cli.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx, run_id, as_json):
    """Show one run: per-level metrics, cost and its assumptions."""
    from tokenfall import api

    run = api.show(run_id, ctx.obj["db"])
    sha = ((run.get("engine") or {}).get("model") or {}).get("sha256")
    quality = api.quality_of(sha, ctx.obj["db"]) if run["kind"] == "bench" and sha else []
    if as_json:
        click.echo(json.dumps(run | {"quality": quality}, indent=2))
        return
    if run["kind"] == "eval":
        _print_eval(run)
        return
    _print_run(run)
    d = Table(title="details (seconds unless noted)")
    for col in ("load", "E2E p50/p99", "TPOT incl. first p50/p99 (GuideLLM)", "lateness p99", "window s",
                "out tokens: server/stream vs tokenizer", "Wh/M out"):
        d.add_column(col, justify="right")
    for s in run["summary"] or []:
        c = s.get("cost") or {}
        d.add_row(s["label"], f"{_fmt(s['e2e_s']['p50'])}/{_fmt(s['e2e_s']['p99'])}",
                  f"{_fmt(s['tpot_incl_first_s']['p50'])}/{_fmt(s['tpot_incl_first_s']['p99'])}",
                  _fmt(s["lateness_s"]["p99"]), _fmt(s["window_s"]),
                  f"{s['tokens_out']} vs {s['tokens_out_tokenizer'] if s['tokens_out_tokenizer'] is not None else '-'}",
                  _fmt(c.get("wh_per_m_output")))
    out.print(d)
    m = run["fingerprint"]["machine"]
    out.print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_bytes'] and round(m['memory_bytes'] / 2**30, 1)} GiB, "
              f"ISA {' '.join(m['isa'])}, {m['os']}; GPUs: {', '.join(m['gpus']) or 'none'}")
    b, bufs = run["fingerprint"].get("llama_cpp"), (run.get("engine") or {}).get("buffers")
    if b:
        out.print(f"llama.cpp {b['llama_cpp']}: built with {' '.join(b['features'])}; {b['why']}"
                  + (f"; weights in {', '.join(f'{k} {v:.0f} MiB' for k, v in bufs.items())}" if bufs else ""), highlight=False)
    _print_quality(quality)


@cli.command()
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to a file (atomically) instead of stdout.")
@click.pass_context
def export(ctx, run_id, fmt, output):
    """Export a run with its raw per-request records."""
    import os
    import tempfile
    from pathlib import Path

    from tokenfall import api

    text = api.export(run_id, fmt, ctx.obj["db"])
    if not output:
        click.echo(text, nl=False)
        return
    target = Path(output)
    if not target.parent.is_dir():
        raise TokenfallError(f"--output {output}: folder {target.parent} does not exist; create it first")
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, target)
    except OSError as e:
        raise TokenfallError(f"--output {output}: cannot write there ({e.strerror}); choose a writable folder") from e


@cli.command("mock-server")
@click.option("--port", type=Number(0, 65535, integer=True), default=8700, show_default=True)
@click.option("--ttft", type=NONNEG, default=0.0, show_default=True, help="Seconds before the first token.")
@click.option("--itl", type=NONNEG, default=0.0, show_default=True, help="Seconds between tokens.")
@click.option("--faults", help="Comma list cycled per request: ok,reset,500,malformed,stall,truncate,error_event")
def mock_server(port, ttft, itl, faults):
    """Serve a no-op OpenAI-compatible streaming endpoint on 127.0.0.1 (tests your client, not a model)."""
    from tokenfall.mockserver import serve

    err.print(f"mock server on http://127.0.0.1:{port}/v1 (model name: mock); Ctrl-C stops it")
    try:
        serve("127.0.0.1", port, ttft, itl, faults.split(",") if faults else None)
    except ValueError as e:
        raise TokenfallError(f"--faults: {e}") from e
    except OSError as e:
        raise TokenfallError(f"--port {port}: cannot listen there ({e.strerror}); choose a free port") from e


@cli.command()
@click.argument("run_ids", nargs=-1)
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), help="Directory [default: ./tokenfall-reports/FIRST-RUN].")
@click.pass_context
def report(ctx, run_ids, out_dir):
    """Write one offline HTML report (charts embedded, no network), PNG charts and a Markdown summary of
    runs from the ledger (default: the newest optimize run)."""
    from tokenfall import api

    paths = api.report(list(run_ids), out_dir, db=ctx.obj["db"])
    out.print(f"report: {paths['html']}\nmarkdown: {paths['markdown']}" + "".join(f"\nchart: {p}" for p in paths["png"]), highlight=False)


def _price_source_options(f):
    for opt in reversed([
        click.option("--prices", "prices_csv", type=click.Path(dir_okay=False), help="Your own price CSV (the bundled prices.csv's columns)."),
        click.option("--extend", is_flag=True, help="Add --prices rows to the bundled history instead of replacing it."),
        click.option("--litellm", is_flag=True, help="Add current prices from an installed litellm's price map (read as a file, offline)."),
        click.option("--price", "price_kind", type=click.Choice(["blended", "input", "output"]), default="blended", show_default=True),
        click.option("--blend", default="3:1", show_default=True, help="input:output weights of the blended price (1:1 = a16z's mean)."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables."),
    ]):
        f = opt(f)
    return f


@cli.command()
@click.option("-t", "--threshold", help="Capability by name: gpt-3 (default), gpt-3.5, gpt-3.5-turbo, gpt-4, a16z-gpt-3, a16z-gpt-4.")
@click.option("--min-mmlu", type=PERCENT, help="Capability as an explicit MMLU bound (replaces --threshold).")
@click.option("--with", "with_run", help="Place a bench or optimize run from the ledger on the chart.")
@click.option("--score", type=PERCENT, help="MMLU of the --with run's model when no model card in the dataset has it.")
@click.option("--include-reasoning", is_flag=True, help="Keep reasoning models (excluded by default, as Epoch AI does).")
@click.option("--open-only", is_flag=True, help="Only open-weights models.")
@click.option("--forecast", help="Forecast date YYYY-MM-DD [default: today].")
@click.option("--seed", type=Number(integer=True), default=0, show_default=True, help="Bootstrap seed.")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), help="Directory [default: ./tokenfall-reports/curve].")
@_price_source_options
@click.pass_context
def curve(ctx, threshold, min_mmlu, with_run, score, include_reasoning, open_only, forecast, seed, out_dir, prices_csv, extend, litellm,
          price_kind, blend, as_json):
    """The cheapest price at a capability over time: running-minimum frontier, decline per year with
    intervals, forecast, and your own run on the chart (curve.html, curve.png, frontier.csv)."""
    from tokenfall import api

    r = api.curve(threshold, min_mmlu, price_kind, blend, include_reasoning, open_only, prices_csv, extend, litellm, with_run, score,
                  forecast, out_dir, db=ctx.obj["db"], seed=seed)
    if as_json:
        click.echo(json.dumps({k: v for k, v in r.items() if k != "market"}, indent=2, default=str))
        return
    t = Table(title=f"frontier: cheapest {r['price_kind']} $/M at {r['threshold_label']}", title_justify="left")
    for col in ("date", "model", "provider", "MMLU", "$/M"):
        t.add_column(col, justify="right" if col in ("MMLU", "$/M") else "left")
    for p in r["frontier"]:
        t.add_row(p["date"], p["model"], p["provider"], f"{p['mmlu']:g}", f"{p['usd_per_m']:.4g}")
    out.print(t)
    for k, v in r["summary_rows"]:
        out.print(f"{k}: {v}", highlight=False)
    out.print(f"chart: {r['files']['png']}\ninteractive: {r['files']['html']}\nfrontier data: {r['files']['csv']}", highlight=False)


@cli.command()
@click.argument("model")
@click.option("--run", "run_id", help="A bench/optimize run whose measured $/M is the serving cost (scaled by active parameters if it "
                                      "served another model).")
@click.option("--cost", "usd_per_m", type=POS, help="Your own serving cost, $ per million tokens (same kind as --price).")
@_price_source_options
@click.pass_context
def margin(ctx, model, run_id, usd_per_m, prices_csv, extend, litellm, price_kind, blend, as_json):
    """Market price of an open model vs an estimated serving cost: the implied margin per provider."""
    from tokenfall import api

    r = api.margin(model, run_id, usd_per_m, price_kind, blend, prices_csv, extend, litellm, db=ctx.obj["db"])
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    t = Table(title=f"{r['model']}: {r['price_kind']} price vs serving cost ${r['serving_cost']:.4g}/M ({r['cost_from']})",
              title_justify="left")
    for col in ("provider", "since", "$/M", "implied margin"):
        t.add_column(col, justify="left" if col in ("provider", "since") else "right")
    for p in r["providers"]:
        t.add_row(p["provider"], p["date"], f"{p['usd_per_m']:.4g}", f"{p['margin']:.0%}")
    out.print(t)
    out.print(f"median market price ${r['median_price']:.4g}/M: implied margin {r['median_margin']:.0%}", highlight=False)
    for a in r["assumptions"]:
        out.print(f"- {a}", highlight=False)


def _number(value: str | None, name: str) -> float | None:
    """1.75e11, 175e9, 175B, 300B, 2T, 135M."""
    if value is None:
        return None
    v = value.strip().upper()
    mult = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}.get(v[-1:], 1.0)
    try:
        n = float(v[:-1] if mult != 1.0 else v) * mult
    except ValueError:
        raise TokenfallError(f"{name} {value}: give a number such as 175e9 or 175B") from None
    if not math.isfinite(n) or n < 0:
        raise TokenfallError(f"{name} {value}: give a finite, non-negative number such as 175e9 or 175B")
    return n


@cli.command("train-cost")
@click.option("--model", "preset", help="Preset N and D: gpt-3, llama-2-70b, llama-3.1-405b, smollm2-135m.")
@click.option("--params", help="Parameters N, e.g. 175B (overrides the preset).")
@click.option("--tokens", help="Training tokens D, e.g. 300B (overrides the preset).")
@click.option("--hardware", help="Catalog accelerators, comma list [default: every one with a peak FLOP/s].")
@click.option("--mfu", type=FRACTION, help="Model FLOPs utilisation [default: 0.4].")
@click.option("--gpus", type=COUNT, help="Accelerators in the cluster, for wall-clock days.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
def train_cost(preset, params, tokens, hardware, mfu, gpus, as_json):
    """Training cost: 6*N*D FLOPs at a stated MFU on catalog accelerators -> accelerator-hours and $."""
    from tokenfall import api

    hw = [h.strip() for h in hardware.split(",") if h.strip()] if hardware else None
    r = api.train_cost(_number(params, "--params"), _number(tokens, "--tokens"), preset, hw, mfu, gpus)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    t = Table(title=f"{r['params'] / 1e9:.4g}B parameters x {r['tokens'] / 1e9:.4g}B tokens = {r['flops']:.3g} FLOPs at MFU {r['mfu']:g}",
              title_justify="left")
    for col in ("hardware", "peak TFLOP/s", "$/hour", "price date", "accelerator-hours", "$", *(["days"] if gpus else [])):
        t.add_column(col, justify="left" if col == "hardware" else "right")
    for row in sorted(r["rows"], key=lambda x: x["usd"]):
        t.add_row(row["hardware"], f"{row['peak_tflops']:g}", f"{row['usd_per_hour']:.4g}", f"{row['price_date']} {row['price_kind']}",
                  f"{row['accelerator_hours']:,.0f}", f"{row['usd']:,.0f}", *([f"{row['days']:.1f}"] if gpus else []))
    out.print(t)
    out.print(f"N, D: {r['model_source']}", highlight=False)
    for a in r["assumptions"]:
        out.print(f"- {a}", highlight=False)


def _ids(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@cli.command()
@click.option("-m", "--model", help="Preset (llama-2-70b, llama-3-8b, mixtral-8x7b, ...), a GGUF path or HF dir [default: the bundled model].")
@click.option("--hardware", default="h100-sxm", show_default=True, help="Accelerator catalog id, or 'local' (this machine, peaks measured).")
@click.option("--precision", help="Weight format: bf16, fp8, int8, q8_0, q4_k_m, q4_0, fp4 ... [default: the file's own, bf16 for presets].")
@click.option("--batch", type=COUNT, help="Concurrent streams [default: the best batch under --slo].")
@click.option("--input-tokens", type=COUNT, default=512, show_default=True)
@click.option("--output-tokens", type=COUNT, default=256, show_default=True)
@click.option("--tp", type=COUNT, help="Tensor-parallel degree [default: the cheapest per device that fits].")
@click.option("--profile", help="Engine profile: trt-llm-10, trt-llm-9, vllm-rocm, llamacpp-cuda, llamacpp-metal, llamacpp-cpu.")
@click.option("--slo", help="Latency SLO, seconds: ttft=2,tpot=0.05")
@click.option("--calibrate", help="Bench runs of this machine (comma list) that fit the CPU profile.")
@click.option("--validate", is_flag=True, help="Print predicted vs measured for every calibration row instead.")
@click.option("--holdout", help="With --validate: bench runs to predict without fitting on them.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.pass_context
def estimate(ctx, model, hardware, precision, batch, input_tokens, output_tokens, tp, profile, slo, calibrate, validate, holdout, as_json):
    """ESTIMATE tokens/s, TTFT/TPOT and $/M on hardware you don't have: roofline + engine profile fitted on
    published measurements (MLPerf, llama.cpp tables) and on your own bench runs."""
    from tokenfall import api

    if validate:
        v = api.validate_estimates(_ids(calibrate), _ids(holdout), db=ctx.obj["db"])
        if as_json:
            click.echo(json.dumps(v, indent=2, default=str))
            return
        t = Table(title="estimate vs measurement (output tokens/s)", title_justify="left")
        for col in ("row", "profile", "hardware", "model", "predicted", "measured", "error"):
            t.add_column(col, justify="right" if col in ("predicted", "measured", "error") else "left")
        for r in v["rows"]:
            t.add_row(r["id"] + (" (held out)" if r["held_out"] else ""), r["profile"], f"{r['n_devices']}x {r['device']}",
                      f"{r['model']} {r['precision']}", f"{r['predicted']:,.1f}", f"{r['measured']:,.1f}", f"{r['error']:+.0%}")
        out.print(t)
        for name, p in v["profiles"].items():
            err = "-" if p["error"] is None else f"{p['error']:.0%}"
            out.print(f"{name}: eta_m {p['eta_m']:.3g}, eta_c {p['eta_c']:.3g}, eta_p {p['eta_p']:.3g}, per-layer {p['layer_s'] * 1e6:.3g} us; "
                      f"fitted on {p['fitted_on']} rows, median |error| {err}", highlight=False)
        out.print(f"median absolute error over the rows fitted on: {v['median_abs_error']:.1%}"
                  + (f"; held out: {v['held_out_median_abs_error']:.1%}" if v["held_out_median_abs_error"] is not None else ""), highlight=False)
        return
    s = _slo(slo)
    r = api.estimate(model, hardware, precision, batch, input_tokens, output_tokens, tp, profile, s.get("ttft_s"), s.get("tpot_s"),
                     _ids(calibrate), db=ctx.obj["db"])
    if as_json:
        click.echo(json.dumps(r, indent=2, default=str))
        return
    pt = r["point"]
    out.print(f"[bold]ESTIMATE[/bold] {r['model']['name']} ({r['model']['precision']}) on {r['tp']}x {r['hardware']['name']}, "
              f"batch {pt['batch']} ({pt['bound']}-bound decode):", highlight=False)
    out.print(f"  output {pt['output_tokens_per_s']:,.1f} tok/s, input {pt['input_tokens_per_s']:,.1f} tok/s; decode step "
              f"{pt['decode_step_s'] * 1e3:.3g} ms, TTFT ~{pt['ttft_s'] * 1e3:.3g} ms, TPOT ~{pt['tpot_s'] * 1e3:.3g} ms; "
              f"memory {pt['memory']['need_gb']:.1f} of {pt['memory']['have_gb']:.1f} GB", highlight=False)
    for p in r["prices"]:
        out.print(f"  {p['price']} ({p['price_kind']}, ${p['usd_per_hour']:.4g}/h): $/M input {p['usd_per_m_input']:.4g}, "
                  f"output {p['usd_per_m_output']:.4g}, blended {p['usd_per_m_blended']:.4g}", highlight=False)
    if not r["prices"]:
        out.print("  no catalog price for this hardware: $/M not computed", highlight=False)
    for a in r["assumptions"]:
        out.print(f"- {a}", highlight=False)


@cli.command()
@click.option("--input-per-day", help="Input tokens per day, e.g. 608B.")
@click.option("--output-per-day", help="Output tokens per day, e.g. 168B.")
@click.option("--preset", help="deepseek-2025-02: DeepSeek's published 24-hour inputs.")
@click.option("--prefill-tok-s", type=POS, help="A replica's prefill tokens/s [default: from the estimate].")
@click.option("--decode-tok-s", type=POS, help="A replica's decode tokens/s [default: from the estimate].")
@click.option("--devices-per-replica", type=COUNT, help="Accelerators per replica [default: the estimate's TP].")
@click.option("--usd-per-device-hour", type=NONNEG, help="$/accelerator-hour [default: the catalog price].")
@click.option("--peak-to-mean", type=Number(1), default=2.0, show_default=True, help="Diurnal traffic peak / mean (1 = flat).")
@click.option("--elastic", is_flag=True, help="Provision replicas hour by hour (default: for the peak all day).")
@click.option("--headroom", type=Number(1), default=1.0, show_default=True, help="Capacity margin over the busy time (1.2 = 20%).")
@click.option("--fixed-usd-per-month", type=NONNEG, default=0.0, show_default=True, help="Engineering, storage, monitoring ...")
@click.option("--api-price", type=POS, help="API $/M (total tokens) for break-even [default: market price at --min-mmlu].")
@click.option("--min-mmlu", type=PERCENT, help="Capability to find the cheapest market API price for the break-even.")
@click.option("-m", "--model", help="For the estimate: preset or model file [default: the bundled model].")
@click.option("--hardware", default="h100-sxm", show_default=True, help="For the estimate: accelerator id or 'local'.")
@click.option("--precision", help="For the estimate: weight format.")
@click.option("--slo", help="For the estimate: ttft=2,tpot=0.05")
@click.option("--input-tokens", type=COUNT, default=512, show_default=True, help="For the estimate: tokens per request in.")
@click.option("--output-tokens", type=COUNT, default=256, show_default=True, help="For the estimate: tokens per request out.")
@click.option("--calibrate", help="For the estimate on 'local': bench runs that fit the CPU profile.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.pass_context
def scale(ctx, input_per_day, output_per_day, preset, prefill_tok_s, decode_tok_s, devices_per_replica, usd_per_device_hour, peak_to_mean,
          elastic, headroom, fixed_usd_per_month, api_price, min_mmlu, model, hardware, precision, slo, input_tokens, output_tokens, calibrate,
          as_json):
    """Economies of scale: daily traffic -> replicas, utilisation, $/M at that scale, idle and fixed-cost shares,
    break-even against an API price."""
    from tokenfall import api

    s = _slo(slo)
    est = {"model": model, "hardware": hardware, "precision": precision, "input_tokens": input_tokens, "output_tokens": output_tokens,
           "ttft_s": s.get("ttft_s"), "tpot_s": s.get("tpot_s"), "calibrate": _ids(calibrate), "db": ctx.obj["db"]}
    r = api.scale(_number(input_per_day, "--input-per-day") or 0.0, _number(output_per_day, "--output-per-day") or 0.0, prefill_tok_s,
                  decode_tok_s, devices_per_replica, usd_per_device_hour, peak_to_mean, elastic, headroom, fixed_usd_per_month, preset,
                  est, api_price, min_mmlu)
    if as_json:
        click.echo(json.dumps(r, indent=2, default=str))
        return
    i = r["inputs"]
    out.print(f"{'ESTIMATE: ' if r['estimate'] else ''}{i['input_per_day']:.4g} input + {i['output_per_day']:.4g} output tokens/day; "
              f"a replica of {i['devices_per_replica']} devices does {i['prefill_tok_s']:,.0f} prefill / {i['decode_tok_s']:,.0f} decode tok/s "
              f"at ${i['usd_per_device_hour']:.4g}/device-hour ({r['source']})", highlight=False)
    out.print(f"  replicas: {r['replicas_avg_busy']:.2f} busy on average, {r['replicas_avg_provisioned']:.2f} provisioned "
              f"({'elastic' if i['elastic'] else 'fixed for the peak'}, peak {r['replicas_peak']}, peak/mean traffic {i['peak_to_mean']:.3g})", highlight=False)
    out.print(f"  utilisation {r['utilisation']:.1%} (idle share of cost {r['idle_share']:.1%}, fixed share {r['fixed_share']:.1%}); "
              f"${r['usd_per_day']:,.0f}/day", highlight=False)
    out.print(f"  [bold]$/M total tokens {r['usd_per_m_total']:.4g}[/bold] (input {r['usd_per_m_input'] or 0:.4g}, "
              f"output {r['usd_per_m_output'] or 0:.4g}, split by busy time)", highlight=False)
    if r.get("published"):
        p = r["published"]
        out.print(f"  published: {p['avg_nodes']} average / {p['peak_nodes']} peak nodes, ${p['usd_per_day']:,.0f}/day = "
                  f"${p['usd_per_m_total']:.4g}/M; reproduced within {p['error']:+.1%}", highlight=False)
    if r.get("break_even"):
        b, a = r["break_even"], r["api"]
        who = f" ({a['model']}, {a['provider']}, {a['date']})" if a.get("model") else ""
        out.print(f"  API at ${a['usd_per_m']:.4g}/M{who}: " + (f"self-hosting breaks even at {b['tokens_per_day']:.3g} tokens/day "
                  f"({b['replicas_peak']} replica(s) at the peak)" if b["tokens_per_day"] else "self-hosting never breaks even below 1e14 tokens/day"),
                  highlight=False)


def _default_tasks(limit: int) -> tuple[list, str]:
    """HellaSwag pairs (mirror, cache or one download), else the built-in synthetic choice tasks, saying why."""
    from tokenfall.quality import datasets

    try:
        found = datasets.locate("hellaswag")
    except TokenfallError as e:
        return (_task_specs(("synth:all",), None, 0, 1, limit, 0, 256),
                f"built-in synthetic choice tasks, NOT HellaSwag ({e})")
    return _task_specs(("hellaswag",), limit, 0, 1, 200, 0, 256), f"HellaSwag pairs ({found.origin}, first {limit})"


@cli.command()
@click.option("-m", "--model", help="Model to optimize: smollm2-135m (default), gemma3-270m or a GGUF path.")
@click.option("--types", default="q8_0,q6_k,q4_k_m,q4_0", show_default=True, help="Quantized candidates (from the float weights).")
@click.option("--no-ledger-artifacts", is_flag=True, help="Do not try files made from this model earlier (pruned, distilled...).")
@click.option("-c", "--concurrency", default="1,16,64,128", show_default=True, help="Concurrency levels of the batching sweep.")
@click.option("--probe", "probe_c", type=Number(1, 256, integer=True), default=16, show_default=True, help="Concurrency at which files are ranked and serving levers tried.")
@click.option("--kv-types", default="q8_0", show_default=True, help="KV-cache types tried against f16 (comma list, '' = none).")
@click.option("--threads", default="1", show_default=True, help="Thread counts tried against all cores (comma list, '' = none).")
@click.option("--prefix-cache", type=Number(0, 64, integer=True), default=4, show_default=True, help="Prompts the prefix cache keeps (0 = lever off).")
@click.option("--no-speculative", is_flag=True, help="Skip prompt-lookup speculative decoding.")
@click.option("--input-tokens", type=COUNT, default=80, show_default=True)
@click.option("--shared-prefix", type=COUNT0, default=64, show_default=True, help="Leading prompt tokens every request shares (a system prompt).")
@click.option("--output-tokens", type=COUNT, default=64, show_default=True)
@click.option("--requests-per-stream", type=Number(0, 1000, lo_open=True), default=1.5, show_default=True, help="Requests per level = this x concurrency (>= 8).")
@click.option("--tokens", type=COUNT, default=4096, show_default=True, help="Fidelity tokens per candidate.")
@click.option("-t", "--task", "task_values", multiple=True, help="Gate tasks as in eval (default: hellaswag when it can be had, else synthetic, said on the first line).")
@click.option("--limit", type=COUNT, default=200, show_default=True, help="Items per task.")
@click.option("--max-kld", type=NONNEG, default=0.05, show_default=True, help="Gate: mean KLD bound vs the float weights.")
@click.option("--max-acc-drop", type=PERCENT, default=0.0, show_default=True, help="Gate: significant accuracy drop allowed, pp.")
@click.option("--slo", default="ttft=3,tpot=0.25", show_default=True, help="Latency SLO, seconds (ttft, tpot, e2e).")
@click.option("--slo-attainment", type=FRACTION, default=0.9, show_default=True, help="Share of requests that must meet the SLO.")
@click.option("--hardware", help="Catalog entry to price with (default: the cloud CPU instance matching this machine).")
@click.option("--usd-per-hour", type=NONNEG, help="Your own hourly price (energy then added from --watts).")
@click.option("--watts", type=NONNEG, help="Power draw to price energy, when not measurable.")
@click.option("--time-budget", type=POS, help="Stop searching after this many seconds and report the best found.")
@click.option("--fresh", is_flag=True, help="Measure everything again instead of reusing identical runs from the ledger.")
@click.option("--report-dir", type=click.Path(file_okay=False), help="Where the report goes [default: ./tokenfall-reports/RUN].")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def optimize(ctx, model, types, no_ledger_artifacts, concurrency, probe_c, kv_types, threads, prefix_cache, no_speculative,
             input_tokens, shared_prefix, output_tokens, requests_per_stream, tokens, task_values, limit, max_kld, max_acc_drop,
             slo, slo_attainment, hardware, usd_per_hour, watts, time_budget, fresh, report_dir, as_json):
    """The main job: measure the naive baseline (HF transformers fp32, batch 1), pull every lever, and find
    the cheapest configuration that passes the quality gate and the latency SLO; then write the report."""
    from tokenfall import api
    from tokenfall.types import Gate, OptimizeConfig, PriceSpec, Prompts, Slo

    if task_values:
        tasks, task_note = _task_specs(task_values, limit, 0, 1, 200, 0, 256), ", ".join(task_values)
    else:
        tasks, task_note = _default_tasks(limit)
    lists = {n: [x.strip() for x in v.split(",") if x.strip()] for n, v in (("--types", types), ("--kv-types", kv_types))}
    config = OptimizeConfig(
        model=model, types=[t.lower() for t in lists["--types"]], ledger_artifacts=not no_ledger_artifacts,
        concurrency=_positives(concurrency, "--concurrency", int, "1,16,64"), probe_concurrency=probe_c,
        kv_types=lists["--kv-types"], threads=_positives(threads, "--threads", int, "1") if threads.strip() else [],
        prefix_cache=prefix_cache, speculative=not no_speculative,
        prompts=Prompts(input_tokens=input_tokens, output_tokens=output_tokens, shared_prefix_tokens=shared_prefix),
        requests_per_stream=requests_per_stream, tokens=tokens, tasks=tasks, gate=Gate(max_kld=max_kld, max_acc_drop=max_acc_drop),
        slo=Slo(**_slo(slo)), slo_attainment=slo_attainment, time_budget_s=time_budget,
        price=PriceSpec(hardware=hardware, usd_per_hour=usd_per_hour, watts=watts))
    if not as_json:
        err.print(f"gate tasks: {task_note}", highlight=False, soft_wrap=True)
    with _steps() as steps:
        log = (lambda m: None) if as_json else (lambda m: steps.p.console.print(m, highlight=False, markup=False))
        run = api.optimize(config, db=ctx.obj["db"], progress=steps, log=log, fresh=fresh)
    paths = api.report([run["id"]], report_dir, db=ctx.obj["db"])
    if as_json:
        click.echo(json.dumps(run | {"report": paths}, indent=2))
    else:
        _print_optimize(run)
        out.print(f"report: {paths['html']}", highlight=False)
    chosen = run["summary"].get("chosen")
    if chosen is None:
        raise VerdictNotMet("no configuration passed the quality gate")
    if not chosen.get("slo_ok"):
        raise VerdictNotMet("no configuration met the latency SLO; the cheapest measured is reported")


def _print_optimize(run: dict) -> None:
    from tokenfall.report import headline

    s = run["summary"]
    t = Table(title=f"cost waterfall, optimize run {run['id']} ($/M output tokens; every step a measured pair)")
    for col in ("step", "change", "$/M out", "factor", "cumulative", "$/M in", "$/M blended", "bench run"):
        t.add_column(col, justify="right")
    base = s["baseline"]["usd_per_m_output"]
    for w in s["waterfall"]:
        t.add_row(w["lever"], w["change"], _fmt(w["usd_per_m_output"], digits=4), f"{w['factor']:.2f}x" if w["factor"] else "-",
                  f"{base / w['usd_per_m_output']:.1f}x" if w["usd_per_m_output"] else "-", _fmt(w.get("usd_per_m_input"), digits=4),
                  _fmt(w.get("usd_per_m_blended"), digits=4), w["bench_run"])
    out.print(t)
    for lv in s.get("levers", []):
        if not lv["taken"]:
            f = f" ({1 / lv['factor']:.2f}x the output price)" if lv.get("factor") else ""
            out.print(f"not taken: {lv['variant']}{f}: {lv['why']}", highlight=False)
    sp = s.get("speculative")
    if sp:
        out.print(f"speculative decoding (prompt lookup, 1 stream): {sp['speedup']:.2f}x tokens/s, acceptance "
                  f"{(sp['acceptance'] or 0):.0%}, greedy text identical for {sp['identical']}/{sp['requests']} requests", highlight=False)
    if s.get("budget_hit"):
        out.print("the time budget ran out: the best configuration measured so far is reported")
    if s.get("reused"):
        out.print(f"reused {s['reused']} completed measurements from the ledger", highlight=False)
    out.print(f"[bold]{headline(s)}[/bold]", highlight=False)


# Field names whose flag is not simply --field-name (without a trailing _s).
_FLAG_OF = {"warmup_requests": "--warmup", "shared_prefix_tokens": "--shared-prefix", "ttft_s": "--slo ttft",
            "tpot_s": "--slo tpot", "e2e_s": "--slo e2e", "probe_concurrency": "--probe", "n": "--n-synth",
            "kv_types": "--kv-types", "threads": "--threads", "concurrency": "--concurrency"}


def _validation_line(e: pydantic.ValidationError, argv: list[str]) -> str:
    """One line for a config that failed validation, naming the flag the user typed when there is one."""
    err_ = e.errors()[0]
    field = next((str(x) for x in reversed(err_["loc"]) if isinstance(x, str)), "")
    flag = _FLAG_OF.get(field, "--" + field.removesuffix("_s").replace("_", "-"))
    command = next((cli.commands[a] for a in argv if a in cli.commands), None)
    known = {o for p in (command.params if command else []) for o in p.opts}
    where = flag if flag.split()[0] in known else ".".join(map(str, err_["loc"]))
    msg = err_["msg"].removeprefix("Value error, ")
    if "finite" in msg:
        msg = "must be a finite number"
    return f"{where} {err_.get('input')!r}: {msg}"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    if not [a for a in argv if a != "--debug"]:
        click.echo(cli.get_help(click.Context(cli, info_name="tokenfall")))
        sys.exit(ExitCode.OK)
    try:
        cli.main(args=argv, prog_name="tokenfall", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as e:
        if debug:
            raise
        msg = e.format_message().replace("\n", " ")
        err.print(f"error: {msg} (see tokenfall --help)", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except (TokenfallError, Interrupted, RunFailed, VerdictNotMet) as e:
        if debug:
            raise
        prefix = {TokenfallError: "error: ", RunFailed: "failed: ", VerdictNotMet: "verdict: "}
        err.print(next((v for k, v in prefix.items() if isinstance(e, k)), "") + str(e), markup=False, highlight=False,
                  soft_wrap=True)
        sys.exit(e.exit_code)
    except pydantic.ValidationError as e:
        if debug:
            raise
        err.print(f"error: {_validation_line(e, argv)}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(ExitCode.BAD_INPUT)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as e:  # noqa: BLE001 - a bug or a library failure: one line, the traceback behind --debug
        if debug:
            raise
        err.print(f"failed: {type(e).__name__}: {e} (rerun with --debug for the traceback)", markup=False, highlight=False,
                  soft_wrap=True)
        sys.exit(ExitCode.RUNTIME)
