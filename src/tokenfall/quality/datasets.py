"""Public benchmark sets as named tasks (`-t hellaswag`, `-t gsm8k`), without shipping their text.

Where a set comes from, in order: a mirror folder (``$TOKENFALL_DATA``, or ``../shared/data`` beside a
source checkout) holding the derived JSONL file or the original published file; the user cache; else one
download from the set's public source, pinned to a commit and checked against its sha256, converted to
the JSONL the task loaders read and kept in the cache. Offline with neither: one line naming the file
and the folder to put it in.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from platformdirs import user_cache_dir

from tokenfall.errors import TokenfallError
from tokenfall.files import write_text_atomic


def _hellaswag_pairs(raw: bytes) -> list[dict]:
    """llama.cpp's HellaSwag text layout (6 lines an item: "activity: ctx", label, 4 endings) as 2-way pairs:
    the correct ending against the first wrong one (chance 50%). The context stops after its last complete
    sentence; the unfinished sentence that follows (HellaSwag's ``ctx_b``) starts both endings."""
    lines = bz2.decompress(raw).decode("utf-8").split("\n")
    rows = []
    for i in range(0, len(lines) - 5, 6):
        head, label, endings = lines[i], int(lines[i + 1]), lines[i + 2:i + 6]
        body = head.partition(": ")[2] + " "
        m = re.match(r"^(.*[.!?][\"')]*\s+)(.*)$", body, re.S)
        ctx, lead = (m.group(1), m.group(2)) if m else ("", body)
        wrong = 1 if label == 0 else 0
        rows.append({"id": len(rows), "context": ctx, "correct": lead + endings[label], "wrong": lead + endings[wrong]})
    return rows


def _jsonl(raw: bytes) -> list[dict]:
    return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str  # the task loader: choice | gen
    what: str
    mirror_files: tuple[str, ...]  # derived JSONL in a mirror folder, preferred in this order
    url: str  # pinned to a commit
    sha256: str
    original: str  # the published file's own name (also accepted in a mirror folder)
    convert: Callable[[bytes], list[dict]]
    license: str


DATASETS = {d.name: d for d in [
    Dataset("hellaswag", "choice", "HellaSwag validation (Zellers et al., 2019) as 2-way pairs: correct vs first wrong ending",
            ("hellaswag_pairs_dev.jsonl",),
            "https://raw.githubusercontent.com/klosax/hellaswag_text_data/60a646bd806bce22dcb2eb6d4fadb12f1472aa4c/"
            "hellaswag_val_full.txt.bz2",
            "50b637899e4263c2bc456c2dc726c95d2c8cd8e2a552ea5bd7719ce3cb03fe5b", "hellaswag_val_full.txt.bz2",
            _hellaswag_pairs, "MIT"),
    Dataset("gsm8k", "gen", "GSM8K test problems (Cobbe et al., 2021), final answer after '####'",
            ("gsm8k_test_dev.jsonl",),
            "https://raw.githubusercontent.com/openai/grade-school-math/3101c7d5072418e28b9008a6636bde82a006892c/"
            "grade_school_math/data/test.jsonl",
            "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14", "test.jsonl", _jsonl, "MIT"),
]}


@dataclass(frozen=True)
class Located:
    path: Path  # JSONL the task loaders read
    origin: str  # where it came from, for the report


def mirror_dirs() -> list[Path]:
    """``$TOKENFALL_DATA`` (one or more folders, ':'-separated), then ``../shared/data`` beside a source checkout."""
    dirs = [Path(d) for d in os.environ.get("TOKENFALL_DATA", "").split(os.pathsep) if d]
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file():
        dirs.append(checkout.parent / "shared" / "data")
    return dirs


def cache_dir() -> Path:
    return Path(user_cache_dir("tokenfall", appauthor=False)) / "datasets"


def _cached(d: Dataset) -> Path:
    """Where the converted JSONL of the published file with ``d.sha256`` is kept."""
    return cache_dir() / d.name / f"{d.sha256[:16]}.jsonl"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _converted(d: Dataset, raw: bytes, origin: str) -> Located:
    if _sha256(raw) != d.sha256:
        raise TokenfallError(f"{d.name}: {origin} has sha256 {_sha256(raw)[:16]}…, expected {d.sha256[:16]}…; "
                             f"delete it and fetch the file again from {d.url}")
    out = _cached(d)
    if not out.is_file():
        write_text_atomic(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in d.convert(raw)))
    return Located(out, origin)


def download(url: str, timeout_s: float = 60.0) -> bytes:
    import httpx

    with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
        r = client.get(url)
        r.raise_for_status()
        return r.content


def locate(name: str, allow_download: bool = True) -> Located:
    """The set's JSONL file and where it came from; downloads at most once (then it is in the cache)."""
    d = DATASETS[name]
    for folder in mirror_dirs():
        for f in d.mirror_files:
            if (folder / f).is_file():
                return Located(folder / f, f"mirror {folder / f}")
        if (folder / d.original).is_file():
            return _converted(d, (folder / d.original).read_bytes(), f"mirror {folder / d.original}")
    cached = _cached(d)
    if cached.is_file():
        return Located(cached, f"cache {cached} (downloaded from {d.url})")
    hint = (f"put {d.mirror_files[0]} or {d.original} (from {d.url}) in a folder and set TOKENFALL_DATA to it")
    if not allow_download:
        raise TokenfallError(f"{d.name}: no local copy; {hint}")
    try:
        raw = download(d.url)
    except Exception as e:  # noqa: BLE001 - any network failure gets the same advice
        raise TokenfallError(f"{d.name}: no local copy and the download failed ({type(e).__name__}: "
                             f"{str(e)[:80] or 'no detail'}); {hint}") from e
    return _converted(d, raw, f"downloaded from {d.url}")
