"""The market and estimate commands' results as terminal text: curve, margins, training cost, estimates, scale."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def print_curve(out: Console, r: dict) -> None:
    t = Table(title=f"frontier: cheapest {r['price_kind']} $/M at {r['threshold_label']}", title_justify="left")
    for col in ("date", "model", "provider", "MMLU", "$/M"):
        t.add_column(col, justify="right" if col in ("MMLU", "$/M") else "left")
    for p in r["frontier"]:
        t.add_row(p["date"], p["model"], p["provider"], f"{p['mmlu']:g}", f"{p['usd_per_m']:.4g}")
    out.print(t)
    for k, v in r["summary_rows"]:
        out.print(f"{k}: {v}", highlight=False)
    out.print(f"chart: {r['files']['png']}\ninteractive: {r['files']['html']}\nfrontier data: {r['files']['csv']}", highlight=False)


def print_margin(out: Console, r: dict) -> None:
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


def print_train_cost(out: Console, r: dict, gpus: int | None) -> None:
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


def print_validation(out: Console, v: dict) -> None:
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


def print_estimate(out: Console, r: dict) -> None:
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


def print_scale(out: Console, r: dict) -> None:
    i = r["inputs"]
    out.print(f"{'ESTIMATE: ' if r['estimate'] else ''}{i['input_per_day']:.4g} input + {i['output_per_day']:.4g} output tokens/day; "
              f"a replica of {i['devices_per_replica']} devices does {i['prefill_tok_s']:,.0f} prefill / {i['decode_tok_s']:,.0f} decode tok/s "
              f"at ${i['usd_per_device_hour']:.4g}/device-hour ({r['source']})", highlight=False)
    out.print(f"  replicas: {r['replicas_avg_busy']:.2f} busy on average, {r['replicas_avg_provisioned']:.2f} provisioned "
              f"({'elastic' if i['elastic'] else 'fixed for the peak'}, peak {r['replicas_peak']}, peak/mean traffic {i['peak_to_mean']:.3g})",
              highlight=False)
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
