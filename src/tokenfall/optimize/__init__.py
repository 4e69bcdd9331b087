"""The search behind `tokenfall optimize`: the cheapest configuration that passes the quality gate and the SLO.

Coordinate descent over one lever at a time, in a fixed order, so a run is deterministic and every step of
the cost waterfall is a measured pair of configurations:

1. baseline: HF transformers fp32 at batch 1 on the given weights (the naive way to serve them), measured in
   the rounds of step 8 (its first measurement is the waterfall's first step);
2. engine: llama.cpp on the float weights at batch 1;
3. artifacts (the given file, its quantizations, its descendants in the ledger) are gated on fidelity to the
   float weights; a file that fails is never benchmarked. Survivors are priced at one probe concurrency and
   graded on tasks (non-inferiority) cheapest first; the first that passes is kept, measured again (the
   run-to-run noise) and priced at 1 stream, for the quantize step;
4. serving levers at the probe concurrency, each kept only when its gain clears the noise and it still
   passes: KV-cache type (fidelity gated again against the f16 reference; tasks are the file's, and the served
   path grades the KV type as served), prefix cache, threads, prompt lookup;
5. batching: a concurrency sweep of the kept configuration, the cheapest level meeting the SLO (none: no claim);
6. the chosen configuration graded as served, through the engine at its settings (fails: no claim);
7. prompt lookup vs plain decoding at 1 stream: identical text, speed-up;
8. the claim: baseline and chosen in interleaved rounds of fresh runs, ratios with 95% intervals.

Measurements come through a ``Lab`` that reuses identical completed runs from the ledger, which is what makes
an interrupted search resumable.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Callable, Protocol

from tokenfall.optimize.rounds import clears_noise, noise_sd, ratio
from tokenfall.quality.gate import informative
from tokenfall.quality.served import served_requests
from tokenfall.types import (
    BenchConfig,
    Candidate,
    Chosen,
    EvalConfig,
    Gate,
    Headline,
    LeverTrial,
    Load,
    ModelInfo,
    OptimizeConfig,
    OptimizeSummary,
    Point,
    Quality,
    Run,
    Speculative,
    Step,
    TaskQuality,
)


class Lab(Protocol):
    def resolve(self, ref: str | None) -> ModelInfo: ...
    def outputs(self, run_id: str) -> dict[int, str]: ...
    def bench(self, config: BenchConfig, label: str) -> Run: ...
    def evaluate(self, config: EvalConfig, label: str) -> Run: ...
    def artifact(self, lever: str, model: str, options: dict) -> ModelInfo: ...
    def reference(self, model: ModelInfo) -> ModelInfo: ...
    def descendants(self, model: ModelInfo) -> list[ModelInfo]: ...
    def over_budget(self) -> bool: ...


@dataclass
class Config:
    """One point of the search: a model file served with engine options at a concurrency."""

    model: ModelInfo
    label: str
    options: dict = field(default_factory=dict)
    concurrency: int = 1
    quality: Quality = field(default_factory=Quality)  # what the gate saw of (model, kv type)


def _label(m: ModelInfo) -> str:
    return (m.quant_type or m.name or "model").replace("MOSTLY_", "")


class Search:
    def __init__(self, cfg: OptimizeConfig, lab: Lab, log: Callable[[str], None]):
        self.cfg, self.lab, self.log = cfg, lab, log
        self.points: list[Point] = []          # every priced (configuration, level)
        self.candidates: list[Candidate] = []  # every gated artifact
        self.levers: list[LeverTrial] = []     # every serving lever tried: measured factor, taken or not
        self.waterfall: list[Step] = []
        self.speculative: Speculative | None = None
        self.budget_hit = False
        self.noise: float | None = None  # sd of log cost between two runs of one configuration
        self.baseline: Point | None = None

    # ---- measuring --------------------------------------------------------------------------

    def _options(self, c: Config) -> dict:
        p, parallel = self.cfg.prompts, c.concurrency
        o = {"parallel": parallel, **c.options}
        draft = o.get("n_draft", 4) if o.get("speculative", "none") != "none" else 0
        o["seq_ctx"] = 256 * math.ceil((p.input_tokens + p.output_tokens + draft + 8) / 256)
        o["n_batch"] = max(512, parallel * (1 + draft))
        return o

    def price(self, c: Config, what: str, engine: str = "llamacpp", options: dict | None = None,
              requests: int | None = None, repeat: int = 0) -> Point:
        """Bench ``c`` at its concurrency; the priced point (also kept in ``points``)."""
        n = c.concurrency
        load = Load(concurrency=n, requests=requests or max(8, int(self.cfg.requests_per_stream * n)), warmup_requests=min(n, 4))
        bc = BenchConfig(model=c.model.path, engine=engine, loads=[load], prompts=self.cfg.prompts, slo=self.cfg.slo,
                         price=self.cfg.price, engine_options=options if options is not None else self._options(c), repeat=repeat)
        run = self.lab.bench(bc, f"{what}: {c.label}")
        lvl = run.levels[0]
        cost, att = lvl.cost, lvl.slo_attainment
        pt = Point(label=c.label, what=what, model=c.model.path, sha256=c.model.sha256, engine=engine,
                   options=bc.engine_options, concurrency=n, bench_run=run.id,
                   usd_per_m_output=cost and cost.usd_per_m_output, usd_per_m_input=cost and cost.usd_per_m_input,
                   usd_per_m_blended=cost and cost.usd_per_m_blended, output_tokens_per_s=lvl.output_tokens_per_s,
                   ttft_p90_s=lvl.ttft_s.p90, tpot_p50_s=lvl.tpot_excl_first_s.p50, tpot_p90_s=lvl.tpot_excl_first_s.p90,
                   slo_attainment=att, slo_ok=lvl.requests_failed == 0 and (att is None or att >= self.cfg.slo_attainment),
                   tokens_cached=lvl.tokens_cached, draft_acceptance=lvl.draft_acceptance, kld=c.quality.kld,
                   usd_per_request=cost and lvl.output_tokens_per_s and
                   cost.usd_per_hour_total * self.cfg.prompts.output_tokens / (3600 * lvl.output_tokens_per_s),
                   output_share=cost and 1 - cost.prefill_share,
                   tasks=c.quality.tasks)
        self.points.append(pt)
        return pt

    def fidelity(self, model: ModelInfo, reference: ModelInfo, options: dict, label: str) -> Quality:
        """The file (at ``options``, e.g. a KV type) against the float reference at its own settings, on text."""
        g = self.cfg.gate
        fid = self.lab.evaluate(EvalConfig(model=model.path, reference=reference.path, tokens=self.cfg.tokens, engine_options=options,
                                           gate=Gate(max_kld=g.max_kld, min_top1=g.min_top1, max_ppl_ratio=g.max_ppl_ratio)),
                                f"fidelity: {label}")
        s = fid.summary
        return Quality(kld=s.fidelity.kld_mean, top1=s.fidelity.top1_agreement, eval_runs=[fid.id], checks=list(s.gate.checks),
                       passed=s.gate.passed)

    def tasks(self, q: Quality, model: ModelInfo, reference: ModelInfo, options: dict, label: str) -> Quality:
        """``q`` with the task verdict added (non-inferiority to the reference, paired on the same items)."""
        if not self.cfg.tasks:
            return q
        g = self.cfg.gate
        t = self.lab.evaluate(EvalConfig(model=model.path, reference=reference.path, fidelity=False, tasks=self.cfg.tasks,
                                         engine_options=options, gate=Gate(max_acc_drop=g.max_acc_drop, alpha=g.alpha)),
                              f"tasks: {label}")
        ts = t.summary
        return q.model_copy(update={
            "eval_runs": q.eval_runs + [t.id], "checks": q.checks + ts.gate.checks, "passed": q.passed and ts.gate.passed,
            "tasks": {r.name: TaskQuality(acc=r.acc, n=r.n, chance=r.chance, informative=informative(r), **(r.paired.model_dump(
                include={"reference_acc", "diff_pp", "p_value", "significant_drop", "drop_upper_pp", "detectable_pp"}) if r.paired else {}))
                for r in ts.tasks}})

    # ---- the search -------------------------------------------------------------------------

    def run(self) -> OptimizeSummary:
        cfg, lab = self.cfg, self.lab
        model = self.model = lab.resolve(cfg.model)
        ref = self.reference = lab.reference(model)
        self.base = Config(model, f"{_label(model)} on transformers fp32")  # measured in the rounds, beside the chosen one
        self.log("engine: llama.cpp on the float weights, batch 1")
        float_q = Quality(kld=0.0, top1=1.0, passed=True, checks=["the reference itself"])
        self.engine_pt = self.price(Config(ref, _label(ref), quality=float_q), "engine")

        passing = self._gate_files(model, ref)
        if not passing:
            return self._result(None, verdict="no file passed the quality gate")
        best, current = self._probe(passing)
        if best is None:
            return self._result(None, verdict="the time budget ran out before a file passed the task gate" if self.budget_hit
                                else "no file passed the task gate")
        current = self._serving(best, current, ref)
        chosen = self._batching(best, current)
        if chosen is None:
            return self._result(None, best, verdict="no configuration met the latency SLO: nothing is headlined "
                                                    "(the points table shows what was measured)")
        best.concurrency = chosen.concurrency
        verdict = self._served_grade(best, ref)
        if cfg.speculative and not lab.over_budget():
            self._speculative_at_one(best)
        if verdict is None:
            return self._result(chosen, best, headline=self._headline(best))
        return self._result(chosen, best, verdict=verdict)

    def _price_baseline(self, repeat: int) -> Point:
        """HF transformers fp32 at batch 1 (round ``repeat``; 0 when no round is measured). The first one measured
        is the waterfall's first step."""
        what = "baseline" if repeat == 0 else f"round {repeat}: baseline"
        self.log(f"{what}: HF transformers fp32, batch 1, on {_label(self.model)}")
        pt = self.price(self.base, what, engine="transformers", options={"dtype": "float32"},
                        requests=self.cfg.baseline_requests, repeat=repeat)
        if self.baseline is None:
            self.baseline = pt
            self.waterfall[:0] = [self._step("baseline", "HF transformers fp32, batch 1", None, pt),
                                  self._step("engine", "llama.cpp, same float weights, batch 1", pt, self.engine_pt)]
        return pt

    def _gate_files(self, model: ModelInfo, ref: ModelInfo) -> list[Config]:
        """The given file, its quantizations and its descendants in size order, each gated on fidelity; those that passed."""
        cfg, lab = self.cfg, self.lab
        arts = [model] + [lab.artifact("quantize", ref.path, {"type": t}) for t in cfg.types]
        if cfg.ledger_artifacts:
            arts += lab.descendants(model)
        seen, uniq = set(), []
        for a in sorted(arts, key=lambda a: (a.size_bytes or 0, a.path)):
            if a.sha256 not in seen and a.sha256 != ref.sha256:
                seen.add(a.sha256)
                uniq.append(a)
        passing: list[Config] = []
        for a in uniq:
            if lab.over_budget():
                self.budget_hit = True
                break
            label = _label(a) + (" (given)" if a.sha256 == model.sha256 else "")
            self.log(f"gate: {label} (fidelity)")
            q = self.fidelity(a, ref, {}, label)
            self.candidates.append(Candidate(label=label, path=a.path, sha256=a.sha256, size_bytes=a.size_bytes,
                                             quant_type=a.quant_type, **q.model_dump()))
            if q.passed:
                passing.append(Config(a, label, concurrency=cfg.probe_concurrency, quality=q))
        return passing

    def _probe(self, passing: list[Config]) -> tuple[Config | None, Point | None]:
        """Rank the files that passed fidelity at the probe concurrency, then grade tasks cheapest first: the first
        file that passes is kept (a task pass costs a minute; the rest are not graded). The kept file is priced at
        1 stream too, and measured once more at the probe: the run-to-run noise every later lever has to clear."""
        lab, pc = self.lab, self.cfg.probe_concurrency
        probes = []
        for c in passing:
            if lab.over_budget() and probes:
                self.budget_hit = True
                break
            self.log(f"probe: {c.label} at {pc} streams")
            probes.append((self.price(c, "probe"), c))
        current = best = None
        graded = False
        for pt, c in sorted(probes, key=lambda p: (_cost(p[0]), p[1].model.size_bytes or 0)):
            i = next(k for k, x in enumerate(self.candidates) if x.sha256 == c.model.sha256)
            if best is not None or (graded and lab.over_budget()):
                why = "a cheaper file passed them" if best is not None else "the time budget ran out"
                self.candidates[i].checks.append(f"tasks: not graded ({why})")
                continue
            self.log(f"gate: {c.label} (tasks)")
            c.quality = self.tasks(c.quality, c.model, self.reference, {}, c.label)
            self.candidates[i] = Candidate(**(self.candidates[i].model_dump() | c.quality.model_dump()))
            graded = True
            if c.quality.passed:
                current, best = pt, c
        if best is None:
            return None, None
        if not lab.over_budget():  # (no lever is tried after the budget, so no noise is needed to judge one)
            self.log(f"noise: {best.label} at {pc} streams again")
            again = self.price(best, "noise (probe measured again)", repeat=1)
            if max(_cost(again), _cost(current)) < math.inf:
                self.noise = noise_sd([[_cost(current), _cost(again)]])
        self.log(f"quantize: {best.label} at 1 stream")
        one = self.price(Config(best.model, best.label, {}, 1, best.quality), "quantize")
        self.waterfall = [self._step("quantize", f"{_label(self.reference)} -> {best.label}, batch 1", self.engine_pt, one),
                          self._step("batching", f"1 -> {pc} concurrent streams", one, current)]
        return best, current

    def _serving(self, best: Config, current: Point, ref: ModelInfo) -> Point:
        """Each serving lever on top of what was kept, taken only when its gain clears the measured noise."""
        lab, pc = self.lab, self.cfg.probe_concurrency
        for name, variants in self._serving_levers():
            for desc, opts in variants:
                if lab.over_budget():
                    self.budget_hit = True
                    break
                trial = Config(best.model, best.label, {**best.options, **opts}, pc, best.quality)
                if name == "kv cache":  # fidelity against the f16-KV reference; the served-path grade covers it too
                    self.log(f"gate: {best.label} with {desc} (fidelity)")
                    fk = self.fidelity(best.model, ref, {"kv_type": opts["kv_type"]}, f"{best.label}, {desc}")
                    q = best.quality
                    trial.quality = q.model_copy(update={"kld": fk.kld, "top1": fk.top1, "eval_runs": q.eval_runs + fk.eval_runs,
                                                         "checks": q.checks + [f"{desc}: {c}" for c in fk.checks],
                                                         "passed": q.passed and fk.passed})
                    if not trial.quality.passed:
                        self.levers.append(LeverTrial(lever=name, variant=desc, taken=False, why="fails the gate",
                                                      checks=trial.quality.checks))
                        continue
                self.log(f"{name}: {desc} at {pc} streams")
                pt = self.price(trial, name)
                taken, why = _better(name, current, pt, self.noise)
                self.levers.append(LeverTrial(lever=name, variant=desc, taken=taken, why=why, bench_run=pt.bench_run,
                                              factor=_cost(current) / _cost(pt) if _cost(pt) else None,
                                              blended_factor=_blend(current) / _blend(pt) if _blend(pt) else None))
                if taken:
                    self.waterfall.append(self._step(name, desc, current, pt))
                    best.options, best.quality, current = trial.options, trial.quality, pt
        return current

    def _batching(self, best: Config, current: Point) -> Point | None:
        """The kept configuration at each concurrency; the cheapest level within the SLO (None: none met it)."""
        cfg, lab = self.cfg, self.lab
        self.log(f"batching: {best.label} with the chosen options at {', '.join(map(str, cfg.concurrency))} streams")
        sweep = []
        for n in cfg.concurrency:
            if lab.over_budget():
                self.budget_hit = True
                break
            sweep.append(self.price(Config(best.model, best.label, best.options, n, best.quality), "batching sweep"))
        within = [p for p in sweep + [current] if p.slo_ok and p.usd_per_m_output is not None]
        if not within:
            return None
        chosen = min(within, key=_cost)
        if chosen is not current and chosen.bench_run != current.bench_run:
            self.waterfall.append(self._step("batching", f"{current.concurrency} -> {chosen.concurrency} concurrent streams",
                                             current, chosen))
        return chosen

    def _served_grade(self, best: Config, ref: ModelInfo) -> str | None:
        """Grade the chosen configuration through the serving engine at its settings (streams, prefix-cache hits,
        chunked prefill, KV type, speculation) against the reference at its defaults; the verdict if it failed."""
        g, n = self.cfg.gate, best.concurrency
        opts = self._options(best)
        self.log(f"served path: {best.label} as served ({n} streams, {served_requests(n)} requests) vs the float reference")
        run = self.lab.evaluate(EvalConfig(model=best.model.path, reference=ref.path, engine_options=opts, served=self.cfg.prompts,
                                           served_requests=served_requests(n), gate=Gate(max_kld=g.max_kld, min_top1=g.min_top1)),
                                f"served path: {best.label}")
        s = run.summary
        best.quality = best.quality.model_copy(update={
            "served": s.fidelity, "eval_runs": best.quality.eval_runs + [run.id],
            "checks": best.quality.checks + [f"served path: {c}" for c in s.gate.checks], "passed": best.quality.passed and s.gate.passed})
        if not s.gate.passed:
            return "the chosen configuration failed the quality gate as served: " + "; ".join(c for c in s.gate.checks if "FAIL" in c)
        return None

    def _headline(self, best: Config) -> Headline | None:
        """Baseline and chosen configuration in interleaved rounds of fresh runs; the ratios with 95% intervals."""
        b_pts, c_pts = [], []
        for r in range(1, self.cfg.rounds + 1):
            if self.lab.over_budget() and len(b_pts) >= 2:
                self.budget_hit = True
                break
            b_pts.append(self._price_baseline(r))
            self.log(f"round {r}: {best.label} at {best.concurrency} streams (of {self.cfg.rounds} rounds)")
            c_pts.append(self.price(best, f"round {r}: chosen", requests=max(32, math.ceil(self.cfg.requests_per_stream * best.concurrency)),
                                    repeat=r))
        ok = [(b, c) for b, c in zip(b_pts, c_pts) if b.usd_per_m_output and c.usd_per_m_output and b.usd_per_request and c.usd_per_request]
        if len(ok) < 2:
            return None
        bo, co = [b.usd_per_m_output for b, _ in ok], [c.usd_per_m_output for _, c in ok]
        br, cr = [b.usd_per_request for b, _ in ok], [c.usd_per_request for _, c in ok]
        return Headline(rounds=len(ok), baseline_runs=[b.bench_run for b, _ in ok], chosen_runs=[c.bench_run for _, c in ok],
                        baseline_usd_per_m_output=bo, chosen_usd_per_m_output=co, baseline_usd_per_request=br, chosen_usd_per_request=cr,
                        output=ratio(bo, co), per_request=ratio(br, cr),
                        baseline_output_share=float(sum(b.output_share or 0 for b, _ in ok) / len(ok)),
                        chosen_output_share=float(sum(c.output_share or 0 for _, c in ok) / len(ok)),
                        noise_pct=100 * (noise_sd([bo, co]) or 0.0))

    def _serving_levers(self):
        cfg = self.cfg
        yield "kv cache", [(f"KV cache {t}", {"kv_type": t}) for t in cfg.kv_types if t != "f16"]
        if cfg.prefix_cache and cfg.prompts.shared_prefix_tokens:
            yield "prefix cache", [(f"prefix cache ({cfg.prefix_cache} prompts, {cfg.prompts.shared_prefix_tokens}-token shared prefix)",
                                    {"prefix_cache": cfg.prefix_cache})]
        yield "threads", [(f"{t} threads", {"n_threads": t}) for t in cfg.threads if t != (os.cpu_count() or 1)]
        if cfg.speculative:
            yield "speculative", [("prompt-lookup speculation", {"speculative": "prompt-lookup"})]

    def _speculative_at_one(self, best: Config) -> None:
        """Plain vs prompt-lookup decoding of the same greedy requests at one stream: is the text identical, how fast."""
        self.log("speculative: prompt lookup vs plain at 1 stream")
        plain = Config(best.model, best.label, {k: v for k, v in best.options.items() if k != "speculative"}, 1, best.quality)
        spec = Config(best.model, best.label, {**plain.options, "speculative": "prompt-lookup"}, 1, best.quality)
        a = self.price(plain, "speculative (plain, 1 stream)")
        b = self.price(spec, "speculative (prompt lookup, 1 stream)")
        texts = self.lab.outputs(a.bench_run), self.lab.outputs(b.bench_run)
        same = sum(1 for k, v in texts[0].items() if texts[1].get(k) == v)
        self.speculative = Speculative(plain_run=a.bench_run, speculative_run=b.bench_run, requests=len(texts[0]), identical=same,
                                       greedy_identical=same == len(texts[0]) and len(texts[0]) > 0,
                                       speedup=b.output_tokens_per_s / a.output_tokens_per_s if a.output_tokens_per_s else None,
                                       acceptance=b.draft_acceptance, plain_tok_s=a.output_tokens_per_s,
                                       speculative_tok_s=b.output_tokens_per_s)

    def _step(self, lever: str, desc: str, before: Point | None, after: Point) -> Step:
        factor = None if before is None or not _cost(after) else _cost(before) / _cost(after)
        return Step(lever=lever, change=desc, factor=factor, **after.model_dump(include={
            "usd_per_m_output", "usd_per_m_input", "usd_per_m_blended", "bench_run", "concurrency", "label"}))

    def partial(self) -> OptimizeSummary:
        """What an interrupted search had measured."""
        return OptimizeSummary(points=self.points, candidates=self.candidates)

    def _result(self, chosen: Point | None, best: Config | None = None, headline: Headline | None = None,
                verdict: str | None = None) -> OptimizeSummary:
        if self.baseline is None:  # no round was measured: the baseline once, for the record
            self._price_baseline(0)
        base = self.baseline.usd_per_m_output
        if chosen is not None and verdict is None and headline is None:
            verdict = "fewer than two rounds of the headline were measured (time budget)"
        res = OptimizeSummary(model=self.model, reference=self.reference, baseline=self.baseline, engine_point=self.engine_pt,
                              candidates=self.candidates, points=self.points, levers=self.levers, waterfall=self.waterfall,
                              speculative=self.speculative, budget_hit=self.budget_hit, headline=headline, verdict=verdict,
                              noise_pct=None if self.noise is None else 100 * self.noise)
        if chosen is None:
            return res
        res.chosen = Chosen(**chosen.model_dump(exclude={"options"}), options=best.options, quality=best.quality,
                            ratio=base / chosen.usd_per_m_output if chosen.usd_per_m_output else None)
        priced = [i for i, p in enumerate(self.points) if p.usd_per_m_output and p.slo_ok]
        res.pareto_quality = pareto(self.points, priced, "kld")
        res.pareto_latency = pareto(self.points, priced, "tpot_p50_s")
        return res


def _cost(p: Point) -> float:
    return p.usd_per_m_output if p.usd_per_m_output is not None else math.inf


def _blend(p: Point) -> float:
    return p.usd_per_m_blended if p.usd_per_m_blended is not None else math.inf


def _better(lever: str, before: Point, after: Point, noise: float | None) -> tuple[bool, str]:
    """Is ``after`` worth taking? Within the SLO (or rescuing a miss), and cheaper by more than the measured
    run-to-run noise, per output token and without shifting cost onto input tokens (the hour is split by
    prefill/decode time share, so a lever that slows prefill can lower the output price alone). The prefix
    cache saves prefill, which input tokens pay for, so it is judged on the blended price, allowing the
    output price to move within the noise."""
    if not after.slo_ok and before.slo_ok:
        return False, "misses the SLO"
    if after.slo_ok and not before.slo_ok:
        return True, "meets the SLO the configuration before it missed"
    if lever == "prefix cache":
        ok = _blend(after) < math.inf and clears_noise(_blend(before), _blend(after), noise) and not clears_noise(_cost(after), _cost(before), noise)
        return ok, "cheaper blended beyond the noise (prefill saved)" if ok else "not cheaper blended beyond the noise"
    if _cost(after) >= _cost(before):
        return False, "not cheaper per output token"
    if not clears_noise(_cost(before), _cost(after), noise):
        return False, "cheaper per output token, but within the measured run-to-run noise"
    if _blend(after) > _blend(before):
        return False, "cheaper output only by moving time to prefill (blended price rises)"
    return True, "cheaper beyond the noise and within the SLO"


def pareto(points: list[Point], idx: list[int], key: str) -> list[int]:
    """Indices of the points no other point beats on both $/M output and ``key`` (lower is better for both)."""
    val = {i: getattr(points[i], key) for i in idx}
    have = [i for i in idx if val[i] is not None]
    front = []
    for i in have:
        ci, ki = points[i].usd_per_m_output, val[i]
        if not any((points[j].usd_per_m_output <= ci and val[j] <= ki) and
                   (points[j].usd_per_m_output < ci or val[j] < ki) for j in have):
            front.append(i)
    return sorted(front, key=lambda i: points[i].usd_per_m_output)


def assumptions(c: OptimizeConfig) -> list[str]:
    """The conditions every number of an optimize run holds under, stored with it."""
    p, g = c.prompts, c.gate
    return [
        f"workload: {p.input_tokens} prompt tokens ({p.shared_prefix_tokens} of them a prefix shared by every request), "
        f"{p.output_tokens} output tokens, greedy, closed-loop load at each concurrency",
        f"{c.requests_per_stream:g} requests per stream at each level (at least 8); the baseline sends {c.baseline_requests}",
        f"headline: baseline and chosen configuration in {c.rounds} interleaved rounds of fresh runs (the chosen one with at least "
        "32 requests); ratio of geometric means with a 95% Welch-t interval on log costs",
        f"gate: mean KLD <= {g.max_kld} nats/token vs the float weights on {c.tokens} tokens of text, and as served"
        + ("; non-inferiority on " + ", ".join(t.source.rsplit('/', 1)[-1] for t in c.tasks)
           + f": the accuracy drop's one-sided {1 - g.alpha:.0%} upper bound below {g.max_acc_drop} points, on tasks the reference "
           "does clearly above chance" if c.tasks else "; no task given, so no accuracy check"),
        f"SLO: TTFT <= {c.slo.ttft_s} s and TPOT <= {c.slo.tpot_s} s for at least {c.slo_attainment:.0%} of requests",
        "a file failing fidelity is not benchmarked; tasks are graded cheapest file first until one passes; a serving lever is "
        "kept only if its gain clears the measured run-to-run noise",
        "cost per output token: the hour split by measured prefill/decode time share (baseline per request by TTFT, llama.cpp per "
        "step by token counts; see docs/methodology.md); cost per request: the hour over requests served, no split",
    ]
