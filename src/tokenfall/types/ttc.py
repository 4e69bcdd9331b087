"""Test-time compute: what a ttc run is asked (samples per problem, selection, tree search) and what it stores."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tokenfall.types.base import MAX_TOKENS, Model, Settings
from tokenfall.types.quality import TaskSpec
from tokenfall.types.serving import ModelInfo, PriceSpec, Pricing


class TtcConfig(Settings):
    """Everything that defines a ttc run; stored verbatim, and a rerun of the same config resumes it."""

    model: str | None = None
    engine: str = "llamacpp"
    engine_options: dict = Field(default_factory=dict)
    task: TaskSpec
    extract: str | None = None  # regex whose group 1 (else the whole match) is a JSONL task's answer
    n: int = Field(64, ge=1, le=10_000)  # samples per problem
    ks: list[int] = Field(default_factory=list)  # points of the curves; empty = powers of two up to n, and n
    temperature: float = Field(0.8, ge=0, le=5)
    top_p: float = Field(0.95, gt=0, le=1)
    max_tokens: int = Field(256, ge=1, le=MAX_TOKENS)
    seed: int = 0
    verifier: str | None = None  # "self" (the sampled model, prompted to check) or a model reference; None = no verifier
    accept: float = Field(0.5, gt=0, lt=1)  # early stopping: a verifier score at or above this accepts
    search: list[Literal["beam", "mcts"]] = Field(default_factory=list)
    search_budget: int = Field(512, ge=1, le=MAX_TOKENS)  # generated tokens per problem for tree search
    search_problems: int | None = Field(None, ge=1)  # tree search on the first N problems (default all)
    beam_width: int = Field(4, ge=1, le=64)
    beam_expand: int = Field(4, ge=1, le=64)
    vs: str | None = None  # a second (larger) model sampled vs_n times per problem, for "small x N vs large x 1"
    vs_n: int = Field(4, ge=1, le=1000)
    budget_usd: float | None = Field(None, gt=0)  # per problem: the best strategy within it
    target: float | None = Field(None, gt=0, le=1)  # accuracy: the cheapest strategy reaching it
    price: PriceSpec = Field(default_factory=PriceSpec)

    @model_validator(mode="after")
    def _consistent(self):
        if any(k < 1 or k > self.n for k in self.ks):
            raise ValueError(f"every k must be within 1..n={self.n}")
        if self.search and self.search_budget < self.max_tokens and self.search_budget < 8:
            raise ValueError(f"search_budget={self.search_budget} tokens cannot pay for one reasoning step")
        return self


class Problem(Model):
    """One problem's samples, stored as it completes (a rerun continues from the problems stored)."""

    index: int
    answer: str
    prompt_tokens: int  # the prompt's length
    prompt_computed: int  # prompt tokens the engine computed for all n samples (prefill once: = prompt_tokens)
    texts: list[str]
    answers: list[str | None]
    correct: list[bool]
    tokens: list[int]  # generated tokens per sample
    logprobs: list[float | None]
    prefill_s: float  # engine seconds on the prompt
    decode_s: float  # engine seconds decoding all n samples
    wall_s: float
    scores: dict[str, float] = Field(default_factory=dict)  # verifier P(correct) per distinct answer
    verify_s: float = 0.0  # verifier seconds for those answers
    verify_tokens: int = 0


class Searched(Model):
    """One problem solved by tree search: the chosen answer and what it spent."""

    index: int
    method: Literal["beam", "mcts"]
    answer: str | None
    correct: bool
    tokens: int  # generated
    prompt_computed: int
    seconds: float  # engine seconds
    nodes: int


class TtcPoint(Model):
    """A strategy at k samples (or a tree search at its budget): accuracy over problems with a bootstrap 95%
    interval, and mean spend per problem."""

    strategy: str
    k: int
    acc: float
    lo: float
    hi: float
    tokens: float  # computed per problem: prompt tokens + generated (+ verifier)
    seconds: float  # engine seconds per problem
    usd: float  # per problem
    deployable: bool = True  # coverage (pass@k) needs the answer key: a ceiling, not a strategy


class Comparison(Model):
    """The larger model sampled once per problem against the small one at the same cost per problem."""

    model: ModelInfo
    acc: float
    lo: float
    hi: float
    usd: float
    small: TtcPoint | None  # the small model's best deployable point costing at most as much
    k_equal_cost: float  # samples of the small model that cost what one of the large one does


class TtcSummary(Model):
    model: ModelInfo
    engine: str
    task: str
    origin: str | None = None
    problems: int
    n: int
    temperature: float
    top_p: float
    max_tokens: int
    prompt_tokens: float  # mean prompt length
    prompt_computed: float  # mean prompt tokens computed per problem for all n samples
    samples_per_s: float
    output_tokens_per_s: float
    pricing: Pricing
    usd_per_engine_second: float
    points: list[TtcPoint] = Field(default_factory=list)
    coverage_fit: dict | None = None  # coverage ≈ exp(a·k^b): a, b, max_abs_error
    majority_plateau: int | None = None  # smallest k whose majority accuracy is within 1 pp of the best
    verifier: str | None = None
    choice: dict | None = None  # the compute-optimal strategy for budget_usd / target
    frontier: list[TtcPoint] = Field(default_factory=list)  # deployable points no cheaper point beats
    comparison: Comparison | None = None
    assumptions: list[str] = Field(default_factory=list)
