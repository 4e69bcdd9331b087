"""The market: the price-decline curve, providers' margins on open models, training cost."""

from __future__ import annotations

import click

from tokenfall.cli.params import COUNT, FRACTION, PERCENT, POS, Number, parse_number
from tokenfall.cli.root import cli, echo_json, out
from tokenfall.report import console_market as console
from tokenfall.types import CurveConfig


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

    r = api.curve(CurveConfig(threshold=threshold, min_mmlu=min_mmlu, price_kind=price_kind, blend=blend, include_reasoning=include_reasoning,
                              open_only=open_only, prices_csv=prices_csv, extend=extend, litellm=litellm, with_run=with_run, score=score,
                              forecast=forecast, seed=seed), out_dir, db=ctx.obj["db"])
    if as_json:
        echo_json({k: v for k, v in r.items() if k != "market"})
        return
    console.print_curve(out, r)


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
        echo_json(r)
        return
    console.print_margin(out, r)


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
    r = api.train_cost(parse_number(params, "--params"), parse_number(tokens, "--tokens"), preset, hw, mfu, gpus)
    if as_json:
        echo_json(r)
        return
    console.print_train_cost(out, r, gpus)
