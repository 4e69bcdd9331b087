"""specialize and route: a small specialist beside a general model — build it, route each request, price the mix."""

from __future__ import annotations

import click

from tokenfall.cli.params import COUNT, FRACTION, POS, Number, default_tasks, progress_steps, task_specs
from tokenfall.cli.root import cli, echo_json, out

_CORPUS = click.option("--corpus", multiple=True, type=click.Path(), help="Domain text: .txt (blank-line paragraphs) or .jsonl "
                       "({\"text\"} lines), repeatable; one document in eight is held out. Default: the standard library's docstrings.")
_ITEMS = click.option("--items", type=Number(20, 20_000, integer=True), default=600, show_default=True,
                      help="In-domain requests made from held-out corpus text (at most one per document).")
_GENERAL = click.option("-t", "--task", "task_values", multiple=True, help="General (out-of-domain) choice tasks. Default: HellaSwag "
                        "pairs (the built-in synthetic families when it cannot be had); 'none' for in-domain only.")
_LIMIT = click.option("--limit", type=COUNT, default=300, show_default=True, help="First N items of each general task.")


def _general(task_values: tuple[str, ...], limit: int) -> list:
    if task_values == ("none",):
        return []
    if task_values:
        return task_specs(task_values, limit, 0, 1, limit, 0, 256)
    return default_tasks(limit)[0]


@cli.command()
@click.argument("base", required=False)
@click.option("--general", "general_model", required=True, help="The general model the specialist will sit beside (e.g. gemma3-270m).")
@_CORPUS
@click.option("--steps", type=COUNT, default=300, show_default=True, help="Optimizer steps (batch 4 x 256 tokens; ~5 s each on 2 cores).")
@click.option("--minutes", type=POS, help="Stop training after this many minutes (the file is written with the steps done).")
@click.option("--lr", type=POS, default=2e-4, show_default=True, help="Peak AdamW learning rate.")
@click.option("--seed", type=Number(integer=True), default=0, show_default=True)
@_ITEMS
@_GENERAL
@_LIMIT
@click.option("--no-price", is_flag=True, help="Skip the bench run of each model.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def specialize(ctx, base, general_model, corpus, steps, minutes, lr, seed, items, task_values, limit, no_price, as_json):
    """Build a small specialist for a domain and grade it against the general model: continued training of BASE
    (default: the bundled model) on the corpus's train split — plus distillation from the general model when they
    share a tokenizer — then base, specialist and general model on in-domain requests from held-out text (with
    intervals and the paired gap), on general tasks, and on price. Resumable like distill."""
    from tokenfall import api
    from tokenfall.report.route import print_specialize

    with progress_steps() as progress:
        train = progress.p.add_task("specializing", total=steps)

        def on_step(step, total, loss):
            progress.p.update(train, completed=step, total=total, description="specializing" + ("" if loss is None else f", loss {loss:.4f}"),
                              visible=step < total)

        res = api.specialize(base, general_model, list(corpus) or None, steps, minutes, lr, seed, items, _general(task_values, limit),
                             price=not no_price, db=ctx.obj["db"], progress=progress, train_progress=on_step)
    if as_json:
        echo_json(res)
    else:
        print_specialize(out, res)


@cli.command()
@click.option("--small", help="The specialist (default: the bundled model), a GGUF.")
@click.option("--large", required=True, help="The general model, a GGUF (e.g. gemma3-270m).")
@_CORPUS
@_ITEMS
@_GENERAL
@_LIMIT
@click.option("--router", "routers", multiple=True, type=click.Choice(["cascade", "classifier", "random"]),
              help="Routers to trace (repeatable; default all three).")
@click.option("--floor", type=FRACTION, default=0.95, show_default=True,
              help="Share of the general model's score the chosen point keeps on every segment.")
@click.option("--train-share", type=Number(0, 1, lo_open=True, hi_open=True), default=0.5, show_default=True,
              help="Requests the classifier trains on; the curves use the rest.")
@click.option("--seed", type=Number(integer=True), default=0, show_default=True)
@click.option("--hardware", help="Catalog hardware id pricing the compute (default: this machine's class).")
@click.option("--usd-per-hour", type=POS, help="Your own hourly price (needs --watts).")
@click.option("--watts", type=POS, help="Power draw for the energy price.")
@click.option("--report", "report_dir", type=click.Path(), help="Also write the HTML/PNG/Markdown report here.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def route(ctx, small, large, corpus, items, task_values, limit, routers, floor, train_share, seed, hardware, usd_per_hour, watts,
          report_dir, as_json):
    """Route each request between a small specialist and a general model: both answer every in-domain and general
    request, then each router (cascade on the small model's confidence, a classifier on the prompt's character
    n-grams, random) is traced from all-small to all-general — quality with intervals vs measured cost per request,
    APGR and CPT(50%/80%) as RouteLLM defines them, the cheapest point keeping --floor. Writes router files and a
    prompts file for `tokenfall bench SMALL -e routed -o large=... -o router=FILE`."""
    from tokenfall import api
    from tokenfall.report.route import print_route
    from tokenfall.types import PriceSpec, RouteConfig

    config = RouteConfig(small=small, large=large, corpus=list(corpus) or None, items=items, general=_general(task_values, limit),
                         routers=list(routers) or ["cascade", "classifier", "random"], floor=floor, train_share=train_share, seed=seed,
                         price=PriceSpec(hardware=hardware, usd_per_hour=usd_per_hour, watts=watts))
    with progress_steps() as p:
        run = api.route(config, db=ctx.obj["db"], progress=p)
    if as_json:
        echo_json(run)
    else:
        print_route(out, run)
    if report_dir:
        files = api.report([run.id], report_dir, db=ctx.obj["db"])
        if not as_json:
            out.print(f"report: {files['html']}", highlight=False)
