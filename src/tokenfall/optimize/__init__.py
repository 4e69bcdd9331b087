"""The search behind `tokenfall optimize`: the cheapest configuration that passes the quality gate and the SLO.

Coordinate descent over one lever at a time, in a fixed order, so a run is deterministic and every step of
the cost waterfall is a measured pair of configurations:

1. baseline: HF transformers fp32 at batch 1 on the given weights (the naive way to serve them);
2. engine: llama.cpp on the float weights at batch 1;
3. artifacts (the given file, its quantizations, its descendants in the ledger) are gated on fidelity to the
   float weights first, then on tasks; a file that fails is never benchmarked. Survivors are priced at one
   probe concurrency and the cheapest is kept (and priced at 1 stream, for the quantize step);
4. serving levers at the probe concurrency, each kept only when it is cheaper and still passes: KV-cache
   type (gated again, since it changes the numbers), prefix cache, thread count, prompt-lookup speculation;
5. batching: a concurrency sweep of the kept configuration, the cheapest level meeting the SLO;
6. prompt lookup vs plain decoding at 1 stream: identical text, speed-up.

Measurements come through a ``Lab`` that reuses identical completed runs from the ledger, which is what makes
an interrupted search resumable.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Callable, Protocol

from tokenfall.types import (
    BenchConfig,
    Candidate,
    Chosen,
    EvalConfig,
    Gate,
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

    # ---- measuring --------------------------------------------------------------------------

    def _options(self, c: Config) -> dict:
        p, parallel = self.cfg.prompts, c.concurrency
        o = {"parallel": parallel, **c.options}
        draft = o.get("n_draft", 4) if o.get("speculative", "none") != "none" else 0
        o["seq_ctx"] = 256 * math.ceil((p.input_tokens + p.output_tokens + draft + 8) / 256)
        o["n_batch"] = max(512, parallel * (1 + draft))
        return o

    def price(self, c: Config, what: str, engine: str = "llamacpp", options: dict | None = None,
              requests: int | None = None) -> Point:
        """Bench ``c`` at its concurrency; the priced point (also kept in ``points``)."""
        n = c.concurrency
        load = Load(concurrency=n, requests=requests or max(8, int(self.cfg.requests_per_stream * n)), warmup_requests=min(n, 4))
        bc = BenchConfig(model=c.model.path, engine=engine, loads=[load], prompts=self.cfg.prompts, slo=self.cfg.slo,
                         price=self.cfg.price, engine_options=options if options is not None else self._options(c))
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
                   tasks=c.quality.tasks)
        self.points.append(pt)
        return pt

    def gate(self, model: ModelInfo, reference: ModelInfo, options: dict, label: str) -> Quality:
        """Fidelity first; tasks only for what passed it."""
        g = self.cfg.gate
        fid = self.lab.evaluate(EvalConfig(model=model.path, reference=reference.path, tokens=self.cfg.tokens, engine_options=options,
                                           gate=Gate(max_kld=g.max_kld, min_top1=g.min_top1, max_ppl_ratio=g.max_ppl_ratio)),
                                f"fidelity: {label}")
        s = fid.summary
        q = Quality(kld=s.fidelity.kld_mean, top1=s.fidelity.top1_agreement, eval_runs=[fid.id], checks=list(s.gate.checks),
                    passed=s.gate.passed)
        if q.passed and self.cfg.tasks:
            t = self.lab.evaluate(EvalConfig(model=model.path, reference=reference.path, fidelity=False, tasks=self.cfg.tasks,
                                             engine_options=options, gate=Gate(max_acc_drop=g.max_acc_drop, alpha=g.alpha)),
                                  f"tasks: {label}")
            ts = t.summary
            q.eval_runs.append(t.id)
            q.checks += ts.gate.checks
            q.passed = ts.gate.passed
            q.tasks = {r.name: TaskQuality(acc=r.acc, **(r.paired.model_dump(include={"reference_acc", "diff_pp", "p_value",
                                                                                       "significant_drop"}) if r.paired else {}))
                       for r in ts.tasks}
        return q

    # ---- the search -------------------------------------------------------------------------

    def run(self) -> dict:
        cfg, lab = self.cfg, self.lab
        model = self.model = lab.resolve(cfg.model)
        ref = self.reference = lab.reference(model)
        self.log(f"baseline: HF transformers fp32, batch 1, on {_label(model)}")
        base = Config(model, f"{_label(model)} on transformers fp32")
        baseline = self.price(base, "baseline", engine="transformers", options={"dtype": "float32"},
                              requests=cfg.baseline_requests)
        self.log("engine: llama.cpp on the float weights, batch 1")
        float_q = Quality(kld=0.0, top1=1.0, passed=True, checks=["the reference itself"])
        engine_pt = self.price(Config(ref, _label(ref), quality=float_q), "engine")
        self.baseline, self.engine_pt = baseline, engine_pt

        arts = [model] + [lab.artifact("quantize", ref.path, {"type": t}) for t in cfg.types]
        if cfg.ledger_artifacts:
            arts += lab.descendants(model)
        seen, uniq = set(), []
        for a in sorted(arts, key=lambda a: (a.size_bytes or 0, a.path)):
            if a.sha256 not in seen and a.sha256 != ref.sha256:
                seen.add(a.sha256)
                uniq.append(a)
        passing: list[Config] = []
        pc = cfg.probe_concurrency
        for a in uniq:
            if lab.over_budget():
                self.budget_hit = True
                break
            label = _label(a) + (" (given)" if a.sha256 == model.sha256 else "")
            self.log(f"gate: {label}")
            q = self.gate(a, ref, {}, label)
            self.candidates.append(Candidate(label=label, path=a.path, sha256=a.sha256, size_bytes=a.size_bytes,
                                             quant_type=a.quant_type, **q.model_dump()))
            if q.passed:
                passing.append(Config(a, label, concurrency=pc, quality=q))
        if not passing:
            return self._result(None)

        probes = []
        for c in passing:
            if lab.over_budget() and probes:
                self.budget_hit = True
                break
            self.log(f"probe: {c.label} at {pc} streams")
            probes.append((self.price(c, "probe"), c))
        current, best = min(probes, key=lambda p: (_cost(p[0]), p[1].model.size_bytes or 0))
        self.log(f"quantize: {best.label} at 1 stream")
        one = self.price(Config(best.model, best.label, {}, 1, best.quality), "quantize")
        self.waterfall = [self._step("baseline", "HF transformers fp32, batch 1", None, baseline),
                          self._step("engine", "llama.cpp, same float weights, batch 1", baseline, engine_pt),
                          self._step("quantize", f"{_label(ref)} -> {best.label}, batch 1", engine_pt, one),
                          self._step("batching", f"1 -> {pc} concurrent streams", one, current)]

        for name, variants in self._serving_levers():
            for desc, opts in variants:
                if lab.over_budget():
                    self.budget_hit = True
                    break
                trial = Config(best.model, best.label, {**best.options, **opts}, pc, best.quality)
                if name == "kv cache":
                    self.log(f"gate: {best.label} with {desc}")
                    trial.quality = self.gate(best.model, ref, {"kv_type": opts["kv_type"]}, f"{best.label}, {desc}")
                    if not trial.quality.passed:
                        self.levers.append(LeverTrial(lever=name, variant=desc, taken=False, why="fails the gate",
                                                      checks=trial.quality.checks))
                        continue
                self.log(f"{name}: {desc} at {pc} streams")
                pt = self.price(trial, name)
                taken, why = _better(name, current, pt)
                self.levers.append(LeverTrial(lever=name, variant=desc, taken=taken, why=why, bench_run=pt.bench_run,
                                              factor=_cost(current) / _cost(pt) if _cost(pt) else None,
                                              blended_factor=_blend(current) / _blend(pt) if _blend(pt) else None))
                if taken:
                    self.waterfall.append(self._step(name, desc, current, pt))
                    best.options, best.quality, current = trial.options, trial.quality, pt

        self.log(f"batching: {best.label} with the chosen options at {', '.join(map(str, cfg.concurrency))} streams")
        sweep = []
        for n in cfg.concurrency:
            if lab.over_budget():
                self.budget_hit = True
                break
            sweep.append(self.price(Config(best.model, best.label, best.options, n, best.quality), "batching sweep"))
        within = [p for p in sweep + [current] if p.slo_ok]
        chosen = min(within, key=_cost) if within else current
        if chosen is not current and chosen.bench_run != current.bench_run:
            self.waterfall.append(self._step("batching", f"{pc} -> {chosen.concurrency} concurrent streams", current, chosen))
        best.concurrency = chosen.concurrency
        if cfg.speculative and not lab.over_budget():
            self._speculative_at_one(best)
        return self._result(chosen, best)

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

    def _result(self, chosen: Point | None, best: Config | None = None) -> OptimizeSummary:
        base = self.baseline.usd_per_m_output
        res = OptimizeSummary(model=self.model, reference=self.reference, baseline=self.baseline, engine_point=self.engine_pt,
                              candidates=self.candidates, points=self.points, levers=self.levers, waterfall=self.waterfall,
                              speculative=self.speculative, budget_hit=self.budget_hit)
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


def _better(lever: str, before: Point, after: Point) -> tuple[bool, str]:
    """Is ``after`` worth taking? Within the SLO (or rescuing a miss), and cheaper per output token without
    shifting cost onto input tokens (the hour is split by prefill/decode time share, so a lever that slows
    prefill can lower the output price alone). The prefix cache saves prefill, which input tokens pay for,
    so it is judged on the blended price, allowing output-price noise of 5%."""
    if not after.slo_ok and before.slo_ok:
        return False, "misses the SLO"
    if after.slo_ok and not before.slo_ok:
        return True, "meets the SLO the configuration before it missed"
    if lever == "prefix cache":
        ok = _blend(after) < _blend(before) and _cost(after) <= 1.05 * _cost(before)
        return ok, "cheaper blended (prefill saved)" if ok else "not cheaper blended"
    if _cost(after) >= _cost(before):
        return False, "not cheaper per output token"
    if _blend(after) > _blend(before):
        return False, "cheaper output only by moving time to prefill (blended price rises)"
    return True, "cheaper and within the SLO"


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
        f"gate: mean KLD <= {g.max_kld} nats/token vs the float weights on {c.tokens} tokens"
        + (f"; no significant accuracy drop (paired, alpha {g.alpha}) on " + ", ".join(t.source.rsplit('/', 1)[-1] for t in c.tasks)
           if c.tasks else "; no task given, so no accuracy check"),
        f"SLO: TTFT <= {c.slo.ttft_s} s and TPOT <= {c.slo.tpot_s} s for at least {c.slo_attainment:.0%} of requests",
        "a file failing the gate is not benchmarked; a serving lever is kept only if it is cheaper and within the SLO",
        "cost per output token: the hour split by measured prefill/decode time share (see docs/methodology.md)",
    ]
