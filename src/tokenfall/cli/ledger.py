"""What the ledger holds: runs, model artifacts, exports, reports; and the mock server for client tests."""

from __future__ import annotations

import click

from tokenfall.cli.params import COUNT, NONNEG, Number
from tokenfall.cli.root import cli, echo_json, err, out
from tokenfall.errors import TokenfallError
from tokenfall.report import console


@cli.command("models")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def models_(ctx, as_json):
    """List model artifacts written by levers, with size, parameters, quant type and parent."""
    from tokenfall import api

    rows = api.artifacts(ctx.obj["db"])
    if as_json:
        echo_json(rows)
        return
    out.print(console.artifacts_table(rows))


@cli.command()
@click.option("--limit", type=COUNT, default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx, limit, as_json):
    """List stored runs, newest first."""
    from tokenfall import api

    rows = api.runs(ctx.obj["db"], limit)
    if as_json:
        echo_json(rows)
        return
    out.print(console.runs_table(rows))


@cli.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx, run_id, as_json):
    """Show one run: per-level metrics, cost and its assumptions."""
    from tokenfall import api

    run = api.show(run_id, ctx.obj["db"])
    sha = ((run.engine or {}).get("model") or {}).get("sha256")
    quality = api.quality_of(sha, ctx.obj["db"]) if run.kind == "bench" and sha else []
    if as_json:
        echo_json(run.model_dump(mode="json") | {"quality": quality})
        return
    if run.kind == "eval":
        console.print_eval(out, run)
        return
    if run.kind == "ttc":
        if run.summary is None:
            out.print(f"ttc run {run.id} is {run.status}: no curves yet (rerun its command to continue it)", highlight=False)
        else:
            from tokenfall.report import ttc

            ttc.print_ttc(out, run)
        return
    if run.kind == "route" and run.summary is not None:
        from tokenfall.report import route

        route.print_route(out, run)
        return
    console.print_bench(out, run)
    console.print_bench_details(out, run)
    console.print_quality(out, quality)


@cli.command()
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to a file (atomically) instead of stdout.")
@click.pass_context
def export(ctx, run_id, fmt, output):
    """Export a run with its raw per-request records."""
    from pathlib import Path

    from tokenfall import api
    from tokenfall.files import write_text_atomic

    text = api.export(run_id, fmt, ctx.obj["db"])
    if not output:
        click.echo(text, nl=False)
        return
    target = Path(output)
    if not target.parent.is_dir():
        raise TokenfallError(f"--output {output}: folder {target.parent} does not exist; create it first")
    try:
        write_text_atomic(target, text)
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
