"""The optimize search: what it is asked, and what it found (points, candidates, levers, waterfall, choice)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tokenfall.types.base import MAX_REQUESTS, MAX_TOKENS, Model, Settings
from tokenfall.types.quality import Fidelity, Gate, TaskSpec
from tokenfall.types.serving import ModelInfo, PriceSpec, Prompts, Slo


class OptimizeConfig(Settings):
    """The search `tokenfall optimize` runs; stored verbatim, so an identical rerun resumes it."""

    model: str | None = None
    types: list[str] = Field(default_factory=lambda: ["q8_0", "q6_k", "q4_k_m", "q4_0"])  # quantized candidates
    ledger_artifacts: bool = True   # also try pruned/distilled/quantized files of this model already in the ledger
    concurrency: list[Annotated[int, Field(ge=1, le=256)]] = Field(default_factory=lambda: [1, 16, 64, 128], min_length=1)
    probe_concurrency: int = Field(16, ge=1, le=256)  # where artifacts are ranked and serving levers tried
    kv_types: list[str] = Field(default_factory=lambda: ["q8_0"])  # tried against f16
    threads: list[Annotated[int, Field(ge=1, le=1024)]] = Field(default_factory=lambda: [1])  # tried against all cores
    prefix_cache: int = Field(4, ge=0, le=64)  # cached prompts tried (0 = lever off)
    speculative: bool = True        # prompt lookup, measured at 1 stream and at the chosen concurrency
    prompts: Prompts = Field(default_factory=lambda: Prompts(input_tokens=80, output_tokens=64, shared_prefix_tokens=64))
    requests_per_stream: float = Field(1.5, gt=0, le=1000)
    baseline_requests: int = Field(4, ge=1, le=MAX_REQUESTS)
    rounds: int = Field(3, ge=2, le=20)  # interleaved repeats of baseline and chosen behind the headline interval
    tokens: int = Field(4096, ge=1, le=100 * MAX_TOKENS)  # fidelity tokens per candidate
    tasks: list[TaskSpec] = Field(default_factory=list)
    gate: Gate = Field(default_factory=lambda: Gate(max_kld=0.05, max_acc_drop=2.0))
    slo: Slo = Field(default_factory=lambda: Slo(ttft_s=3.0, tpot_s=0.25))
    slo_attainment: float = Field(0.9, gt=0, le=1)  # share of requests that must meet the SLO
    price: PriceSpec = Field(default_factory=PriceSpec)
    time_budget_s: float | None = Field(None, gt=0)


class TaskQuality(Model):
    """A gate task's outcome for one file, paired with the float reference."""

    acc: float
    n: int | None = None
    reference_acc: float | None = None
    diff_pp: float | None = None
    p_value: float | None = None
    significant_drop: bool | None = None
    drop_upper_pp: float | None = None  # one-sided upper bound of the drop, against the margin
    detectable_pp: float | None = None  # the drop this sample detects with 80% power
    chance: float | None = None
    informative: bool = True  # the reference does it clearly above chance (else it cannot show a drop)


class Quality(Model):
    """What the gate saw of one (file, KV type): fidelity, tasks, the eval runs behind them, the verdict."""

    kld: float | None = None
    top1: float | None = None
    tasks: dict[str, TaskQuality] = Field(default_factory=dict)
    eval_runs: list[str] = Field(default_factory=list)
    checks: list[str] = Field(default_factory=list)
    passed: bool = False
    served: Fidelity | None = None  # the chosen configuration graded through the serving engine at its settings


class Candidate(Quality):
    """A gated file (the given one, a quantization, a descendant from the ledger)."""

    label: str
    path: str | None
    sha256: str | None
    size_bytes: int | None = None
    quant_type: str | None = None


class Point(Model):
    """One priced (configuration, concurrency) of the search: a bench run's level, with its cost and latency."""

    label: str
    what: str
    model: str | None
    sha256: str | None
    engine: str
    options: dict
    concurrency: int
    bench_run: str
    usd_per_m_output: float | None
    usd_per_m_input: float | None
    usd_per_m_blended: float | None
    output_tokens_per_s: float
    ttft_p90_s: float | None
    tpot_p50_s: float | None
    tpot_p90_s: float | None
    slo_attainment: float | None
    slo_ok: bool
    tokens_cached: int | None = None
    draft_acceptance: float | None = None
    usd_per_request: float | None = None  # all-in: the hour's price over requests served per hour (no split)
    output_share: float | None = None  # share of the hour output tokens pay
    kld: float | None = None
    tasks: dict[str, TaskQuality] = Field(default_factory=dict)


class Chosen(Point):
    quality: Quality
    ratio: float | None  # baseline $/M output / chosen $/M output, as the search measured them once


class Ratio(Model):
    """Baseline cost / chosen cost over interleaved rounds: the ratio of geometric means and its 95%
    interval (Welch t on log costs)."""

    value: float
    low: float
    high: float


class Headline(Model):
    """The claim measured again: baseline and chosen configuration in interleaved rounds of fresh runs (not
    the search's own picks, whose minimum over noisy runs would flatter the ratio)."""

    rounds: int
    baseline_runs: list[str]
    chosen_runs: list[str]
    baseline_usd_per_m_output: list[float]
    chosen_usd_per_m_output: list[float]
    baseline_usd_per_request: list[float]
    chosen_usd_per_request: list[float]
    output: Ratio        # $/M output tokens: depends on how each engine splits the hour between input and output
    per_request: Ratio   # all-in cost of one request at the workload: needs no split
    baseline_output_share: float  # share of the hour output tokens pay, baseline (mean over rounds)
    chosen_output_share: float
    noise_pct: float     # run-to-run spread of one configuration's cost (pooled sd of log cost), %


class Step(Model):
    """A bar of the cost waterfall: the configuration after one lever, and its factor over the step before."""

    lever: str
    change: str
    usd_per_m_output: float | None
    factor: float | None
    usd_per_m_input: float | None
    usd_per_m_blended: float | None
    bench_run: str
    concurrency: int
    label: str


class LeverTrial(Model):
    """A serving lever tried at the probe concurrency: taken or not, and why."""

    lever: str
    variant: str
    taken: bool
    why: str
    bench_run: str | None = None
    factor: float | None = None
    blended_factor: float | None = None
    checks: list[str] | None = None


class Speculative(Model):
    plain_run: str
    speculative_run: str
    requests: int
    identical: int
    greedy_identical: bool
    speedup: float | None
    acceptance: float | None
    plain_tok_s: float
    speculative_tok_s: float


class SubRun(Model):
    label: str
    kind: str
    id: str
    reused: bool
    created: str | None = None  # when a reused run was measured


class OptimizeSummary(Model):
    """What `tokenfall optimize` found; an interrupted search stores the points and candidates it had."""

    model: ModelInfo | None = None
    reference: ModelInfo | None = None
    baseline: Point | None = None
    engine_point: Point | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    points: list[Point] = Field(default_factory=list)
    levers: list[LeverTrial] = Field(default_factory=list)
    waterfall: list[Step] = Field(default_factory=list)
    speculative: Speculative | None = None
    budget_hit: bool = False
    chosen: Chosen | None = None
    headline: Headline | None = None  # only for a chosen configuration that met the SLO and passed the served-path gate
    verdict: str | None = None  # why there is no headline
    noise_pct: float | None = None  # run-to-run spread measured at the probe, which levers had to clear
    pareto_quality: list[int] = Field(default_factory=list)  # indices into points
    pareto_latency: list[int] = Field(default_factory=list)
    runs: list[SubRun] = Field(default_factory=list)
    elapsed_s: float | None = None
    reused: int = 0
    assumptions: list[str] = Field(default_factory=list)
