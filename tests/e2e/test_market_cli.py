"""`tokenfall curve`, `margin` and `train-cost` through the real CLI; a real bench run placed on the curve."""

import json

import pytest

from tests.conftest import bench_run, cli, draw_in_chromium, cli_here


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("market") / "ledger.sqlite")
    return db, bench_run(db, "-c", "1,2", "-n", "2", "--warmup", "0", "--input-tokens", "8", "--output-tokens", "4")


def test_curve_gpt3_with_a_bench_run(bench, tmp_path):
    db, run_id = bench
    out = tmp_path / "curve"
    r = cli("--db", db, "curve", "--threshold", "gpt-3", "--with", run_id, "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)
    f = c["fit"]
    assert 8.3 <= f["factor_per_year"] <= 16.7  # inside Epoch AI's 90% CI for GPT-3-level (8.3-16.7)
    assert f["bootstrap_ci"][0] < 16.7 and f["bootstrap_ci"][1] > 8.3
    assert f["points"] >= 4 and c["frontier"][0]["usd_per_m"] == 60
    d = c["deployment"]
    assert d["run"] == run_id and d["model"] == "SmolLM2-135M-Instruct" and d["usd_per_m"] > 0
    assert d["market_best"]["usd_per_m"] > 0 and d["vs_market"] == pytest.approx(d["market_best"]["usd_per_m"] / d["usd_per_m"])
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "curve.html").read_text()
    assert f"your run {run_id}" in page
    assert (out / "frontier.csv").read_text().count("\n") == f["points"] + 1
    draw_in_chromium(out / "curve.html", "curve.png")
    text = cli("--db", db, "curve", "--with", run_id, "-o", str(tmp_path / "plain"))
    assert text.returncode == 0 and "decline factor per year" in text.stdout and "your deployment" in text.stdout


def test_margin_from_a_measured_run_scales_by_active_parameters(bench):
    db, run_id = bench
    r = cli("--db", db, "margin", "Llama 3.1 8B", "--run", run_id, "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert "scaled" in m["cost_from"] and any("active parameters" in a for a in m["assumptions"])
    assert all(p["margin"] == pytest.approx((p["usd_per_m"] - m["serving_cost"]) / p["usd_per_m"]) for p in m["providers"])


def test_train_cost_prints_every_accelerator():
    r = cli("train-cost", "--model", "gpt-3", "--gpus", "1024")
    assert r.returncode == 0, r.stderr
    assert "3.15e+23 FLOPs" in r.stdout and "v100-azure-2020" in r.stdout and "b200-lambda" in r.stdout


def test_bad_market_inputs_exit_2_with_one_line(tmp_path):
    bad_csv = tmp_path / "mine.csv"
    bad_csv.write_text("model,provider,date,usd_per_m_input,usd_per_m_output,source_price,mmlu\n"
                       "a,p,2024-01-01,1,1,src,50\nb,p,2024-02-30,1,1,src,50\n")
    cases = [(["curve", "--threshold", "gpt-9"], "unknown threshold 'gpt-9'"),
             (["curve", "--min-mmlu", "99.9"], "frontier is empty"),
             (["curve", "--prices", str(bad_csv)], f"{bad_csv}:3: date"),
             (["curve", "--with", "no-such-run"], "no-such-run"),
             (["curve", "--forecast", "next year"], "--forecast"),
             (["curve", "--blend", "3"], "--blend"),
             (["margin", "Llama 9000"], "unknown open model"),
             (["train-cost", "--params", "lots", "--tokens", "1T"], "--params lots"),
             (["train-cost", "--model", "gpt-3", "--hardware", "h100-sxm-runpd"], "Did you mean")]
    for args, needle in cases:
        r = cli_here("--db", str(tmp_path / "ledger.sqlite"), *args, "-o", str(tmp_path / "out")) if args[0] == "curve" else \
            cli_here("--db", str(tmp_path / "ledger.sqlite"), *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert needle in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
    assert not (tmp_path / "out").exists()  # nothing half-written
