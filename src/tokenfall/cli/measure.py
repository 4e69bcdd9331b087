"""bench and eval: measure cost on a real engine, and the quality that was priced."""

from __future__ import annotations

import click

from tokenfall.cli.params import (
    COUNT,
    COUNT0,
    FRACTION,
    NONNEG,
    OPEN_FRACTION,
    PERCENT,
    POS,
    Number,
    kv_pairs,
    positives,
    parse_slo,
    task_specs,
    live,
    progress_steps,
)
from tokenfall.cli.root import cli, echo_json, out
from tokenfall.errors import VerdictNotMet
from tokenfall.report import console
from tokenfall.types import Run


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
                      duration_s=duration, warmup_requests=warmup, seed=seed) for r in positives(rate, "--rate", float, "2,8")]
    else:
        loads = [Load(mode="concurrency", concurrency=c, requests=requests if requests is not None or duration else max(16, 4 * c),
                      duration_s=duration, warmup_requests=warmup, seed=seed) for c in positives(concurrency, "--concurrency", int, "1,4,16")]
    config = BenchConfig(
        model=model, engine=engine, engine_options=kv_pairs(opts, "--opt"), tokenizer=tokenizer, loads=loads,
        prompts=Prompts(source="jsonl" if prompts_file else "synthetic", path=prompts_file, input_tokens=input_tokens,
                        output_tokens=output_tokens, ignore_eos=not no_ignore_eos, chat=chat, seed=seed, shared_prefix_tokens=shared_prefix),
        slo=Slo(**parse_slo(slo)), slo_attainment=slo_attainment, timeout_s=timeout,
        price=PriceSpec(hardware=hardware, usd_per_hour=usd_per_hour, watts=watts, usd_per_kwh=usd_per_kwh, utilisation=utilisation))
    run = _measured(api.bench, config, ctx, as_json, live, console.print_bench)
    missed = [f"{lv.label} {lv.slo_attainment:.0%}" for lv in run.levels
              if lv.slo_attainment is not None and lv.slo_attainment < slo_attainment]
    if missed:
        raise VerdictNotMet(f"SLO met by fewer than {slo_attainment:.0%} of requests at {', '.join(missed)}")


@cli.command("eval")
@click.option("-m", "--model", help="Candidate: smollm2-135m (default), a GGUF path, an HF dir, or URL#served-name.")
@click.option("-r", "--reference", help="Reference model for fidelity and paired task comparison (e.g. an F16/F32 GGUF).")
@click.option("-e", "--engine", default="llamacpp", show_default=True, help="llamacpp | transformers | openai (generation tasks only)")
@click.option("-o", "--opt", "opts", multiple=True, help="Candidate's engine option KEY=VALUE (repeatable), e.g. kv_type=q8_0.")
@click.option("--reference-opt", "ref_opts", multiple=True, help="Reference's engine option KEY=VALUE (default: none, its own defaults).")
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
def eval_(ctx, model, reference, engine, opts, ref_opts, texts, tokens, ctx_len, score_from, no_fidelity, task_values, limit, shots,
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
    config = EvalConfig(model=model, reference=reference, engine=engine, engine_options=kv_pairs(opts, "--opt"),
                        reference_options=kv_pairs(ref_opts, "--reference-opt"), texts=list(texts), tokens=tokens, ctx=ctx_len, score_from=score_from, fidelity=not no_fidelity,
                        tasks=task_specs(task_values, limit, shots, difficulty, n_synth, seed, max_tokens),
                        gate=Gate(max_kld=max_kld, min_top1=min_top1, max_ppl_ratio=max_ppl_ratio, max_acc_drop=max_acc_drop, alpha=alpha),
                        lm_eval=list(lm_eval), lm_eval_include=lm_eval_include, limit=limit)
    run = _measured(api.evaluate, config, ctx, as_json, progress_steps, console.print_eval)
    gate = run.summary.gate
    if gate and not gate.passed:
        raise VerdictNotMet(f"quality gate failed: {'; '.join(c for c in gate.checks if 'FAIL' in c.upper()) or 'see above'}")


def _measured(job, config, ctx, as_json: bool, display, render) -> Run:
    """``job`` run quietly for --json (one document on stdout), else under a progress display and then printed."""
    if as_json:
        run = job(config, db=ctx.obj["db"])
        echo_json(run)
        return run
    with display() as p:
        run = job(config, db=ctx.obj["db"], progress=p)
    render(out, run)
    return run
