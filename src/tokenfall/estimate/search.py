"""`tokenfall estimate`: a model on hardware you do not have. The roofline with a fitted engine profile, searched
over tensor-parallel degree and batch for the most output tokens per device under the SLO, then priced."""

from __future__ import annotations

import math

from tokenfall import cost, models
from tokenfall.errors import TokenfallError
from tokenfall.estimate import calibrate as cal
from tokenfall.estimate import roofline as rf
from tokenfall.registry import did_you_mean
from tokenfall.types import EstimateConfig, Run


def default_profile(dev: dict) -> tuple[str, str]:
    """(profile, why) for a device: the engine family whose published measurements are closest to it."""
    i, kind = dev["id"], dev["kind"]
    if kind == "cpu":
        return "llamacpp-cpu", "llama.cpp on CPU, calibrated on this machine's bench runs"
    if kind == "apple":
        return "llamacpp-metal", "llama.cpp Metal, fitted on the published Apple rows"
    if i.startswith("rtx") and i != "rtx-pro-6000":
        return "llamacpp-cuda", "llama.cpp CUDA, fitted on the published consumer/workstation GPU rows"
    if i.startswith("mi3"):
        return "vllm-rocm", "vLLM on ROCm, fitted on MLPerf AMD rows"
    if kind == "tpu" or not dev["name"].startswith("NVIDIA"):
        return "trt-llm", f"no measurements of {dev['name']} in the calibration set: TensorRT-LLM's profile borrowed (treat as optimistic)"
    return "trt-llm", "TensorRT-LLM, fitted on MLPerf NVIDIA rows"


def architecture(model: str | None, precision: str | None) -> rf.Arch:
    """A preset's or a model file's shape, at ``precision`` (default: the file's own, bf16 for presets)."""
    if model and model.lower() in rf.PRESETS:
        return rf.preset(model, precision or "bf16")
    try:
        info = models.resolve(model)
    except TokenfallError:
        if model and "/" not in model and not model.endswith((".gguf", ".bin")):
            raise did_you_mean(model, [*rf.PRESETS, *models.BUNDLED], "model (architecture preset or bundled model)") from None
        raise
    if info.kind == "remote":
        raise TokenfallError(f"--model {model}: a server URL has no architecture to read; give a preset or a GGUF/HF path")
    return rf.from_shape(models.architecture(info.path), precision)


def estimate(cfg: EstimateConfig, calibration: list[Run]) -> dict:
    """Tokens/s, TTFT/TPOT and $/M from the roofline and a fitted engine profile (``calibration``: this
    machine's bench runs fitting the CPU profile); the best batch under the SLO unless ``cfg.batch`` is given.
    Labelled as an estimate throughout, with the profile's build date and age."""
    dev = cal.local_device() if cfg.hardware == "local" else rf.device(cfg.hardware)
    arch = architecture(cfg.model, cfg.precision)
    local_rows = cal.bench_rows(calibration, cal.local_device() if cfg.hardware != "local" else dev) if calibration else []
    profs = cal.profiles(local_rows, add_rows=cfg.add_rows)
    name, why = (cfg.profile, "chosen with --profile") if cfg.profile else default_profile(dev)
    if name not in profs:
        raise did_you_mean(name, list(profs), "engine profile")
    prof = profs[name]
    age = _age(prof, cfg.as_of)
    if cfg.as_of:
        prof = prof.at(cfg.as_of)
    g, point, sweep = _search(cfg, arch, dev, prof)
    calib = (f"median absolute error {prof.error:.0%} in sample on the {prof.fitted_on} rows it was fitted on "
             "(`estimate --validate` gives the out-of-sample errors)" if prof.error is not None
             else "UNCALIBRATED defaults (run `tokenfall bench` here and pass --calibrate RUN)")
    i, o = cfg.input_tokens, cfg.output_tokens
    sched = ("in-flight batching with chunked prefill: every step decodes the batch and prefills new prompts; "
             f"memory holds {point['batch']:.0f} contexts of {i + o // 2} tokens" if prof.scheduler == "continuous" else
             f"closed loop at batch {point['batch']}: each of {point['batch']} streams prefills {i} tokens, then decodes {o}")
    return {"estimate": True, "model": arch.model_dump(), "hardware": {k: v for k, v in dev.items() if k != "prices"}, "tp": g,
            "profile": prof.model_dump(), "profile_why": why, "profile_age": age, "calibration": calib, "point": point,
            "sweep": [s for s in (sweep or []) if s["fits"]], "prices": _prices(cfg, dev, g, point),
            "workload": {"input_tokens": i, "output_tokens": o, "ttft_s": cfg.ttft_s, "tpot_s": cfg.tpot_s},
            "assumptions": [
                f"ESTIMATE, not a measurement: roofline with engine profile {prof.name} ({why}); {calib}",
                f"software: {age['text']}",
                f"model: {arch.name}, {arch.n_params / 1e9:.3g}B parameters ({arch.n_active / 1e9:.3g}B active), weights "
                f"{arch.weight_bytes / 1e9:.3g} GB as {arch.precision}, KV {arch.kv_bytes:g} bytes/element ({arch.source})"
                + (f"; MoE: every expert is read once a batch is large, experts split across the {g} devices like tensor-parallel "
                   "shards (expert parallelism within one node)" if arch.n_active < arch.n_params else ""),
                f"hardware: {dev['name']} x{g} (tensor parallel), {dev['mem_bw_gbs']:g} GB/s, "
                f"{(rf.peak_flops(dev, arch.precision, prof) or 0) / 1e12:.4g} TFLOP/s dense as credited ({dev['source']})",
                sched,
                "memory: weights + KV of every context within 90% of device memory",
            ]}


def _age(prof: rf.Profile, as_of: str | None) -> dict:
    """Which build the profile describes, how old it is, and whether it was carried forward."""
    import datetime as dt

    if not prof.date:
        return {"date": None, "days": None, "carried_to": None, "text": f"{prof.name}: no build date (fitted on undated rows)"}
    days = (dt.date.today() - dt.date.fromisoformat(prof.date)).days
    text = f"profile {prof.name} describes the build of {prof.date}" + (f" ({prof.version})" if prof.version else "") + f", {days} days old"
    if as_of:
        text += (f"; carried to {as_of} along the fitted software trend ({prof.gain_per_year:+.0%} a year in log terms, "
                 f"x{math.exp(prof.gain_per_year * rf._years(prof.date, as_of)):.2f})")
    else:
        text += "; not carried forward (give --as-of DATE to apply the fitted software trend)"
    return {"date": prof.date, "days": days, "carried_to": as_of, "text": text}


def _search(cfg: EstimateConfig, arch: rf.Arch, dev: dict, prof: rf.Profile) -> tuple[int, dict, list | None]:
    """(tensor-parallel degree, point, batch sweep) with the most output tokens/s per device."""
    hw, tp, batch = cfg.hardware, cfg.tp, cfg.batch
    i, o = cfg.input_tokens, cfg.output_tokens
    ctx = i + o
    degrees = (1,) if dev["kind"] in ("cpu", "apple") else (1, 2, 4, 8)  # one host: no tensor parallelism across CPUs here
    if tp and tp not in degrees:
        raise TokenfallError(f"--tp {tp}: {hw} is one host, so only --tp 1" if len(degrees) == 1
                             else f"--tp {tp}: the estimate models tensor-parallel degrees 1, 2, 4 or 8")
    g = tp or degrees[-1]  # memory only grows with the degree: if the largest allowed one cannot hold it, none can
    m = rf.fits(arch, dev, 1, ctx, g)
    if not m["fits"]:
        raise TokenfallError(f"{arch.name} ({arch.precision}) does not fit {g}x {hw}: needs {m['need_gb']:.1f} GB (weights "
                             f"{m['weights_gb']:.1f} + one {ctx}-token context {m['kv_gb']:.2f}) > {m['have_gb']:.1f} GB usable")
    best, fastest = None, None
    for g in [tp] if tp else [d for d in degrees if rf.fits(arch, dev, 1, ctx, d)["fits"]]:
        if batch is not None:
            pt = (rf.continuous(arch, dev, prof, batch, i, o, g, cfg.ttft_s) if prof.scheduler == "continuous"
                  else rf.serve(arch, dev, prof, batch, i, o, g))
            sw = None
            if not pt["fits"]:
                if tp:
                    m = pt["memory"]
                    raise TokenfallError(f"{arch.name} at batch {batch} does not fit {g}x {hw}: needs {m['need_gb']:.1f} GB "
                                         f"(weights {m['weights_gb']:.1f} + KV {m['kv_gb']:.1f}) > {m['have_gb']:.1f} GB usable; "
                                         "lower --batch or raise --tp")
                continue
        else:
            pt, sw = rf.best_under_slo(arch, dev, prof, i, o, g, cfg.ttft_s, cfg.tpot_s, whole=True)
            one = (rf.continuous(arch, dev, prof, 1, i, o, g) if prof.scheduler == "continuous" else rf.serve(arch, dev, prof, 1, i, o, g))
            if one["fits"] and (fastest is None or one["tpot_s"] < fastest[1]["tpot_s"]):
                fastest = (g, one)
            if pt is None:
                continue
        if best is None or pt["output_tokens_per_s"] / g > best[1]["output_tokens_per_s"] / best[0]:
            best = (g, pt, sw)
    if best is None:
        if batch is not None:
            raise TokenfallError(f"{arch.name} at batch {batch} does not fit {hw} at any tensor-parallel degree up to 8; lower --batch")
        fg, f1 = fastest
        slo = ", ".join(f"{k} {v:g} s" for k, v in (("ttft", cfg.ttft_s), ("tpot", cfg.tpot_s)) if v is not None)
        raise TokenfallError(f"no batch meets the SLO ({slo}) for {arch.name} on {hw}: the fastest "
                             f"is batch 1 at TP {fg} with TPOT {f1['tpot_s'] * 1e3:.3g} ms and TTFT {f1['ttft_s'] * 1e3:.3g} ms; relax --slo "
                             "or pick faster hardware")
    return best


def _prices(cfg: EstimateConfig, dev: dict, g: int, point: dict) -> list[dict]:
    """$/M at each catalog price of the device, for ``g`` of them."""
    price_ids = dev.get("prices") or ([cost.local_default()] if dev["kind"] == "cpu" and cfg.hardware == "local" else [])
    priced = []
    for pid in price_ids:
        p = cost.pricing(hardware=pid)
        p = p.model_copy(update={"usd_per_hour": p.usd_per_hour * g, "watts": p.watts * g})
        c = cost.price(p, point["input_tokens_per_s"], point["output_tokens_per_s"], point["prefill_share"],
                       share_from="estimated: prefill vs decode time in the roofline")
        priced.append({"price": pid, "price_kind": cost.catalog()[pid]["price_kind"], "usd_per_hour": p.usd_per_hour,
                       "usd_per_m_input": c.usd_per_m_input, "usd_per_m_output": c.usd_per_m_output, "usd_per_m_blended": c.usd_per_m_blended})
    return priced
