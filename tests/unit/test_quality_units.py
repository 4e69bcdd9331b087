"""Exact arithmetic and parsing of the quality layer: intervals, paired tests, gate, tasks, windows."""

import math

import numpy as np
import pytest

from tokenfall.errors import TokenfallError
from tokenfall.quality import gate, synthetic, tasks
from tokenfall.quality.fidelity import windows
from tokenfall.quality.scoring import log_softmax, split_continuation
from tokenfall.quality.stats import paired, wilson
from tokenfall.types import Fidelity, Gate, TaskSpec


def test_wilson_matches_the_formula():
    k, n, z = 360, 600, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = wilson(k, n)
    assert lo == pytest.approx(centre - half, abs=1e-9) and hi == pytest.approx(centre + half, abs=1e-9)


def test_mcnemar_exact_on_discordant_items():
    ref = np.array([1] * 10 + [0] * 5 + [1] * 20, bool)
    cand = np.array([0] * 10 + [0] * 5 + [1] * 20, bool)  # 10 lost, none gained
    p = paired(cand, ref)
    assert (p.ref_only, p.cand_only) == (10, 0)
    assert p.p_value == pytest.approx(2 * 0.5 ** 10)
    assert p.significant_drop and p.diff_pp == pytest.approx(-100 * 10 / 35)
    assert p.diff_ci_pp[0] <= p.diff_pp <= p.diff_ci_pp[1]
    same = paired(ref, ref)
    assert same.p_value == 1.0 and not same.significant_drop and same.diff_ci_pp == (0.0, 0.0)
    gained = paired(ref, cand)
    assert gained.p_value == p.p_value and not gained.significant_drop  # an improvement is never a drop


def _task(n: int, ref_right: int, lost: int, gained: int, chance: float | None = 0.5):
    """A task of n items: the reference gets the first ``ref_right`` right; the candidate loses ``lost`` of those and
    gains ``gained`` of the rest."""
    ref = np.arange(n) < ref_right
    cand = ref.copy()
    cand[:lost] = False
    cand[ref_right:ref_right + gained] = True
    return tasks.result("t", "choice", "acc", "d", cand, {}, ref, 0.05, chance=chance)


def test_gate_is_non_inferiority_on_tasks_the_reference_can_do():
    fid = Fidelity(reference="r", reference_sha256=None, tokens_evaluated=10, tokens_scored=5, kld_mean=0.01, kld_sem=0.001,
                   kld_median=0.01, kld_p99=0.1, kld_max=0.2, top1_agreement=0.95, ppl=10.0, ppl_reference=9.9, ppl_ratio=10 / 9.9)
    g = Gate(max_kld=0.05, min_top1=0.9, max_acc_drop=2.0)
    even = _task(600, 360, 6, 6)  # no drop, 12 of 600 items disagree: upper bound 1.645 * sqrt(13) / 602 = 0.99 pp
    assert even.paired.drop_upper_pp == pytest.approx(100 * 1.6449 * math.sqrt(13) / 602, rel=1e-3)
    assert even.paired.detectable_pp == pytest.approx(100 * (1.6449 + 0.8416) * math.sqrt(13) / 602, rel=1e-3)
    assert gate.check(g, fid, [even]).passed
    few = _task(100, 60, 3, 3)  # the same rates on 100 items cannot rule out a 2-point drop: not shown, so it fails
    v = gate.check(g, fid, [few])
    assert not v.passed and "upper bound 4.3 pp >= margin 2 pp" in v.checks[-1] and "FAIL" in v.checks[-1]
    # the case: -1.5 pp on 200 items, not significant (p 0.25), passed the old gate at a 1-point bound
    old = _task(200, 131, 8, 5)
    assert old.paired.p_value > 0.05 and not gate.check(Gate(max_acc_drop=1.0), None, [old]).passed
    at_chance = _task(100, 52, 0, 0)  # the reference's 0.52 on a two-way task does not exclude chance
    v = gate.check(g, fid, [at_chance])
    assert v.passed and "uninformative" in v.checks[-2] and "rests on fidelity alone" in v.checks[-1]
    assert not gate.check(Gate(max_kld=0.001), fid, []).passed
    missing = gate.check(Gate(max_kld=0.05, max_acc_drop=1.0), None, [])
    assert not missing.passed and len(missing.checks) == 2
    assert gate.check(Gate(), None, []).passed and gate.check(Gate(), None, []).checks == []


def test_windows_cover_the_stream_and_score_second_halves():
    w = windows(list(range(100, 1100)), bos=1, ctx=512, score_from=0.5)
    assert [len(x) for x, _ in w] == [512, 490] and all(first == 256 and x[0] == 1 for x, first in w)
    assert w[0][0][1:] + w[1][0][1:] == list(range(100, 1100))
    assert windows(list(range(10)), bos=None, ctx=512, score_from=0.5) == []  # too short to score anything
    assert windows(list(range(600)), bos=None, ctx=512, score_from=0.5)[0][0][0] == 0


def test_log_softmax_rows_normalise():
    lp = log_softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]]))
    assert np.allclose(np.exp(lp).sum(axis=1), 1.0) and lp[1, 0] == pytest.approx(math.log(0.5))


def test_split_continuation_moves_the_space_and_uses_context_length():
    enc = lambda s: [ord(c) for c in s]  # noqa: E731 - one token per character
    ctx, cont = split_continuation(enc, "A man sits. ", "he stands")
    assert ctx == enc("A man sits.") and cont == enc(" he stands")
    with pytest.raises(TokenfallError):
        split_continuation(enc, "abc", "")


def test_choice_loader_reads_both_formats_and_names_bad_lines(tmp_path):
    f = tmp_path / "mc.jsonl"
    f.write_text('{"context": "Sky is", "choices": [" blue", " green"], "answer": 0}\n\n'
                 '{"context": "A", "correct": "b", "wrong": ["c", "d"]}\n')
    assert tasks.load_choice(str(f)) == [("Sky is", [" blue", " green"], 0), ("A", ["b", "c", "d"], 0)]
    f.write_text('{"context": "x", "choices": ["a", "b"], "answer": 0}\n{"context": "x", "choices": ["a"], "answer": 0}\n')
    with pytest.raises(TokenfallError, match=r"mc.jsonl:2: .*at least two"):
        tasks.load_choice(str(f))
    f.write_text('{"context": "x", "choices": ["a", "b"], "answer": 2}\n')
    with pytest.raises(TokenfallError, match=r"mc.jsonl:1: .*index"):
        tasks.load_choice(str(f))
    f.write_text('{"context": "x"\n')
    with pytest.raises(TokenfallError, match=r"mc.jsonl:1: not valid JSON"):
        tasks.load_choice(str(f))
    f.write_text("\n")
    with pytest.raises(TokenfallError, match="no items"):
        tasks.load(TaskSpec(kind="choice", source=str(f)))


def test_gsm8k_answers_are_extracted_and_normalised(tmp_path):
    f = tmp_path / "g.jsonl"
    f.write_text('{"question": "2+2?", "answer": "2+2=<<2+2=4>>4\\n#### 1,234"}\n{"prompt": "Capital?", "answer": "Paris"}\n')
    assert tasks.load_gen(str(f)) == [("2+2?", "1,234", "2+2=<<2+2=4>>4"), ("Capital?", "Paris", "")]
    assert tasks.extract("so she pays $18.00 in total.") == "18"
    assert tasks.extract("#### 1,234 and then 7") == "1234"
    assert tasks.extract("The answer is -3. Check: 5") == "-3"
    assert tasks.extract("no digits") == "no digits"
    task = tasks.load(TaskSpec(kind="gen", source=str(f), shots=1))
    assert task.items == [("Question: 2+2?\nAnswer: 2+2=<<2+2=4>>4\n#### 1,234\n\nQuestion: Capital?\nAnswer:", "Paris")]
    outcomes, m = tasks.grade_gen(task, [" paris\n\nQuestion: next"])
    assert outcomes.tolist() == [True] and m["exact_match"] == 1.0


def test_synthetic_families_are_seeded_and_correct():
    a = synthetic.make("arithmetic", 50, 2, seed=3)
    assert a == synthetic.make("arithmetic", 50, 2, seed=3) and a != synthetic.make("arithmetic", 50, 2, seed=4)
    for prompt, answer, wrong in a:
        expr = prompt.removeprefix("Q: What is ").split("?")[0]
        assert str(eval(expr)) == answer and answer not in wrong and wrong  # noqa: S307 - our own generated digits
    for fam in synthetic.FAMILIES:
        for d in (1, 2, 3):
            for prompt, answer, wrong in synthetic.make(fam, 30, d, seed=0):
                assert answer not in wrong and len(set(wrong)) == len(wrong) and prompt.endswith("A:")
    for prompt, answer, _ in synthetic.make("order", 20, 3, seed=1):
        xs = [int(x) for x in prompt.split("largest: ")[1].split("\n")[0].split(", ")]
        assert answer == ", ".join(map(str, sorted(xs)))
    with pytest.raises(TokenfallError, match="Did you mean .arithmetic."):
        tasks.load(TaskSpec(kind="synth", source="arithmatic"))
