"""`tokenfall optimize` end to end on the bundled model (a small search), interrupted and resumed, and its
report opened in headless Chromium."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import cli, dataset, draw_in_chromium
from tokenfall.quality.served import served_requests

SMALL = ["optimize", "--types", "q8_0", "-c", "1,4", "--probe", "4", "--requests-per-stream", "1", "--tokens", "512",
         "--limit", "24", "--kv-types", "", "--threads", "", "--input-tokens", "24", "--shared-prefix", "16",
         "--output-tokens", "8", "-t", "hellaswag", "--no-ledger-artifacts", "--rounds", "2", "--max-acc-drop", "40"]


def _complete_subruns(db: str) -> int:
    if not Path(db).exists():
        return 0
    with sqlite3.connect(db, timeout=30) as c:
        return c.execute("SELECT COUNT(*) FROM runs WHERE kind != 'optimize' AND status = 'complete'").fetchone()[0]


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """One small search interrupted with Ctrl-C after three measurements, then run again to the end."""
    dataset("hellaswag")  # gates on it: skipped, saying why, where the data set cannot be had
    tmp = tmp_path_factory.mktemp("optimize")
    db, reports = str(tmp / "ledger.sqlite"), tmp / "reports"
    env = {**os.environ, "COLUMNS": "200", "XDG_DATA_HOME": str(tmp / "data")}
    args = [sys.executable, "-m", "tokenfall", "--db", db, *SMALL, "--report-dir", str(reports)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 400
    while _complete_subruns(db) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert proc.poll() is None, f"optimize ended before it could be interrupted: {proc.communicate()}"
    done_before = _complete_subruns(db)
    proc.send_signal(signal.SIGINT)
    first_out, first_err = proc.communicate(timeout=120)
    second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    return {"db": db, "reports": reports, "first_rc": proc.returncode, "first_err": first_err, "done_before": done_before,
            "second": second}


def test_interrupt_keeps_measurements_and_rerun_reuses_them(resumed):
    assert resumed["first_rc"] == 130, resumed["first_err"]
    assert "interrupted: run" in resumed["first_err"] and "Traceback" not in resumed["first_err"]
    second = resumed["second"]
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(resumed["db"]) as c:
        rows = c.execute("SELECT status, summary FROM runs WHERE kind = 'optimize' ORDER BY created").fetchall()
    assert [r[0] for r in rows] == ["incomplete", "complete"]
    summary = json.loads(rows[1][1])
    assert summary["reused"] >= resumed["done_before"] >= 3
    assert f"reused {summary['reused']} completed measurements" in second.stdout


def test_search_result_is_consistent_and_printed(resumed):
    with sqlite3.connect(resumed["db"]) as c:
        s = json.loads(c.execute("SELECT summary FROM runs WHERE kind = 'optimize' AND status = 'complete'").fetchone()[0])
    base, chosen, wf = s["baseline"], s["chosen"], s["waterfall"]
    assert base["engine"] == "transformers" and base["options"] == {"dtype": "float32"} and base["concurrency"] == 1
    # every waterfall step is a measured pair: its factor is the ratio of the two measured prices, and the
    # factors multiply to the headline ratio
    assert [w["lever"] for w in wf[:4]] == ["baseline", "engine", "quantize", "batching"]
    for a, b in zip(wf, wf[1:]):
        assert b["factor"] == pytest.approx(a["usd_per_m_output"] / b["usd_per_m_output"])
    assert wf[-1]["usd_per_m_output"] == chosen["usd_per_m_output"]
    assert chosen["ratio"] == pytest.approx(base["usd_per_m_output"] / chosen["usd_per_m_output"])
    # the gate ran fidelity on every file, benchmarked only those that passed it, and graded tasks cheapest first
    benched = {p["sha256"] for p in s["points"] if p["engine"] != "transformers"}
    for cand in s["candidates"]:
        assert (cand["sha256"] in benched) == (cand["kld"] <= 0.05)
        assert len(cand["eval_runs"]) == (2 if cand["sha256"] == chosen["sha256"] else 1)
    assert chosen["slo_ok"] and chosen["quality"]["passed"]
    served = chosen["quality"]["served"]
    assert served["path"] == "served" and served["sequences"] == served_requests(chosen["concurrency"])
    assert (served["tokens_cached"] > 0) == bool(chosen["options"].get("prefix_cache"))  # hits graded when the cache is served
    # the claim was measured again: two interleaved rounds, the interval around the ratio
    h = s["headline"]
    assert h["rounds"] == 2 and h["output"]["low"] <= h["output"]["value"] <= h["output"]["high"]
    assert s["baseline"]["bench_run"] == h["baseline_runs"][0]
    sp = s["speculative"]
    assert sp["greedy_identical"] and sp["identical"] == sp["requests"] > 0
    assert f"{h['output']['value']:.1f}x cheaper (95% interval" in resumed["second"].stdout
    assert "all-in cost per request" in resumed["second"].stdout and "as served: KLD" in resumed["second"].stdout
    assert "$/M output tokens: baseline" in resumed["second"].stdout


def test_report_draws_in_headless_chromium(resumed):
    md = (resumed["reports"] / "report.md").read_text()
    assert "$/M output tokens: baseline" in md and "Cost waterfall" in md
    pngs = sorted(resumed["reports"].glob("*.png"))
    assert len(pngs) >= 3 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    draw_in_chromium(resumed["reports"] / "report.html", "optimize-report.png", min_charts=3)


def test_report_command_rerenders_from_the_ledger(resumed, tmp_path):
    r = cli("--db", resumed["db"], "report", "-o", str(tmp_path / "again"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "again" / "report.html").is_file() and "report:" in r.stdout


def test_bad_optimize_inputs_exit_2_without_traceback(tmp_path):
    db = str(tmp_path / "ledger.sqlite")
    for args, needle in ((["--types", "q9_9"], "q9_9"), (["-c", "0"], "--concurrency"),
                         (["-t", "choice:/nonexistent.jsonl"], "nonexistent"), (["--shared-prefix", "90"], "--shared-prefix")):
        r = cli("--db", db, "optimize", *args, env={"XDG_DATA_HOME": str(tmp_path / "data")})
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert needle in r.stderr and "Traceback" not in r.stderr
    assert _complete_subruns(db) == 0 and not Path(db).exists()  # refused before anything was recorded
