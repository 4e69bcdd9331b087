"""Test-time compute on the real engine with the bundled model: the prompt prefilled once for 64 samples, a run
that resumes after an interruption, tree search that repeats itself under the same seed, the report's charts."""

import asyncio
import json
from pathlib import Path

import pytest

from tokenfall import api
from tokenfall.engines import create
from tokenfall.errors import Interrupted
from tokenfall.ttc import sampling, search
from tokenfall.types import TaskSpec, TtcConfig

from tokenfall.quality.tasks import extract, normalise


def test_64_samples_prefill_the_prompt_once(smollm):
    async def main():
        eng = create("llamacpp", smollm, {"share_prompts": True, "prefix_cache": 1, "parallel": 64, "seq_ctx": 128})
        await eng.start()
        try:
            return await sampling.sample(eng, 0, "Q: What is 12 + 7?\nA:", "19", 64, max_tokens=6, temperature=0.9, top_p=0.95,
                                         seed=1, stops=("\n",), extract=extract, same=lambda a, b: a == normalise(b))
        finally:
            await eng.stop()

    p = asyncio.run(main())
    assert len(p.texts) == 64 and p.prompt_tokens > 5
    assert p.prompt_computed == p.prompt_tokens  # not 64x
    assert all(lp is not None and lp <= 0 for lp in p.logprobs) and all(1 <= t <= 6 for t in p.tokens)
    assert len(set(p.texts)) > 1  # 64 seeds, more than one answer
    assert p.prefill_s > 0 and p.decode_s > 0


def _config(**kw):
    base = dict(task=TaskSpec(kind="synth-gen", source="arithmetic", n=4, limit=4), n=8, max_tokens=6, temperature=0.9)
    return TtcConfig(**(base | kw))


class _StopAfter:
    """Progress that presses Ctrl-C after ``k`` problems."""

    def __init__(self, k):
        self.k = k

    def level(self, label, total):
        pass

    def tokens(self, n):
        pass

    def request_done(self):
        self.k -= 1
        if self.k == 0:
            raise KeyboardInterrupt


def test_an_interrupted_run_continues_where_it_stopped(db, tmp_path):
    config = _config(verifier="self", search=["beam", "mcts"], search_budget=24, search_problems=2, beam_width=2, beam_expand=2)
    with pytest.raises(Interrupted, match="kept 2 completed problems"):
        api.ttc(config, db=db, progress=_StopAfter(2))
    first = api.runs(db=db)[0]
    assert first.status == "incomplete"
    run = api.ttc(config, db=db)
    assert run.id == first.id and run.status == "complete"  # the same run, continued
    s = run.summary
    assert s.problems == 4 and s.n == 8 and 0 < s.prompt_computed <= s.prompt_tokens  # once, less the prefix shared with the last problem
    strategies = {p.strategy for p in s.points}
    assert strategies == {"coverage", "majority", "weighted", "verifier", "early", "beam", "mcts"}
    for p in s.points:
        assert 0 <= p.lo <= p.acc <= p.hi <= 1 and p.usd > 0 and p.tokens > 0
    cov = sorted((p.k, p.acc) for p in s.points if p.strategy == "coverage")
    assert [k for k, _ in cov] == [1, 2, 4, 8] and all(a <= b + 1e-12 for (_, a), (_, b) in zip(cov, cov[1:]))
    # a fresh run of the same config draws the same samples (seeded): same coverage, same answers
    again = api.ttc(config, db=db, fresh=True)
    assert again.id != run.id
    assert [p.acc for p in again.summary.points if p.strategy != "early"] == [p.acc for p in s.points if p.strategy != "early"]
    files = api.report([run.id], str(tmp_path / "rep"), db=db)
    assert {Path(f).name for f in files["png"]} == {f"{run.id}-ttc-cost.png", f"{run.id}-ttc-coverage.png"}
    html = Path(files["html"]).read_text()
    assert "best-of-k by verifier" in html and "MCTS" in html


def test_tree_search_repeats_itself_under_the_same_seed(smollm):
    async def solve(method, seed):
        eng = create("llamacpp", smollm, {"prefix_cache": 4, "parallel": 8, "seq_ctx": 192})
        await eng.start()
        try:
            return await search.solve(method, eng, 0, "Q: What is 23 + 19?\nA: Let's think step by step.\n", "42", width=2,
                                      expand=2, budget=48, max_tokens=32, temperature=0.9, top_p=0.95, seed=seed,
                                      stops=("\n\n",), extract=extract, same=lambda a, b: a == normalise(b), verify=None)
        finally:
            await eng.stop()

    for method in ("beam", "mcts"):
        a, b = asyncio.run(solve(method, 3)), asyncio.run(solve(method, 3))
        assert (a.answer, a.tokens, a.nodes) == (b.answer, b.tokens, b.nodes)
        assert 0 < a.tokens <= 48 + 4 and a.nodes >= 2  # within the budget (a token over per concurrent step at most)


def test_an_extractor_that_never_matches_is_bad_input(db, capsys):
    from tokenfall.cli import main

    with pytest.raises(SystemExit) as e:
        main(["--db", db, "ttc", "--problems", "2", "-n", "4", "--max-tokens", "4", "--extract", r"ANSWER=(\d+)"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "matched none of the 4 answers" in err and len(err.strip().splitlines()) == 1


def test_cli_json_show_and_export(db, capsys):
    from tokenfall.cli import main

    main(["--db", db, "ttc", "--problems", "3", "-n", "4", "--max-tokens", "6", "--target", "0.5", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "ttc" and doc["summary"]["choice"]["target"] == 0.5 and doc["summary"]["frontier"]
    main(["--db", db, "show", doc["id"]])
    shown = capsys.readouterr().out
    assert "majority vote" in shown and "prefill once" in shown
    main(["--db", db, "export", doc["id"]])
    items = json.loads(capsys.readouterr().out)["items"]
    assert sorted(items) == ["p:0", "p:1", "p:2"] and len(items["p:0"]["texts"]) == 4


def test_through_a_remote_server_as_parallel_requests(llama_server, db):
    from tokenfall.types import PriceSpec

    config = _config(engine="openai", model=llama_server + "#smol", n=4, price=PriceSpec(usd_per_hour=2.0),
                     task=TaskSpec(kind="synth-gen", source="arithmetic", n=2, limit=2))
    run = api.ttc(config, db=db)
    s = run.summary
    assert run.status == "complete" and s.problems == 2 and s.n == 4
    assert s.pricing.usd_per_hour == 2.0 and all(p.seconds > 0 and p.usd > 0 for p in s.points)
    assert {"coverage", "majority"} <= {p.strategy for p in s.points}


def test_a_second_model_is_compared_at_equal_cost(db):
    run = api.ttc(_config(vs="smollm2-135m", vs_n=2), db=db)  # the same file stands in for the larger model
    c = run.summary.comparison
    assert c is not None and c.model.name == "smollm2-135m" and 0 <= c.lo <= c.acc <= c.hi <= 1
    assert c.usd > 0 and c.k_equal_cost > 0
    assert c.small is None or c.small.usd <= c.usd
