"""What the market and estimate commands are asked: the curve, an estimate, a scale-out."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tokenfall.types.base import MAX_CONCURRENCY, MAX_TOKENS, Settings


class CurveConfig(Settings):
    """The industry curve asked for: capability threshold, price kind, price sources, an own run to place."""

    threshold: str | None = None  # named capability (gpt-3, gpt-4 ...); min_mmlu replaces it
    min_mmlu: float | None = Field(None, ge=0, le=100)
    price_kind: Literal["input", "output", "blended"] = "blended"
    blend: str = "3:1"  # input:output weights of the blended price
    include_reasoning: bool = False
    open_only: bool = False
    prices_csv: str | None = None
    extend: bool = False   # the user's CSV on top of the bundled history
    litellm: bool = False  # add the installed LiteLLM price map
    with_run: str | None = None
    score: float | None = Field(None, ge=0, le=100)  # MMLU of the with_run model
    forecast: str | None = None  # YYYY-MM-DD
    seed: int = 0


class EstimateConfig(Settings):
    """A model on hardware you do not have: the roofline and a fitted engine profile, at a batch or under an SLO."""

    model: str | None = None
    hardware: str = "h100-sxm"
    precision: str | None = None
    batch: int | None = Field(None, ge=1, le=MAX_CONCURRENCY)
    input_tokens: int = Field(512, ge=1, le=MAX_TOKENS)
    output_tokens: int = Field(256, ge=1, le=MAX_TOKENS)
    tp: int | None = Field(None, ge=1, le=64)
    profile: str | None = None
    ttft_s: float | None = Field(None, gt=0)
    tpot_s: float | None = Field(None, gt=0)
    calibrate: list[str] = Field(default_factory=list)  # bench runs of this machine that fit the CPU profile
    as_of: str | None = None  # ISO date: carry the profile along its family's fitted software trend to this date
    add_rows: str | None = None  # CSV of published results (data/measurements.csv columns) fitted on as well: a newer build


class ScaleConfig(Settings):
    """Daily traffic served by replicas whose rates come from a preset, explicit numbers or ``estimate``."""

    input_per_day: float = Field(0.0, ge=0)
    output_per_day: float = Field(0.0, ge=0)
    prefill_tok_s: float | None = Field(None, gt=0)
    decode_tok_s: float | None = Field(None, gt=0)
    devices_per_replica: int | None = Field(None, ge=1)
    usd_per_device_hour: float | None = Field(None, ge=0)
    peak_to_mean: float = Field(2.0, ge=1)
    elastic: bool = False
    headroom: float = Field(1.0, ge=1)
    fixed_usd_per_month: float = Field(0.0, ge=0)
    preset: str | None = None
    estimate: EstimateConfig = Field(default_factory=EstimateConfig)
    api_usd_per_m: float | None = Field(None, gt=0)
    min_mmlu: float | None = Field(None, ge=0, le=100)
