"""The command line as a user runs it: real llama.cpp, the bundled model, a real SQLite ledger."""

import csv
import io
import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import cli


def test_bench_sweep_stores_run_and_prints_costs(db, tmp_path):
    r = cli("--db", db, "bench", "-c", "1,4", "-n", "4", "--input-tokens", "16", "--output-tokens", "8", "--warmup", "1")
    assert r.returncode == 0, r.stderr
    assert "c=1" in r.stdout and "c=4" in r.stdout and "$/M out" in r.stdout and "cost assumptions" in r.stdout
    rows = sqlite3.connect(db).execute("SELECT id, status, summary FROM runs").fetchall()
    assert len(rows) == 1 and rows[0][1] == "complete"
    run_id, _, summary = rows[0]
    levels = json.loads(summary)
    assert [s["label"] for s in levels] == ["c=1", "c=4"]
    for s in levels:
        assert s["requests_ok"] == 4 and s["tokens_out"] == 32 and s["tokens_in"] == 64
        assert s["cost"]["usd_per_m_output"] > 0 and s["cost"]["assumptions"]
        assert s["ttft_s"]["p50"] > 0 and s["tpot_excl_first_s"]["p50"] > 0

    shown = cli("--db", db, "show", run_id[:12])
    assert shown.returncode == 0 and run_id in shown.stdout and "machine:" in shown.stdout
    assert "llama.cpp 0.3.36: built with" in shown.stdout and "MiB" in shown.stdout  # buffer types the weights used
    fp = json.loads(sqlite3.connect(db).execute("SELECT fingerprint FROM runs").fetchone()[0])
    assert fp["llama_cpp"]["extra_bufts"] in (True, False) and fp["process"]["pid"] > 0
    listed = cli("--db", db, "runs")
    assert run_id in listed.stdout
    out = tmp_path / "run.csv"
    exp = cli("--db", db, "export", run_id, "--format", "csv", "--output", str(out))
    assert exp.returncode == 0, exp.stderr
    recs = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(recs) == 8 + 2  # measured + one warm-up per level
    doc = json.loads(cli("--db", db, "export", run_id).stdout)
    assert doc["run"]["fingerprint"]["model"]["sha256"] and len(doc["requests"]) == 10


def test_bench_json_is_one_document(db):
    r = cli("--db", db, "bench", "-c", "2", "-n", "2", "--output-tokens", "4", "--input-tokens", "8", "--json",
            "--slo", "ttft=5,tpot=1", "--usd-per-hour", "1.0", "--watts", "65")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    s = doc["summary"][0]
    assert s["slo_attainment"] == 1.0 and s["goodput_rps"] > 0
    assert any("added to the hourly price" in a for a in s["cost"]["assumptions"])


@pytest.mark.parametrize("args, needle", [
    (["bench", "-c", "1,x"], "--concurrency"),
    (["bench", "-m", "smollm"], "Did you mean 'smollm2-135m'"),
    (["bench", "-m", "/nonexistent/model.gguf"], "no such file"),
    (["bench", "-e", "vllm"], "unknown engine 'vllm'"),
    (["bench", "--slo", "latency=3"], "--slo"),
    (["bench", "-m", "http://127.0.0.1:9/v1#x", "-e", "openai", "--usd-per-hour", "1"], "unreachable"),
    (["bench", "-m", "http://127.0.0.1:9/v1#x", "-e", "openai"], "--hardware"),
    (["bench", "--hardware", "h100"], "unknown hardware"),
    (["bench", "--prompts", "/nonexistent.jsonl", "-n", "1"], "does not exist"),
    (["show", "nope"], "not in the ledger"),
    (["bench", "--bogus"], "No such option"),
])
def test_bad_input_is_one_line_exit_2(db, args, needle):
    r = cli("--db", db, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_corrupt_gguf_and_debug_traceback(db, tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 64)
    r = cli("--db", db, "bench", "-m", str(bad))
    assert r.returncode == 2 and "not a readable GGUF" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    d = cli("--debug", "--db", db, "bench", "-m", str(bad))
    assert "Traceback" in d.stderr


def test_ctrl_c_keeps_completed_requests(db):
    p = subprocess.Popen([sys.executable, "-m", "tokenfall", "--db", db, "bench", "-c", "1", "-n", "500",
                          "--output-tokens", "16", "--input-tokens", "8", "--warmup", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    con = sqlite3.connect(db, timeout=30)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until the run exists and has been generating a while
        time.sleep(1)
        try:
            if con.execute("SELECT count(*) FROM runs").fetchone()[0]:
                time.sleep(8)  # ~100 tok/s here: dozens of 16-token requests done, far from all 500
                break
        except sqlite3.OperationalError:
            pass
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "interrupted" in err and "marked incomplete" in err
    status, = con.execute("SELECT status FROM runs").fetchone()
    n, = con.execute("SELECT count(*) FROM requests").fetchone()
    assert status == "incomplete" and 0 < n < 500


def test_exit_codes_one_per_outcome(db):
    """0 success, 1 verdict not met, 2 bad input, 3 runtime failure (130, Ctrl-C: the test above)."""
    from tokenfall.mockserver import MockServer

    base = ["--db", db, "bench", "-e", "openai", "-c", "2", "-n", "4", "--warmup", "0", "--output-tokens", "3",
            "--usd-per-hour", "1.0"]
    with MockServer(ttft_s=0.02) as srv:
        ok = cli(*base, "-m", srv.url + "#mock")
        slow = cli(*base, "-m", srv.url + "#mock", "--slo", "ttft=0.001")
        bad = cli(*base, "-m", srv.url + "#mock", "--rate", "inf")
    with MockServer(faults=["500"]) as srv:
        failed = cli(*base, "-m", srv.url + "#mock")
    assert ok.returncode == 0, ok.stderr
    assert slow.returncode == 1 and slow.stderr.strip().startswith("verdict: SLO met by fewer than 90%"), slow.stderr
    assert bad.returncode == 2 and "--rate" in bad.stderr
    assert failed.returncode == 3, failed.stderr
    lines = [l for l in failed.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "every request of level c=2 failed (http_500 x4)" in lines[0]
    statuses = [r[0] for r in sqlite3.connect(db).execute("SELECT status FROM runs ORDER BY created")]
    assert statuses == ["complete", "complete", "failed"]  # the bad input left no row; the failed run keeps its records
