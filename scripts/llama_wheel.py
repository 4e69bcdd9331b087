#!/usr/bin/env python3
"""Build llama-cpp-python once per (version, CPU instruction level) and print the wheel's folder.

Why not the default native build: `-march=native` bakes in whatever the build machine has. A wheel
built on an Intel Sapphire Rapids host compiles llama.cpp's AMX backend in, which segfaults on quantized
weights (llama.cpp #20824), and the same wheel dies with an illegal instruction on a CPU without AVX-512.
So the build names its instruction set explicitly — the highest of a short ladder the CPU supports,
AMX always off — and the cache folder is keyed by that set: a wheel is only reused on a CPU that runs it.

Usage: llama_wheel.py WHEEL_CACHE PIP... — prints the folder holding the wheel (built if missing).
`llama_wheel.py --key` prints the key alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

VERSION = "0.3.36"

# x86 ladder, highest first: (name, CPU flags required, cmake switches turned on). Names follow the
# x86-64 micro-architecture levels; AMX is never turned on (see the module docstring).
X86_LEVELS = [
    ("x86-64-v4", {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma", "f16c", "bmi2"},
     ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512"]),
    ("x86-64-v3", {"avx2", "fma", "f16c", "bmi2"}, ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2"]),
    ("x86-64-v2", {"sse4_2"}, ["SSE42"]),
    ("x86-64", set(), []),
]
# Optional AVX-512 extensions added to the v4 level when present (each is its own ggml switch).
AVX512_EXTRAS = {"avx512_vbmi": "AVX512_VBMI", "avx512_vnni": "AVX512_VNNI", "avx512_bf16": "AVX512_BF16"}
ALL_X86 = ["SSE42", "AVX", "AVX_VNNI", "F16C", "FMA", "AVX2", "BMI2", "AVX512", "AVX512_VBMI", "AVX512_VNNI",
           "AVX512_BF16", "AMX_TILE", "AMX_INT8", "AMX_BF16"]


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def build_plan(flags: set[str] | None = None, machine: str | None = None) -> dict:
    """The cmake switches for this CPU and the cache key they imply."""
    machine = machine or platform.machine()
    flags = cpu_flags() if flags is None else flags
    if machine in ("x86_64", "AMD64"):
        for name, need, on in X86_LEVELS:
            if need <= flags:
                break
        if name == "x86-64-v4":
            on = on + [v for k, v in AVX512_EXTRAS.items() if k in flags]
        cmake = ["-DGGML_NATIVE=OFF"] + [f"-DGGML_{s}={'ON' if s in on else 'OFF'}" for s in ALL_X86]
        level = name + "".join("+" + s.lower() for s in on if s.startswith("AVX512_"))
    else:
        # No ladder written for other CPUs: build natively and key by the full feature list, so the
        # wheel is reused only on a CPU reporting exactly the same features.
        cmake = ["-DGGML_NATIVE=ON"]
        level = "native-" + hashlib.sha256(" ".join(sorted(flags)).encode()).hexdigest()[:12]
    py = f"cp{sys.version_info.major}{sys.version_info.minor}"
    key = f"llama-cpp-python-{VERSION}-{py}-{machine}-{level}"
    return {"key": key, "level": level, "cmake_args": " ".join(cmake), "version": VERSION, "machine": machine}


def main(argv: list[str]) -> int:
    plan = build_plan()
    if argv[:1] == ["--key"]:
        print(plan["key"])
        return 0
    cache, pip = Path(argv[0]), argv[1:]
    folder = cache / plan["key"]
    if not list(folder.glob(f"llama_cpp_python-{VERSION}-*.whl")):
        print(f"building llama-cpp-python {VERSION} for {plan['level']} into {folder} "
              "(about 8 minutes on 2 cores)...", file=sys.stderr)
        tmp = folder.with_name(folder.name + ".partial")
        tmp.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, CMAKE_ARGS=plan["cmake_args"])
        subprocess.run([*pip, "wheel", "--no-deps", "--no-binary", "llama-cpp-python",
                        f"llama-cpp-python=={VERSION}", "-w", str(tmp)], env=env, check=True)
        (tmp / "build.json").write_text(json.dumps(plan, indent=2) + "\n")
        if folder.exists():  # a concurrent build finished first: keep theirs
            return print(folder) or 0
        tmp.rename(folder)
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
