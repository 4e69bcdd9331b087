"""Text for fidelity: the user's files, or a built-in set that needs nothing installed — openings
written for this project, continued by the reference model itself with a fixed seed (so the text is
fluent for that model family, and reproducible). Continuations are cached per reference sha256."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from platformdirs import user_cache_dir

from tokenfall.errors import TokenfallError
from tokenfall.types import ModelInfo, Request

# Openings authored for tokenfall: varied registers (narrative, technical, code, dialogue, lists, numbers).
OPENINGS = [
    "The lighthouse keeper had not seen a ship in eleven days when",
    "To replace the chain on a bicycle, first shift onto the smallest sprocket, then",
    "def moving_average(values, window):\n    \"\"\"Return the moving average of values.\"\"\"\n",
    "Dear Ms. Alvarez,\n\nThank you for your letter of March 3rd regarding",
    "Photosynthesis converts light energy into chemical energy. In the first stage,",
    "Q: Why does ice float on water?\nA:",
    "Ingredients: 2 cups flour, 1 teaspoon salt, 3 eggs.\nMethod:",
    "The committee met on Tuesday to discuss the budget for the new library. The first item",
    "In 1869 the first transcontinental railroad in the United States was completed, which",
    "SELECT customer_id, SUM(amount) AS total\nFROM orders\n",
    "My grandmother kept a garden behind her house, and every summer",
    "A prime number is a natural number greater than 1 that",
    "The river flooded again this spring. Farmers along the valley",
    "Here are five tips for writing clear documentation:\n1.",
    "Alice: Did you finish the report?\nBob:",
    "The main difference between a virus and a bacterium is that",
    "Once upon a time, in a village at the edge of a great forest,",
    "To compute the area of a circle, multiply pi by",
    "The match ended in a draw after ninety minutes, but in extra time",
    "import json\n\nwith open(\"config.json\") as f:\n",
    "The museum's new exhibition brings together paintings from",
    "Climate describes the average weather of a region over many years, while",
    "Step 1: Preheat the oven to 200 degrees Celsius.\nStep 2:",
    "The train left the station at 7:45, twenty minutes late, because",
    "Water boils at 100 degrees Celsius at sea level, but at higher altitudes",
    "The old map showed an island that no one in the harbour had ever",
    "for i in range(10):\n    if i % 2 == 0:\n",
    "In economics, supply and demand determine",
    "The spacecraft entered orbit around the planet and began",
    "Good morning everyone, and welcome to the annual meeting. Today we will",
    "The recipe calls for fresh basil, but if you cannot find any,",
    "Sleep is essential for health because",
    "The detective looked at the muddy footprints by the window and said,",
    "A list of common birds in northern Europe:\n- Robin\n-",
    "The teacher wrote an equation on the board: 3x + 5 = 20. To solve it,",
    "When the power went out across the city,",
    "Mountains form over millions of years when",
    "User: Can you recommend a good book about the ocean?\nAssistant:",
    "The small cafe on the corner opens at six every morning, and",
    "Binary search works on a sorted array by",
]


def from_files(paths: list[str]) -> str:
    """Plain text files as they are; JSONL files contribute each line's "text" field."""
    parts = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise TokenfallError(f"text file '{p}' does not exist; pass plain text or JSONL with a \"text\" field")
        if path.suffix == ".jsonl":
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    parts.append(str(json.loads(line)["text"]))
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    raise TokenfallError(f"{p}:{n}: expected a JSON object with a \"text\" field ({type(e).__name__})") from e
        else:
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
    text = "\n\n".join(parts)
    if not text.strip():
        raise TokenfallError(f"text files {', '.join(paths)} are empty; fidelity needs text to score")
    return text


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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps({"reference": reference.sha256, "text": text}))
    os.replace(tmp, path)
    return text
