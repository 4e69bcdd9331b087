"""Structured pruning's speed-up, measured side by side: the bundled model, its copy with N blocks removed
(depth, block influence) and its copy with a share of MLP channels and one KV group per block removed
(width, activation importance), single-stream decode through `tokenfall bench`, alternated 3 times, medians.
Both pruned files keep the bundled model's Q4_1.

    python benchmarks/prune_speed.py [--layers 8] [--ffn 0.25] [--kv-groups 1]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tfcli import tf


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--ffn", type=float, default=0.25)
    ap.add_argument("--kv-groups", type=int, default=1)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tf-prune-"))
    db = str(work / "ledger.sqlite")
    for how in (["--layers", str(args.layers)], ["--ffn", str(args.ffn), "--kv-groups", str(args.kv_groups)]):
        subprocess.run([sys.executable, "-m", "tokenfall", "--db", db, "prune", *how, "--no-measure", "--out-dir", str(work)], check=True, capture_output=True)
    models = {"bundled": "smollm2-135m", "depth": str(next(work.glob("*.drop*.gguf"))), "width": str(next(work.glob("*.ffn*.gguf")))}
    speeds: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(3):
        for label, model in models.items():
            run = tf("--db", db, "bench", "-m", model, "-c", "1", "-n", "8", "--output-tokens", "64", "--json")
            speeds[label].append(run["summary"][0]["output_tokens_per_s"])
            print(f"{label:8} {speeds[label][-1]:7.1f} tok/s  (run {run['id']})")
    base = statistics.median(speeds["bundled"])
    print(f"median single-stream decode: bundled {base:.1f} tok/s; "
          f"depth ({args.layers} of 30 blocks removed) {statistics.median(speeds['depth']):.1f} -> {statistics.median(speeds['depth']) / base:.2f}x; "
          f"width (ffn {args.ffn:.0%}, {args.kv_groups} KV group per block) {statistics.median(speeds['width']):.1f} "
          f"-> {statistics.median(speeds['width']) / base:.2f}x")


if __name__ == "__main__":
    main()
