"""`tokenfall estimate`: a model on hardware you do not have. The roofline with a fitted engine profile, searched
over tensor-parallel degree and batch for the most output tokens per device under the SLO, then priced."""

from __future__ import annotations

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
    if i.startswith("rtx"):
        return "llamacpp-cuda", "llama.cpp CUDA, fitted on the published consumer/workstation GPU rows"
    if i.startswith("mi3"):
        return "vllm-rocm", "vLLM on ROCm, fitted on MLPerf v4.1 AMD rows"
    if kind == "tpu":
        return "trt-llm-10", "no TPU measurements in the calibration set: TensorRT-LLM's profile borrowed (treat as optimistic)"
    return "trt-llm-10", "TensorRT-LLM 10, fitted on MLPerf v4.1 NVIDIA rows"


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
    Labelled as an estimate throughout."""
    dev = cal.local_device() if cfg.hardware == "local" else rf.device(cfg.hardware)
    arch = architecture(cfg.model, cfg.precision)
    local_rows = cal.bench_rows(calibration, cal.local_device() if cfg.hardware != "local" else dev) if calibration else []
    profs = cal.profiles(local_rows)
    name, why = (cfg.profile, "chosen with --profile") if cfg.profile else default_profile(dev)
    if name not in profs:
        raise did_you_mean(name, list(profs), "engine profile")
    prof = profs[name]
    g, point, sweep = _search(cfg, arch, dev, prof)
    calib = (f"median absolute error {prof.error:.0%} on the {prof.fitted_on} measurements it was fitted on" if prof.error is not None
             else "UNCALIBRATED defaults (run `tokenfall bench` here and pass --calibrate RUN)")
    i, o = cfg.input_tokens, cfg.output_tokens
    return {"estimate": True, "model": arch.model_dump(), "hardware": {k: v for k, v in dev.items() if k != "prices"}, "tp": g,
            "profile": prof.model_dump(), "profile_why": why, "calibration": calib, "point": point,
            "sweep": [s for s in (sweep or []) if s["fits"]], "prices": _prices(cfg, dev, g, point),
            "workload": {"input_tokens": i, "output_tokens": o, "ttft_s": cfg.ttft_s, "tpot_s": cfg.tpot_s},
            "assumptions": [
                f"ESTIMATE, not a measurement: roofline with engine profile {prof.name} ({why}); {calib}",
                f"model: {arch.name}, {arch.n_params / 1e9:.3g}B parameters ({arch.n_active / 1e9:.3g}B active), weights "
                f"{arch.weight_bytes / 1e9:.3g} GB as {arch.precision}, KV {arch.kv_bytes:g} bytes/element ({arch.source})",
                f"hardware: {dev['name']} x{g} (tensor parallel), {dev['mem_bw_gbs']:g} GB/s, "
                f"{(rf.peak_flops(dev, arch.precision) or 0) / 1e12:.4g} TFLOP/s dense ({dev['source']})",
                f"closed loop at batch {point['batch']}: each of {point['batch']} streams prefills {i} tokens, then decodes "
                f"{o}; decode at the mean context {i + o // 2}",
                "memory: weights + KV of every full context within 90% of device memory",
            ]}


def _search(cfg: EstimateConfig, arch: rf.Arch, dev: dict, prof: rf.Profile) -> tuple[int, dict, list | None]:
    """(tensor-parallel degree, point, batch sweep) with the most output tokens/s per device."""
    hw, tp, batch = cfg.hardware, cfg.tp, cfg.batch
    ctx = cfg.input_tokens + cfg.output_tokens
    degrees = (1,) if dev["kind"] in ("cpu", "apple") else (1, 2, 4, 8)  # one host: no tensor parallelism across CPUs here
    if tp and tp not in degrees:
        raise TokenfallError(f"--tp {tp}: {hw} is one host, so only --tp 1" if len(degrees) == 1
                             else f"--tp {tp}: the estimate models tensor-parallel degrees 1, 2, 4 or 8")
    g = tp or degrees[-1]  # memory only grows with the degree: if the largest allowed one cannot hold it, none can
    m = rf.fits(arch, dev, 1, ctx, g)
    if not m["fits"]:
        raise TokenfallError(f"{arch.name} ({arch.precision}) does not fit {g}x {hw}: needs {m['need_gb']:.1f} GB (weights "
                             f"{m['weights_gb']:.1f} + one {ctx}-token context {m['kv_gb']:.2f}) > {m['have_gb']:.1f} GB usable")
    best = None
    for g in [tp] if tp else [d for d in degrees if rf.fits(arch, dev, 1, ctx, d)["fits"]]:
        if batch is not None:
            pt, sw = rf.serve(arch, dev, prof, batch, cfg.input_tokens, cfg.output_tokens, g), None
            if not pt["fits"]:
                if tp:
                    m = pt["memory"]
                    raise TokenfallError(f"{arch.name} at batch {batch} does not fit {g}x {hw}: needs {m['need_gb']:.1f} GB "
                                         f"(weights {m['weights_gb']:.1f} + KV {m['kv_gb']:.1f}) > {m['have_gb']:.1f} GB usable; "
                                         "lower --batch or raise --tp")
                continue
        else:
            pt, sw = rf.best_under_slo(arch, dev, prof, cfg.input_tokens, cfg.output_tokens, g, cfg.ttft_s, cfg.tpot_s)
            if pt is None:
                continue
        if best is None or pt["output_tokens_per_s"] / g > best[1]["output_tokens_per_s"] / best[0]:
            best = (g, pt, sw)
    if best is None:
        if batch is not None:
            raise TokenfallError(f"{arch.name} at batch {batch} does not fit {hw} at any tensor-parallel degree up to 8; lower --batch")
        raise TokenfallError(f"no batch meets the SLO on {hw} (ttft {cfg.ttft_s}, tpot {cfg.tpot_s} s) at any tensor-parallel "
                             "degree; relax --slo or pick faster hardware")
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
