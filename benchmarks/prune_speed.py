"""Depth pruning's speed-up, measured side by side: the bundled model and its copy with N blocks removed
(block influence), single-stream decode through `tokenfall bench`, alternated 3 times, medians.

    python benchmarks/prune_speed.py [--layers 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def tf(*args: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "tokenfall", *args], capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stderr)
    return json.loads(r.stdout) if r.stdout.strip().startswith(("{", "[")) else {}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=8)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tf-prune-"))
    db = str(work / "ledger.sqlite")
    subprocess.run([sys.executable, "-m", "tokenfall", "--db", db, "prune", "--layers", str(args.layers), "--out-dir", str(work)],
                   check=True, capture_output=True)
    pruned = next(work.glob("*.drop*.gguf"))
    speeds: dict[str, list[float]] = {"bundled": [], "pruned": []}
    for _ in range(3):
        for label, model in (("bundled", "smollm2-135m"), ("pruned", str(pruned))):
            run = tf("--db", db, "bench", "-m", model, "-c", "1", "-n", "8", "--output-tokens", "64", "--json")
            speeds[label].append(run["summary"][0]["output_tokens_per_s"])
            print(f"{label:8} {speeds[label][-1]:7.1f} tok/s  (run {run['id']})")
    a, b = statistics.median(speeds["bundled"]), statistics.median(speeds["pruned"])
    print(f"median single-stream decode: bundled {a:.1f}, pruned ({args.layers} of 30 blocks removed) {b:.1f} tok/s -> {b / a:.2f}x")


if __name__ == "__main__":
    main()
