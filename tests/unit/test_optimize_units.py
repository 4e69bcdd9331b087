"""The search's decision rules and the report's rendering, on hand-made numbers."""

import json

from tokenfall.optimize import _better, pareto
from tokenfall.report import headline, render
from tokenfall.types import Candidate, Chosen, Fidelity, Headline, OptimizeSummary, Point, Quality, Ratio, Run, Step


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
    assert _better("kv cache", before, pt(0.9, 0.95), None) == (True, "cheaper beyond the noise and within the SLO")
    assert not _better("kv cache", before, pt(1.1, 0.9), None)[0]
    # 2% cheaper is inside the noise floor (1.5% sd per run: a difference must exceed 1.645 * sqrt(2) * 1.5% = 3.5%)
    assert _better("kv cache", before, pt(0.98, 0.98), None) == (False, "cheaper per output token, but within the measured run-to-run noise")
    assert not _better("kv cache", before, pt(0.9, 0.9), 0.05)[0]  # a measured 5% noise: 10% does not clear 11.6%
    ok, why = _better("threads", before, pt(0.9, 1.2), None)  # cheaper output only because prefill got slower
    assert not ok and "blended" in why
    assert _better("speculative", before, pt(0.5, 0.5, slo=False), None) == (False, "misses the SLO")
    assert _better("batching", pt(1.0, 1.0, slo=False), pt(1.2, 1.2), None)[0]  # rescuing an SLO miss
    assert _better("prefix cache", before, pt(1.02, 0.6), None)[0]  # judged on blended, output within the noise
    assert not _better("prefix cache", before, pt(1.2, 0.6), None)[0]


def summary(label="Q8_0") -> OptimizeSummary:
    base = pt(2.0, 2.0, bench_run="r0")
    chosen = Chosen(**pt(0.05, 0.05, label=label, concurrency=64, bench_run="r9", options={"kv_type": "q8_0"}, kld=0.004).model_dump(),
                    ratio=40.0, quality=Quality(kld=0.004, top1=0.97, passed=True, served=Fidelity(
                        reference="F32", reference_sha256="f", tokens_evaluated=100, tokens_scored=40, kld_mean=0.006, kld_sem=0.001,
                        kld_median=0.001, kld_p99=0.05, kld_max=0.1, top1_agreement=0.96, ppl=2.0, ppl_reference=2.0, ppl_ratio=1.0,
                        path="served", sequences=20, sequences_identical=11, tokens_cached=640),
                        tasks={"hs": {"acc": 0.64, "reference_acc": 0.63, "diff_pp": 1.0, "n": 600, "drop_upper_pp": 1.2,
                                      "detectable_pp": 2.4}, "count": {"acc": 0.01, "reference_acc": 0.005, "chance": 0.2, "informative": False}}))
    head = Headline(rounds=3, baseline_runs=["b1", "b2", "b3"], chosen_runs=["c1", "c2", "c3"], baseline_usd_per_m_output=[2.0, 2.0, 2.0],
                    chosen_usd_per_m_output=[0.05, 0.05, 0.05], baseline_usd_per_request=[1e-4] * 3, chosen_usd_per_request=[4e-6] * 3,
                    output=Ratio(value=40.0, low=36.0, high=44.0), per_request=Ratio(value=25.0, low=23.0, high=27.0),
                    baseline_output_share=0.95, chosen_output_share=0.83, noise_pct=2.0)
    wf = [Step(lever="baseline", change="HF", usd_per_m_output=2.0, factor=None, usd_per_m_input=None, usd_per_m_blended=None,
               bench_run="r0", concurrency=1, label="F32"),
          Step(lever="batching", change=label, usd_per_m_output=0.05, factor=40.0, usd_per_m_input=None, usd_per_m_blended=None,
               bench_run="r9", concurrency=64, label=label)]
    point = pt(0.05, 0.05, label=label, concurrency=64, kld=0.004, bench_run="r9")
    return OptimizeSummary(baseline=base, chosen=chosen, headline=head, waterfall=wf, points=[point], pareto_quality=[0], pareto_latency=[0],
                           candidates=[Candidate(label=label, path="/m.gguf", sha256="s", size_bytes=1, kld=0.004, top1=0.97, passed=True,
                                                 eval_runs=["e1"])], assumptions=["an <assumption>"])


def test_headline_states_ratios_with_intervals_split_and_quality_as_served():
    h = headline(summary(), margin=2.0)
    assert h[0] == ("$/M output tokens: baseline 2 -> 0.05: 40.0x cheaper (95% interval 36.0-44.0x, 3 interleaved rounds); "
                    "all-in cost per request: 25.0x (23.0-27.0x)")
    assert "output tokens pay 95% of it in the baseline" in h[1] and "83% in the chosen" in h[1]
    assert ("as served: KLD 0.0060, top-1 96.0%, 11/20 requests exactly the reference's greedy text "
            "(640 prompt tokens from prefix-cache hits)") in h[3]
    assert h[4] == ("  hs (the file, f16 KV): 0.640 vs reference 0.630 on 600 items: drop -1.0 pp, upper bound 1.2 pp (one-sided 95%) "
                    "< margin 2 pp: non-inferior; detectable drop 2.4 pp")
    assert len(h) == 6  # one task is informative: no "rests on fidelity" line
    assert "count (the file, f16 KV): reference 0.005 not clearly above chance (0.20): uninformative" in h[5]


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
