"""Distillation heals a pruned model, measured side by side in one run: the bundled model with N blocks
removed (block influence), and that model distilled from the unpruned F32 reference on the standard
library's docstrings (train split) within a CPU-time budget. Both are graded against the reference on
text not used in training — the held-out docstrings (in-domain) and the built-in general text — and on
HellaSwag pairs, and priced.

    python benchmarks/distill_heal.py [--layers 8] [--steps 200] [--minutes 20] [--limit 300] [--work DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tfcli import tf



def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--limit", type=int, default=300, help="HellaSwag pairs")
    ap.add_argument("--tokens", type=int, default=8192, help="fidelity tokens per text")
    ap.add_argument("--work", help="directory of an earlier run to continue (its artifacts and ledger are reused)")
    args = ap.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="tf-distill-"))
    db = ["--db", str(work / "ledger.sqlite")]
    subprocess.run([sys.executable, "-m", "tokenfall", *db, "convert", "--out-dir", str(work)], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "tokenfall", *db, "prune", "--layers", str(args.layers), "--no-measure", "--out-dir", str(work)],
                   check=True, capture_output=True)
    reference, pruned = next(work.glob("*.F32.gguf")), next(work.glob(f"*.drop{args.layers}.gguf"))
    t0 = time.monotonic()
    res = tf(*db, "distill", str(pruned), "--teacher", str(reference), "--steps", str(args.steps), "--minutes", str(args.minutes),
             "--out-dir", str(work), "--tokens", str(args.tokens), "-t", "hellaswag",
             "--limit", str(args.limit), "--json")
    lin = res["lineage"]
    print(f"distilled {lin['steps_done']} steps, {int(lin['tokens_seen']):,} tokens, {float(lin['train_seconds']) / 60:.1f} min training "
          f"({lin['precision']}); whole command {(time.monotonic() - t0) / 60:.1f} min; loss {lin['loss_first']} -> {lin['loss_last']}")
    rows = {r["label"]: r for r in res["rows"]}
    print(f"{'model':10} {'domain KLD':>10} {'top-1':>7} {'general KLD':>11} {'top-1':>7} {'hellaswag':>9} {'tok/s c=1':>9} {'$/M out c16':>11}  runs")
    for label, r in rows.items():
        task = next(iter(r.get("tasks", {}).values()), None)
        print(f"{label:10} {r.get('domain_kld', 0):10.4f} {r.get('domain_top1', 1):7.1%} {r.get('general_kld', 0):11.4f} "
              f"{r.get('general_top1', 1):7.1%} {task if task is not None else float('nan'):9.3f} {r['decode_tok_s_c1']:9.1f} "
              f"{r['usd_per_m_output_c16']:11.4f}  bench {r['bench_run']}, eval {r.get('domain_eval_run', '-')}, {r.get('general_eval_run', '-')}")
    s, d = rows["student"], rows["distilled"]
    print(f"KLD vs the unpruned reference, pruned-only / distilled: held-out domain {s['domain_kld'] / d['domain_kld']:.2f}x lower, "
          f"general {s['general_kld'] / d['general_kld']:.2f}x lower")


if __name__ == "__main__":
    main()
