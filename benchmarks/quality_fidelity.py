"""Fidelity cost and ranking on this machine: the bundled Q4_1 model and llama.cpp quantizations of its
F32 weights against that F32 reference, ~20k tokens each, through `tokenfall eval` (cold reference
cache, then warm). Prints wall time per comparison and the KLD ordering; nothing is asserted.

    python benchmarks/quality_fidelity.py [--tokens 20480] [--types q8_0,q4_k_m,q2_k]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tokenfall.levers.quantize import quantize
from tokenfall.models import resolve
from tokenfall.quality import datasets
from tokenfall.models.gguf_write import dequantize



def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=20480)
    ap.add_argument("--types", default="q8_0,q4_k_m,q2_k")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tf-fidelity-"))
    env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache")}  # cold reference cache
    bundled = resolve()
    ref = dequantize(bundled.path, work / "smollm2-f32.gguf", "f32")
    text = work / "hellaswag.txt"
    text.write_text("\n".join(json.loads(x)["context"] + json.loads(x)["correct"]
                              for x in datasets.locate("hellaswag").path.read_text().splitlines()))
    candidates = [("bundled Q4_1", bundled.path)] + [(t, str(quantize(ref, work / f"{t}.gguf", t))) for t in args.types.split(",")]
    db = work / "ledger.sqlite"
    print(f"{'candidate':<14} {'size MB':>8} {'wall s':>7} {'KLD mean':>10} {'top-1':>7} {'PPL ratio':>9}  reference cache")
    for i, (label, path) in enumerate(candidates):
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "tokenfall", "--db", str(db), "eval", "-m", path, "-r", str(ref),
                            "--text", str(text), "--tokens", str(args.tokens), "--json"], capture_output=True, text=True, env=env)
        wall = time.monotonic() - t0
        if r.returncode:
            sys.exit(r.stderr)
        f = json.loads(r.stdout)["summary"]["fidelity"]
        print(f"{label:<14} {Path(path).stat().st_size / 1e6:>8.1f} {wall:>7.1f} {f['kld_mean']:>10.5f} {f['top1_agreement']:>7.2%} "
              f"{f['ppl_ratio']:>9.4f}  {'cold (reference pass included)' if i == 0 else 'warm'}")
    print(f"tokens evaluated {f['tokens_evaluated']}, scored {f['tokens_scored']} (windows of 512, second halves scored); work dir {work}")


if __name__ == "__main__":
    main()
