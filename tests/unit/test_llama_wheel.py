"""The llama-cpp-python build plan: explicit instruction flags per CPU level, AMX never on, one cache key per level."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("llama_wheel", Path(__file__).resolve().parents[2] / "scripts" / "llama_wheel.py")
lw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lw)

V3 = {"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"}
# Sapphire Rapids (AWS c7i): AVX-512 with its extensions, and AMX
SPR = V3 | {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vbmi", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"}


def _switches(plan):
    return dict(a.removeprefix("-D").split("=") for a in plan["cmake_args"].split())


def test_amd_epyc_without_avx512_gets_the_v3_build():
    p = lw.build_plan(V3, "x86_64")
    s = _switches(p)
    assert p["level"] == "x86-64-v3" and s["GGML_NATIVE"] == "OFF"
    assert s["GGML_AVX2"] == s["GGML_FMA"] == s["GGML_F16C"] == s["GGML_BMI2"] == "ON" and s["GGML_AVX512"] == "OFF"


def test_sapphire_rapids_gets_avx512_and_never_amx():
    p = lw.build_plan(SPR, "x86_64")
    s = _switches(p)
    assert p["level"] == "x86-64-v4+avx512_vbmi+avx512_vnni+avx512_bf16"
    assert s["GGML_AVX512"] == s["GGML_AVX512_VNNI"] == s["GGML_AVX512_BF16"] == "ON"
    assert s["GGML_AMX_TILE"] == s["GGML_AMX_INT8"] == s["GGML_AMX_BF16"] == "OFF"


def test_the_cache_key_separates_levels_and_versions():
    keys = {lw.build_plan(f, "x86_64")["key"] for f in (V3, SPR, {"sse4_2"}, set())}
    assert len(keys) == 4 and all(k.startswith(f"llama-cpp-python-{lw.VERSION}-cp") for k in keys)
    assert lw.build_plan(V3, "x86_64")["key"] == lw.build_plan(V3 | {"sha_ni"}, "x86_64")["key"]  # same switches, same wheel


def test_other_architectures_build_natively_keyed_by_every_feature():
    a = lw.build_plan({"fp", "asimd", "sve"}, "aarch64")
    b = lw.build_plan({"fp", "asimd"}, "aarch64")
    assert a["cmake_args"] == "-DGGML_NATIVE=ON" and a["key"] != b["key"]


def test_load_time_choice_turns_extra_buffers_off_only_where_amx_is_live():
    import pytest

    from tokenfall.errors import TokenfallError
    from tokenfall.models.llama import decide

    ours = {"AVX2": "1", "FMA": "1", "F16C": "1", "BMI2": "1", "REPACK": "1"}
    native_spr = ours | {"AVX512": "1", "AVX512_VNNI": "1", "AMX_INT8": "1"}
    spr_cpu = SPR
    assert decide(ours, spr_cpu)["extra_bufts"] is True            # our build on an AMX CPU: repack kept
    assert decide(native_spr, spr_cpu)["extra_bufts"] is False     # a native AMX build on an AMX CPU: off
    assert "20824" in decide(native_spr, spr_cpu)["why"]
    assert decide(ours, V3, "off")["extra_bufts"] is False          # forced, for the benchmark
    with pytest.raises(TokenfallError, match="AVX512"):              # an AVX-512 build on a CPU without it
        decide(native_spr, V3 | {"avx512_vnni"})
