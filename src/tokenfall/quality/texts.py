"""Text for fidelity: the user's files, or a built-in set that needs nothing installed — the openings in
``workloads.texts`` continued by the reference model itself with a fixed seed (so the text is fluent for
that model family, and reproducible). Continuations are cached per reference sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from platformdirs import user_cache_dir

from tokenfall.files import write_text_atomic
from tokenfall.types import ModelInfo, Request
from tokenfall.workloads.texts import OPENINGS


def builtin(reference: ModelInfo, engine: str, options: dict, tokens: int, progress=None) -> str:
    """Openings plus the reference's sampled continuations, enough for about ``tokens`` tokens."""
    per = max(16, min(1024, tokens // len(OPENINGS) + 1))
    key = hashlib.sha256(json.dumps([reference.sha256 or reference.ref, engine, per, OPENINGS, 2]).encode()).hexdigest()[:24]
    path = Path(user_cache_dir("tokenfall", appauthor=False)) / "texts" / f"{key}.json"
    if path.is_file():
        return json.loads(path.read_text())["text"]
    from tokenfall.quality.generate import generate

    if progress is not None:
        progress.level(f"built-in text: {reference.name or reference.ref} continues {len(OPENINGS)} openings", len(OPENINGS))
    # ignore_eos: a continuation that ends early would leave the set short of ``tokens`` (measured: 11k of 20k)
    reqs = [Request(id=i, prompt=o, max_tokens=per, ignore_eos=True, temperature=0.8, seed=1000 + i) for i, o in enumerate(OPENINGS)]
    outs = generate(engine, reference, options, reqs, progress=lambda n: progress and progress.request_done())
    text = "\n\n".join(o + c for o, c in zip(OPENINGS, outs))
    write_text_atomic(path, json.dumps({"reference": reference.sha256, "text": text}))
    return text
