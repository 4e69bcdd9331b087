"""Parameter types and parsers the commands share, and the progress displays they draw on stderr."""

from __future__ import annotations

import contextlib
import json
import math

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tokenfall.cli.root import err
from tokenfall.errors import TokenfallError


class Number(click.ParamType):
    """A finite number in a range. click's float accepts inf, nan and 1e999 (= inf), which are never what a
    user meant here and crashed or poisoned runs downstream; this type refuses them at parse time."""

    name = "number"

    def __init__(self, lo: float | None = None, hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
                 integer: bool = False):
        self.lo, self.hi, self.lo_open, self.hi_open, self.integer = lo, hi, lo_open, hi_open, integer
        self.name = "integer" if integer else "number"

    def _range(self) -> str:
        lo = "" if self.lo is None else f"{'>' if self.lo_open else '>='} {self.lo:g}"
        hi = "" if self.hi is None else f"{'<' if self.hi_open else '<='} {self.hi:g}"
        return " and ".join(x for x in (lo, hi) if x)

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = value
        else:
            try:
                v = int(value) if self.integer else float(value)
            except (TypeError, ValueError):
                self.fail(f"'{value}' is not {'an integer' if self.integer else 'a number'}", param, ctx)
        if not math.isfinite(v):
            self.fail(f"'{value}' is not a finite number", param, ctx)
        if (self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo)) or \
           (self.hi is not None and (v >= self.hi if self.hi_open else v > self.hi)):
            self.fail(f"{value} is out of range: give a value {self._range()}", param, ctx)
        return v


POS, NONNEG, FRACTION, OPEN_FRACTION = Number(0, lo_open=True), Number(0), Number(0, 1, lo_open=True), Number(0, 1, True, True)
COUNT, COUNT0, PERCENT = Number(1, integer=True), Number(0, integer=True), Number(0, 100)


def positives(value: str, name: str, cast: type, example: str) -> list:
    """A comma list of positive numbers (a sweep), e.g. --concurrency 1,4,16 or --rate 2,8."""
    try:
        vals = [cast(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a comma-separated list of {'integers' if cast is int else 'numbers'}", param_hint=name) from None
    if not vals or min(vals) <= 0 or not all(math.isfinite(v) for v in vals):
        raise click.BadParameter(f"'{value}': give positive finite values, e.g. {example}", param_hint=name)
    return vals


def kv_pairs(pairs: tuple[str, ...], name: str) -> dict:
    opts = {}
    for p in pairs:
        k, sep, v = p.partition("=")
        if not sep or not k:
            raise click.BadParameter(f"'{p}': use KEY=VALUE", param_hint=name)
        try:
            opts[k] = json.loads(v)
        except json.JSONDecodeError:
            opts[k] = v
    return opts


def parse_slo(value: str | None) -> dict:
    if not value:
        return {}
    keys = {"ttft": "ttft_s", "tpot": "tpot_s", "e2e": "e2e_s"}
    out_ = {}
    for part in value.split(","):
        k, _, v = part.partition("=")
        if k.strip() not in keys:
            raise click.BadParameter(f"'{part}': keys are ttft, tpot, e2e (seconds), e.g. ttft=0.5,tpot=0.05", param_hint="--slo")
        try:
            out_[keys[k.strip()]] = float(v.rstrip("s"))
        except ValueError:
            raise click.BadParameter(f"'{part}': value must be seconds, e.g. ttft=0.5", param_hint="--slo") from None
    return out_


def parse_number(value: str | None, name: str) -> float | None:
    """1.75e11, 175e9, 175B, 300B, 2T, 135M."""
    if value is None:
        return None
    v = value.strip().upper()
    mult = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}.get(v[-1:], 1.0)
    try:
        n = float(v[:-1] if mult != 1.0 else v) * mult
    except ValueError:
        raise TokenfallError(f"{name} {value}: give a number such as 175e9 or 175B") from None
    if not math.isfinite(n) or n < 0:
        raise TokenfallError(f"{name} {value}: give a finite, non-negative number such as 175e9 or 175B")
    return n


def run_ids_of(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def task_specs(values: tuple[str, ...], limit, shots, difficulty, n_synth, seed, max_tokens) -> list:
    from tokenfall.quality.datasets import DATASETS
    from tokenfall.quality.synthetic import FAMILIES
    from tokenfall.types import TaskSpec

    specs = []
    for v in values:
        kind, sep, source = v.partition(":")
        if not sep and kind in DATASETS:
            kind, sep, source = "dataset", ":", kind
        if not sep or kind not in ("choice", "gen", "dataset", "synth", "synth-gen") or not source:
            raise click.BadParameter(f"'{v}': use a data set ({', '.join(DATASETS)}), choice:FILE.jsonl, gen:FILE.jsonl, "
                                     f"synth:FAMILY or synth-gen:FAMILY (families: {', '.join(FAMILIES)}, or all)", param_hint="--task")
        sources = list(FAMILIES) if kind.startswith("synth") and source == "all" else [source]
        specs += [TaskSpec(kind=kind, source=s_, limit=limit, shots=shots, difficulty=difficulty, n=n_synth, seed=seed,
                           max_tokens=max_tokens) for s_ in sources]
    return specs


DEFAULT_ITEMS = 600  # HellaSwag pairs: all of the mirror, the same first 600 of a download (which has 10,042)
SYNTH_ITEMS = 100  # per synthetic family: the offline fallback, five families


def default_tasks(limit: int | None) -> tuple[list, str]:
    """HellaSwag pairs (mirror, cache or one download), else the built-in synthetic choice tasks, saying why.
    600 pairs support a 2-point non-inferiority margin at this model's disagreement rate (detectable drop ~1.5
    points) and take about 1.5 minutes for reference and candidate together on 2 cores; all 10,042 would take 25."""
    from tokenfall.quality import datasets

    try:
        found = datasets.locate("hellaswag")
    except TokenfallError as e:
        return (task_specs(("synth:all",), None, 0, 1, limit or SYNTH_ITEMS, 0, 256),
                f"built-in synthetic choice tasks, NOT HellaSwag ({e})")
    n = limit or DEFAULT_ITEMS
    return task_specs(("hellaswag",), n, 0, 1, 200, 0, 256), f"HellaSwag pairs ({found.origin}, the first {n})"


class _Live:
    """Rich progress bar with live output tokens/s."""

    def __init__(self, progress: Progress):
        self.p, self.task, self.n, self.t0 = progress, None, 0, 0.0

    def level(self, label, total):
        import time

        if self.task is not None:
            self.p.update(self.task, visible=False)
        self.task = self.p.add_task(label, total=total, tps=0.0)
        self.n, self.t0 = 0, time.monotonic()

    def tokens(self, n):
        import time

        self.n += n
        self.p.update(self.task, tps=self.n / max(time.monotonic() - self.t0, 1e-6))

    def request_done(self):
        self.p.advance(self.task)


class _Steps(_Live):
    """Progress for steps counted in items or windows rather than tokens."""

    def level(self, label, total):
        if self.task is not None:
            self.p.update(self.task, visible=False)
        self.task = self.p.add_task(label, total=total)


@contextlib.contextmanager
def progress_steps():
    """A transient progress display for multi-step commands (each bench or eval level a step)."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as p:
        yield _Steps(p)


@contextlib.contextmanager
def live():
    """A transient progress display of one bench level at a time, with live output tokens/s."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[tps]:.0f} tok/s"),
                  TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as p:
        yield _Live(p)


def parse_date(value: str | None, name: str) -> str | None:
    """An ISO date (YYYY-MM-DD), returned as text."""
    if value is None:
        return None
    import datetime as dt

    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise TokenfallError(f"{name} {value}: give a date as YYYY-MM-DD, e.g. 2026-01-15") from None
