"""ttc: test-time compute priced — sample n answers per problem, pick one, and see what each point of accuracy costs."""

from __future__ import annotations

import click

from tokenfall.cli.params import COUNT, FRACTION, OPEN_FRACTION, POS, Number, kv_pairs, positives, progress_steps, task_specs
from tokenfall.cli.root import cli, echo_json, out


@cli.command("ttc")
@click.option("-m", "--model", help="smollm2-135m (default), gemma3-270m, a GGUF path, or URL#served-name (engine openai).")
@click.option("-e", "--engine", default="llamacpp", show_default=True, help="llamacpp | openai")
@click.option("-o", "--opt", "opts", multiple=True, help="Engine option KEY=VALUE (repeatable).")
@click.option("-t", "--task", "task_value", default="synth-gen:arithmetic", show_default=True,
              help="gsm8k | synth-gen:FAMILY (arithmetic, compare, count, sequence) | gen:FILE.jsonl ({\"prompt\", \"answer\"} lines).")
@click.option("--problems", type=COUNT, default=20, show_default=True, help="Problems: the first N of the task.")
@click.option("--difficulty", type=Number(1, 3, integer=True), default=1, show_default=True, help="Synthetic families.")
@click.option("--shots", type=Number(0, 64, integer=True), default=0, show_default=True, help="gsm8k / gen files: leading items used as worked examples.")
@click.option("--extract", help="Regex reading a sample's answer (group 1, else the match). Default: after '####', after 'answer is', else the last number.")
@click.option("-n", "--samples", "n", type=Number(1, 10_000, integer=True), default=64, show_default=True, help="Samples per problem.")
@click.option("--k", "ks", help="Points of the curves, e.g. 1,4,16 (default: powers of two up to n, and n).")
@click.option("--temperature", type=Number(0, 5), default=0.8, show_default=True)
@click.option("--top-p", type=Number(0, 1, lo_open=True), default=0.95, show_default=True)
@click.option("--max-tokens", type=COUNT, default=256, show_default=True, help="Output cap per sample.")
@click.option("--seed", type=Number(integer=True), default=0, show_default=True, help="Samples' seeds derive from it.")
@click.option("--verifier", help="'self' (the model prompted to check an answer) or a GGUF: enables best-of-k and early stopping.")
@click.option("--accept", type=OPEN_FRACTION, default=0.5, show_default=True, help="Early stopping: verifier score that accepts.")
@click.option("--search", "search", multiple=True, type=click.Choice(["beam", "mcts"]), help="Tree search over reasoning steps (repeatable).")
@click.option("--search-budget", type=COUNT, default=512, show_default=True, help="Tree search: generated tokens per problem.")
@click.option("--search-problems", type=COUNT, help="Tree search on the first N problems (default: all).")
@click.option("--beam-width", type=Number(1, 64, integer=True), default=4, show_default=True)
@click.option("--expand", "beam_expand", type=Number(1, 64, integer=True), default=4, show_default=True,
              help="Steps sampled per beam (beam), children per node (MCTS).")
@click.option("--vs", help="A second (larger) model sampled --vs-n times per problem: small x N vs large x 1 at equal cost.")
@click.option("--vs-n", type=Number(1, 1000, integer=True), default=4, show_default=True)
@click.option("--budget", "budget_usd", type=POS, help="$ per problem: the most accurate strategy within it.")
@click.option("--target", type=FRACTION, help="Accuracy (fraction): the cheapest strategy reaching it.")
@click.option("--hardware", help="Catalog hardware id pricing the engine's time (default: this machine's class).")
@click.option("--usd-per-hour", type=POS, help="Your own hourly price (needs --watts unless the server is remote).")
@click.option("--watts", type=POS, help="Power draw for the energy price.")
@click.option("--report", "report_dir", type=click.Path(), help="Also write the HTML/PNG/Markdown report here.")
@click.option("--fresh", is_flag=True, help="Sample again in a new run (default: the run with this config is continued, or re-read when finished).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.pass_context
def ttc(ctx, model, engine, opts, task_value, problems, difficulty, shots, extract, n, ks, temperature, top_p, max_tokens, seed,
        verifier, accept, search, search_budget, search_problems, beam_width, beam_expand, vs, vs_n, budget_usd, target,
        hardware, usd_per_hour, watts, report_dir, fresh, as_json):
    """Test-time compute, priced: n samples per problem (the prompt prefilled once), accuracy vs $ per problem for
    coverage (pass@k), majority and log-prob weighted votes, best-of-k by a verifier, early stopping, beam search
    and MCTS; the coverage fit, where voting plateaus, and the cheapest strategy for a budget or a target.
    Rerunning the command continues an interrupted run and re-reads a finished one."""
    from tokenfall import api
    from tokenfall.report import ttc as show
    from tokenfall.types import PriceSpec, TtcConfig

    spec = task_specs((task_value,), problems, shots, difficulty, problems, seed, max_tokens)
    if len(spec) != 1:
        raise click.BadParameter(f"'{task_value}': ttc takes one task", param_hint="--task")
    config = TtcConfig(model=model, engine=engine, engine_options=kv_pairs(opts, "--opt"), task=spec[0], extract=extract, n=n,
                       ks=positives(ks, "--k", int, "1,4,16") if ks else [], temperature=temperature, top_p=top_p,
                       max_tokens=max_tokens, seed=seed, verifier=verifier, accept=accept, search=list(search),
                       search_budget=search_budget, search_problems=search_problems, beam_width=beam_width,
                       beam_expand=beam_expand, vs=vs, vs_n=vs_n, budget_usd=budget_usd, target=target,
                       price=PriceSpec(hardware=hardware, usd_per_hour=usd_per_hour, watts=watts))
    if as_json:
        run = api.ttc(config, db=ctx.obj["db"], fresh=fresh)
        echo_json(run)
    else:
        with progress_steps() as p:
            run = api.ttc(config, db=ctx.obj["db"], progress=p, fresh=fresh)
        show.print_ttc(out, run)
    if report_dir:
        files = api.report([run.id], report_dir, db=ctx.obj["db"])
        if not as_json:
            out.print(f"report: {files['html']}", highlight=False)
