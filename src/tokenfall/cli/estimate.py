"""Estimates: hardware you do not have (roofline + fitted profile) and traffic you do not have yet (scale)."""

from __future__ import annotations

import click

from tokenfall.cli.params import COUNT, NONNEG, PERCENT, POS, Number, parse_date, parse_number, parse_slo, run_ids_of
from tokenfall.cli.root import cli, echo_json, out
from tokenfall.report import console_market as console
from tokenfall.types import EstimateConfig, ScaleConfig


@cli.command()
@click.option("-m", "--model", help="Preset (llama-2-70b, llama-3-8b, mixtral-8x7b, ...), a GGUF path or HF dir [default: the bundled model].")
@click.option("--hardware", default="h100-sxm", show_default=True, help="Accelerator catalog id, or 'local' (this machine, peaks measured).")
@click.option("--precision", help="Weight format: bf16, fp8, int8, q8_0, q4_k_m, q4_0, fp4 ... [default: the file's own, bf16 for presets].")
@click.option("--batch", type=COUNT, help="Concurrent streams [default: the best batch under --slo].")
@click.option("--input-tokens", type=COUNT, default=512, show_default=True)
@click.option("--output-tokens", type=COUNT, default=256, show_default=True)
@click.option("--tp", type=COUNT, help="Tensor-parallel degree [default: the cheapest per device that fits].")
@click.option("--profile", help="Engine profile: trt-llm, vllm-rocm, cpu-server, llamacpp-cuda, llamacpp-metal, llamacpp-cpu.")
@click.option("--slo", help="Latency SLO, seconds: ttft=2,tpot=0.05")
@click.option("--calibrate", help="Bench runs of this machine (comma list) that fit the CPU profile.")
@click.option("--validate", is_flag=True, help="Print predicted vs measured for every calibration row instead.")
@click.option("--holdout", help="With --validate: bench runs to predict without fitting on them.")
@click.option("--rows", "rows_file", type=click.Path(dir_okay=False), help="With --validate: a CSV of published results (columns of "
              "data/measurements.csv) to predict without fitting on them.")
@click.option("--as-of", help="Carry the engine profile along its fitted software trend to this date (YYYY-MM-DD).")
@click.option("--add-rows", type=click.Path(dir_okay=False), help="A CSV of published results (columns of data/measurements.csv) "
              "to fit on as well, e.g. a few rows of a newer engine build.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.pass_context
def estimate(ctx, model, hardware, precision, batch, input_tokens, output_tokens, tp, profile, slo, calibrate, validate, holdout, rows_file,
             as_of, add_rows, as_json):
    """ESTIMATE tokens/s, TTFT/TPOT and $/M on hardware you don't have: roofline + engine profile fitted on
    published measurements (MLPerf, llama.cpp tables) and on your own bench runs. --validate shows how far to trust
    it: errors in sample, leave one out, leave one MLPerf round out and leave one device out."""
    from tokenfall import api

    if validate:
        v = api.validate_estimates(run_ids_of(calibrate), run_ids_of(holdout), db=ctx.obj["db"], rows=rows_file, add_rows=add_rows)
        echo_json(v) if as_json else console.print_validation(out, v)
        return
    s = parse_slo(slo)
    r = api.estimate(EstimateConfig(model=model, hardware=hardware, precision=precision, batch=batch, input_tokens=input_tokens,
                                    output_tokens=output_tokens, tp=tp, profile=profile, ttft_s=s.get("ttft_s"), tpot_s=s.get("tpot_s"),
                                    calibrate=run_ids_of(calibrate) or [], as_of=parse_date(as_of, "--as-of"), add_rows=add_rows),
                        db=ctx.obj["db"])
    echo_json(r) if as_json else console.print_estimate(out, r)


@cli.command()
@click.option("--input-per-day", help="Input tokens per day, e.g. 608B.")
@click.option("--output-per-day", help="Output tokens per day, e.g. 168B.")
@click.option("--preset", help="deepseek-2025-02: a consistency check on DeepSeek's disclosed 24 hours, beside a prediction of their per-node rates.")
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

    s = parse_slo(slo)
    est = EstimateConfig(model=model, hardware=hardware, precision=precision, input_tokens=input_tokens, output_tokens=output_tokens,
                         ttft_s=s.get("ttft_s"), tpot_s=s.get("tpot_s"), calibrate=run_ids_of(calibrate) or [])
    r = api.scale(ScaleConfig(input_per_day=parse_number(input_per_day, "--input-per-day") or 0.0,
                              output_per_day=parse_number(output_per_day, "--output-per-day") or 0.0, prefill_tok_s=prefill_tok_s,
                              decode_tok_s=decode_tok_s, devices_per_replica=devices_per_replica, usd_per_device_hour=usd_per_device_hour,
                              peak_to_mean=peak_to_mean, elastic=elastic, headroom=headroom, fixed_usd_per_month=fixed_usd_per_month,
                              preset=preset, estimate=est, api_usd_per_m=api_price, min_mmlu=min_mmlu), db=ctx.obj["db"])
    echo_json(r) if as_json else console.print_scale(out, r)
