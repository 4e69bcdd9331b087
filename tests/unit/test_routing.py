"""Routing arithmetic (curves, APGR, CPT, floor), routers, in-domain tasks and the corpus split — no model runs."""

import numpy as np
import pytest

from tokenfall.errors import TokenfallError
from tokenfall.quality import domain
from tokenfall.routing import curves
from tokenfall.routing.job import paired_gap, split_of
from tokenfall.routing.routers import Classifier, Router
from tokenfall.types import ModelInfo


def reqs(ok_s, ok_l, usd_s=None, usd_l=None, domain_mask=None):
    n = len(ok_s)
    return curves.Requests(np.asarray(ok_s, bool), np.asarray(ok_l, bool), np.asarray(usd_s or [1.0] * n), np.asarray(usd_l or [3.0] * n),
                           np.asarray([10] * n), np.asarray([12] * n), np.asarray(domain_mask or [True] * n))


def test_oracle_curve_costs_and_metrics_exactly():
    # the general model fixes requests 1 and 2 only; an oracle ranks them first
    r = reqs([1, 0, 0, 1], [1, 1, 1, 0])
    c = curves.curve(r, np.asarray([0.1, 0.9, 0.8, 0.0]), pays_small=False)
    assert c.correct.tolist() == [2, 3, 4, 4, 3]
    assert c.usd.tolist() == [4.0, 6.0, 8.0, 10.0, 12.0]  # each escalation swaps $1 for $3
    assert curves.pgr(c, 4).tolist() == [0.0, 1.0, 2.0, 2.0, 1.0]
    assert curves.apgr(c, 4) == pytest.approx(0.25 * (0.5 + 1.5 + 2 + 1.5))
    assert curves.cpt(c, 4, 0.8) == 0.25 and curves.cpt(c, 4, 0.5) == 0.25
    cascade = curves.curve(r, np.asarray([0.1, 0.9, 0.8, 0.0]), pays_small=True)
    assert cascade.usd.tolist() == [4.0, 7.0, 10.0, 13.0, 16.0]  # the small answer is paid for on every request
    assert cascade.tokens.tolist() == [40, 52, 64, 76, 88]


def test_random_router_is_the_straight_line_and_scores_half():
    r = reqs([1, 0, 0, 1, 0], [1, 1, 1, 0, 1])
    c = curves.random_curve(r)
    assert c.correct.tolist() == pytest.approx([2 + 2 * k / 5 for k in range(6)])
    assert curves.apgr(c, 5) == pytest.approx(0.5)


def test_no_gap_means_no_pgr():
    r = reqs([1, 1, 0], [1, 0, 0])
    c = curves.curve(r, np.asarray([0.3, 0.2, 0.1]), False)
    assert curves.pgr(c, 3) is None and curves.apgr(c, 3) is None and curves.cpt(c, 3, 0.8) is None


def test_floor_takes_the_cheapest_point_keeping_every_segment():
    r = reqs([1, 0, 1, 0], [1, 1, 1, 1], domain_mask=[True, True, False, False])
    c = curves.curve(r, np.asarray([0.0, 0.9, 0.1, 0.8]), False)
    # general model: 2/2 on each segment; 95% of it needs both wrong requests escalated (k = 2)
    assert curves.floor_k(c, r, 0.95) == 2
    assert curves.floor_k(c, r, 0.5) == 0  # the small model alone keeps half on both segments
    p = curves.point(c, r, 2, 0.5, curves.random_curve(r))
    assert p["quality_domain"] == 1.0 and p["quality_general"] == 1.0 and p["usd_per_request"] == pytest.approx(2.0)
    assert p["random_quality"] == pytest.approx(0.75)


def test_apgr_interval_brackets_an_oracle_well_above_random():
    rng = np.random.default_rng(1)
    ok_s = rng.random(300) < 0.5
    ok_l = ok_s | (rng.random(300) < 0.6)
    r = reqs(ok_s.tolist(), ok_l.tolist())
    oracle = (ok_l & ~ok_s).astype(float)
    lo, hi = curves.apgr_interval(r, oracle, False, rounds=100)
    assert 0.5 < lo <= curves.apgr(curves.curve(r, oracle, False), 300) <= hi


def test_paired_gap_is_the_mean_difference():
    gap, (lo, hi) = paired_gap(np.asarray([1, 1, 1, 0]), np.asarray([1, 0, 0, 0]))
    assert gap == 0.5 and lo <= 0.5 <= hi


def test_router_thresholds_and_files(tmp_path):
    with pytest.raises(TokenfallError, match="outside 0..1"):
        Router("cascade", 1.5)
    with pytest.raises(TokenfallError, match="not one of"):
        Router("oracle")
    with pytest.raises(TokenfallError, match="trained weights"):
        Router("classifier", 0.5)
    c = Router("cascade", 0.7)
    assert c.before("x") is None and c.after(0.69) and not c.after(0.7)
    assert Router("large").before("x") is True and Router("small").before("x") is False
    shares = [Router("random", 0.3, seed=s).before("x") for s in range(2000)]
    assert 0.25 < np.mean(shares) < 0.35
    path = Router("cascade", 0.42).save(tmp_path / "r.json")
    assert Router.load(str(path)).threshold == 0.42 and Router.load(str(path), 0.9).threshold == 0.9
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(TokenfallError, match="not one `tokenfall route` wrote"):
        Router.load(str(tmp_path / "bad.json"))


def test_classifier_learns_which_prompts_need_the_general_model(tmp_path):
    code = [f"Return the value of attribute number {i} of the object." for i in range(40)]
    prose = [f"The village festival lasted {i} days and everyone danced." for i in range(40)]
    clf = Classifier.train(code + prose, np.asarray([0] * 40 + [1] * 40))
    p = clf.predict(["Return the value of attribute x.", "The festival lasted all week."])
    assert p[0] < 0.5 < p[1]
    router = Router("classifier", 0.5, clf)
    back = Router.load(str(router.save(tmp_path / "c.json")))
    assert back.before("The village danced for days.") is True
    with pytest.raises(TokenfallError, match="one class"):
        Classifier.train(code, np.zeros(40))


def docs(n, words=40):
    return [" ".join(f"d{d}w{i}" for i in range(words)) for d in range(n)]


def test_continuation_items_are_real_continuations_with_unseen_distractors():
    t = domain.continuation_task(docs(30), 25, seed=3)
    assert len(t.items) == 25 and t.kind == "choice"
    for ctx, choices, answer in t.items:
        doc = ctx.split(" ")[0].split("w")[0]
        real = choices[answer].split(" ")
        assert real[0].startswith(doc + "w") and int(real[0].split("w")[1]) == int(ctx.split(" ")[-1].split("w")[1]) + 1
        assert len(set(choices)) == 4 and all(len(c.split(" ")) == domain.SPAN_WORDS for c in choices)
        assert not any(w in ctx.split(" ") for i, c in enumerate(choices) if i != answer for w in c.split(" "))
    assert domain.continuation_task(docs(30), 25, seed=3).items == t.items
    with pytest.raises(TokenfallError, match="domain tasks need 20"):
        domain.continuation_task(docs(10), 25)


def test_corpus_split_is_disjoint_and_complete(tmp_path):
    from tokenfall.workloads.texts import corpus_documents

    f = tmp_path / "c.txt"
    f.write_text("\n\n".join(f"paragraph {i} about things" for i in range(200)))
    train, held = corpus_documents([str(f)], "train"), corpus_documents([str(f)], "heldout")
    assert not set(train) & set(held) and len(train) + len(held) == 200 and 10 < len(held) < 45


def test_split_of_is_stable_and_near_its_share():
    s = [split_of(0, "domain", "t", i, 0.5) for i in range(1000)]
    assert s == [split_of(0, "domain", "t", i, 0.5) for i in range(1000)]
    assert 400 < s.count("train") < 600


def test_roles_are_checked():
    from tokenfall.api.route import check_roles

    def m(sha, params, size):
        return ModelInfo(kind="gguf", ref=sha, path=f"/{sha}.gguf", sha256=sha, n_params=params, size_bytes=size)

    check_roles(m("a", 100, 50), m("b", 200, 100))
    with pytest.raises(TokenfallError, match="same file"):
        check_roles(m("a", 100, 50), m("a", 100, 50))
    with pytest.raises(TokenfallError, match="mismatched roles"):
        check_roles(m("a", 200, 100), m("b", 100, 50))
