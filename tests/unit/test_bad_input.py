"""Bad input, tried as a careful user and a fuzzer would: one line, exit 2, nothing recorded, no model loaded.

The numeric table is generated from the click commands themselves, so an option added later is covered
without being listed here."""

import os
import socket
import sqlite3
import subprocess
import sys

import pytest

from tokenfall.cli import cli, main
from tokenfall.cli.params import Number

NONFINITE = ["nan", "inf", "-inf", "1e999"]


def run_cli(capsys, *argv):
    with pytest.raises(SystemExit) as e:
        main(list(argv))
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def _numeric_options():
    for name, cmd in sorted(cli.commands.items()):
        for p in cmd.params:
            if isinstance(p.type, Number):
                yield name, p.opts[-1], p.type


NUMERIC = list(_numeric_options())


def _out_of_range(t: Number) -> list[str]:
    vals = []
    if t.lo is not None:
        vals.append(str(t.lo if t.lo_open else t.lo - 1))
    if t.hi is not None:
        vals.append(str(t.hi if t.hi_open else t.hi + 1))
    if t.integer:
        vals.append("1.5")
    return vals


def test_every_command_has_its_numbers_typed():
    """No plain int/float option is left: those accept inf/nan (float) or skip range checks."""
    import click

    plain = [(n, p.opts[-1]) for n, c in cli.commands.items() for p in c.params
             if isinstance(p, click.Option) and p.type in (click.INT, click.FLOAT)]
    assert not plain, plain
    assert len(NUMERIC) > 60


@pytest.mark.parametrize("command,flag,ptype", NUMERIC, ids=[f"{c}{f}" for c, f, _ in NUMERIC])
def test_numeric_bounds_of_every_command(command, flag, ptype, capsys, tmp_path):
    db = str(tmp_path / "ledger.sqlite")
    for value in NONFINITE + _out_of_range(ptype):
        code, out, err = run_cli(capsys, "--db", db, command, flag, value)
        assert code == 2, (command, flag, value, err)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and "Traceback" not in err, err
        assert flag in err, err
    assert not os.path.exists(db)


def _bad_files(tmp_path):
    latin = tmp_path / "latin1.jsonl"
    latin.write_bytes('{"prompt": "caf\xe9"}\n'.encode("latin-1"))
    huge = tmp_path / "huge.jsonl"
    huge.write_text('{"prompt": "hi", "max_tokens": 1e999}\n')
    neg = tmp_path / "neg.jsonl"
    neg.write_text('{"prompt": "hi", "max_tokens": -5}\n')
    inf_price = tmp_path / "prices.csv"
    inf_price.write_text("model,provider,date,usd_per_m_input,usd_per_m_output,source_price\nm,p,2024-01-01,inf,1,x\n")
    return latin, huge, neg, inf_price


def test_bad_input_cases_from_the_review(capsys, tmp_path):
    latin, huge, neg, inf_price = _bad_files(tmp_path)
    db = str(tmp_path / "ledger.sqlite")
    cases = [
        ("bench", "--rate", "inf"),
        ("bench", "--rate", "2", "--duration", "-1"),
        ("bench", "-c", "1000000000000"),
        ("bench", "--warmup", "-1"),
        ("bench", "--rate", "2", "--max-concurrency", "0"),
        ("bench", "--slo", "ttft=-1"),
        ("bench", "--slo", "ttft=inf"),
        ("bench", "--input-tokens", "0"),
        ("bench", "--prompts", str(tmp_path / "missing.jsonl")),
        ("bench", "--prompts", str(latin)),
        ("bench", "--prompts", str(huge)),
        ("bench", "--prompts", str(neg)),
        ("bench", "-o", "seq_ctx=100000000"),
        ("bench", "-o", "seq_ctx=1000000", "-o", "parallel=256", "-o", "n_batch=512"),
        ("bench", "-e", "openai", "-m", "http://127.0.0.1:99999/v1#x", "--usd-per-hour", "1"),
        ("bench", "-e", "openai", "-m", "http://#x", "--usd-per-hour", "1"),
        ("bench", "-e", "openai", "-m", "http://127.0.0.1:1/v1#x"),
        ("eval", "-t", f"choice:{latin}"),
        ("eval", "--text", str(latin)),
        ("eval", "--tokens", "-1"),
        ("eval", "--shots", "-1"),
        ("eval", "--alpha", "2"),
        ("curve", "--prices", str(latin)),
        ("curve", "--prices", str(inf_price)),
        ("margin", "--cost", "nan"),
        ("train-cost", "--params", "inf"),
        ("scale", "--input-per-day", "inf"),
        ("export", "nope", "--output", str(tmp_path / "no" / "dir" / "x.json")),
        ("estimate", "-m", "llama-9-70b"),
        ("prune", "--layers", "100000"),
        ("mock-server", "--port", "70000"),
    ]
    for argv in cases:
        code, out, err = run_cli(capsys, "--db", db, *argv)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 2, (argv, err)
        assert len(lines) == 1 and "Traceback" not in err, (argv, err)
    if os.path.exists(db):
        rows = sqlite3.connect(db).execute("SELECT status FROM runs").fetchall()
        assert rows == [], rows


def test_messages_name_what_the_user_gave(capsys, tmp_path):
    db = str(tmp_path / "ledger.sqlite")
    _, _, err = run_cli(capsys, "--db", db, "bench", "--input-tokens", "0")
    assert "--input-tokens" in err and "--shared-prefix" not in err
    _, _, err = run_cli(capsys, "--db", db, "estimate", "-m", "llama-9-70b")
    assert "llama-3.1-70b" in err or "llama-2-70b" in err, err  # presets are listed, not only the bundled models
    _, _, err = run_cli(capsys, "--db", db, "bench", "-e", "openai", "-m", "http://127.0.0.1:1/v1#x")
    assert "--hardware" in err and "--usd-per-hour" in err
    code, out, err = run_cli(capsys)
    assert code == 0 and "Usage" in out and not err


def test_csv_with_a_byte_order_mark_is_read(tmp_path):
    from tokenfall.market.prices import parse_csv

    f = tmp_path / "bom.csv"
    f.write_bytes("\ufeffmodel,provider,date,usd_per_m_input,usd_per_m_output,source_price\nm,p,2024-01-01,1,2,x\n".encode())
    assert parse_csv(f)[0].usd_per_m_output == 2


def test_export_into_a_missing_folder_and_a_busy_port(capsys, tmp_path):
    from tokenfall.store import Ledger

    db = str(tmp_path / "ledger.sqlite")
    with Ledger(db) as ledger:
        rid = ledger.new_run("bench", {}, {})
        ledger.finish(rid, "complete", [])
    code, _, err = run_cli(capsys, "--db", db, "export", rid, "--output", str(tmp_path / "missing" / "x.json"))
    assert code == 2 and "does not exist" in err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "tokenfall", "mock-server", "--port", str(port)], capture_output=True,
                           text=True, timeout=60)
    assert r.returncode == 2 and "--port" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_run_whose_process_died_is_not_left_running(tmp_path):
    """A run row owned by a process that no longer exists is marked failed by the next ledger open."""
    from tokenfall.store import Ledger

    db = str(tmp_path / "ledger.sqlite")
    code = ("import os, sys; from tokenfall.store import Ledger; l = Ledger(sys.argv[1]); "
            "print(l.new_run('bench', {}, {}), flush=True); os._exit(9)")
    r = subprocess.run([sys.executable, "-c", code, db], capture_output=True, text=True, timeout=60)
    rid = r.stdout.strip()
    with Ledger(db) as ledger:
        assert ledger.run(rid).status == "failed"
