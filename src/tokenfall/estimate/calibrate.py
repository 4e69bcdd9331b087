"""Engine efficiency profiles fitted on published measurements (data/measurements.csv) and on this machine's
own bench runs, and the predicted-vs-measured table that says how far to trust each profile.

Each profile has two or three free parameters, fitted by least squares on log(predicted/measured);
the rest keep stated defaults. The error reported is the median absolute relative error on the rows
the profile was fitted on (in-sample), plus held-out rows where there are any.
"""

from __future__ import annotations

import csv
import math
import os
import statistics
import time
from importlib.resources import files

import numpy as np
from scipy.optimize import least_squares

from tokenfall.errors import TokenfallError
from tokenfall.estimate import roofline as rf
from tokenfall.types import Run

# starting values; FREE lists what each family fits
DEFAULTS = {
    "llamacpp-cuda": rf.Profile(name="llamacpp-cuda", eta_m=0.8, eta_c=0.5, eta_p=0.5, step_s=0.0, layer_s=5e-5, max_batch=64,
                                note="llama.cpp CUDA backend, batch-1 decode (llama-bench tg)"),
    "llamacpp-metal": rf.Profile(name="llamacpp-metal", eta_m=0.7, eta_c=0.5, eta_p=0.5, step_s=0.0, layer_s=5e-5, max_batch=64,
                                 note="llama.cpp Metal backend on Apple silicon, batch-1 decode"),
    "trt-llm-9": rf.Profile(name="trt-llm-9", eta_m=0.8, eta_c=0.5, eta_p=0.6, step_s=0.0, layer_s=0.0, max_batch=1024,
                            note="TensorRT 9.3 / TensorRT-LLM (MLPerf v4.0 NVIDIA submissions), in-flight batching"),
    "trt-llm-10": rf.Profile(name="trt-llm-10", eta_m=0.8, eta_c=0.5, eta_p=0.6, step_s=0.0, layer_s=0.0, max_batch=1024,
                             note="TensorRT 10.1-10.2 / TensorRT-LLM (MLPerf v4.1 NVIDIA submissions), in-flight batching"),
    "vllm-rocm": rf.Profile(name="vllm-rocm", eta_m=0.7, eta_c=0.4, eta_p=0.5, step_s=0.0, layer_s=0.0, max_batch=1024,
                            note="vLLM 0.4.3 on ROCm 6.1 (MLPerf v4.1 AMD submissions)"),
    "llamacpp-cpu": rf.Profile(name="llamacpp-cpu", eta_m=0.5, eta_c=0.3, eta_p=0.3, step_s=0.0, layer_s=5e-5, max_batch=128,
                               note="llama.cpp on CPU, this package's in-process engine; fitted on bench runs of this machine"),
}
FREE = {"llamacpp-cuda": ("eta_m", "layer_s"), "llamacpp-metal": ("eta_m", "layer_s"), "trt-llm-9": ("eta_c", "eta_p"),
        "trt-llm-10": ("eta_c", "eta_p"), "vllm-rocm": ("eta_c", "eta_p"), "llamacpp-cpu": ("eta_m", "eta_c", "layer_s")}
TIED_PREFILL = {"llamacpp-cpu"}  # prefill runs the same batched matmul kernels as a large decode batch: eta_p = eta_c
WIDE = {"llamacpp-cpu": 4.0}      # efficiency bound: the CPU peaks are measured fp32 figures, int8 dot kernels exceed them
BOUNDS = {"eta_m": (0.02, 1.0), "eta_c": (0.01, 1.0), "eta_p": (0.01, 1.0), "layer_s": (0.0, 2e-3), "step_s": (0.0, 0.05)}
SERVER_SLO = (2.0, 0.2)  # MLPerf v4 Llama-2-70B server scenario: TTFT <= 2 s, TPOT <= 200 ms


def published() -> list[dict]:
    text = files("tokenfall").joinpath("data/measurements.csv").read_text(encoding="utf-8")
    out = []
    for r in csv.DictReader(text.splitlines()):
        out.append(r | {"n_devices": int(r["n_devices"]), "batch": int(r["batch"]) if r["batch"] else None,
                        "s_in": int(r["s_in"]), "s_out": int(r["s_out"]), "measured_tok_s": float(r["measured_tok_s"]),
                        "weight_gb": float(r["weight_gb"]) if r["weight_gb"] else None})
    return out


def _arch(row: dict) -> rf.Arch:
    if "arch" in row:
        return row["arch"]
    a = rf.preset(row["model"], row["precision"])
    return a.model_copy(update={"weight_bytes": row["weight_gb"] * 1e9}) if row.get("weight_gb") else a


def predict(row: dict, prof: rf.Profile) -> float:
    """Output tokens/s the roofline gives for one measurement row."""
    arch, dev = _arch(row), (row["device_spec"] if "device_spec" in row else rf.device(row["device"]))
    if row["scenario"] == "decode":
        b = row["batch"] or 1
        return b / rf.decode_step(arch, dev, prof, b, row["s_in"] + row["s_out"] / 2)["t"]
    if row["scenario"] == "closed":
        s = rf.serve(arch, dev, prof, row["batch"], row["s_in"], row["s_out"])
        return s["output_tokens_per_s"] if s["fits"] else 0.0
    slo = SERVER_SLO if row["scenario"] == "server" else (None, None)
    best = 0.0
    g = 1
    while g <= row["n_devices"]:
        top, _ = rf.best_under_slo(arch, dev, prof, row["s_in"], row["s_out"], g, *slo)
        if top:
            best = max(best, top["output_tokens_per_s"] * (row["n_devices"] // g))
        g *= 2
    return best


def fit(name: str, rows: list[dict]) -> rf.Profile:
    base = DEFAULTS[name]
    free = FREE[name]
    if not rows:
        return base
    x0 = [getattr(base, k) for k in free]
    lo = [BOUNDS[k][0] for k in free]
    hi = [WIDE.get(name, BOUNDS[k][1]) if k.startswith("eta") else BOUNDS[k][1] for k in free]
    scale = np.array([max(abs(v), 1e-4) for v in x0])

    def prof(x):
        upd = dict(zip(free, (float(v) for v in x * scale)))
        if name in TIED_PREFILL:
            upd["eta_p"] = upd["eta_c"]
        return base.model_copy(update=upd)

    def resid(x):
        p = prof(x)
        return [math.log(max(predict(r, p), 1e-9) / r["measured_tok_s"]) for r in rows]

    sol = least_squares(resid, np.array(x0) / scale, bounds=(np.array(lo) / scale, np.array(hi) / scale))
    p = prof(sol.x)
    errs = [abs(rf.relative_error(predict(r, p), r["measured_tok_s"])) for r in rows]
    return p.model_copy(update={"fitted_on": len(rows), "error": statistics.median(errs)})


def profiles(local_rows: list[dict] | None = None) -> dict[str, rf.Profile]:
    """Every family fitted on its published rows; the CPU family on ``local_rows`` (this machine's runs) when given."""
    rows = published()
    out = {n: fit(n, [r for r in rows if r["profile"] == n]) for n in DEFAULTS if n != "llamacpp-cpu"}
    out["llamacpp-cpu"] = fit("llamacpp-cpu", local_rows or [])
    return out


def validate(local_rows: list[dict] | None = None, holdout: list[dict] | None = None) -> dict:
    """Predicted vs measured for every row each profile was fitted on (and held-out local rows)."""
    profs = profiles(local_rows)
    table = []
    for r in published() + (local_rows or []) + (holdout or []):
        p = profs[r["profile"]]
        pred = predict(r, p)
        table.append({"id": r["id"], "profile": r["profile"], "device": r["device"], "n_devices": r["n_devices"], "model": r["model"],
                      "precision": r["precision"], "scenario": r["scenario"], "predicted": pred, "measured": r["measured_tok_s"],
                      "error": rf.relative_error(pred, r["measured_tok_s"]), "held_out": r in (holdout or []), "source": r["source"]})
    fitted = [abs(t["error"]) for t in table if not t["held_out"]]
    if not fitted:
        raise TokenfallError("no measurement rows to validate against")
    return {"rows": table, "profiles": {k: v.model_dump() for k, v in profs.items()},
            "median_abs_error": statistics.median(fitted),
            "held_out_median_abs_error": statistics.median([abs(t["error"]) for t in table if t["held_out"]]) if holdout else None}


def local_device() -> dict:
    """This machine as a roofline device, with peaks measured here (a 64 MB numpy copy for memory bandwidth,
    a 1024² fp32 matmul for FLOP/s): best of several tries, so the fitted efficiencies are fractions of what
    this machine can attain."""
    a = np.ones(8 * 2**20)
    b = np.empty_like(a)
    copy = min(_timed(lambda: np.copyto(b, a)) for _ in range(7))
    m = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
    gemm = min(_timed(lambda: m @ m) for _ in range(5))
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"id": "local", "name": f"this machine ({os.cpu_count()} CPUs)", "kind": "cpu", "memory_gb": mem / 1e9,
            "mem_bw_gbs": 2 * a.nbytes / copy / 1e9, "tflops": {"bf16": 2 * 1024**3 / gemm / 1e12}, "tdp_w": None, "link_gbs": 0,
            "source": "measured here: numpy copy (read + write) and fp32 matmul, best of several", "date": "now", "prices": []}


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_rows(runs: list[Run], dev: dict) -> list[dict]:
    """Calibration rows from this machine's bench runs: one per closed-loop level (output tokens/s at concurrency c)."""
    from tokenfall import models

    out = []
    for run in runs:
        if run.kind != "bench":
            raise TokenfallError(f"--calibrate {run.id}: is a {run.kind} run; give bench runs of this machine")
        if run.config.get("engine", "llamacpp") != "llamacpp":
            raise TokenfallError(f"--calibrate {run.id}: ran on engine {run.config['engine']}; the CPU profile is llama.cpp's")
        path = ((run.engine or {}).get("model") or {}).get("path")
        if not path:
            raise TokenfallError(f"--calibrate {run.id}: the run does not record its model file")
        arch = rf.from_shape(models.architecture(path))
        pr = run.config.get("prompts") or {}
        for lvl, load in zip(run.levels, run.config.get("loads") or []):
            if load.get("mode", "concurrency") != "concurrency" or not lvl.requests_ok:
                continue
            c = int(load.get("concurrency", 1))
            out.append({"id": f"bench-{run.id}-c{c}", "profile": "llamacpp-cpu", "device": "local", "device_spec": dev, "arch": arch,
                        "n_devices": 1, "model": arch.name, "precision": arch.precision, "scenario": "closed", "batch": c,
                        "s_in": int(pr.get("input_tokens", 32)), "s_out": int(pr.get("output_tokens", 32)),
                        "measured_tok_s": lvl.output_tokens_per_s, "weight_gb": None,
                        "source": f"bench run {run.id} level c={c} on this machine"})
    if not out:
        raise TokenfallError("--calibrate: those runs have no completed closed-loop levels")
    return out
