"""A ledger row, typed: its summary parsed by kind."""

from __future__ import annotations

from typing import Literal

from pydantic import TypeAdapter, model_validator

from tokenfall.types.base import Model
from tokenfall.types.quality import EvalSummary
from tokenfall.types.search import OptimizeSummary
from tokenfall.types.serving import LevelSummary
from tokenfall.types.routing import RouteSummary
from tokenfall.types.ttc import TtcSummary

Summary = list[LevelSummary] | EvalSummary | OptimizeSummary | TtcSummary | RouteSummary
# built once: a TypeAdapter compiles its validator, and the ledger parses every row it reads through one
SUMMARY = {kind: TypeAdapter(t) for kind, t in (("bench", list[LevelSummary]), ("eval", EvalSummary), ("optimize", OptimizeSummary), ("ttc", TtcSummary), ("route", RouteSummary))}


class Run(Model):
    """A ledger row: what was asked (config), where it ran (fingerprint, engine), what came out (summary, typed
    by kind: a bench run's levels, an eval summary, an optimize summary). `--json` prints this model."""

    id: str
    kind: Literal["bench", "eval", "optimize", "ttc", "route"]
    created: float
    finished: float | None = None
    status: Literal["running", "complete", "incomplete", "failed"]
    config: dict
    fingerprint: dict
    engine: dict | None = None
    summary: Summary | None = None

    @model_validator(mode="before")
    @classmethod
    def _summary_of_its_kind(cls, data):
        if isinstance(data, dict) and data.get("summary") is not None and data.get("kind") in SUMMARY:
            data = data | {"summary": SUMMARY[data["kind"]].validate_python(data["summary"])}
        return data

    @property
    def levels(self) -> list[LevelSummary]:
        return self.summary if isinstance(self.summary, list) else []
