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


SPLITS = (("in_sample", "in sample"), ("leave_one_out", "leave one out"), ("leave_one_round_out", "leave one round out"),
          ("leave_one_device_out", "leave one device out"))


def print_validation(out: Console, v: dict) -> None:
    """Every row with its in-sample and out-of-sample errors, then the medians the user should read."""
    oos = {k: {r["id"]: r["error"] for r in v.get(k) or []} for k, _ in SPLITS[1:]}
    t = Table(title="estimate vs measurement (output tokens/s); errors in sample and held out", title_justify="left")
    for col in ("row", "profile", "hardware", "model", "scenario", "measured", "predicted", "in", "LOO", "LORO", "LODO"):
        t.add_column(col, justify="left" if col in ("row", "profile", "hardware", "model", "scenario") else "right")

    def pct(x):
        return "-" if x is None else f"{x:+.0%}"
    for r in v["rows"]:
        t.add_row(r["id"], r["profile"], f"{r['n_devices']}x {r['device']}", f"{r['model']} {r['precision']}", r["scenario"],
                  f"{r['measured']:,.1f}", f"{r['predicted']:,.1f}", pct(r["error"]),
                  *(pct(oos[k].get(r["id"])) for k, _ in SPLITS[1:]))
    out.print(t)
    s = Table(title="median |error| (n) by scenario", title_justify="left")
    s.add_column("scenario")
    for _, label in SPLITS:
        s.add_column(label, justify="right")
    sums = [v["in_sample"]] + [v.get(k + "_summary") or {} for k, _ in SPLITS[1:]]
    keys = sorted({k for x in sums for k in x if k.startswith("scenario=")})
    for k in ["all", *keys]:
        s.add_row(k.removeprefix("scenario="), *(f"{x[k]['median_abs_error']:.1%} ({x[k]['n']})" if x.get(k) else "-" for x in sums))
    out.print(s)
    lr = v.get("leave_one_round_out_summary") or {}
    fam = [k for k in lr if "/" in k]
    if fam:
        f = Table(title="leave one round out, by scenario and device family: median |error| (median signed, n)", title_justify="left")
        for col in ("scenario / family", "median |error|", "median error", "n"):
            f.add_column(col, justify="left" if col.startswith("scen") else "right")
        for k in sorted(fam):
            f.add_row(k, f"{lr[k]['median_abs_error']:.1%}", f"{lr[k]['median_error']:+.1%}", str(lr[k]["n"]))
        out.print(f)
    for name, p in v["profiles"].items():
        if not p["fitted_on"]:
            continue
        err = "-" if p["error"] is None else f"{p['error']:.0%}"
        extra = (f", m_half {p['m_half']:.0f} tokens; shared: software {p['gain_per_year']:+.0%}/year (log), FP4 credit exponent "
                 f"{p['fp4_exp']:.2f}; fixed step {p['step_s'] * 1e3:.2g} ms (assumed)" + "".join(f", {w} effective prompt x{x:.2f}" for w, x in p["prompt_scale"].items())
                 if p["scheduler"] == "continuous" else f", per-layer {p['layer_s'] * 1e6:.3g} us")
        out.print(f"{name}: eta_m {p['eta_m']:.3g}, eta_c {p['eta_c']:.3g}{extra}; fitted on {p['fitted_on']} rows, in-sample "
                  f"median |error| {err}", highlight=False)
    for ver in v.get("versions") or []:
        out.print(f"  build {ver['profile']} ({ver['version'] or 'version not recorded'}): {ver['rows']} rows, measured/predicted "
                  f"x{ver['level']:.2f}", highlight=False)
    if v.get("held_out"):
        h = Table(title="held out (never fitted on)" + (f": {v['rows_file']['path']}" if v.get("rows_file") else ""), title_justify="left")
        for col in ("row", "profile", "hardware", "model", "scenario", "measured", "predicted", "error"):
            h.add_column(col, justify="right" if col in ("measured", "predicted", "error") else "left")
        for r in v["held_out"]:
            h.add_row(r["id"], r["profile"] + (" (borrowed)" if r.get("borrowed") else ""), f"{r['n_devices']}x {r['device']}",
                      f"{r['model']} {r['precision']}", r["scenario"], f"{r['measured']:,.1f}", f"{r['predicted']:,.1f}", pct(r["error"]))
        out.print(h)
        hs = v["held_out_summary"]
        out.print("held out, median |error| (median signed, n): " + "; ".join(
            f"{k.removeprefix('scenario=')} {x['median_abs_error']:.1%} ({x['median_error']:+.1%}, {x['n']})"
            for k, x in hs.items() if x and (k == "all" or k.startswith("scenario="))), highlight=False)
        for u in (v.get("rows_file") or {}).get("unrepresentable", []):
            out.print(f"  not representable: {u['id']}: {u['why']}", highlight=False)
        if v.get("rows_file", {}).get("already_fitted"):
            out.print(f"  ({v['rows_file']['already_fitted']} rows of that file are in the calibration set and were left out)", highlight=False)
    out.print(f"median absolute error in sample: {v['median_abs_error']:.1%}"
              + (f"; leave one round out: {lr['all']['median_abs_error']:.1%}" if lr.get("all") else ""), highlight=False)


def print_estimate(out: Console, r: dict) -> None:
    pt = r["point"]
    out.print(f"[bold]ESTIMATE[/bold] {r['model']['name']} ({r['model']['precision']}) on {r['tp']}x {r['hardware']['name']}, "
              f"batch {pt['batch']:.0f} ({pt['bound']}-bound decode)"
              + (f", loaded to {pt['utilisation']:.0%} of capacity so that Poisson arrivals meet the TTFT limit at the 99th percentile"
                 if pt.get("utilisation", 1) < 1 else "") + ":", highlight=False)
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
        out.print(f"  consistency check (DeepSeek's own disclosed per-node rates fed back in, not a prediction): published "
                  f"{p['avg_nodes']} average / {p['peak_nodes']} peak nodes, ${p['usd_per_day']:,.0f}/day = ${p['usd_per_m_total']:.4g}/M; "
                  f"reproduced within {p['error']:+.1%}", highlight=False)
    if r.get("prediction"):
        q = r["prediction"]
        out.print(f"  ESTIMATE from the model and the hardware ({q['profile']}): decode {q['decode_tok_s_per_node']:,.0f} output tok/s per "
                  f"8x H800 node (batch {q['decode_batch_per_gpu']:.0f} per GPU, step {q['decode_step_s'] * 1e3:.3g} ms) vs "
                  f"{q['published_decode']:,.0f} disclosed ({q['decode_error']:+.0%}); prefill {q['prefill_tok_s_per_node']:,.0f} input tok/s "
                  f"per node vs {q['published_prefill']:,.0f} ({q['prefill_error']:+.0%})", highlight=False)
        for a in q["assumptions"]:
            out.print(f"  - {a}", highlight=False)
    if r.get("break_even"):
        b, a = r["break_even"], r["api"]
        who = f" ({a['model']}, {a['provider']}, {a['date']})" if a.get("model") else ""
        out.print(f"  API at ${a['usd_per_m']:.4g}/M{who}: " + (f"self-hosting breaks even at {b['tokens_per_day']:.3g} tokens/day "
                  f"({b['replicas_peak']} replica(s) at the peak)" if b["tokens_per_day"] else "self-hosting never breaks even below 1e14 tokens/day"),
                  highlight=False)
