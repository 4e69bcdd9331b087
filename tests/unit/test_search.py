"""The optimize search against a fake lab: which files it gates, benches and keeps, which levers it takes, how it
stops at the time budget. Hand-made prices and KLDs, so every decision can be checked exactly; no model loads."""

import math

import pytest

from tokenfall.optimize import Search
from tokenfall.report import headline
from tokenfall.types import (
    Cost,
    Dist,
    EvalSummary,
    Fidelity,
    GateVerdict,
    LevelSummary,
    ModelInfo,
    OptimizeConfig,
    Paired,
    Run,
    Slo,
    TaskResult,
    TaskSpec,
)

SIZE = {"F32": 540, "Q8_0": 145, "Q6_K": 138, "Q4_K_M": 105, "Q4_1": 100, "Q4_0": 95}
KLD = {"Q8_0": 0.001, "Q6_K": 0.003, "Q4_K_M": 0.02, "Q4_1": 0.06, "Q4_0": 0.08}  # bound 0.05: Q4_1 and Q4_0 fail


def model(q: str) -> ModelInfo:
    return ModelInfo(ref=q, kind="gguf", path=f"/m/{q}.gguf", sha256=q.lower() * 4, size_bytes=SIZE[q] * 10**6, quant_type=q)


def level(usd_out: float, usd_in: float, tok_s: float, tpot: float, bound: float = 0.25) -> LevelSummary:
    d = Dist(mean=tpot, p50=tpot, p90=tpot, p99=tpot, n=8)
    cost = Cost(usd_per_m_input=usd_in, usd_per_m_output=usd_out, usd_per_m_blended=(3 * usd_in + usd_out) / 4,
                usd_per_hour_total=1.0, prefill_share=0.1, wh_per_m_output=None, assumptions=[])
    return LevelSummary(level=0, label="c", requests_ok=8, requests_failed=0, errors={}, window_s=1.0, requests_per_s=8.0,
                        input_tokens_per_s=tok_s, output_tokens_per_s=tok_s, total_tokens_per_s=2 * tok_s, ttft_s=d, itl_s=d,
                        tpot_excl_first_s=d, tpot_incl_first_s=d, e2e_s=d, lateness_s=d, tokens_in=8, tokens_out=8,
                        tokens_out_tokenizer=None, token_count_diff=None, slo_attainment=1.0 if tpot <= bound else 0.0, cost=cost)


class FakeLab:
    """Prices from a formula: size and streams make a file cheaper, each serving lever has a set effect."""

    def __init__(self, budget_calls: int | None = None, served_kld: float | None = None, jitter: float = 0.02):
        self.calls: list[str] = []
        self.budget_calls = budget_calls
        self.served_kld = served_kld  # what grading the served path finds (None: the file's own KLD)
        self.jitter = jitter  # run-to-run spread: a repeated measurement moves by +-jitter

    def _run(self, kind, summary) -> Run:
        return Run(id=f"r{len(self.calls)}", kind=kind, created=0.0, status="complete", config={}, fingerprint={}, summary=summary)

    def resolve(self, ref):
        return model("Q4_1")

    def reference(self, m):
        return model("F32")

    def artifact(self, lever, path, options):
        return model(options["type"].upper())

    def descendants(self, m):
        return []

    def over_budget(self):
        return self.budget_calls is not None and len(self.calls) >= self.budget_calls

    def outputs(self, run_id):
        return {0: "same text", 1: "same text"}

    def bench(self, config, label) -> Run:
        self.calls.append(label)
        o, n = config.engine_options, config.loads[0].concurrency
        q = next(k for k, v in SIZE.items() if f"/{k}.gguf" in config.model)
        if config.engine == "transformers":
            return self._run("bench", [level(10.0 * (1 + self.jitter * (-1) ** config.repeat if config.repeat else 1.0), 1.0, 10.0, 0.2, config.slo.tpot_s)])
        usd = 5.0 * SIZE[q] / SIZE["F32"] / min(n, 64) ** 0.8
        usd *= {"q8_0": 0.9}.get(o.get("kv_type"), 1.0) * (2.0 if o.get("n_threads") == 1 else 1.0)
        usd *= 1.1 if o.get("speculative", "none") != "none" else 1.0
        usd *= 1 + self.jitter * (-1) ** config.repeat if config.repeat else 1.0
        usd_in = usd / 10 * (0.5 if o.get("prefix_cache") else 1.0)
        return self._run("bench", [level(usd, usd_in, 100.0 / usd, 0.0075 * n, config.slo.tpot_s)])  # 32 streams is the last within TPOT 0.25 s

    def evaluate(self, config, label) -> Run:
        self.calls.append(label)
        q = next(k for k, v in SIZE.items() if f"/{k}.gguf" in config.model)
        kld = KLD[q] * (1.5 if config.engine_options.get("kv_type") == "q8_0" else 1.0)
        if config.served is not None and self.served_kld is not None:
            kld = self.served_kld
        if config.fidelity:
            fid = Fidelity(reference="F32", reference_sha256="f32", tokens_evaluated=100, tokens_scored=50, kld_mean=kld, kld_sem=0.0,
                           kld_median=kld, kld_p99=kld, kld_max=kld, top1_agreement=1 - kld, ppl=10.0, ppl_reference=10.0, ppl_ratio=1.0)
            ok = kld <= config.gate.max_kld
            return self._run("eval", EvalSummary(model=model(q), engine="llamacpp", fidelity=fid,
                                                 gate=GateVerdict(passed=ok, checks=[f"KLD {kld} {'PASS' if ok else 'FAIL'}"])))
        paired = Paired(reference_acc=0.6, diff_pp=0.0, diff_ci_pp=(-1.0, 1.0), ref_only=1, cand_only=1, p_value=1.0,
                        significant_drop=False)
        task = TaskResult(name="arith", kind="synth", metric="acc", n=100, acc=0.6, ci=(0.5, 0.7), paired=paired)
        return self._run("eval", EvalSummary(model=model(q), engine="llamacpp", tasks=[task],
                                             gate=GateVerdict(passed=True, checks=["arith: no significant drop PASS"])))


def config(**kw) -> OptimizeConfig:
    return OptimizeConfig(**{"concurrency": [1, 16, 32, 64], "probe_concurrency": 16, "threads": [1], "slo": Slo(ttft_s=3.0, tpot_s=0.25),
                             "tasks": [TaskSpec(kind="synth", source="arithmetic")]} | kw)


def test_search_gates_before_it_benches_and_keeps_the_cheapest_passing_file():
    lab = FakeLab()
    s = Search(config(), lab, lambda m: None).run()
    assert {c.label: c.passed for c in s.candidates} == {"Q4_0": False, "Q4_1 (given)": False, "Q4_K_M": True, "Q6_K": True, "Q8_0": True}
    assert not [c for c in lab.calls if c.startswith(("probe: Q4_0", "probe: Q4_1", "tasks: Q4_0", "tasks: Q4_1"))]
    assert [c for c in lab.calls if c.startswith("probe")] == ["probe: Q4_K_M", "probe: Q6_K", "probe: Q8_0"]
    # tasks cheapest first, stopping at the first file that passes them
    assert [c for c in lab.calls if c.startswith("tasks")] == ["tasks: Q4_K_M"]
    assert "tasks: not graded (a cheaper file passed them)" in next(c for c in s.candidates if c.label == "Q8_0").checks
    assert s.chosen.label == "Q4_K_M" and s.chosen.quality.passed and "arith" in s.chosen.quality.tasks


def test_search_takes_levers_that_pay_and_stops_batching_at_the_slo():
    lab = FakeLab()
    s = Search(config(), lab, lambda m: None).run()
    taken = {lv.lever: lv.taken for lv in s.levers}
    assert taken == {"kv cache": True, "prefix cache": True, "threads": False, "speculative": False}
    assert next(lv for lv in s.levers if lv.lever == "threads").why == "not cheaper per output token"
    assert s.noise_pct == pytest.approx(100 * abs(math.log(0.98)) / math.sqrt(2))  # the probe measured twice
    assert s.chosen.concurrency == 32 and s.chosen.slo_ok  # 64 streams is cheaper but misses TPOT 0.25 s
    assert s.chosen.options["kv_type"] == "q8_0" and s.chosen.options["prefix_cache"] == 4
    # every step of the waterfall is a measured pair, and the steps multiply to the headline ratio
    assert math.prod(w.factor for w in s.waterfall[1:]) == pytest.approx(s.chosen.ratio)
    assert s.chosen.ratio == pytest.approx(s.baseline.usd_per_m_output / s.chosen.usd_per_m_output)
    # the headline comes from fresh interleaved rounds, baseline then chosen, with an interval around it
    h = s.headline
    rounds = [c.split(":")[0] + ":" + c.split(":")[1] for c in lab.calls if c.startswith("round")]
    assert h.rounds == 3 and rounds == [f"round {r}: {w}" for r in (1, 2, 3) for w in ("baseline", "chosen")]
    assert h.output.low < h.output.value < h.output.high and h.per_request.low < h.per_request.value < h.per_request.high
    assert h.output.value == pytest.approx(math.exp(sum(map(math.log, h.baseline_usd_per_m_output)) / 3
                                                    - sum(map(math.log, h.chosen_usd_per_m_output)) / 3))
    assert h.baseline_usd_per_request[0] == pytest.approx(1.0 * 64 / 3600 / 10.0)  # $1/hour, 64 tokens at 10 tok/s
    assert s.chosen.quality.served is not None and s.verdict is None
    assert s.speculative.greedy_identical and s.speculative.requests == 2
    assert all(s.points[i].slo_ok for i in s.pareto_quality + s.pareto_latency)


def test_a_lever_inside_the_noise_is_not_taken():
    lab = FakeLab(jitter=0.10)  # the probe measured twice differs by 10%: the KV cache's 10% gain does not clear it
    s = Search(config(), lab, lambda m: None).run()
    kv = next(lv for lv in s.levers if lv.lever == "kv cache")
    assert not kv.taken and "noise" in kv.why
    assert "kv_type" not in s.chosen.options


def test_a_configuration_missing_the_slo_is_never_headlined():
    s = Search(config(slo=Slo(tpot_s=0.001)), FakeLab(), lambda m: None).run()
    assert s.headline is None and s.chosen is None and "SLO" in s.verdict
    assert headline(s)[0].startswith("no headline: no configuration met the latency SLO")


def test_failing_the_gate_as_served_means_no_headline():
    s = Search(config(), FakeLab(served_kld=0.5), lambda m: None).run()
    assert s.headline is None and "as served" in s.verdict
    assert not s.chosen.quality.passed and s.chosen.quality.served.kld_mean == 0.5
    assert not [p for p in s.points if p.what.startswith("round")]  # no rounds measured for a claim not made


def test_time_budget_stops_the_search_with_what_it_has():
    lab = FakeLab(budget_calls=5)
    search = Search(config(), lab, lambda m: None)
    s = search.run()
    # past the budget: one probe, its task grade, its 1-stream price, the served-path grade and the two rounds a headline needs
    assert s.budget_hit and len(lab.calls) == 13 and s.headline.rounds == 2
    assert search.partial().candidates == s.candidates
