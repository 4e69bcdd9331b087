"""The price history: sourced market prices of hosted models ($/M tokens on a date) and model-card scores.

The bundled CSV is built by scripts/build_prices.py from ../shared/research/prices.csv plus dated
snapshots of LiteLLM's price map; a user CSV with the same columns can replace or extend it.
Current prices can also come from an installed ``litellm``: its bundled JSON is read as a file,
litellm itself is never imported (importing it fetches a price map from the network).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from functools import lru_cache
from importlib import metadata
from importlib.resources import files
from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from tokenfall.errors import TokenfallError
from tokenfall.files import read_text
from tokenfall.types import Model, Settings

BLEND = (3, 1)  # input:output weights of the blended price (Artificial Analysis / Epoch convention)


class PriceRow(Settings):
    """One list price of one model at one provider from a date on; every row names where the price and score came from."""

    model: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    date: dt.date
    usd_per_m_input: float | None = Field(default=None, ge=0)
    usd_per_m_output: float | None = Field(default=None, ge=0)
    open_weights: bool = False
    reasoning: bool = False
    pricing: str = "flat"  # "tiered" rows (subscription plans) are not per-token prices and stay out of trends
    mmlu: float | None = Field(default=None, ge=0, le=100)
    other_score_name: str = ""
    other_score: float | None = None
    source_price: str = Field(min_length=1)
    source_score: str = ""
    notes: str = ""

    @field_validator("pricing")
    @classmethod
    def _pricing(cls, v: str) -> str:
        if v not in ("flat", "tiered"):
            raise ValueError("must be 'flat' or 'tiered'")
        return v

    @property
    def key(self) -> tuple[str, str, dt.date]:
        return self.model, self.provider, self.date

    def price(self, kind: str = "blended", weights: tuple[float, float] = BLEND) -> float | None:
        return price_of(self.usd_per_m_input, self.usd_per_m_output, kind, weights)


def price_of(i: float | None, o: float | None, kind: str = "blended", weights: tuple[float, float] = BLEND) -> float | None:
    """$/M input, output, or their weighted mean (None when a needed side is unknown)."""
    if kind == "input":
        return i
    if kind == "output":
        return o
    return None if i is None or o is None else (weights[0] * i + weights[1] * o) / (weights[0] + weights[1])


def _cell(v: str | None):
    v = (v or "").strip()
    return None if v == "" else v


def _bool(v: str | None, field: str) -> bool:
    v = (v or "no").strip().lower()
    if v not in ("yes", "no", "true", "false", "1", "0"):
        raise ValueError(f"{field} must be yes or no")
    return v in ("yes", "true", "1")


def parse_csv(path: Path) -> list[PriceRow]:
    """Every row validated; the first bad one raises with file:line, the column and the reason."""
    text = read_text(path, "--prices file")
    reader = csv.DictReader(text.splitlines())
    need = {"model", "provider", "date", "usd_per_m_input", "usd_per_m_output", "source_price"}
    missing = need - set(reader.fieldnames or [])
    if missing:
        raise TokenfallError(f"{path}: missing column(s) {', '.join(sorted(missing))}; the columns are those of the bundled prices.csv")
    rows, seen = [], {}
    for n, raw in enumerate(reader, start=2):
        where = f"{path}:{n}"
        if None in raw:
            raise TokenfallError(f"{where}: more cells than columns (quote cells that contain commas)")
        try:
            d = {k: _cell(v) for k, v in raw.items() if k in PriceRow.model_fields}
            for b in ("open_weights", "reasoning"):
                d[b] = _bool(raw.get(b), b)
            d = {k: v for k, v in d.items() if v is not None}
            row = PriceRow(**d)
        except ValidationError as e:
            err = e.errors()[0]
            col = ".".join(map(str, err["loc"]))
            raise TokenfallError(f"{where}: {col} {raw.get(col, '')!r}: {err['msg'].removeprefix('Value error, ')}") from e
        except ValueError as e:
            raise TokenfallError(f"{where}: {e}") from e
        if row.usd_per_m_input is None and row.usd_per_m_output is None:
            raise TokenfallError(f"{where}: no price (usd_per_m_input and usd_per_m_output are both empty)")
        if row.key in seen:
            raise TokenfallError(f"{where}: duplicate of line {seen[row.key]} (same model, provider and date)")
        seen[row.key] = n
        rows.append(row)
    if not rows:
        raise TokenfallError(f"{path}: has no rows")
    return rows


BUNDLED = files("tokenfall").joinpath("data/prices.csv")


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[PriceRow, ...]:
    return tuple(parse_csv(Path(path)))


def load(path: str | Path | None = None, extend: bool = False) -> list[PriceRow]:
    """The bundled history, a user's CSV instead of it, or (``extend``) both."""
    bundled = list(_load(str(BUNDLED)))
    if path is None:
        return bundled
    mine = list(_load(str(Path(path).resolve())))
    if not extend:
        return mine
    keys = {r.key for r in bundled}
    dup = next((r for r in mine if r.key in keys), None)
    if dup:
        raise TokenfallError(f"{path}: row {dup.model} / {dup.provider} / {dup.date} is already in the bundled history")
    return bundled + mine


class ModelCard(Model):
    model: str
    match: list[str]
    params_b: float | None = None
    active_params_b: float | None = None
    mmlu: float | None = None
    mmlu_note: str = ""
    hellaswag: float | None = None
    source: str


@lru_cache(maxsize=1)
def cards() -> tuple[ModelCard, ...]:
    text = files("tokenfall").joinpath("data/model_cards.csv").read_text(encoding="utf-8")
    out = []
    for r in csv.DictReader(text.splitlines()):
        out.append(ModelCard(model=r["model"], match=r["match"].split(";"), params_b=_cell(r["params_b"]),
                             active_params_b=_cell(r["active_params_b"]), mmlu=_cell(r["mmlu"]), mmlu_note=r["mmlu_note"],
                             hellaswag=_cell(r["hellaswag"]), source=r["source"]))
    return tuple(out)


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", s.lower())


def card_for(name: str) -> ModelCard | None:
    """The model card whose pattern occurs in ``name`` (a GGUF name, file name or dataset model name); longest pattern wins."""
    n = _norm(name)
    hits = [(len(p), c) for c in cards() for p in c.match if p and p in n]
    return max(hits, key=lambda h: h[0])[1] if hits else None


def litellm_rows(today: dt.date | None = None) -> tuple[list[PriceRow], str]:
    """Current chat-model prices from an installed litellm's bundled JSON (read as a file; no import, no network).

    The map has no dates: rows are dated ``today``. Scores are filled where a model card matches the key."""
    try:
        dist = metadata.distribution("litellm")
    except metadata.PackageNotFoundError as e:
        raise TokenfallError("--litellm: litellm is not installed (pip install litellm); its price map is read from the package") from e
    path = Path(dist.locate_file("litellm/model_prices_and_context_window_backup.json"))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise TokenfallError(f"--litellm: cannot read {path} ({e})") from e
    day = today or dt.date.today()
    rows = []
    for key, e in data.items():
        if not isinstance(e, dict) or e.get("mode") != "chat":
            continue
        i, o = e.get("input_cost_per_token"), e.get("output_cost_per_token")
        if not isinstance(i, (int, float)) or not isinstance(o, (int, float)) or i <= 0 or o <= 0:
            continue
        c = card_for(key)
        rows.append(PriceRow(model=key, provider=str(e.get("litellm_provider") or key.split("/")[0]), date=day,
                             usd_per_m_input=round(i * 1e6, 6), usd_per_m_output=round(o * 1e6, 6),
                             open_weights=c is not None, mmlu=c.mmlu if c else None,
                             source_price=f"litellm=={dist.version} {path.name} key '{key}'" + (f" ({e['source']})" if e.get("source") else ""),
                             source_score=c.source if c else "", notes=f"current price, dated the day it was read ({day})"))
    return rows, dist.version
