"""Test-time compute without a model: the pricing arithmetic of every strategy, the frontier and the choice, the
ledger's resumable items, and bad input refused before anything loads."""

import json

import pytest

from tokenfall.store import Ledger
from tokenfall.ttc import analysis
from tokenfall.types import Problem, Searched


def _problem(i, answers, correct, tokens=None, logprobs=None, scores=None):
    n = len(answers)
    return Problem(index=i, answer="4", prompt_tokens=10, prompt_computed=10, texts=[""] * n, answers=answers, correct=correct,
                   tokens=tokens or [5] * n, logprobs=logprobs or [-1.0] * n, prefill_s=0.2, decode_s=0.1 * n,
                   wall_s=1.0, scores=scores or {}, verify_s=0.05 * len(scores or {}), verify_tokens=12 * len(scores or {}))


def test_points_price_each_strategy_from_its_own_spend():
    probs = [_problem(0, ["4", "4", "5", "5"], [True, True, False, False], scores={"4": 0.9, "5": 0.2}),
             _problem(1, ["3", "4", "3", "3"], [False, True, False, False], scores={"3": 0.6, "4": 0.3})]
    pts = {(p.strategy, p.k): p for p in analysis.points(probs, [1, 4], usd_per_s=2.0, accept=0.5)}
    # coverage at k=4 is 1 on both; majority at k=4: problem 0 is a 2-2 tie (half credit), problem 1 picks "3" (wrong)
    assert pts["coverage", 4].acc == 1.0 and not pts["coverage", 4].deployable
    assert pts["majority", 4].acc == pytest.approx(0.25)
    # the verifier picks "4" on problem 0 (0.9) and "3" on problem 1 (0.6): one right of two
    assert pts["verifier", 4].acc == pytest.approx(0.5)
    # spend: prefill 0.2 s + 4 samples x 0.1 s; the verifier adds 0.05 s per distinct answer (2 on each problem)
    assert pts["majority", 4].seconds == pytest.approx(0.2 + 4 * 0.1)
    assert pts["majority", 4].usd == pytest.approx(2.0 * 0.6)
    assert pts["majority", 4].tokens == pytest.approx(10 + 4 * 5)
    assert pts["verifier", 4].seconds == pytest.approx(0.2 + 0.4 + 2 * 0.05)
    assert pts["verifier", 4].tokens == pytest.approx(10 + 20 + 2 * 12)
    # early stop at k=4 in sample order: problem 0 accepts sample 1 ("4", right), problem 1 accepts sample 1 ("3", wrong)
    e = pts["early", 4]
    assert e.acc == pytest.approx(0.5) and e.seconds == pytest.approx(0.2 + 1 * 0.1 + 1 * 0.05)


def test_no_verifier_no_verifier_points_and_weights_from_logprobs():
    p = _problem(0, ["4", "5", "5"], [True, False, False], tokens=[2, 4, 4], logprobs=[-0.2, -8.0, -8.0])
    pts = {(x.strategy, x.k): x for x in analysis.points([p], [3], usd_per_s=1.0, accept=0.5)}
    assert ("verifier", 3) not in pts and ("early", 3) not in pts
    assert pts["majority", 3].acc == 0.0 and pts["weighted", 3].acc == 1.0  # exp(-0.1) > 2 x exp(-2)


def test_frontier_choice_plateau_and_fit():
    P = analysis.TtcPoint
    pts = [P(strategy="majority", k=1, acc=0.2, lo=0.1, hi=0.3, tokens=10, seconds=1, usd=1.0),
           P(strategy="majority", k=4, acc=0.3, lo=0.2, hi=0.4, tokens=40, seconds=4, usd=4.0),
           P(strategy="majority", k=16, acc=0.305, lo=0.2, hi=0.4, tokens=160, seconds=16, usd=16.0),
           P(strategy="weighted", k=4, acc=0.25, lo=0.1, hi=0.4, tokens=40, seconds=4, usd=4.0),
           P(strategy="coverage", k=1, acc=0.2, lo=0.1, hi=0.3, tokens=10, seconds=1, usd=1.0, deployable=False),
           P(strategy="coverage", k=16, acc=0.9, lo=0.8, hi=1.0, tokens=160, seconds=16, usd=16.0, deployable=False)]
    assert [(p.strategy, p.k) for p in analysis.frontier(pts)] == [("majority", 1), ("majority", 4), ("majority", 16)]
    c = analysis.choose(pts, budget_usd=5.0, target=0.3)
    assert c["within_budget"]["k"] == 4 and c["reaching_target"]["k"] == 4
    assert "one sample costs $1" in analysis.choose(pts, budget_usd=0.5, target=None)["note"]
    assert analysis.plateau(pts) == 4  # 30.0% is within 1 pp of the best 30.5%
    fit = analysis.coverage_fit(pts)
    assert fit["points"] == 2 and fit["max_abs_error"] < 1e-9
    assert analysis.default_ks(64) == [1, 2, 4, 8, 16, 32, 64] and analysis.default_ks(1000)[-2:] == [512, 1000]


def test_tree_search_points_average_over_problems():
    rs = [Searched(index=i, method="beam", answer="4", correct=i % 2 == 0, tokens=100, prompt_computed=20, seconds=2.0, nodes=5)
          for i in range(4)]
    (p,) = analysis.searched_points(rs, budget=256, usd_per_s=0.5)
    assert p.strategy == "beam" and p.acc == 0.5 and p.tokens == 120 and p.usd == pytest.approx(1.0) and p.k == 256


def test_ledger_items_survive_and_an_unfinished_run_resumes(tmp_path):
    db = tmp_path / "l.sqlite"
    config = {"n": 64, "task": {"kind": "synth-gen"}}
    with Ledger(db) as led:
        rid = led.new_run("ttc", config, {"model": {"sha256": "abc"}})
        led.add_item(rid, "p:0", json.dumps({"x": 1}))
        led.finish(rid, "incomplete", None)
        assert led.resume("ttc", {"n": 32, "task": {"kind": "synth-gen"}}) is None  # another config: a new run
        assert led.resume("ttc", config, model_sha256="other") is None  # another file under the same name
        assert led.resume("ttc", config, model_sha256="abc") == rid
        assert led.run(rid).status == "running" and led.items(rid) == {"p:0": '{"x": 1}'}
        led.finish(rid, "complete", None)
        assert led.resume("ttc", config) == rid  # a finished run is re-read (its items), not redone


@pytest.mark.parametrize("argv, says", [
    (["--search", "beam", "--search-budget", "100", "--max-tokens", "256"], "cannot pay for one sample"),
    (["-t", "synth:arithmetic"], "multiple choice"),
    (["--extract", "(unclosed"], "not a valid regular expression"),
    (["-n", "0"], "out of range"),
    (["-n", "8", "--k", "16"], "within 1..n=8"),
    (["--verifier", "self", "-e", "openai", "-m", "http://127.0.0.1:9/v1#x"], "needs next-token logits"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, db, argv, says):
    from tokenfall.cli import main

    with pytest.raises(SystemExit) as e:
        main(["--db", db, "ttc", *argv])
    err = capsys.readouterr().err
    assert e.value.code == 2 and says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_jsonl_without_answers_is_refused(tmp_path, capsys, db):
    from tokenfall.cli import main

    f = tmp_path / "qs.jsonl"
    f.write_text(json.dumps({"prompt": "2+2="}) + "\n")
    with pytest.raises(SystemExit) as e:
        main(["--db", db, "ttc", "-t", f"gen:{f}"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and 'field "answer"' in err and f"{f}:1" in err
