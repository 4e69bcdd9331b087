"""`tokenfall eval` as a user runs it: tables, gate exit code, quality beside cost in `show`, bad input."""

import json

import pytest
from conftest import cli, cli_here


def test_eval_prints_tables_and_show_puts_quality_beside_cost(db, reference_f32, hellaswag_text):
    r = cli("--db", db, "eval", "-r", reference_f32.path, "--text", hellaswag_text, "--tokens", "1024",
            "-t", "synth:compare", "--n-synth", "20", "--max-kld", "0.05", "--min-top1", "0.9", "--max-acc-drop", "30")
    assert r.returncode == 0, r.stderr
    assert "fidelity vs" in r.stdout and "compare-d1" in r.stdout and "gate: PASS" in r.stdout
    assert "detectable pp" in r.stdout  # 20 items can only rule out a large drop: the table says how large
    strict = cli("--db", db, "eval", "-r", reference_f32.path, "--text", hellaswag_text, "--tokens", "1024", "--max-kld", "1e-9")
    assert strict.returncode == 1 and "gate: FAIL" in strict.stdout

    b = cli("--db", db, "bench", "-c", "1", "-n", "2", "--output-tokens", "4", "--warmup", "0", "--json")
    assert b.returncode == 0, b.stderr
    shown = cli("--db", db, "show", json.loads(b.stdout)["id"])
    assert "quality of this model file" in shown.stdout and "KLD" in shown.stdout and "compare-d1 acc" in shown.stdout
    listed = cli("--db", db, "runs")
    assert listed.returncode == 0 and listed.stdout.count("eval") >= 2


@pytest.mark.parametrize("content, expected", [
    ('{"context": "a", "choices": ["x", "y"], "answer": 0}\n{"context": "b", "choices": ["x"]\n', "bad.jsonl:2: not valid JSON"),
    ('{"context": "a", "choices": ["x", "y"], "answer": 5}\n', "bad.jsonl:1: \"answer\" must be an index"),
    ("\n\n", "has no items"),
])
def test_bad_task_files_are_one_line_errors(db, tmp_path, content, expected):
    f = tmp_path / "bad.jsonl"
    f.write_text(content)
    r = cli_here("--db", db, "eval", "-t", f"choice:{f}")
    assert r.returncode == 2 and expected in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, expected", [
    ([], "nothing to evaluate"),
    (["-t", "synth:arithmatic"], "Did you mean 'arithmetic'"),
    (["-t", "multiple:x.jsonl"], "choice:FILE.jsonl"),
    (["-t", "choice:/nonexistent.jsonl"], "does not exist"),
    (["-r", "smollm2-135m", "--text", "/nonexistent.txt"], "does not exist"),
    (["-e", "openai", "-m", "http://127.0.0.1:9/v1#x", "-r", "smollm2-135m"], "fidelity needs full next-token distributions"),
    (["--min-top1", "90", "-t", "synth:compare"], "out of range: give a value >= 0 and <= 1"),
    (["-t", "synth:compare", "-o", "bogus=1"], "option bogus"),
    (["-t", "synth:compare", "-e", "llamacp"], "Did you mean 'llamacpp'"),
])
def test_eval_bad_input(db, args, expected):
    r = cli_here("--db", db, "eval", *args)
    assert r.returncode == 2 and expected in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_mismatched_tokenizer_is_refused_in_one_line(db, smollm, other_tokenizer):
    r = cli_here("--db", db, "eval", "-m", other_tokenizer, "-r", smollm.path)
    assert r.returncode == 2 and "different tokenizers" in r.stderr and len(r.stderr.strip().splitlines()) == 1
