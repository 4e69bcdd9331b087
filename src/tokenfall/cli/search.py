"""optimize: the main job."""

from __future__ import annotations

import click

from tokenfall.cli.params import COUNT, COUNT0, FRACTION, NONNEG, PERCENT, POS, Number, default_tasks, positives, parse_slo, progress_steps, task_specs
from tokenfall.cli.root import cli, echo_json, err, out
from tokenfall.errors import VerdictNotMet
from tokenfall.report import console


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
@click.option("--limit", type=COUNT, help="Items per task [default: 600 HellaSwag pairs, or 100 per synthetic family offline].")
@click.option("--max-kld", type=NONNEG, default=0.05, show_default=True, help="Gate: mean KLD bound vs the float weights.")
@click.option("--max-acc-drop", type=PERCENT, default=2.0, show_default=True, help="Gate: non-inferiority margin, pp (the drop's one-sided 95% upper bound must stay below it).")
@click.option("--slo", default="ttft=3,tpot=0.25", show_default=True, help="Latency SLO, seconds (ttft, tpot, e2e).")
@click.option("--slo-attainment", type=FRACTION, default=0.9, show_default=True, help="Share of requests that must meet the SLO.")
@click.option("--hardware", help="Catalog entry to price with (default: the cloud CPU instance matching this machine).")
@click.option("--usd-per-hour", type=NONNEG, help="Your own hourly price (energy then added from --watts).")
@click.option("--watts", type=NONNEG, help="Power draw to price energy, when not measurable.")
@click.option("--rounds", type=Number(2, 20, integer=True), default=3, show_default=True, help="Interleaved rounds of baseline and chosen behind the headline interval.")
@click.option("--time-budget", type=POS, help="Stop searching after this many seconds and report the best found.")
@click.option("--fresh", is_flag=True, help="Measure everything again instead of reusing identical runs from the ledger.")
@click.option("--report-dir", type=click.Path(file_okay=False), help="Where the report goes [default: ./tokenfall-reports/RUN].")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def optimize(ctx, model, types, no_ledger_artifacts, concurrency, probe_c, kv_types, threads, prefix_cache, no_speculative,
             input_tokens, shared_prefix, output_tokens, requests_per_stream, tokens, task_values, limit, max_kld, max_acc_drop,
             slo, slo_attainment, hardware, usd_per_hour, watts, rounds, time_budget, fresh, report_dir, as_json):
    """The main job: measure the naive baseline (HF transformers fp32, batch 1), pull every lever, and find
    the cheapest configuration that passes the quality gate and the latency SLO; then write the report."""
    from tokenfall import api
    from tokenfall.types import Gate, OptimizeConfig, PriceSpec, Prompts, Slo

    if task_values:
        tasks, task_note = task_specs(task_values, limit, 0, 1, 200, 0, 256), ", ".join(task_values)
    else:
        tasks, task_note = default_tasks(limit)
    lists = {n: [x.strip() for x in v.split(",") if x.strip()] for n, v in (("--types", types), ("--kv-types", kv_types))}
    config = OptimizeConfig(
        model=model, types=[t.lower() for t in lists["--types"]], ledger_artifacts=not no_ledger_artifacts,
        concurrency=positives(concurrency, "--concurrency", int, "1,16,64"), probe_concurrency=probe_c,
        kv_types=lists["--kv-types"], threads=positives(threads, "--threads", int, "1") if threads.strip() else [],
        prefix_cache=prefix_cache, speculative=not no_speculative,
        prompts=Prompts(input_tokens=input_tokens, output_tokens=output_tokens, shared_prefix_tokens=shared_prefix),
        requests_per_stream=requests_per_stream, tokens=tokens, tasks=tasks, gate=Gate(max_kld=max_kld, max_acc_drop=max_acc_drop),
        slo=Slo(**parse_slo(slo)), slo_attainment=slo_attainment, rounds=rounds, time_budget_s=time_budget,
        price=PriceSpec(hardware=hardware, usd_per_hour=usd_per_hour, watts=watts))
    if not as_json:
        err.print(f"gate tasks: {task_note}", highlight=False, soft_wrap=True)
    with progress_steps() as progress:
        log = (lambda m: None) if as_json else (lambda m: progress.p.console.print(m, highlight=False, markup=False))
        run = api.optimize(config, db=ctx.obj["db"], progress=progress, log=log, fresh=fresh)
    paths = api.report([run.id], report_dir, db=ctx.obj["db"])
    if as_json:
        echo_json(run.model_dump(mode="json") | {"report": paths})
    else:
        console.print_optimize(out, run)
        out.print(f"report: {paths['html']}", highlight=False)
    if run.summary.headline is None:
        raise VerdictNotMet(run.summary.verdict or "no headline")
