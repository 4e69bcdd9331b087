"""route and the routed engine on real llama.cpp: the bundled Q4_1 as the small model, its F32 weights as the
general one (bigger file, same tokenizer) — a route run's curves, router files that serve, bench of the mix."""

import json

import pytest

from tests.conftest import cli, cli_here, run
from tokenfall.types import Request, RouteConfig, TaskSpec


@pytest.fixture(scope="module")
def route_run(smollm, reference_f32, tmp_path_factory):
    from tokenfall import api

    db = str(tmp_path_factory.mktemp("route") / "ledger.sqlite")
    config = RouteConfig(small=smollm.path, large=reference_f32.path, items=40,
                         general=[TaskSpec(kind="synth", source="arithmetic", n=20)], seed=1)
    return api.route(config, db=db), db


def test_route_run_traces_every_router_and_prices_both_models(route_run):
    r, db = route_run
    s = r.summary
    assert r.kind == "route" and r.status == "complete"
    assert s.n_train + s.n_test == 60 and s.n_test >= 10
    assert {c.name for c in s.routers} == {"cascade", "classifier", "random"}
    traced = [c for c in s.routers if c.note is None]
    assert s.small.usd_per_request > 0 and s.large.usd_per_request > 0
    rand = next(c for c in s.routers if c.name == "random")
    for c in traced:
        ends = c.points[0], c.points[-1]
        assert ends[0].share_large == 0 and ends[1].share_large == 1
        # all-general is the general model alone on every router; the cascade's first end is the small model alone
        assert ends[1].quality_domain == pytest.approx(s.large.quality_domain)
        assert [p.share_large for p in c.points] == sorted(p.share_large for p in c.points)
    cascade = next(c for c in s.routers if c.name == "cascade")
    assert cascade.points[0].usd_per_request == pytest.approx(s.small.usd_per_request)
    assert cascade.points[-1].usd_per_request == pytest.approx(s.small.usd_per_request + s.large.usd_per_request)
    if rand.apgr is not None:
        assert rand.apgr == pytest.approx(0.5)
    shown = cli("--db", db, "show", r.id)
    assert shown.returncode == 0 and "APGR" in shown.stdout, shown.stderr


def test_bench_drives_the_routed_pair(route_run, smollm, reference_f32, tmp_path):
    r, db = route_run
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": i.text}) + "\n" for i in r.summary.items[:6]))
    res = cli("--db", db, "bench", "-m", smollm.path, "-e", "routed", "-o", f"large={reference_f32.path}", "-o", "router=cascade",
              "-o", "threshold=0.5", "--prompts", str(prompts), "--requests", "6", "-c", "2", "--output-tokens", "8", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    stats = out["engine"]["stats"]
    assert stats["small"] + stats["large"] >= 6 and stats["escalated"] <= stats["large"]
    level = out["summary"][0]
    assert level["requests_ok"] == 6 and level["output_tokens_per_s"] > 0


def test_routed_engine_classifier_file_sends_requests_by_the_prompt(route_run, smollm, reference_f32, tmp_path):
    import numpy as np

    from tokenfall.engines import create
    from tokenfall.routing.routers import Classifier, Router

    r, _ = route_run
    clf = next(c for c in r.summary.routers if c.name == "classifier")
    file = clf.file
    if file is None:  # the tiny run may give the classifier nothing to learn: train one on the segments instead
        texts = [i.text for i in r.summary.items]
        file = str(Router("classifier", 0.5, Classifier.train(texts, np.asarray([i.segment == "general" for i in r.summary.items])))
                   .save(tmp_path / "clf.json"))

    async def go():
        eng = create("routed", smollm, {"large": reference_f32.path, "router": file, "small_options": {"parallel": 2},
                                        "large_options": {"parallel": 2}})
        await eng.start()
        try:
            for i, item in enumerate(r.summary.items[:4]):
                text = "".join([c.text async for c in eng.stream(Request(id=i, prompt=item.text, max_tokens=4))])
                assert text
        finally:
            await eng.stop()
        return eng.info().stats

    stats = run(go())
    assert stats["small"] + stats["large"] == 4 and stats["escalated"] == 0


def test_route_bad_input_is_one_line_exit_2(smollm, reference_f32, tmp_path):
    small = tmp_path / "small.txt"
    small.write_text("\n\n".join(f"a short paragraph number {i} with a few words in it" for i in range(30)))
    cases = [
        (["route", "--large", smollm.path], "same file"),
        (["route", "--small", reference_f32.path, "--large", smollm.path], "mismatched roles"),
        (["route", "--large", reference_f32.path, "--corpus", str(small), "-t", "none"], "domain tasks need"),
        (["route", "--large", reference_f32.path, "--floor", "1.5"], "--floor"),
        (["specialize", "--general", smollm.path], "same file"),
    ]
    for args, said in cases:
        r = cli_here(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert said in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    r = cli("bench", "-m", smollm.path, "-e", "routed", "-o", f"large={reference_f32.path}", "-o", "threshold=2", "--requests", "1")
    assert r.returncode == 2 and "outside 0..1" in r.stderr and "Traceback" not in r.stderr, r.stderr
