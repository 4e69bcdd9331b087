"""`tokenfall estimate` and `tokenfall scale` through the real CLI; the CPU profile fitted on a real bench run."""

import json

import pytest

from tests.conftest import bench_run, cli, cli_here


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("estimate") / "ledger.sqlite")
    return db, bench_run(db, "-c", "1,4", "-n", "4", "--warmup", "1", "--input-tokens", "16", "--output-tokens", "16")


NEWER = """id,profile,device,n_devices,model,precision,weight_gb,scenario,batch,s_in,s_out,measured_tok_s,source
mlperf-v4.1-mi300x-turin-x8-offline,vllm-rocm,mi300x,8,llama-2-70b,fp8,,offline,,700,294,24109.8,"inference_results_v4.1 closed/AMD/results/8xMI300X_2xEPYC-TURIN (shared/research/hardware.md section 3.1)"
mlperf-v4.1-h200x8-offline,trt-llm-10,h200,8,llama-2-70b,fp8,,offline,,700,294,31302.7,"already in the calibration set"
mlperf-v4.1-tpu-offline,jetstream,tpu-v9,8,llama2-70b-99,fp8,,Offline,,700,294,1000,"a device the catalog lacks"
"""


def test_validate_prints_every_row_and_the_median(bench, tmp_path):
    db, run_id = bench
    rows = tmp_path / "newer.csv"
    rows.write_text(NEWER)
    r = cli("--db", db, "estimate", "--validate", "--calibrate", run_id, "--rows", str(rows), "--json")
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)
    mine = [x for x in v["rows"] if x["profile"] == "llamacpp-cpu"]
    assert [x["id"] for x in mine] == [f"bench-{run_id}-c1", f"bench-{run_id}-c4"]
    assert v["profiles"]["llamacpp-cpu"]["fitted_on"] == 2 and v["median_abs_error"] <= 0.20
    # the file's rows are predicted, never fitted: the old-format row (profile column, round from its id) is held out,
    # the one already in the package data is left out, and the fitted profiles are those of the package data alone
    assert [x["id"] for x in v["held_out"]] == ["mlperf-v4.1-mi300x-turin-x8-offline"] and v["rows_file"]["already_fitted"] == 1
    assert [u["id"] for u in v["rows_file"]["unrepresentable"]] == ["mlperf-v4.1-tpu-offline"]
    assert "unknown hardware 'tpu-v9'" in v["rows_file"]["unrepresentable"][0]["why"]
    turin = v["held_out"][0]
    assert turin["round"] == "v4.1" and turin["date"] == "2024-08-28" and abs(turin["error"]) <= 0.25
    assert v["profiles"]["vllm-rocm"]["fitted_on"] == 5
    for k in ("leave_one_out", "leave_one_round_out", "leave_one_device_out"):
        assert v[k + "_summary"]["all"]["n"] > 0
    text = cli("--db", db, "estimate", "--validate", "--rows", str(rows))
    assert text.returncode == 0 and "mlperf-v4.0-h100-sxmx8-offline" in text.stdout and "leave one round out" in text.stdout
    assert "held out (never fitted on)" in text.stdout and "median absolute error in sample" in text.stdout


def test_local_estimate_uses_the_calibrated_profile(bench):
    db, run_id = bench
    r = cli("--db", db, "estimate", "--hardware", "local", "--calibrate", run_id, "--batch", "4", "--input-tokens", "16",
            "--output-tokens", "16", "--json")
    assert r.returncode == 0, r.stderr
    e = json.loads(r.stdout)
    assert e["profile"]["name"] == "llamacpp-cpu" and e["profile"]["fitted_on"] == 2 and e["point"]["batch"] == 4
    assert e["hardware"]["source"].startswith("measured here") and e["prices"][0]["usd_per_m_output"] > 0
    text = cli("--db", db, "estimate", "--hardware", "local")
    assert text.returncode == 0 and "UNCALIBRATED" in text.stdout


def test_scale_reproduces_deepseek_and_estimates_a_fleet():
    r = cli("scale", "--preset", "deepseek-2025-02")
    assert r.returncode == 0, r.stderr
    assert "reproduced within +0.3%" in r.stdout and "consistency check" in r.stdout
    assert "ESTIMATE from the model and the hardware" in r.stdout and "14,800 disclosed" in r.stdout
    r = cli("scale", "--input-per-day", "2B", "--output-per-day", "500M", "-m", "llama-3-8b", "--hardware", "h100-sxm",
            "--slo", "tpot=0.05", "--api-price", "0.2", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["estimate"] and s["replicas_peak"] >= 1 and s["break_even"]["tokens_per_day"] is not None


def test_bad_estimate_inputs_exit_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(NEWER.splitlines()[0] + "\n" + NEWER.splitlines()[1].replace(",mi300x,8,", ",mi300xx,8,") + "\n")
    cases = [(["estimate", "-m", "llama-3.1-450b"], "Did you mean 'llama-3.1-405b'"),
             (["estimate", "-m", "llama-2-70b", "--precision", "fp8", "--hardware", "h200", "--slo", "tpot=0.001"],
              "the fastest is batch 1 at TP 8 with TPOT"),
             (["estimate", "--validate", "--rows", str(tmp_path / "none.csv")], "no such file"),
             (["estimate", "--validate", "--rows", str(bad)], "no row the catalog can represent (first: "
              "mlperf-v4.1-mi300x-turin-x8-offline: unknown hardware 'mi300xx'. Did you mean 'mi300x'"),
             (["estimate", "--as-of", "2025-02-30"], "--as-of 2025-02-30: give a date as YYYY-MM-DD"),(["estimate", "--hardware", "h100-sxmm"], "Did you mean 'h100-sxm'"),
             (["estimate", "-m", "llama-3.1-405b", "--hardware", "l4"], "does not fit 8x l4: needs"),
             (["estimate", "-m", "llama-2-70b", "--hardware", "h100-sxm", "--tp", "1", "--batch", "4096"], "does not fit 1x h100-sxm"),
             (["estimate", "--profile", "tensorrt"], "unknown engine profile"),
             (["estimate", "--calibrate", "no-such-run"], "no-such-run"),
             (["scale", "--preset", "deepsek"], "Did you mean 'deepseek-2025-02'"),
             (["scale", "--input-per-day", "lots"], "--input-per-day lots")]
    for args, needle in cases:
        r = cli_here(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert needle in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
