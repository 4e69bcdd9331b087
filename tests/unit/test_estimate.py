"""The cost model: roofline arithmetic, memory fit, calibration against published rows, economies of scale."""

import math
import statistics

import pytest

from tokenfall import api, models
from tokenfall.errors import TokenfallError
from tokenfall.estimate import calibrate
from tokenfall.estimate import roofline as rf
from tokenfall.estimate import scale as sc
from tokenfall.types import EstimateConfig, ScaleConfig

DEV = {"id": "toy", "name": "toy", "kind": "gpu", "memory_gb": 10, "mem_bw_gbs": 1000, "tflops": {"bf16": 100}, "link_gbs": 100}
ARCH = rf.Arch(name="toy", n_params=1e9, n_active=1e9, n_layers=10, d_model=1024, n_heads=8, n_kv_heads=2, head_dim=128,
               weight_bytes=2e9, precision="bf16")
PROF = rf.Profile(name="p", eta_m=0.5, eta_c=0.25, eta_p=0.5, step_s=1e-3, layer_s=1e-4)


def test_a_step_is_weight_gemms_plus_attention_plus_fixed_costs():
    kv = 2 * 10 * 2 * 128 * 2  # K and V, layers, KV heads, head dim, bytes
    assert ARCH.kv_per_token == kv
    s = rf.decode_step(ARCH, DEV, PROF, batch=4, context=100)
    t_w = 2e9 / (1000e9 * 0.5)                                  # weights streamed once per step
    t_gemm = 2 * 1e9 * 4 / (100e12 * 0.25)                       # m_half 0: GEMMs at eta_c
    t_attn = max(4 * 100 * kv / (1000e9 * 0.5), 4 * 10 * 8 * 128 * 100 * 4 / (100e12 * 0.25))
    assert s["t_weights"] == pytest.approx(t_w) and s["t_gemm"] == pytest.approx(t_gemm) and s["t_attention"] == pytest.approx(t_attn)
    assert s["t"] == pytest.approx(max(t_w, t_gemm) + t_attn + 1e-3 + 10 * 1e-4) and s["bound"] == "memory"
    assert rf.decode_step(ARCH, DEV, PROF, batch=4096, context=100)["bound"] == "compute"
    # prompt tokens riding along at eta_p; GEMMs fill up with the tokens in the step
    p2 = PROF.model_copy(update={"m_half": 100.0})
    s2 = rf.step(ARCH, DEV, p2, 4, 100, prefill_tokens=96, prefill_context=50)
    gemm = (2e9 * 4 / (100e12 * 0.25) + 2e9 * 96 / (100e12 * 0.5)) / (100 / 200)
    assert s2["t_gemm"] == pytest.approx(gemm)


def test_continuous_batching_tpot_is_the_step_and_the_load_meets_the_ttft_tail():
    prof = PROF.model_copy(update={"scheduler": "continuous", "max_batch": 10_000})
    pt = rf.continuous(ARCH, DEV, prof, 8, 64, 32)
    st = rf.step(ARCH, DEV, prof, 8, 64 + 16, prefill_tokens=16, prefill_context=64)
    assert pt["tpot_s"] == pytest.approx(st["t"]) and pt["output_tokens_per_s"] == pytest.approx(8 / st["t"])
    assert pt["input_tokens_per_s"] == pytest.approx(2 * pt["output_tokens_per_s"]) and pt["utilisation"] == 1.0
    # M/D/1 (Allen-Cunneen): the load leaves P(wait > budget) at exactly 1%
    rho = rf._load_at_p99_wait(service=0.05, budget=1.0)
    assert rho * math.exp(-2 * (1 - rho) * 1.0 / 0.05) == pytest.approx(0.01, rel=1e-6) and 0.85 < rho < 0.9
    assert rf._load_at_p99_wait(0.05, -0.1) == 0.0
    served = rf.continuous(ARCH, DEV, prof, 8, 64, 32, ttft_s=0.5)
    assert 0 < served["utilisation"] < 1 and served["output_tokens_per_s"] == pytest.approx(served["utilisation"] * pt["output_tokens_per_s"])
    # no SLO: the batch is everything memory holds (paged KV at the mean context)
    top, _ = rf.best_under_slo(ARCH, DEV, prof, 64, 32, 1, None, None)
    assert top["batch"] == pytest.approx((10e9 * 0.9 - 2e9) / (80 * ARCH.kv_per_token))
    slo, _ = rf.best_under_slo(ARCH, DEV, prof, 64, 32, 1, None, 0.01)
    assert slo["tpot_s"] == pytest.approx(0.01, rel=1e-6)


def test_fp4_credit_and_software_trend_arithmetic():
    dev = rf.device("b200")
    p = PROF.model_copy(update={"fp4_exp": 0.5})
    assert rf.peak_flops(dev, "fp4", p) == pytest.approx(4500e12 * (9000 / 4500) ** 0.5)
    assert rf.peak_flops(dev, "fp4") == 9000e12 and rf.peak_flops(dev, "fp8", p) == 4500e12
    t = PROF.model_copy(update={"date": "2024-01-01", "gain_per_year": 0.2})
    assert t.at("2025-01-01").speed == pytest.approx(math.exp(0.2 * 366 / 365.25)) and t.at(None).speed == 1.0


def test_closed_loop_throughput_and_prefill_share():
    s = rf.serve(ARCH, DEV, PROF, batch=8, s_in=64, s_out=32)
    step = rf.decode_step(ARCH, DEV, PROF, 8, 64 + 16)["t"]
    t_p = rf.prefill(ARCH, DEV, PROF, 64)
    cycle = 8 * t_p + 32 * step
    assert s["output_tokens_per_s"] == pytest.approx(8 * 32 / cycle) and s["prefill_share"] == pytest.approx(8 * t_p / cycle)


def test_memory_fit_reports_the_numbers():
    m = rf.fits(ARCH, DEV, batch=1000, context=1000)
    assert not m["fits"] and m["need_gb"] == pytest.approx((2e9 + 1000 * 1000 * ARCH.kv_per_token) / 1e9) and m["have_gb"] == 9.0
    with pytest.raises(TokenfallError, match=r"does not fit 8x l4: needs 81\d\.\d GB .* > 172.8 GB usable"):
        api.estimate(EstimateConfig(model="llama-3.1-405b", hardware="l4", precision="bf16"))
    with pytest.raises(TokenfallError, match="Did you mean 'h100-sxm'"):
        api.estimate(EstimateConfig(model="llama-2-7b", hardware="h100-sxmm"))
    with pytest.raises(TokenfallError, match="Did you mean 'fp8'"):
        api.estimate(EstimateConfig(model="llama-2-7b", hardware="h100-sxm", precision="fp88"))


def test_catalog_has_ten_accelerators_with_sources_and_prices():
    devs = rf.devices()
    assert {"h200-nvl", "mi355x", "gb300", "rtx-pro-6000", "arc-pro-b60", "xeon-6980p-2s"} <= set(devs)
    assert {"deepseek-r1", "deepseek-v3", "mixtral-8x22b", "qwen3-235b-a22b"} <= set(rf.PRESETS)
    ds = rf.preset("deepseek-r1", "fp8")
    assert ds.n_active == 37e9 and ds.n_params == 671e9 and ds.kv_per_token == 2 * 61 * 288  # MLA: 576 FP8 values per layer
    priced = [d for d in devs.values() if d["prices"] and d["tflops"]]
    assert len(priced) >= 10
    for d in devs.values():
        assert d["source"] and d["mem_bw_gbs"] > 0 and d["memory_gb"] > 0
    from tokenfall import cost
    kinds = {cost.catalog()[p]["price_kind"] for d in priced for p in d["prices"]}
    assert {"on-demand", "owner-tco"} <= kinds


def test_validation_in_and_out_of_sample():
    v = calibrate.validate()
    assert {"trt-llm", "vllm-rocm", "llamacpp-cuda", "llamacpp-metal"} <= {r["profile"] for r in v["rows"]}
    row = next(r for r in v["rows"] if r["id"] == "mlperf-v4.0-h100-sxmx8-offline")
    assert row["measured"] == 21805.8 and abs(row["error"]) <= 0.20
    ins, loro = v["in_sample"], v["leave_one_round_out_summary"]
    assert ins["scenario=offline"]["median_abs_error"] <= 0.10 and ins["scenario=server"]["median_abs_error"] <= 0.15
    assert loro["scenario=offline"]["median_abs_error"] <= 0.15 and loro["scenario=server"]["median_abs_error"] <= 0.20
    assert {r["round"] for r in v["leave_one_round_out"]} == {"v4.0", "v4.1", "v5.0"}
    assert v["leave_one_out_summary"]["all"]["n"] == len(v["rows"]) and v["leave_one_device_out_summary"]["all"]["n"] >= 60
    # every profile says which build it is and how far its rows sit from the family
    assert {x["profile"] for x in v["versions"]} >= {"trt-llm@2024-03-27", "trt-llm@2024-08-28", "trt-llm@2025-04-02", "vllm-rocm@2024-08-28"}


def test_older_rounds_predict_the_newer_one():
    rows = calibrate.published()
    old = [r for r in rows if r["round"] in ("v4.0", "v4.1") or not r["round"]]
    profs = calibrate.fit_all(old)
    new = [r for r in rows if r["round"] == "v5.0" and r["model"] == "llama-2-70b" and r["scenario"] == "offline"]
    errs = [abs(calibrate.predict(r, profs[r["family"]]) / r["measured_tok_s"] - 1) for r in new]
    assert len(new) == 4 and statistics.median(errs) <= 0.15


def test_hardware_ratios_have_physical_causes():
    rows = {r["id"]: r for r in calibrate.published()}
    profs = calibrate.profiles()
    b200, h200 = rows["mlperf-v5.0-b200x8-llama-2-70b-offline"], rows["mlperf-v5.0-h200x8-llama-2-70b-offline"]
    ratio = calibrate.predict(b200, profs["trt-llm"]) / calibrate.predict(h200, profs["trt-llm"])
    published = b200["measured_tok_s"] / h200["measured_tok_s"]  # 2.83 (the "~2.9")
    assert published * 0.85 <= ratio <= published * 1.15
    mi325 = rows["mlperf-v5.0-mi325xx8-llama-2-70b-offline"]
    mi300 = mi325 | {"device": "mi300x"}      # same round, same software: only the hardware differs
    a, b = calibrate.predict(mi325, profs["vllm-rocm"]), calibrate.predict(mi300, profs["vllm-rocm"])
    assert a > b * 1.03
    arch, prof = rf.preset("llama-2-70b", "fp8"), profs["vllm-rocm"]
    big, _ = rf.best_under_slo(arch, rf.device("mi325x"), prof, 400, 294, 1, None, None)
    small, _ = rf.best_under_slo(arch, rf.device("mi300x"), prof, 400, 294, 1, None, None)
    assert big["batch"] > 1.4 * small["batch"]  # more memory -> more contexts per step -> fuller GEMMs
    for r in rows.values():  # Server never above Offline for the same system and round
        if r["scenario"] == "server":
            off = rows.get(r["id"].replace("-server", "-offline"))
            if off and r["family"] in calibrate.CONTINUOUS:
                assert calibrate.predict(r, profs[r["family"]]) <= calibrate.predict(off, profs[r["family"]]) * 1.0001


def test_estimates_are_labelled_with_profile_and_error():
    e = api.estimate(EstimateConfig(model="llama-2-70b", hardware="h100-sxm", precision="fp8", ttft_s=2, tpot_s=0.05))
    assert e["estimate"] and e["point"]["tpot_s"] <= 0.05 and e["tp"] in (1, 2, 4, 8)
    assert "ESTIMATE" in e["assumptions"][0] and "median absolute error" in e["calibration"]
    assert e["profile_age"]["date"] == "2025-04-02" and "not carried forward" in e["assumptions"][1]
    later = api.estimate(EstimateConfig(model="llama-2-70b", hardware="h100-sxm", precision="fp8", as_of="2026-04-02"))
    now = api.estimate(EstimateConfig(model="llama-2-70b", hardware="h100-sxm", precision="fp8"))
    assert later["point"]["output_tokens_per_s"] > now["point"]["output_tokens_per_s"] and "carried to 2026-04-02" in later["assumptions"][1]
    assert e["prices"] and all(p["usd_per_m_output"] > 0 for p in e["prices"])


def test_a_newer_build_is_fitted_from_a_few_rows(tmp_path):
    f = tmp_path / "mine.csv"
    f.write_text("id,round,date,engine,version,device,n_devices,model,precision,weight_gb,scenario,batch,s_in,s_out,measured_tok_s,source\n"
                 "mine-h200-offline,,2025-10-01,trt-llm,TensorRT-LLM 1.0 (my build),H200-SXM,8,llama2-70b-99,FP8,,Offline,,700,294,36500,"
                 "my own run\n")
    rows = calibrate.published(f)
    assert (rows[0]["device"], rows[0]["model"], rows[0]["precision"], rows[0]["family"]) == ("h200", "llama-2-70b", "fp8", "trt-llm")
    e = api.estimate(EstimateConfig(model="llama-2-70b", hardware="h200", precision="fp8", add_rows=str(f)))
    assert e["profile_age"]["date"] == "2025-10-01" and e["profile"]["version"] == "TensorRT-LLM 1.0 (my build)"
    assert e["profile"]["fitted_on"] == 33
    with pytest.raises(TokenfallError, match="--add-rows .*: no such file"):
        api.estimate(EstimateConfig(model="llama-2-70b", hardware="h200", add_rows=str(tmp_path / "none.csv")))


def test_architecture_of_the_bundled_gguf():
    a = models.architecture(models.resolve(None).path)
    assert (a["n_layers"], a["d_model"], a["n_heads"], a["n_kv_heads"], a["head_dim"]) == (30, 576, 9, 3, 64)
    arch = rf.from_shape(a)
    assert arch.precision == "q4_1" and arch.weight_bytes == a["weight_bytes"]


def test_scale_arithmetic_flat_and_diurnal():
    s = sc.scale(864e6, 86.4e6, prefill_tok_s=10_000, decode_tok_s=1_000, devices_per_replica=2, usd_per_device_hour=1.5)
    busy = 864e6 / 10_000 + 86.4e6 / 1_000           # 172,800 replica-seconds = 2 replicas all day
    assert s["replica_seconds_per_day"] == pytest.approx(busy) and s["replicas_peak"] == 2
    assert s["usd_per_day"] == pytest.approx(2 * 24 * 2 * 1.5) and s["utilisation"] == pytest.approx(1.0)
    assert s["usd_per_m_total"] == pytest.approx(144 / (950.4e6) * 1e6)
    shares = sc.diurnal(2.0)
    assert sum(shares) / 24 == pytest.approx(1) and max(shares) == pytest.approx(2.0)
    peaky = sc.scale(864e6, 86.4e6, 10_000, 1_000, 2, 1.5, peak_to_mean=2.0)
    elastic = sc.scale(864e6, 86.4e6, 10_000, 1_000, 2, 1.5, peak_to_mean=2.0, elastic=True)
    assert peaky["replicas_peak"] == 4 and peaky["utilisation"] == pytest.approx(0.5)
    assert elastic["usd_per_day"] < peaky["usd_per_day"] and elastic["utilisation"] > peaky["utilisation"]
    tiny = sc.scale(1e6, 1e5, 10_000, 1_000, 1, 1.0)
    assert tiny["replicas_peak"] == 1 and tiny["idle_share"] > 0.9  # one replica is the floor: cost per token balloons


def test_deepseek_disclosure_reproduced_from_its_inputs_and_predicted_from_the_hardware():
    r = api.scale(ScaleConfig(preset="deepseek-2025-02"))
    assert abs(r["published"]["error"]) <= 0.15
    q = r["prediction"]
    assert q["published_decode"] == 14.8e3 and q["decode_error"] == pytest.approx(q["decode_tok_s_per_node"] / 14.8e3 - 1)
    assert q["decode_tok_s_per_node"] > 0 and q["prefill_tok_s_per_node"] > 0 and q["decode_step_s"] <= 1 / 21 + 1e-9
    assert r["replicas_avg_busy"] == pytest.approx(226.75, rel=0.02)
    assert r["published"]["usd_per_m_total"] == pytest.approx(87072 / 776e9 * 1e6)


def test_break_even_against_an_api_price():
    b = sc.break_even(api_usd_per_m=0.5, input_share=0.75, prefill_tok_s=10_000, decode_tok_s=1_000, devices_per_replica=1,
                      usd_per_device_hour=2.0, peak_to_mean=1.0, elastic=False)
    assert b["tokens_per_day"] is not None and b["usd_per_m_total"] <= 0.5
    below = sc.scale(b["tokens_per_day"] * 0.75 / 1.2, b["tokens_per_day"] * 0.25 / 1.2, 10_000, 1_000, 1, 2.0)
    assert below["usd_per_m_total"] > 0.5
    with pytest.raises(TokenfallError, match="peak-to-mean"):
        sc.scale(1, 1, 1, 1, 1, 1, peak_to_mean=0.5)
