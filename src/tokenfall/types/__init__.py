"""The project's vocabulary: pydantic models shared by every layer (configs a user asks with, results a run stores).
One module per room; every name is importable from here."""

from tokenfall.types.base import MAX_CONCURRENCY, MAX_REQUESTS, MAX_TOKENS, Model, Settings
from tokenfall.types.serving import (
    BenchConfig, Chunk, Cost, Dist, EngineInfo, LevelSummary, Load, ModelInfo, PriceSpec, Pricing, Prompts, Request,
    RequestRecord, Slo,
)
from tokenfall.types.quality import EvalConfig, EvalSummary, Fidelity, Gate, GateVerdict, Paired, TaskResult, TaskSpec
from tokenfall.types.search import (
    Candidate, Chosen, Headline, LeverTrial, OptimizeConfig, OptimizeSummary, Point, Quality, Ratio, Speculative, Step,
    SubRun, TaskQuality,
)
from tokenfall.types.queries import CurveConfig, EstimateConfig, ScaleConfig
from tokenfall.types.ttc import Comparison, Problem, Searched, TtcConfig, TtcPoint, TtcSummary
from tokenfall.types.routing import ModelSide, RouteConfig, RouteItem, RoutePoint, RouterCurve, RouteSummary
from tokenfall.types.run import SUMMARY, Run, Summary

__all__ = [
    "BenchConfig", "Candidate", "Chosen", "Chunk", "Cost", "CurveConfig", "Dist", "EngineInfo", "EstimateConfig",
    "EvalConfig", "EvalSummary", "Fidelity", "Gate", "GateVerdict", "Headline", "LevelSummary", "LeverTrial", "Load",
    "MAX_CONCURRENCY", "MAX_REQUESTS", "MAX_TOKENS", "Model", "ModelInfo", "OptimizeConfig", "OptimizeSummary",
    "Paired", "Point", "PriceSpec", "Pricing", "Prompts", "Quality", "Ratio", "Request", "RequestRecord", "Run", "SUMMARY", "Summary",
    "ScaleConfig", "Settings", "Slo", "Speculative", "Step", "SubRun", "TaskQuality", "TaskResult", "TaskSpec",
    "Comparison", "Problem", "Searched", "TtcConfig", "TtcPoint", "TtcSummary",
    "ModelSide", "RouteConfig", "RouteItem", "RoutePoint", "RouterCurve", "RouteSummary",
]
