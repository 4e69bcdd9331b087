"""The CPU cost model against this machine: bench the bundled model at several concurrencies, fit the
llamacpp-cpu profile on some levels, and print predicted vs measured output tokens/s for every level,
held-out ones marked. Everything comes from one run of this script.

    python benchmarks/estimate_cpu.py [--fit 1,4,64] [--hold 16] [--input-tokens 32] [--output-tokens 64]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tfcli import tf


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit", default="1,4,64")
    ap.add_argument("--hold", default="16")
    ap.add_argument("--input-tokens", default="32")
    ap.add_argument("--output-tokens", default="64")
    a = ap.parse_args()
    db = str(Path(tempfile.mkdtemp()) / "ledger.sqlite")
    common = ["--input-tokens", a.input_tokens, "--output-tokens", a.output_tokens, "--warmup", "2", "--json"]
    fit_run = tf("--db", db, "bench", "-c", a.fit, *common)["id"]
    hold_run = tf("--db", db, "bench", "-c", a.hold, *common)["id"]
    v = tf("--db", db, "estimate", "--validate", "--calibrate", fit_run, "--holdout", hold_run, "--json")
    p = v["profiles"]["llamacpp-cpu"]
    print(f"llamacpp-cpu fitted on bench run {fit_run} (c={a.fit}): eta_m {p['eta_m']:.3g}, eta_c {p['eta_c']:.3g}, "
          f"per-layer {p['layer_s'] * 1e6:.3g} us")
    print(f"{'level':24s} {'predicted':>10s} {'measured':>10s} {'pred/meas':>10s}")
    for r in v["rows"] + v["held_out"]:
        if r["profile"] == "llamacpp-cpu":
            tag = " (held out)" if r["held_out"] else ""
            print(f"{r['id'].split('-')[-1] + tag:24s} {r['predicted']:10.1f} {r['measured']:10.1f} {r['predicted'] / r['measured']:10.2f}")
    print(f"held-out median |error| {v['held_out_median_abs_error']:.1%} (bench run {hold_run})")
    both = tf("--db", db, "estimate", "--validate", "--calibrate", f"{fit_run},{hold_run}", "--json")
    for r in both["rows"]:
        if r["profile"] == "llamacpp-cpu":
            print(f"fitted on every level: {r['id'].split('-')[-1]} predicted {r['predicted']:.1f} vs measured {r['measured']:.1f} "
                  f"({r['error']:+.1%})")


if __name__ == "__main__":
    main()
