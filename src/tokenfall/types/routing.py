"""Routing: a small specialist beside a general model — what a route run is asked and what it stores."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tokenfall.types.base import Model, Settings
from tokenfall.types.quality import TaskSpec
from tokenfall.types.serving import ModelInfo, PriceSpec, Pricing

ROUTERS = ("cascade", "classifier", "random")


class RouteConfig(Settings):
    """Everything that defines a route run; stored verbatim."""

    small: str | None = None  # the specialist (default: the bundled model)
    large: str  # the general model
    corpus: list[str] | None = None  # domain text; None = the standard library's docstrings (held-out modules)
    items: int = Field(600, ge=20, le=20_000)  # in-domain task items built from held-out corpus text
    general: list[TaskSpec] = Field(default_factory=list)  # out-of-domain tasks (empty: none)
    routers: list[Literal["cascade", "classifier", "random"]] = Field(default_factory=lambda: list(ROUTERS))
    floor: float = Field(0.95, gt=0, le=1)  # share of the general model's score each segment must keep
    train_share: float = Field(0.5, gt=0, lt=1)  # items the trained router learns from; the curves use the rest
    seed: int = 0
    price: PriceSpec = Field(default_factory=PriceSpec)


class RouteItem(Model):
    """One request answered by each model: whether it was right, how sure the small model was, what it cost."""

    segment: Literal["domain", "general"]
    task: str
    index: int
    split: Literal["train", "test"]
    text: str  # what a router sees: the request's prompt
    ok_small: bool
    ok_large: bool
    conf_small: float  # the small model's probability of its own pick among the choices
    tokens_small: int  # tokens each model computed for the request (its own tokenizer)
    tokens_large: int
    usd_small: float
    usd_large: float


class RoutePoint(Model):
    threshold: float  # in the router's own terms (cascade: confidence below which it escalates)
    share_large: float  # of test requests sent to the general model
    quality: float  # all test requests
    quality_domain: float
    ci_domain: tuple[float, float]
    quality_general: float | None = None
    ci_general: tuple[float, float] | None = None
    pgr: float | None  # performance gap recovered (RouteLLM), overall
    usd_per_request: float
    usd_per_m_tokens: float  # cost over the tokens the serving model(s) computed
    random_quality: float  # the random router's expected quality at the same share


class RouterCurve(Model):
    name: str
    points: list[RoutePoint]
    apgr: float | None  # average PGR over the share of calls to the general model (random: 0.5)
    apgr_ci: tuple[float, float] | None = None  # 95% bootstrap over test requests
    cpt50: float | None = None  # share of calls to the general model to recover 50% / 80% of the gap
    cpt80: float | None = None
    beats_random: bool | None = None  # apgr_ci above 0.5
    at_floor: RoutePoint | None = None  # the cheapest point keeping `floor` of the general model on every segment
    overhead_usd_per_request: float = 0.0  # the router's own cost (the classifier's features and prediction)
    file: str | None = None  # the router at its floor point, for `bench --engine routed`
    note: str | None = None  # why a router has no curve


class ModelSide(Model):
    model: ModelInfo
    seconds_per_token: float  # serving prefill, measured in the run
    tokens: int
    quality_domain: float
    ci_domain: tuple[float, float]
    quality_general: float | None = None
    ci_general: tuple[float, float] | None = None
    usd_per_request: float
    usd_per_m_tokens: float


class RouteSummary(Model):
    pricing: Pricing
    small: ModelSide
    large: ModelSide
    gap_domain: float  # large − small on in-domain requests (test split), with a paired interval
    gap_domain_ci: tuple[float, float]
    n_train: int
    n_test: int
    routers: list[RouterCurve]
    items: list[RouteItem]
    assumptions: list[str]
