"""The search's decision rules and the report's rendering, on hand-made numbers."""

import json

from tokenfall.optimize import _better, pareto
from tokenfall.report import headline, render
from tokenfall.types import Candidate, Chosen, OptimizeSummary, Point, Quality, Run, Step


def pt(out, blend, slo=True, **kw):
    base = {"label": "Q8_0", "what": "probe", "model": "/m.gguf", "sha256": "s", "engine": "llamacpp", "options": {}, "concurrency": 1,
            "bench_run": "r1", "usd_per_m_input": 0.01, "output_tokens_per_s": 400.0, "ttft_p90_s": 1.0, "tpot_p50_s": 0.1,
            "tpot_p90_s": 0.1, "slo_attainment": 1.0}
    return Point(**(base | {"usd_per_m_output": out, "usd_per_m_blended": blend, "slo_ok": slo} | kw))


def test_pareto_keeps_points_no_other_beats_on_both_axes():
    pts = [pt(1.0, 1, kld=0.01), pt(0.5, 1, kld=0.02), pt(0.6, 1, kld=0.03), pt(0.2, 1, kld=0.2), pt(0.2, 1, kld=0.1)]
    assert pareto(pts, list(range(5)), "kld") == [4, 1, 0]  # sorted by price; 2 is beaten by 1, 3 by 4


def test_lever_rules():
    before = pt(1.0, 1.0)
    assert _better("kv cache", before, pt(0.9, 0.95)) == (True, "cheaper and within the SLO")
    assert not _better("kv cache", before, pt(1.1, 0.9))[0]
    ok, why = _better("threads", before, pt(0.9, 1.2))  # cheaper output only because prefill got slower
    assert not ok and "blended" in why
    assert _better("speculative", before, pt(0.5, 0.5, slo=False)) == (False, "misses the SLO")
    assert _better("batching", pt(1.0, 1.0, slo=False), pt(1.2, 1.2))[0]  # rescuing an SLO miss
    assert _better("prefix cache", before, pt(1.04, 0.6))[0]  # judged on blended, output noise allowed
    assert not _better("prefix cache", before, pt(1.2, 0.6))[0]


def summary(label="Q8_0") -> OptimizeSummary:
    base = pt(2.0, 2.0, bench_run="r0")
    chosen = Chosen(**pt(0.05, 0.05, label=label, concurrency=64, bench_run="r9", options={"kv_type": "q8_0"}, kld=0.004).model_dump(),
                    ratio=40.0, quality=Quality(kld=0.004, top1=0.97, passed=True,
                                                tasks={"hs": {"acc": 0.64, "reference_acc": 0.63, "significant_drop": False}}))
    wf = [Step(lever="baseline", change="HF", usd_per_m_output=2.0, factor=None, usd_per_m_input=None, usd_per_m_blended=None,
               bench_run="r0", concurrency=1, label="F32"),
          Step(lever="batching", change=label, usd_per_m_output=0.05, factor=40.0, usd_per_m_input=None, usd_per_m_blended=None,
               bench_run="r9", concurrency=64, label=label)]
    point = pt(0.05, 0.05, label=label, concurrency=64, kld=0.004, bench_run="r9")
    return OptimizeSummary(baseline=base, chosen=chosen, waterfall=wf, points=[point], pareto_quality=[0], pareto_latency=[0],
                           candidates=[Candidate(label=label, path="/m.gguf", sha256="s", size_bytes=1, kld=0.004, top1=0.97, passed=True,
                                                 eval_runs=["e1"])], assumptions=["an <assumption>"])


def test_headline_states_price_ratio_and_quality():
    h = headline(summary())
    assert h.startswith("$/M output tokens: baseline 2 -> 0.05 (40.0x cheaper) at KLD 0.0040")
    assert "hs 0.640 vs 0.630 (no significant drop)" in h


def test_report_escapes_user_strings_and_embeds_everything(tmp_path):
    evil = "</script><script>alert(1)</script><b>x"
    run = Run(id="20260101-000000-abcdef", kind="optimize", created=0.0, status="complete", config={"gate": {"max_kld": 0.05}},
              fingerprint={"machine": {"cpu": evil}, "model": {"name": evil}}, summary=summary(evil))
    paths = render([run], tmp_path / "r")
    page = (tmp_path / "r" / "report.html").read_text()
    assert evil not in page and "alert(1)" in page  # present only escaped
    assert "&lt;/script&gt;" in page and "\\u003c/script\\u003e" in page
    assert "<script src" not in page and "<link" not in page  # nothing fetched from the network
    figs = json.loads(page.split("const FIGS = ", 1)[1].split(";\nlet drawn", 1)[0])
    assert set(figs) == {f"{run.id}-{c}" for c in ("waterfall", "quality", "latency", "gate")}
    assert len(paths["png"]) == 4 and "an <assumption>" in (tmp_path / "r" / "report.md").read_text()
    assert not list((tmp_path / "r").glob(".tmp-*"))
