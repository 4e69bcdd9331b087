"""Quality: fidelity to a reference, task results paired with it, the gate, an eval's config and summary."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tokenfall.types.base import MAX_REQUESTS, MAX_TOKENS, Model, Settings
from tokenfall.types.serving import ModelInfo, Prompts


class Fidelity(Model):
    """Candidate vs reference next-token distributions on the same tokens (KLD in nats per token): windows
    of a text, or (served path) the continuations the serving engine wrote at its serving settings."""

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
    path: Literal["text", "served"] = "text"  # windows of a text, or the tokens the serving engine wrote
    sequences: int | None = None  # served path: requests graded
    sequences_identical: int | None = None  # served path: requests whose every token is the reference's top-1
    tokens_cached: int | None = None  # served path: prompt tokens the prefix cache supplied


class Paired(Model):
    """Candidate vs reference on the same items: the one-sided upper bound of the accuracy drop (what the
    non-inferiority gate reads) and the drop this sample could detect; McNemar's exact test on the
    discordant items, and a paired-bootstrap 95% interval of the difference (candidate - reference, pp)."""

    reference_acc: float
    diff_pp: float
    diff_ci_pp: tuple[float, float]
    ref_only: int  # items the reference got right and the candidate wrong
    cand_only: int
    p_value: float
    significant_drop: bool
    drop_upper_pp: float | None = None  # one-sided (1 - alpha) upper bound of reference - candidate, pp
    detectable_pp: float | None = None  # the drop detected with 80% power at this sample's disagreement rate


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
    chance: float | None = None  # accuracy of guessing (mean 1/choices); None for generation tasks


class Gate(Settings):
    """Quality floor; unset bounds are not checked. Accuracy is gated on non-inferiority: the drop's
    one-sided (1 - alpha) upper bound must stay below ``max_acc_drop``, on tasks the reference does above chance."""

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
    engine_options: dict = Field(default_factory=dict)  # the candidate's
    # The reference's own options (default: the engine's defaults). A lever under test, such as a quantized KV
    # cache, is applied to the candidate only; graded the same way on both sides, its error would cancel out.
    reference_options: dict = Field(default_factory=dict)
    texts: list[str] = Field(default_factory=list)  # fidelity text files; empty = the built-in set
    # Fidelity on the served path instead of a text: the llama.cpp engine at engine_options writes greedy
    # continuations of this workload (``served_requests`` requests, all at once) and the reference scores them
    served: Prompts | None = None
    served_requests: int = Field(32, ge=1, le=MAX_REQUESTS)
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
