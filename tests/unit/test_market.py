"""The price history, the frontier and its fit: data checks, exact arithmetic, and the published figures reproduced."""

import datetime as dt
import json
import math
import sys

import pytest

from tokenfall import api
from tokenfall.errors import TokenfallError
from tokenfall.estimate import training
from tokenfall.market import prices, trend

D = dt.date.fromisoformat
HEADER = "model,provider,date,usd_per_m_input,usd_per_m_output,open_weights,reasoning,pricing,mmlu,source_price,source_score,notes\n"


def test_bundled_history_is_sourced_and_clean():
    rows = prices.load()
    assert len(rows) >= 150
    assert len({r.key for r in rows}) == len(rows)
    assert min(r.date for r in rows).year == 2020 and max(r.date for r in rows).year == 2025
    for r in rows:
        assert r.source_price.strip(), r
        assert r.mmlu is None or r.source_score.strip(), r
        assert all(p is None or p >= 0 for p in (r.usd_per_m_input, r.usd_per_m_output))
    providers = {r.provider for r in rows if r.open_weights}
    assert len(providers) >= 10  # open models priced by many hosts, not one
    assert sum(r.reasoning for r in rows) >= 3 and any(r.pricing == "tiered" for r in rows)


@pytest.mark.parametrize("line,needle", [
    ("m,p,2024-01-01,1,2,no,no,flat,50,,,", "source_price"),
    ("m,p,2024-01-01,-1,2,no,no,flat,50,src,,", "usd_per_m_input '-1'"),
    ("m,p,2024-13-01,1,2,no,no,flat,50,src,,", "date '2024-13-01'"),
    ("m,p,2024-01-01,,,no,no,flat,50,src,,", "no price"),
    ("m,p,2024-01-01,1,2,maybe,no,flat,50,src,,", "open_weights must be yes or no"),
    ("m,p,2024-01-01,1,2,no,no,flat,150,src,,", "mmlu '150'"),
])
def test_bad_rows_are_named_with_their_line(tmp_path, line, needle):
    f = tmp_path / "mine.csv"
    f.write_text(HEADER + "ok,p,2024-01-01,1,2,no,no,flat,50,src,,\n" + line + "\n")
    with pytest.raises(TokenfallError) as e:
        prices.parse_csv(f)
    assert f"{f}:3" in str(e.value) and needle in str(e.value)


def test_duplicate_keys_rejected(tmp_path):
    f = tmp_path / "dup.csv"
    f.write_text(HEADER + "m,p,2024-01-01,1,2,no,no,flat,50,src,,\nm,p,2024-01-01,3,4,no,no,flat,50,src,,\n")
    with pytest.raises(TokenfallError, match="duplicate of line 2"):
        prices.parse_csv(f)


def _row(model, date, i, o, mmlu=70.0, **kw):
    return prices.PriceRow(model=model, provider="p", date=D(date), usd_per_m_input=i, usd_per_m_output=o, mmlu=mmlu,
                           source_price="test", **kw)


def test_frontier_is_a_running_minimum_with_exclusions():
    rows = [_row("a", "2023-01-01", 8, 8), _row("b", "2023-02-01", 9, 9), _row("c", "2023-03-01", 2, 6),
            _row("weak", "2023-04-01", 0.1, 0.1, mmlu=40), _row("think", "2023-05-01", 0.5, 0.5, reasoning=True),
            _row("plan", "2023-05-02", 0.4, 0.4, pricing="tiered"), _row("d", "2023-06-01", 1, 1), _row("e", "2023-06-01", 0.5, 0.5)]
    chain = trend.frontier(rows, 60)
    assert [(r.model, p) for r, p in chain] == [("a", 8), ("c", 3), ("e", 0.5)]  # (3*2 + 6)/4 = 3; same-day dearer 'd' dropped
    assert [r.model for r, _ in trend.frontier(rows, 60, include_reasoning=True)] == ["a", "c", "think"]
    assert [p for _, p in trend.frontier(rows, 60, "output")] == [8, 6, 0.5]
    assert [p for _, p in trend.frontier(rows, 60, weights=(1, 1))] == [8, 4, 0.5]


def test_fit_recovers_an_exact_decline():
    dates = [D("2022-01-01") + dt.timedelta(days=73 * k) for k in range(6)]
    ps = [100 * 10 ** (-k * 73 / 365) for k in range(6)]  # exactly 10x per 365 days
    f = trend.fit(dates, ps, forecast_to=D("2024-01-01"))
    assert f["factor_per_year"] == pytest.approx(10, rel=1e-9) and f["r2"] == pytest.approx(1)
    assert f["ols_ci"] == pytest.approx([10, 10], rel=1e-6) and f["years_per_10x"] == pytest.approx(1)
    assert f["forecast"]["usd_per_m"] == pytest.approx(100 * 10 ** (-730 / 365), rel=1e-9)
    with pytest.raises(TokenfallError, match="at least 4"):
        trend.fit(dates[:3], ps[:3])


def test_epoch_gpt3_chain_reproduced_exactly():
    """Epoch AI's MMLU >= GPT-3 chain (blended 3:1, their lowest_price_models_data.csv): 11.77x/yr, 90% CI 8.29-16.72, R² 0.96."""
    chain = [("2021-11-20", 60), ("2022-09-01", 20), ("2023-03-06", 2), ("2023-07-18", 0.56), ("2023-12-01", 0.20),
             ("2024-04-14", 0.13), ("2024-07-23", 0.10), ("2024-09-24", 0.08), ("2024-10-03", 0.07)]
    f = trend.fit([D(d) for d, _ in chain], [p for _, p in chain])
    assert round(f["factor_per_year"], 2) == 11.77
    assert [round(v, 2) for v in f["ols_ci"]] == [8.29, 16.72]
    assert round(f["r2"], 2) == 0.96


def test_our_gpt3_trend_lands_in_epochs_interval():
    lvl, _, _ = trend.threshold("gpt-3", None)
    chain = trend.frontier(prices.load(), lvl)
    f = trend.fit([r.date for r, _ in chain], [p for _, p in chain])
    assert 8.3 <= f["factor_per_year"] <= 16.7
    for lo, hi in (f["bootstrap_ci"], f["ols_ci"]):
        assert lo < 16.7 and hi > 8.3 and lo < f["factor_per_year"] < hi


def test_a16z_1000x_in_three_years():
    """a16z 'LLMflation': MMLU >= 42, mean of input and output: GPT-3 $60 (Nov 2021) -> $0.06 (Llama 3.2 3B, Together, Nov 2024)."""
    rows = prices.load()
    first = trend.frontier(rows, 42, weights=(1, 1))[0]
    assert (first[0].model, first[1], first[0].date.isoformat()[:7]) == ("GPT-3 davinci (175B base)", 60, "2021-11")
    best = trend.cheapest_at(rows, 42, D("2024-11-12"), weights=(1, 1))
    assert best[1] == pytest.approx(0.06) and best[0].provider == "Together"
    years = (D("2024-11-12") - first[0].date).days / 365
    assert first[1] / best[1] == pytest.approx(1000)
    assert (first[1] / best[1]) ** (1 / years) == pytest.approx(10, rel=0.02)  # 2.98 years: 10.1x per year


def test_gpt4_level_falls_to_about_two_dollars_in_18_months():
    """GPT-4 launched at $30/$60 (blended $37.5); GPT-4-level (MMLU >= 86) cost about $2 some 18 months later."""
    rows = prices.load()
    lvl, _, _ = trend.threshold("gpt-4", None)
    launch = trend.frontier(rows, lvl)[0]
    assert (launch[0].usd_per_m_input, launch[0].usd_per_m_output, launch[1]) == (30, 60, 37.5)
    then = trend.cheapest_at(rows, lvl, D("2024-10-14"))  # launch 2023-03-14 + 19 months
    assert 1.5 <= then[1] <= 2.5 and launch[1] / then[1] > 15


def test_thresholds_and_bad_names():
    assert trend.threshold(None, None)[0] == 43.9 and trend.threshold("GPT-4", None)[0] == 86.0
    assert trend.threshold("gpt-4", 70)[0:2] == (70.0, "MMLU >= 70")
    with pytest.raises(TokenfallError, match="unknown threshold 'gpt-5'"):
        trend.threshold("gpt-5", None)
    with pytest.raises(TokenfallError, match="--min-mmlu"):
        trend.threshold(None, 101)


def test_litellm_map_is_read_as_a_file_never_imported(tmp_path, monkeypatch):
    pkg = tmp_path / "litellm"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise RuntimeError('litellm must not be imported')\n")
    (pkg / "model_prices_and_context_window_backup.json").write_text(json.dumps({
        "sample_spec": {"mode": "chat"},
        "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct": {"mode": "chat", "litellm_provider": "deepinfra",
                                                            "input_cost_per_token": 3e-08, "output_cost_per_token": 5e-08},
        "text-embedding-3-small": {"mode": "embedding", "input_cost_per_token": 2e-08, "output_cost_per_token": 0},
        "free/model": {"mode": "chat", "input_cost_per_token": 0, "output_cost_per_token": 0}}))
    dist = tmp_path / "litellm-9.9.9.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: litellm\nVersion: 9.9.9\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    rows, version = prices.litellm_rows(today=D("2026-12-01"))
    assert version == "9.9.9" and "litellm" not in sys.modules
    assert [(r.model, r.usd_per_m_input, r.usd_per_m_output, r.mmlu, r.date) for r in rows] == [
        ("deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct", 0.03, 0.05, 71.0, D("2026-12-01"))]
    assert "litellm==9.9.9" in rows[0].source_price


def test_model_cards_match_run_names():
    assert prices.card_for("SmolLM2-135M-Instruct.Q4_1.gguf").model == "SmolLM2-135M-Instruct"
    assert prices.card_for("Llama 3.1 8B Instruct Turbo").model == "Llama 3.1 8B Instruct"
    assert prices.card_for("Llama 3.1 70B Instruct").model == "Llama 3.1 70B Instruct"
    assert prices.card_for("gemma-3-270m-it-Q4_K_M").mmlu is None
    assert prices.card_for("some other model") is None


def test_train_cost_arithmetic():
    v100 = {"id": "v", "peak_tflops": 125, "usd_per_hour": 1.5, "includes_energy": True, "watts": 300, "date": "2020",
            "price_kind": "on-demand", "source": "s"}
    r = training.train_cost(175e9, 300e9, [v100], mfu=0.4, n_accelerators=1000)
    row = r["rows"][0]
    assert r["flops"] == 6 * 175e9 * 300e9
    assert row["accelerator_hours"] == pytest.approx(3.15e23 / (125e12 * 0.4) / 3600) == pytest.approx(1.75e6)
    assert row["usd"] == pytest.approx(1.75e6 * 1.5) and row["days"] == pytest.approx(1.75e6 / 1000 / 24)
    no_energy = training.train_cost(1e9, 1e9, [v100 | {"includes_energy": False}], mfu=0.5)["rows"][0]
    assert no_energy["usd_per_hour"] == pytest.approx(1.5 + 0.3 * 0.15)
    with pytest.raises(TokenfallError, match="--mfu"):
        training.train_cost(1e9, 1e9, [v100], mfu=0)
    with pytest.raises(TokenfallError, match="no peak"):
        training.train_cost(1e9, 1e9, [v100 | {"peak_tflops": None}])


def test_gpt3_training_is_cheaper_on_newer_hardware():
    r = api.train_cost(model="gpt-3", hardware=["v100-azure-2020", "h100-sxm-runpod", "b200-lambda"])
    usd = {row["hardware"]: row["usd"] for row in r["rows"]}
    assert usd["h100-sxm-runpod"] < usd["v100-azure-2020"] and usd["b200-lambda"] < usd["v100-azure-2020"]
    assert all(row["sources"] for row in r["rows"])


def test_margin_with_a_given_cost():
    r = api.margin("Llama 3.1 70B Instruct", usd_per_m=0.2)
    assert r["model"] == "Llama 3.1 70B Instruct" and len(r["providers"]) >= 4
    for p in r["providers"]:
        assert p["margin"] == pytest.approx((p["usd_per_m"] - 0.2) / p["usd_per_m"])
    assert r["providers"] == sorted(r["providers"], key=lambda p: p["usd_per_m"])
    assert math.isclose(r["median_margin"], (r["median_price"] - 0.2) / r["median_price"])
    with pytest.raises(TokenfallError, match="--run RUN"):
        api.margin("Llama 3.1 70B Instruct")
