"""What the AMX fix costs: decode tokens/s with llama.cpp's extra buffer types as tokenfall loads them
(CPU repack on, AMX never compiled in) vs with every extra buffer type off — the only load-time switch
llama.cpp offers, and what an AMX-enabled build would need. Q4_0 (repacked to Q4_0x8 on AVX2/AVX-512) and
Q8_0 (repacked where the build has the kernel), 1 and 16 sequences, a bare llama_decode loop.

Each measurement runs in a fresh process (the choice is made once per process), interleaved round by round:
    python benchmarks/buffer_types.py [--rounds 5] [--tokens 64]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(path: str, tokens: int) -> None:
    """One process: load ``path`` with the environment's choice, decode 1 and 16 sequences, print JSON."""
    sys.path.insert(0, str(HERE))
    from engine_efficiency import bare_decode

    from tokenfall.engines.llamacpp import LlamaCppEngine
    from tokenfall.models.llama import backend, load_model, model_buffers

    model = load_model(path)
    opts = LlamaCppEngine.Options(parallel=16, seq_ctx=256)
    bare_decode(model, 2, 8, opts)  # warm-up
    print(json.dumps({"one": bare_decode(model, 1, tokens, opts), "sixteen": bare_decode(model, 16, tokens, opts),
                      "buffers": model_buffers(model), "backend": backend()}))


def bootstrap_ratio(a: list[float], b: list[float], n: int = 2000) -> tuple[float, float]:
    """95% interval of median(a)/median(b), resampling rounds."""
    import random

    rng = random.Random(0)
    rs = sorted(statistics.median(rng.choices(a, k=len(a))) / statistics.median(rng.choices(b, k=len(b))) for _ in range(n))
    return rs[int(0.025 * n)], rs[int(0.975 * n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--child", nargs=2)
    a = ap.parse_args()
    if a.child:
        return child(a.child[0], int(a.child[1]))

    from tokenfall.fingerprint import machine
    from tokenfall.levers.quantize import quantize
    from tokenfall.models import resolve
    from tokenfall.models.gguf_write import dequantize
    from tokenfall.models.llama import compiled_features

    work = Path(tempfile.mkdtemp(prefix="tf-bufts-"))
    f32 = dequantize(resolve().path, work / "f32.gguf", "f32")
    files = {t: str(quantize(f32, work / f"{t}.gguf", t)) for t in ("q4_0", "q8_0")}
    got: dict[tuple[str, str], list[dict]] = {}
    for r in range(a.rounds):
        for t, path in files.items():
            for mode in (("on", "off") if r % 2 == 0 else ("off", "on")):
                env = {**os.environ, "TOKENFALL_EXTRA_BUFTS": mode}
                out = subprocess.run([sys.executable, __file__, "--child", path, str(a.tokens)], env=env, capture_output=True,
                                     text=True, check=True).stdout
                got.setdefault((t, mode), []).append(json.loads(out.strip().splitlines()[-1]))
    m = machine()
    print(f"CPU {m['cpu']} ({m['cores']} cores), ISA {' '.join(m['isa'])}")
    print(f"llama.cpp build: {' '.join(k for k, v in compiled_features().items() if v == '1')}")
    print(f"{a.rounds} interleaved rounds, each a fresh process, {a.tokens} decode steps; medians; ratio = on/off "
          "with a 95% bootstrap interval over rounds")
    print(f"{'type':6}{'streams':>8}{'extra bufts on':>16}{'all off':>10}{'ratio':>8}  {'95% CI':>14}  weights placed (on | off)")
    for t in files:
        for key, label in (("one", "1"), ("sixteen", "16")):
            on = [x[key] for x in got[(t, "on")]]
            off = [x[key] for x in got[(t, "off")]]
            lo, hi = bootstrap_ratio(on, off)
            bufs = " | ".join(", ".join(f"{k} {v:.0f} MiB" for k, v in got[(t, mode)][0]["buffers"].items()) for mode in ("on", "off"))
            print(f"{t:6}{label:>8}{statistics.median(on):>16.1f}{statistics.median(off):>10.1f}"
                  f"{statistics.median(on) / statistics.median(off):>8.2f}  [{lo:.2f}, {hi:.2f}]  {bufs}")


if __name__ == "__main__":
    main()
