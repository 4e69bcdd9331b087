"""The industry curve as files: curve.html (interactive, offline), curve.png and frontier.csv, written atomically.

Draws every eligible market price, the running-minimum frontier, the fitted decline with its bootstrap
band out to the forecast date, and (when given) the user's own measured deployment.
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

from tokenfall.report import _table, page, staged


def _title(c: dict) -> str:
    f = c["fit"]
    return (f"Cheapest {c['price_kind']} $/M tokens at {c['threshold_label']}: "
            f"{f['factor_per_year']:.1f}x cheaper per year (90% bootstrap CI {f['bootstrap_ci'][0]:.1f}-{f['bootstrap_ci'][1]:.1f})")


def _plotly(c: dict) -> dict:
    import plotly.graph_objects as go

    fig = go.Figure()
    t = c["fit"]["trend"]
    fig.add_trace(go.Scatter(x=t["dates"] + t["dates"][::-1], y=t["hi"] + t["lo"][::-1], fill="toself", name="trend 90% band",
                             line={"width": 0}, fillcolor="rgba(76,120,168,0.15)", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=t["dates"], y=t["usd_per_m"], mode="lines", name="log-linear fit", line={"dash": "dash", "color": "#4c78a8"}))
    for is_open, name, color in ((False, "closed weights", "#bbbbbb"), (True, "open weights", "#9ecae9")):
        pts = [p for p in c["market"] if p["open_weights"] == is_open]
        fig.add_trace(go.Scatter(x=[p["date"] for p in pts], y=[p["usd_per_m"] for p in pts], mode="markers", name=name,
                                 marker={"size": 6, "color": color}, text=[f"{p['model']} ({p['provider']}) MMLU {p['mmlu']}" for p in pts],
                                 hovertemplate="%{text}<br>%{x}: $%{y:.4g}/M"))
    fr = c["frontier"]
    fig.add_trace(go.Scatter(x=[p["date"] for p in fr], y=[p["usd_per_m"] for p in fr], mode="lines+markers", name="frontier (running minimum)",
                             line={"shape": "hv", "color": "#e45756"}, marker={"size": 9},
                             text=[f"{p['model']} ({p['provider']}) MMLU {p['mmlu']}" for p in fr], hovertemplate="%{text}<br>%{x}: $%{y:.4g}/M"))
    d = c.get("deployment")
    if d:
        fig.add_trace(go.Scatter(x=[d["date"]], y=[d["usd_per_m"]], mode="markers", name=f"your run {d['run']}",
                                 marker={"size": 16, "symbol": "star", "color": "#54a24b"},
                                 text=[f"{d['model']} MMLU {d['mmlu']} ({d['score_source']})"], hovertemplate="%{text}<br>%{x}: $%{y:.4g}/M"))
    fig.update_layout(title=_title(c), xaxis_title="date", yaxis_title=f"{c['price_kind']} $ per million tokens (log)",
                      template="plotly_white", height=520, margin={"t": 70, "b": 60, "l": 70, "r": 20})
    fig.update_yaxes(type="log")
    return json.loads(fig.to_json())


def _png(c: dict, path: Path) -> None:
    import datetime as dt

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def days(xs):
        return [dt.date.fromisoformat(x) for x in xs]

    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    t = c["fit"]["trend"]
    ax.fill_between(days(t["dates"]), t["lo"], t["hi"], color="#4c78a8", alpha=0.15, label="trend 90% band")
    ax.plot(days(t["dates"]), t["usd_per_m"], "--", color="#4c78a8", label="log-linear fit")
    for is_open, name, color in ((False, "closed weights", "#bbbbbb"), (True, "open weights", "#9ecae9")):
        pts = [p for p in c["market"] if p["open_weights"] == is_open]
        ax.plot(days([p["date"] for p in pts]), [p["usd_per_m"] for p in pts], "o", ms=3.5, color=color, label=name)
    fr = c["frontier"]
    ax.step(days([p["date"] for p in fr]), [p["usd_per_m"] for p in fr], "-o", where="post", color="#e45756", ms=5, label="frontier")
    for p in fr:
        ax.annotate(p["model"][:28], (dt.date.fromisoformat(p["date"]), p["usd_per_m"]), fontsize=6, xytext=(4, 3), textcoords="offset points")
    d = c.get("deployment")
    if d:
        ax.plot([dt.date.fromisoformat(d["date"])], [d["usd_per_m"]], "*", ms=16, color="#54a24b", label=f"your run {d['run']}")
    ax.set_yscale("log")
    ax.set_title(_title(c), fontsize=9)
    ax.set_ylabel(f"{c['price_kind']} $ per million tokens (log)")
    ax.legend(fontsize=7, loc="upper right")
    ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def render_curve(c: dict, out_dir: str | Path) -> dict:
    out = Path(out_dir)
    body = [f"<p class='headline'>{html.escape(_title(c))}</p>",
            "<div class='chart' id='curve'></div>",
            "<h3>Fit</h3>" + _table(["", ""], [[k, v] for k, v in c["summary_rows"]]),
            "<h3>Frontier points (each a cited price)</h3>" + _table(
                ["date", "model", "provider", "MMLU", "$/M", "price source"],
                [[p["date"], p["model"], p["provider"], p["mmlu"], f"{p['usd_per_m']:.4g}", p["source"]] for p in c["frontier"]]),
            "<h3>Method and assumptions</h3><ul>" + "".join(f"<li>{html.escape(a)}</li>" for a in c["assumptions"]) + "</ul>"]
    names = ["curve.html", "curve.png", "frontier.csv", "curve.json"]
    with staged(out) as tmp:
        (tmp / "curve.html").write_text(page("tokenfall curve", body, [("curve", _plotly(c))]), encoding="utf-8")
        _png(c, tmp / "curve.png")
        with (tmp / "frontier.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["date", "model", "provider", "mmlu", "usd_per_m", "source_price"])
            w.writerows([p["date"], p["model"], p["provider"], p["mmlu"], p["usd_per_m"], p["source"]] for p in c["frontier"])
        (tmp / "curve.json").write_text(json.dumps({k: v for k, v in c.items() if k != "market"}, indent=1, default=str))
    return dict(zip(("html", "png", "csv", "json"), (str(out / n) for n in names)))


def summary_rows(res: dict, why: str) -> list[list[str]]:
    """The curve's numbers as (what, value) lines for the console and the page."""
    f, deployment = res["fit"], res["deployment"]
    fc = f["forecast"]
    rows = [
        ["threshold", f"{res['threshold_label']}: {why}"], ["price", res["price_kind"]], ["frontier points", f"{f['points']} ({f['start']} .. {f['end']})"],
        ["decline factor per year", f"{f['factor_per_year']:.2f}x"],
        [f"{f['level']:.0%} bootstrap CI ({f['bootstrap_samples']} resamples of frontier points)", f"{f['bootstrap_ci'][0]:.2f}x - {f['bootstrap_ci'][1]:.2f}x"],
        [f"{f['level']:.0%} OLS t-interval (Epoch AI's)", f"{f['ols_ci'][0]:.2f}x - {f['ols_ci'][1]:.2f}x"],
        ["R² of log10 price on date", f"{f['r2']:.3f}"],
        ["time for a 10x fall", "-" if f["years_per_10x"] is None else f"{f['years_per_10x'] * 12:.1f} months"
         + ("" if None in f["years_per_10x_ci"] else f" (CI {f['years_per_10x_ci'][0] * 12:.1f}-{f['years_per_10x_ci'][1] * 12:.1f})")],
        [f"forecast for {fc['date']}", f"${fc['usd_per_m']:.3g}/M (prediction interval ${fc['prediction_interval'][0]:.3g}-"
                                       f"${fc['prediction_interval'][1]:.3g}; trend CI ${fc['trend_ci'][0]:.3g}-${fc['trend_ci'][1]:.3g})"],
    ]
    if deployment:
        d, mb, level = deployment, deployment["market_best"], res["threshold"]
        rows.append(["your deployment", f"${d['usd_per_m']:.4g}/M on {d['date']} ({d['what']}), {d['model']} at MMLU {d['mmlu']:g}"])
        if d["mmlu"] < level:
            rows.append(["note", f"your model's MMLU {d['mmlu']:g} is below the threshold {level:g}: "
                                 "it is placed on the chart but is not at that capability"])
        rows.append([f"cheapest market price at MMLU >= {d['mmlu']:g} then",
                     f"${mb['usd_per_m']:.4g}/M ({mb['model']}, {mb['provider']}, {mb['date']}): "
                     + (f"yours is {d['vs_market']:.2f}x cheaper" if d["vs_market"] >= 1
                        else f"the market is {1 / d['vs_market']:.2f}x cheaper") if mb else "none"])
    return rows
