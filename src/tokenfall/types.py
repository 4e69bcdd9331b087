"""The project's vocabulary: plain pydantic models shared by every layer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class Settings(Model):
    """What a user asks for: every number finite and in range, checked before anything loads or runs."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False)


# Bounds that keep a typo from allocating the machine away (a level of 10^12 requests, a 10^8-token prompt).
MAX_REQUESTS = 1_000_000
MAX_CONCURRENCY = 65_536
MAX_TOKENS = 1_048_576


class ModelInfo(Model):
    """What a model reference resolved to; sha256 identifies weights across runs."""

    ref: str
    kind: Literal["gguf", "hf", "remote"]
    path: str | None = None
    base_url: str | None = None
    name: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    n_params: int | None = None
    architecture: str | None = None
    quant_type: str | None = None
    context_length: int | None = None


class EngineInfo(Model):
    name: str
    version: str
    options: dict = Field(default_factory=dict)
    model: ModelInfo
    buffers: dict[str, float] = Field(default_factory=dict)  # MiB of weights per llama.cpp buffer type (CPU_REPACK...)


class Request(Model):
    """One generation request. ``prompt_tokens`` lets in-process engines skip re-tokenising."""

    id: int
    prompt: str
    prompt_tokens: list[int] | None = None
    max_tokens: int = 32
    ignore_eos: bool = True
    temperature: float = 0.0
    seed: int = 0
    chat: bool = False


class Chunk(Model):
    """A piece of streamed output; ``t`` is ``time.monotonic()`` when it reached the client."""

    t: float
    text: str = ""
    n_tokens: int = 0
    prompt_tokens: int | None = None  # server-reported usage, on the final chunk
    completion_tokens: int | None = None
    cached_tokens: int | None = None   # prompt tokens served from the prefix cache, on the final chunk
    draft_tokens: int | None = None    # speculative tokens proposed / accepted, on the final chunk
    draft_accepted: int | None = None
    finish_reason: str | None = None


class RequestRecord(Model):
    """Raw per-request timestamps (monotonic seconds); every metric is derived from these."""

    idx: int
    level: int = 0
    warmup: bool = False
    t_scheduled: float
    t_sent: float
    t_first: float | None = None
    t_last: float | None = None
    t_done: float | None = None
    token_times: list[float] = Field(default_factory=list)  # arrival time per output token
    n_in_usage: int | None = None
    n_out_usage: int | None = None
    n_in_tokenizer: int | None = None
    n_out_tokenizer: int | None = None
    output_text: str = ""
    n_cached: int | None = None
    n_drafted: int | None = None
    n_accepted: int | None = None
    error: str | None = None


class Load(Settings):
    """How load is offered: closed loop at a concurrency, or open loop at a rate."""

    mode: Literal["concurrency", "constant", "poisson"] = "concurrency"
    concurrency: int = Field(1, ge=1, le=MAX_CONCURRENCY)
    rate: float | None = Field(None, gt=0, le=1e6)
    max_concurrency: int | None = Field(None, ge=1, le=MAX_CONCURRENCY)  # cap on in-flight requests for open loop
    requests: int | None = Field(32, ge=1, le=MAX_REQUESTS)
    duration_s: float | None = Field(None, gt=0, le=7 * 86400)
    warmup_requests: int = Field(2, ge=0, le=MAX_REQUESTS)
    seed: int = 0

    @property
    def label(self) -> str:
        return f"c={self.concurrency}" if self.mode == "concurrency" else f"{self.mode} {self.rate}/s"


class Prompts(Settings):
    source: Literal["synthetic", "jsonl"] = "synthetic"
    path: str | None = None
    input_tokens: int = Field(32, ge=1, le=MAX_TOKENS)
    output_tokens: int = Field(32, ge=1, le=MAX_TOKENS)
    ignore_eos: bool = True
    chat: bool = False
    seed: int = 0
    shared_prefix_tokens: int = Field(0, ge=0, le=MAX_TOKENS)  # leading prompt tokens identical in every request


class Slo(Settings):
    ttft_s: float | None = Field(None, gt=0)
    tpot_s: float | None = Field(None, gt=0)
    e2e_s: float | None = Field(None, gt=0)


class Pricing(Model):
    """Inputs to the cost arithmetic; every field ends up in the assumptions list."""

    hardware: str | None = None
    usd_per_hour: float
    usd_per_hour_source: str
    includes_energy: bool
    watts: float
    watts_source: str
    usd_per_kwh: float = 0.15
    utilisation: float = 1.0


class Dist(Model):
    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    n: int = 0


class Cost(Model):
    usd_per_m_input: float | None
    usd_per_m_output: float | None
    usd_per_m_blended: float | None
    usd_per_hour_total: float
    prefill_share: float
    wh_per_m_output: float | None
    assumptions: list[str]
    run_id: str | None = None


class LevelSummary(Model):
    level: int
    label: str
    requests_ok: int
    requests_failed: int
    errors: dict[str, int]
    window_s: float
    requests_per_s: float
    input_tokens_per_s: float
    output_tokens_per_s: float
    total_tokens_per_s: float
    ttft_s: Dist
    itl_s: Dist
    tpot_excl_first_s: Dist
    tpot_incl_first_s: Dist
    e2e_s: Dist
    lateness_s: Dist
    tokens_in: int
    tokens_out: int
    tokens_out_tokenizer: int | None
    token_count_diff: int | None
    goodput_rps: float | None = None
    slo_attainment: float | None = None
    tokens_cached: int | None = None     # prompt tokens the prefix cache saved from prefill
    draft_acceptance: float | None = None  # accepted / proposed speculative tokens
    cost: Cost | None = None


class PriceSpec(Settings):
    hardware: str | None = None
    usd_per_hour: float | None = Field(None, ge=0)
    watts: float | None = Field(None, ge=0)
    usd_per_kwh: float = Field(0.15, ge=0)
    utilisation: float = Field(1.0, gt=0, le=1)


class BenchConfig(Settings):
    """Everything that defines a bench run; stored verbatim in the ledger."""

    model: str | None = None
    engine: str = "llamacpp"
    engine_options: dict = Field(default_factory=dict)
    tokenizer: str | None = None  # local model whose tokenizer counts tokens for a remote server
    loads: list[Load] = Field(default_factory=lambda: [Load()])
    prompts: Prompts = Field(default_factory=Prompts)
    slo: Slo = Field(default_factory=Slo)
    price: PriceSpec = Field(default_factory=PriceSpec)
    timeout_s: float = Field(300.0, gt=0)
    slo_attainment: float = Field(0.9, gt=0, le=1)  # share of requests that must meet the SLO (the verdict)


# ---- quality ----------------------------------------------------------------------------------


class Fidelity(Model):
    """Candidate vs reference next-token distributions on the same tokens (KLD in nats per token)."""

    reference: str
    reference_sha256: str | None
    tokens_evaluated: int
    tokens_scored: int
    kld_mean: float
    kld_sem: float
    kld_median: float
    kld_p99: float
    kld_max: float
    top1_agreement: float
    ppl: float
    ppl_reference: float
    ppl_ratio: float


class Paired(Model):
    """Candidate vs reference on the same items: McNemar's exact test on the discordant items, and a
    paired-bootstrap 95% interval of the difference (candidate - reference, percentage points)."""

    reference_acc: float
    diff_pp: float
    diff_ci_pp: tuple[float, float]
    ref_only: int  # items the reference got right and the candidate wrong
    cand_only: int
    p_value: float
    significant_drop: bool


class TaskResult(Model):
    name: str
    kind: str
    metric: str  # the primary metric's name, e.g. acc_norm
    n: int
    acc: float
    ci: tuple[float, float]  # Wilson 95%
    metrics: dict[str, float] = Field(default_factory=dict)
    items: str = ""  # per-item outcome of the primary metric, "1"/"0" in item order (for paired tests)
    items_digest: str = ""
    paired: Paired | None = None
    reference_items: str = ""  # the reference's per-item outcomes, reusable by later comparisons
    origin: str | None = None  # where a named data set's file came from (mirror, cache, download)


class Gate(Settings):
    """Quality floor; unset bounds are not checked. Accuracy drops count only when significant."""

    max_kld: float | None = Field(None, ge=0)
    min_top1: float | None = Field(None, ge=0, le=1)  # fraction, 0..1
    max_ppl_ratio: float | None = Field(None, gt=0)
    max_acc_drop: float | None = Field(None, ge=0, le=100)  # percentage points
    alpha: float = Field(0.05, gt=0, lt=1)


class GateVerdict(Model):
    passed: bool
    checks: list[str]  # one line per bound: value, bound, pass/fail


class TaskSpec(Settings):
    """One task: ``source`` is a JSONL path (choice, gen), a public data set's name (dataset: hellaswag,
    gsm8k) or a synthetic family (synth graded by log-likelihood over answer and distractors, synth-gen by
    exact match on generated text)."""

    kind: Literal["choice", "gen", "dataset", "synth", "synth-gen"]
    source: str
    limit: int | None = Field(None, ge=1, le=MAX_REQUESTS)
    shots: int = Field(0, ge=0, le=64)
    difficulty: int = Field(1, ge=1, le=3)
    seed: int = 0
    n: int = Field(200, ge=1, le=MAX_REQUESTS)  # synthetic items
    max_tokens: int = Field(256, ge=1, le=MAX_TOKENS)


class EvalConfig(Settings):
    model: str | None = None
    reference: str | None = None
    engine: str = "llamacpp"
    engine_options: dict = Field(default_factory=dict)
    texts: list[str] = Field(default_factory=list)  # fidelity text files; empty = the built-in set
    tokens: int = Field(20480, ge=1, le=100 * MAX_TOKENS)
    ctx: int = Field(512, ge=16, le=MAX_TOKENS)
    score_from: float = Field(0.5, ge=0, lt=1)
    fidelity: bool = True
    tasks: list[TaskSpec] = Field(default_factory=list)
    gate: Gate = Field(default_factory=Gate)
    lm_eval: list[str] = Field(default_factory=list)
    lm_eval_include: str | None = None  # directory of local lm-eval task YAMLs
    limit: int | None = Field(None, ge=1)  # lm-eval tasks: first N documents


class EvalSummary(Model):
    model: ModelInfo
    reference: ModelInfo | None = None
    engine: str
    fidelity: Fidelity | None = None
    tasks: list[TaskResult] = Field(default_factory=list)
    gate: GateVerdict | None = None


# ---- optimize ---------------------------------------------------------------------------------


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
    tokens: int = Field(4096, ge=1, le=100 * MAX_TOKENS)  # fidelity tokens per candidate
    tasks: list[TaskSpec] = Field(default_factory=list)
    gate: Gate = Field(default_factory=lambda: Gate(max_kld=0.05, max_acc_drop=0.0))
    slo: Slo = Field(default_factory=lambda: Slo(ttft_s=3.0, tpot_s=0.25))
    slo_attainment: float = Field(0.9, gt=0, le=1)  # share of requests that must meet the SLO
    price: PriceSpec = Field(default_factory=PriceSpec)
    time_budget_s: float | None = Field(None, gt=0)
