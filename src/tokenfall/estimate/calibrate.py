"""Engine profiles fitted on published measurements (data/measurements.csv) and on this machine's own bench runs,
and the tables that say how far to trust them: in sample, leave-one-out, leave-one-round-out, leave-one-device-out.

A profile is an engine build: (family, version, date). The in-flight-batching families (TensorRT-LLM, vLLM on ROCm)
are fitted jointly with nine parameters: per family the achieved share of memory bandwidth (eta_m), of dense compute
(eta_c) and the tokens per iteration at which GEMMs run half full (m_half); shared, the software trend (gain per year,
which carries a profile to another date) and the share of the FP4 peak real kernels reach (fp4_exp); for the one data
set whose mean prompt length is assumed (MLPerf Llama-2-70B), its effective length. llama.cpp families fit eta_m and a
per-layer cost on batch-1 decode rows; the CPU family is fitted on this machine's bench runs. Fitting reads only the
rows listed in the package data (or this machine's runs), so any other row is out of sample.
"""

from __future__ import annotations

import csv
import math
import os
import re
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from importlib.resources import files
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from tokenfall.errors import TokenfallError
from tokenfall.estimate import roofline as rf
from tokenfall.types import Run

# starting values of each family; FREE lists what each fits on its own, SHARED what the continuous families share
DEFAULTS = {
    "llamacpp-cuda": rf.Profile(name="llamacpp-cuda", family="llamacpp-cuda", eta_m=0.8, eta_c=0.5, eta_p=0.5, step_s=0.0, layer_s=5e-5,
                                max_batch=64, note="llama.cpp CUDA backend, batch-1 decode (llama-bench tg)"),
    "llamacpp-metal": rf.Profile(name="llamacpp-metal", family="llamacpp-metal", eta_m=0.7, eta_c=0.5, eta_p=0.5, step_s=0.0, layer_s=5e-5,
                                 max_batch=64, note="llama.cpp Metal backend on Apple silicon, batch-1 decode"),
    "trt-llm": rf.Profile(name="trt-llm", family="trt-llm", scheduler="continuous", eta_m=0.8, eta_c=0.5, eta_p=0.5, step_s=2e-3, m_half=512,
                          layer_s=0.0, max_batch=8192, note="NVIDIA TensorRT-LLM, in-flight batching (MLPerf NVIDIA submissions)"),
    "vllm-rocm": rf.Profile(name="vllm-rocm", family="vllm-rocm", scheduler="continuous", eta_m=0.7, eta_c=0.4, eta_p=0.4, step_s=2e-3, m_half=512,
                            layer_s=0.0, max_batch=8192, note="vLLM on ROCm, continuous batching (MLPerf AMD submissions)"),
    "cpu-server": rf.Profile(name="cpu-server", family="cpu-server", scheduler="continuous", eta_m=0.5, eta_c=0.2, eta_p=0.2, step_s=5e-3,
                             layer_s=0.0, max_batch=256, note="a CPU-only server engine with continuous batching (vLLM CPU, IPEX): "
                             "no published rows fitted yet, defaults"),
    "llamacpp-cpu": rf.Profile(name="llamacpp-cpu", family="llamacpp-cpu", eta_m=0.5, eta_c=0.3, eta_p=0.3, step_s=0.0, layer_s=5e-5,
                               max_batch=128, note="llama.cpp on CPU, this package's in-process engine; fitted on bench runs of this machine"),
}
CONTINUOUS = ("trt-llm", "vllm-rocm", "cpu-server")
FREE = {"llamacpp-cuda": ("eta_m", "layer_s"), "llamacpp-metal": ("eta_m", "layer_s"), "llamacpp-cpu": ("eta_m", "eta_c", "layer_s"),
        "trt-llm": ("eta_m", "eta_c", "m_half"), "vllm-rocm": ("eta_m", "eta_c", "m_half"), "cpu-server": ("eta_m", "eta_c")}
SHARED = ("gain_per_year", "fp4_exp")
SHARED_START = {"gain_per_year": 0.2, "fp4_exp": 0.5}
# weak priors (value, sd of log) from the literature, so that parameters the rows cannot separate stay physical:
# prefill/GEMM MFU 0.5-0.7 and decode MBU 0.6-0.8 (shared/research/hardware.md section 0)
PRIORS = {"eta_c": (0.55, 0.5), "eta_m": (0.75, 0.5)}
# data sets whose mean prompt length in the rows is an assumption (not published): their effective length is fitted
ASSUMED_PROMPTS = {"mlperf/llama-2-70b"}
PROMPT_BOUNDS = (0.2, 2.0)  # a data set's effective mean prompt within 0.2-2x the stated one
TIED_PREFILL = {"llamacpp-cpu"}  # prefill runs the same batched matmul kernels as a large decode batch: eta_p = eta_c
WIDE = {"llamacpp-cpu": 4.0}      # efficiency bound: the CPU peaks are measured fp32 figures, int8 dot kernels exceed them
BOUNDS = {"eta_m": (0.02, 1.0), "eta_c": (0.01, 1.0), "eta_p": (0.01, 1.0), "layer_s": (0.0, 2e-3), "gain_per_year": (-0.2, 1.0),
          "fp4_exp": (0.0, 1.0), "m_half": (0.0, 8192.0)}
# (TTFT, TPOT) limits in seconds, MLPerf Inference rules (inference_rules.adoc) and MLCommons' benchmark posts
SLO = {("llama-2-70b", "server"): (2.0, 0.2), ("llama-2-70b", "interactive"): (0.45, 0.04),
       ("llama-3.1-405b", "server"): (6.0, 0.175), ("llama-3.1-405b", "interactive"): (4.5, 0.08),
       ("llama-3.1-8b", "server"): (2.0, 0.1), ("llama-3.1-8b", "interactive"): (0.5, 0.03),
       ("mixtral-8x7b", "server"): (2.0, 0.2), ("deepseek-r1", "server"): (2.0, 0.08), ("deepseek-r1", "interactive"): (1.5, 0.015),
       ("gpt-oss-120b", "server"): (3.0, 0.08), ("gpt-oss-120b", "interactive"): (2.0, 0.015)}  # gpt-oss: LoadGen mlperf.conf values
ROUND_DATES = {"v3.1": "2023-09-11", "v4.0": "2024-03-27", "v4.1": "2024-08-28", "v5.0": "2025-04-02", "v5.1": "2025-09-09"}
DEVICE_FAMILY = {"h100-sxm": "nvidia-hopper", "h100-pcie": "nvidia-hopper", "h200": "nvidia-hopper", "h200-nvl": "nvidia-hopper",
                 "h800": "nvidia-hopper", "b200": "nvidia-blackwell", "gb200": "nvidia-blackwell", "gb300": "nvidia-blackwell",
                 "rtx-pro-6000": "nvidia-blackwell", "mi300x": "amd-cdna3", "mi325x": "amd-cdna3", "mi355x": "amd-cdna4"}


def family_of(profile: str) -> str:
    """An engine family from a profile name: 'trt-llm-10' and 'trt-llm@v5.0' are TensorRT-LLM builds."""
    name = profile.split("@")[0]
    name = re.sub(r"-\d+(\.\d+)*$", "", name)
    return name


def resolve(engine: str, device: str) -> tuple[str, str]:
    """(profile family, note) for an engine name on a device. Families with no rows of their own borrow the
    closest fitted one and say so: other GPU engines (vLLM, SGLang) TensorRT-LLM's, or vLLM-ROCm's on AMD."""
    fam = family_of(engine.lower())
    if fam in DEFAULTS:
        return fam, ""
    kind = rf.devices().get(device, {}).get("kind")
    if kind == "cpu":
        return "cpu-server", f"engine {engine!r} on a CPU server: the cpu-server profile"
    if kind == "apple":
        return "llamacpp-metal", f"engine {engine!r} on Apple silicon: llama.cpp Metal's profile borrowed"
    if device.startswith("mi"):
        return "vllm-rocm", f"engine {engine!r} on AMD: vLLM-ROCm's profile borrowed"
    return "trt-llm", f"engine {engine!r} has no fitted profile: TensorRT-LLM's borrowed (optimistic for other engines)"


def device_family(device: str) -> str:
    return DEVICE_FAMILY.get(device, device.split("-")[0] if device.startswith(("rtx", "m1", "m2", "m3")) else device)


def published(path: str | Path | None = None, strict: bool = True) -> list[dict]:
    """The calibration rows (package data unless ``path``), normalised: engine family, round and date filled in
    from the id ('mlperf-v5.0-...') where the file does not give them, device/model/precision names in the
    catalog's spelling. With ``strict`` off, a row the catalog cannot represent (unknown device, model, precision or
    latency limits) is returned with its reason under "unrepresentable" instead of stopping the read."""
    where = path or "measurements.csv"
    text = Path(path).read_text(encoding="utf-8") if path else files("tokenfall").joinpath("data/measurements.csv").read_text(encoding="utf-8")
    out = []
    for i, r in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            rnd = r.get("round") or (m.group(1) if (m := re.match(r"mlperf-(v\d+\.\d+)", r.get("id") or "")) else "")
            engine = r.get("engine") or r.get("profile") or ""
            scenario = r["scenario"].strip().lower()
            model = rf.canonical(r["model"], rf.MODEL_ALIASES)
            scenario = "interactive" if "interactive" in scenario or "interactive" in r["model"].lower() else scenario
            row = r | {"engine": engine, "round": rnd, "date": r.get("date") or ROUND_DATES.get(rnd) or None, "model": model,
                       "precision": rf.PRECISION_ALIASES.get(r["precision"].strip().lower(), r["precision"].strip().lower()),
                       "n_devices": int(r["n_devices"]), "batch": int(r["batch"]) if r.get("batch") else None,
                       "s_in": int(float(r["s_in"])), "s_out": int(float(r["s_out"])), "measured_tok_s": float(r["measured_tok_s"]),
                       "weight_gb": float(r["weight_gb"]) if r.get("weight_gb") else None, "scenario": scenario}
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise TokenfallError(f"{where} line {i}: {e!r} — columns id, engine (or profile), device, n_devices, model, precision, "
                                 "scenario, s_in, s_out, measured_tok_s are required") from None
        try:
            row["device"] = rf.canonical(r["device"], rf.DEVICE_ALIASES)
            rf.device(row["device"])
            _arch(row)
            if scenario in ("server", "interactive") and (model, scenario) not in SLO:
                raise TokenfallError(f"no MLPerf latency limits known for {model} {scenario} (known: "
                                     f"{', '.join(f'{m} {s}' for m, s in SLO)})")
        except TokenfallError as e:
            if strict:
                raise TokenfallError(f"{where} line {i}: {e}") from None
            out.append(row | {"unrepresentable": str(e)})
            continue
        row["family"], row["borrowed"] = resolve(engine, row["device"])
        out.append(row)
    return out


def _arch(row: dict) -> rf.Arch:
    if "arch" in row:
        return row["arch"]
    a = rf.preset(row["model"], row["precision"])
    return a.model_copy(update={"weight_bytes": row["weight_gb"] * 1e9}) if row.get("weight_gb") else a


def _device(row: dict) -> dict:
    return row["device_spec"] if "device_spec" in row else rf.device(row["device"])


def predict(row: dict, prof: rf.Profile) -> float:
    """Output tokens/s the model gives for one measurement row (``prof`` is carried to the row's date)."""
    arch, dev, prof = _arch(row), _device(row), prof.at(row.get("date"))
    if row["scenario"] == "decode":
        b = row["batch"] or 1
        return b / rf.decode_step(arch, dev, prof, b, row["s_in"] + row["s_out"] / 2)["t"]
    if row["scenario"] == "closed":
        s = rf.serve(arch, dev, prof, row["batch"], row["s_in"], row["s_out"])
        return s["output_tokens_per_s"] if s["fits"] else 0.0
    ttft, tpot = SLO.get((row["model"], row["scenario"]), (None, None)) if row["scenario"] != "offline" else (None, None)
    s_in = row["s_in"] * prof.prompt_scale.get(_workload(row), 1.0)
    if row["scenario"] not in ("offline", "server", "interactive"):
        raise TokenfallError(f"row {row['id']}: scenario {row['scenario']!r} is not offline, server, interactive, decode or closed")
    if row["scenario"] != "offline" and ttft is None:
        raise TokenfallError(f"row {row['id']}: no MLPerf latency limits known for {row['model']} {row['scenario']}")
    best, g = 0.0, 1
    while g <= min(row["n_devices"], 8):
        reps = row["n_devices"] // g
        top, _ = rf.best_under_slo(arch, dev, prof, s_in, row["s_out"], g, ttft, tpot)
        if top:
            best = max(best, top["output_tokens_per_s"] * reps)
        g *= 2
    return best


def _workload(row: dict) -> str:
    """The benchmark data set a row ran: MLPerf rows by model (each model has one data set per round)."""
    return f"mlperf/{row['model']}" if str(row.get("id", "")).startswith("mlperf") else f"{row['model']}/{row['s_in']}/{row['s_out']}"


_FITS: dict[tuple, dict[str, rf.Profile]] = {}


def _datacenter_fit(rows: list[dict]) -> dict[str, rf.Profile]:
    """The continuous-batching families fitted jointly on ``rows`` (remembered per set of rows: the held-out
    tables refit many overlapping sets)."""
    key = tuple(sorted((r["id"], r["measured_tok_s"]) for r in rows))
    if key not in _FITS:
        _FITS[key] = _fit_continuous(rows)
    return _FITS[key]


def _fit_continuous(rows: list[dict]) -> dict[str, rf.Profile]:
    """Per family eta_m, eta_c, m_half; shared by all families the software trend and the FP4 credit; per data set
    with an assumed prompt length, its effective length. Weak priors keep eta_c/eta_m physical where rows cannot
    separate them from the prompt length."""
    fams = [f for f in CONTINUOUS if any(r["family"] == f for r in rows)]
    if not fams:
        return {}
    ref = {f: max(r["date"] for r in rows if r["family"] == f and r.get("date")) for f in fams}
    loads = sorted({_workload(r) for r in rows if r["scenario"] in ("offline", "server", "interactive")} & ASSUMED_PROMPTS)
    names = [(f, k) for f in fams for k in FREE[f]] + [(None, k) for k in SHARED] + [("prompt", w) for w in loads]
    x0 = [getattr(DEFAULTS[f], k) if f not in (None, "prompt") else SHARED_START.get(k, 1.0) for f, k in names]
    scale = np.array([max(abs(v), 1e-3) for v in x0])
    lo = np.array([BOUNDS.get(k, PROMPT_BOUNDS)[0] for _, k in names]) / scale
    hi = np.array([BOUNDS.get(k, PROMPT_BOUNDS)[1] for _, k in names]) / scale

    def profs(x):
        vals = dict(zip(names, (float(v) for v in np.asarray(x) * scale)))
        shared = {k: vals[(None, k)] for k in SHARED} | {"prompt_scale": {w: vals[("prompt", w)] for w in loads}}
        # chunked prefill puts prompt and decode tokens in the same GEMMs: one compute efficiency for both
        return {f: DEFAULTS[f].model_copy(update={k: vals[(f, k)] for k in FREE[f]} | shared | {"date": ref[f], "eta_p": vals[(f, "eta_c")]})
                for f in fams}

    def resid(x):
        p = profs(x)
        vals = np.asarray(x) * scale
        prior = [math.log(max(v, 1e-12) / PRIORS[key][0]) / PRIORS[key][1]
                 for (f, k), v in zip(names, vals) if (key := "prompt" if f == "prompt" else k) in PRIORS]
        return [math.log(max(predict(r, p[r["family"]]), 1e-9) / r["measured_tok_s"]) for r in rows] + prior

    sol = least_squares(resid, np.clip(np.array(x0) / scale, lo, hi), bounds=(lo, hi), diff_step=1e-3, xtol=1e-10, ftol=1e-10, x_scale="jac")
    return profs(sol.x)


def _family_fit(name: str, rows: list[dict]) -> rf.Profile:
    base, free = DEFAULTS[name], FREE[name]
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
    return prof(sol.x)


def fit_all(rows: list[dict]) -> dict[str, rf.Profile]:
    """Every family fitted on its rows in ``rows`` (families without rows keep their defaults), each labelled with
    the rows it was fitted on and its in-sample median absolute error."""
    out = dict(DEFAULTS) | _datacenter_fit([r for r in rows if r["family"] in CONTINUOUS])
    for f in DEFAULTS:
        if f not in CONTINUOUS:
            out[f] = _family_fit(f, [r for r in rows if r["family"] == f])
    for f, p in out.items():
        mine = [r for r in rows if r["family"] == f]
        if mine:
            errs = [abs(rf.relative_error(predict(r, p), r["measured_tok_s"])) for r in mine]
            newest = max(mine, key=lambda r: r.get("date") or "")
            out[f] = p.model_copy(update={"fitted_on": len(mine), "error": statistics.median(errs),
                                          "version": newest.get("version") or p.version})
    return out


def versions(rows: list[dict], fam: dict[str, rf.Profile]) -> list[dict]:
    """One profile per (family, version, date) seen in ``rows``: the family carried to that date, and how far its
    rows sit from it (geometric mean of measured/predicted)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["family"], r.get("version") or "", r.get("date") or ""), []).append(r)
    out = []
    for (f, ver, date), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][2])):
        p = fam[f]
        lr = [math.log(r["measured_tok_s"] / max(predict(r, p), 1e-9)) for r in rs]
        out.append({"profile": f"{f}@{date or 'undated'}", "family": f, "version": ver, "date": date or None, "rows": len(rs),
                    "level": math.exp(statistics.fmean(lr))})
    return out


def profiles(local_rows: list[dict] | None = None, rows: list[dict] | None = None, add_rows: str | None = None) -> dict[str, rf.Profile]:
    """Every family fitted on the package's rows (or ``rows``) plus those of the file ``add_rows`` (a newer build is
    fitted from a few of its rows); the CPU family on ``local_rows`` (this machine's runs)."""
    return fit_all((published() if rows is None else rows) + (published(add_rows) if add_rows else []) + (local_rows or []))


def _table(rows: list[dict], profs: dict[str, rf.Profile], held_out: bool = False) -> list[dict]:
    out = []
    for r in rows:
        pred = predict(r, profs[r["family"]])
        out.append({"id": r["id"], "profile": r["family"], "round": r.get("round") or "", "date": r.get("date"), "device": r["device"],
                    "device_family": device_family(r["device"]), "n_devices": r["n_devices"], "model": r["model"],
                    "precision": r["precision"], "scenario": r["scenario"], "predicted": pred, "measured": r["measured_tok_s"],
                    "error": rf.relative_error(pred, r["measured_tok_s"]), "held_out": held_out, "borrowed": r.get("borrowed") or "",
                    "source": r["source"]})
    return out


def _held_out(rows: list[dict], key) -> list[dict]:
    """Each group of rows (by ``key``) predicted by profiles fitted on all the other rows (refits run in parallel)."""
    groups = [(k, [r for r in rows if key(r) == k], [r for r in rows if key(r) != k]) for k in sorted({key(r) for r in rows})]
    groups = [(k, test, train) for k, test, train in groups if any(t["family"] == r["family"] for t in test for r in train)]
    todo = {tuple(sorted((r["id"], r["measured_tok_s"]) for r in train if r["family"] in CONTINUOUS)): train
            for _, _, train in groups}
    todo = {k: v for k, v in todo.items() if k not in _FITS}
    if len(todo) > 1 and (os.cpu_count() or 1) > 1 and os.name == "posix":  # fork: workers inherit the loaded rows
        with ProcessPoolExecutor(max_workers=min(os.cpu_count() or 1, 8), mp_context=get_context("fork")) as pool:
            fitted = pool.map(_fit_continuous, [[r for r in train if r["family"] in CONTINUOUS] for train in todo.values()])
            for k, f in zip(todo, fitted):
                _FITS[k] = f
    out = []
    for _, test, train in groups:
        out += _table(test, fit_all(train), held_out=True)
    return out


def summary(table: list[dict]) -> dict:
    """Median absolute and signed error per scenario, device family and overall."""
    def med(xs):
        return {"n": len(xs), "median_abs_error": statistics.median(abs(x) for x in xs), "median_error": statistics.median(xs)} if xs else None
    out = {"all": med([t["error"] for t in table])}
    for key in ("scenario", "device_family"):
        for v in sorted({t[key] for t in table}):
            out[f"{key}={v}"] = med([t["error"] for t in table if t[key] == v])
    for sc in sorted({t["scenario"] for t in table}):
        for fam in sorted({t["device_family"] for t in table if t["scenario"] == sc}):
            out[f"{sc}/{fam}"] = med([t["error"] for t in table if t["scenario"] == sc and t["device_family"] == fam])
    return out


def validate(local_rows: list[dict] | None = None, holdout: list[dict] | None = None, rows_file: str | None = None,
             out_of_sample: bool = True, add_rows: str | None = None) -> dict:
    """Predicted vs measured: in sample (fitted on every row), leave-one-out, leave-one-round-out and
    leave-one-device-out over the published rows; ``holdout`` (bench runs) and ``rows_file`` rows are never fitted on."""
    given = published(rows_file, strict=False) if rows_file else []  # read first: a bad file fails before any fitting
    skipped = [r for r in given if r.get("unrepresentable")]
    given = [r for r in given if not r.get("unrepresentable")]
    if rows_file and not given:
        raise TokenfallError(f"--rows {rows_file}: no row the catalog can represent"
                             + (f" (first: {skipped[0]['id']}: {skipped[0]['unrepresentable']})" if skipped else " (the file has no rows)"))
    extra = published(add_rows) if add_rows else []
    rows = published() + extra + (local_rows or [])
    profs = fit_all(rows)
    table = _table(rows, profs)
    if not table:
        raise TokenfallError("no measurement rows to validate against")
    res = {"rows": table, "profiles": {k: v.model_dump() for k, v in profs.items()}, "versions": versions(rows, profs),
           "in_sample": summary(table), "median_abs_error": statistics.median(abs(t["error"]) for t in table)}
    if out_of_sample:
        pub = published() + extra
        res["leave_one_round_out"] = _held_out([r for r in pub if r["round"]], lambda r: r["round"])
        res["leave_one_device_out"] = _held_out(pub, lambda r: r["device"])
        res["leave_one_out"] = _held_out(pub, lambda r: r["id"])
        for k in ("leave_one_round_out", "leave_one_device_out", "leave_one_out"):
            res[k + "_summary"] = summary(res[k])
    extra = _table(holdout or [], profs, held_out=True)
    if rows_file:
        seen = {r["id"] for r in rows}
        extra += _table([r for r in given if r["id"] not in seen], profs, held_out=True)
        res["rows_file"] = {"path": str(rows_file), "rows": len(given) + len(skipped), "already_fitted": sum(r["id"] in seen for r in given),
                            "unrepresentable": [{"id": r["id"], "why": r["unrepresentable"]} for r in skipped]}
    res["held_out"] = extra
    res["held_out_summary"] = summary(extra) if extra else None
    res["held_out_median_abs_error"] = statistics.median(abs(t["error"]) for t in extra) if extra else None
    return res


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
            out.append({"id": f"bench-{run.id}-c{c}", "engine": "llamacpp", "family": "llamacpp-cpu", "device": "local", "device_spec": dev, "arch": arch,
                        "n_devices": 1, "model": arch.name, "precision": arch.precision, "scenario": "closed", "batch": c,
                        "s_in": int(pr.get("input_tokens", 32)), "s_out": int(pr.get("output_tokens", 32)),
                        "measured_tok_s": lvl.output_tokens_per_s, "weight_gb": None,
                        "source": f"bench run {run.id} level c={c} on this machine"})
    if not out:
        raise TokenfallError("--calibrate: those runs have no completed closed-loop levels")
    return out
