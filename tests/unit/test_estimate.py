"""The cost model: roofline arithmetic, memory fit, calibration against published rows, economies of scale."""

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


def test_decode_step_is_the_roofline_plus_fixed_costs():
    kv = 2 * 10 * 2 * 128 * 2  # K and V, layers, KV heads, head dim, bytes
    assert ARCH.kv_per_token == kv
    s = rf.decode_step(ARCH, DEV, PROF, batch=4, context=100)
    t_mem = (2e9 + 4 * 100 * kv) / (1000e9 * 0.5)
    t_cmp = (2 * 1e9 * 4 + 4 * 10 * 8 * 128 * 100 * 4) / (100e12 * 0.25)
    assert s["t_mem"] == pytest.approx(t_mem) and s["t_compute"] == pytest.approx(t_cmp)
    assert s["t"] == pytest.approx(max(t_mem, t_cmp) + 1e-3 + 10 * 1e-4) and s["bound"] == "memory"
    big = rf.decode_step(ARCH, DEV, PROF, batch=4096, context=100)
    assert big["bound"] == "compute"


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
    priced = [d for d in devs.values() if d["prices"] and d["tflops"]]
    assert len(priced) >= 10
    for d in devs.values():
        assert d["source"] and d["mem_bw_gbs"] > 0 and d["memory_gb"] > 0
    from tokenfall import cost
    kinds = {cost.catalog()[p]["price_kind"] for d in priced for p in d["prices"]}
    assert {"on-demand", "owner-tco"} <= kinds


def test_calibration_meets_the_published_rows():
    v = calibrate.validate()
    assert v["median_abs_error"] <= 0.20
    row = next(r for r in v["rows"] if r["id"] == "mlperf-v4.0-h100-sxmx8-offline")
    assert row["measured"] == 21805.8 and abs(row["error"]) <= 0.20
    assert {r["profile"] for r in v["rows"]} >= {"trt-llm-9", "trt-llm-10", "vllm-rocm", "llamacpp-cuda", "llamacpp-metal"}


def test_estimates_are_labelled_with_profile_and_error():
    e = api.estimate(EstimateConfig(model="llama-2-70b", hardware="h100-sxm", precision="fp8", ttft_s=2, tpot_s=0.05))
    assert e["estimate"] and e["point"]["tpot_s"] <= 0.05 and e["tp"] in (1, 2, 4, 8)
    assert "ESTIMATE" in e["assumptions"][0] and "median absolute error" in e["calibration"]
    assert e["prices"] and all(p["usd_per_m_output"] > 0 for p in e["prices"])


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


def test_deepseek_disclosure_reproduced_from_its_inputs():
    r = api.scale(ScaleConfig(preset="deepseek-2025-02"))
    assert abs(r["published"]["error"]) <= 0.15
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
