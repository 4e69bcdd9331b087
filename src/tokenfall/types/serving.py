"""Serving and measuring: models, engines, requests and their raw records, load, prices, a level's summary."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tokenfall.types.base import MAX_CONCURRENCY, MAX_REQUESTS, MAX_TOKENS, Model, Settings


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
    stats: dict = Field(default_factory=dict)  # counters as the run ended (a routed engine: requests per model)


class Request(Model):
    """One generation request. ``prompt_tokens`` lets in-process engines skip re-tokenising."""

    id: int
    prompt: str
    prompt_tokens: list[int] | None = None
    max_tokens: int = 32
    ignore_eos: bool = True
    temperature: float = 0.0
    top_p: float = Field(0.95, gt=0, le=1)
    seed: int = 0
    chat: bool = False
    logprobs: bool = False  # report each token's log-probability under the model (temperature 1, untruncated)


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
    logprob: float | None = None  # sum over this chunk's tokens, when the request asked for logprobs


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
    repeat: int = Field(0, ge=0)  # a repeated measurement of the same configuration (optimize's rounds): a distinct run
