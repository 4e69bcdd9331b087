"""The routed pair vs each model alone, measured side by side: `tokenfall bench` of the small model, of the general
model, and of the routed engine (small + general behind a router file from `tokenfall route`), on the same prompts
(the route run's test requests), in interleaved rounds (the order rotates each round). Prints per configuration
the median and range over rounds of output tok/s, TTFT p50, TPOT p50 and $/M output, the ratios to the general
model alone (median of per-round ratios with their range), and the routed engine's share sent to the general model.

    python benchmarks/routing_mix.py SMALL LARGE ROUTER_FILE PROMPTS.jsonl [--rounds 3] [-c 8] [--requests 48] [--tokens 32]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

from tokenfall import api
from tokenfall.types import BenchConfig, Load, PriceSpec, Prompts


def one(name: str, small: str, large: str, router: str, prompts: str, c: int, requests: int, tokens: int, db: str) -> dict:
    model, engine, opts = {"small": (small, "llamacpp", {}), "large": (large, "llamacpp", {}),
                           "routed": (small, "routed", {"large": large, "router": router})}[name]
    run = api.bench(BenchConfig(model=model, engine=engine, engine_options=opts, loads=[Load(concurrency=c, requests=requests)],
                                prompts=Prompts(source="jsonl", path=prompts, output_tokens=tokens), price=PriceSpec()), db)
    lv = run.levels[0]
    stats = (run.engine or {}).get("stats") or {}
    return {"run": run.id, "tps": lv.output_tokens_per_s, "ttft": lv.ttft_s.p50, "tpot": lv.tpot_excl_first_s.p50,
            "usd_out": lv.cost.usd_per_m_output if lv.cost else None,
            "to_large": stats.get("large", 0) / max(1, stats.get("large", 0) + stats.get("small", 0)) if stats else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("small"), ap.add_argument("large"), ap.add_argument("router"), ap.add_argument("prompts")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("-c", "--concurrency", type=int, default=8)
    ap.add_argument("--requests", type=int, default=48)
    ap.add_argument("--tokens", type=int, default=32)
    a = ap.parse_args()
    names = ["small", "large", "routed"]
    got = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            for n in names[r % 3:] + names[:r % 3]:
                got[n].append(one(n, a.small, a.large, a.router, a.prompts, a.concurrency, a.requests, a.tokens, f"{tmp}/ledger.sqlite"))
                print(f"round {r + 1} {n}: {got[n][-1]}", flush=True)
    med = lambda xs: statistics.median(xs)  # noqa: E731
    print(f"\n{a.rounds} interleaved rounds, concurrency {a.concurrency}, {a.requests} requests x {a.tokens} output tokens")
    print(f"{'config':8} {'out tok/s':>22} {'TTFT p50 ms':>22} {'TPOT p50 ms':>22} {'$/M out':>24} {'to general':>10}")
    for n in names:
        cols = []
        for k, scale in (("tps", 1), ("ttft", 1e3), ("tpot", 1e3), ("usd_out", 1)):
            xs = [g[k] * scale for g in got[n] if g[k] is not None]
            cols.append(f"{med(xs):.4g} ({min(xs):.4g}-{max(xs):.4g})" if xs else "-")
        share = [g["to_large"] for g in got[n] if g["to_large"] is not None]
        print(f"{n:8} {cols[0]:>22} {cols[1]:>22} {cols[2]:>22} {cols[3]:>24} {f'{med(share):.0%}' if share else '-':>10}")
    for n in ("small", "routed"):
        for k, label in (("tps", "throughput"), ("usd_out", "$/M out")):
            ratios = [x[k] / y[k] for x, y in zip(got[n], got["large"]) if x[k] and y[k]]
            print(f"{n} / general alone, {label}: {med(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
