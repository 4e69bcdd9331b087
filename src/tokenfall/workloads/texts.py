"""Text that needs no dataset: openings written for this project (fidelity's built-in set starts from
them; levers calibrate on them), and the loader for the user's own text files."""

from __future__ import annotations

import json
from pathlib import Path

from tokenfall.errors import TokenfallError
from tokenfall.files import read_text, write_text_atomic

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
        parts += _jsonl_texts(p) if Path(p).suffix == ".jsonl" else [read_text(p, "text file")]
    text = "\n\n".join(parts)
    if not text.strip():
        raise TokenfallError(f"text files {', '.join(paths)} are empty; fidelity needs text to score")
    return text


def _held_out(key: str) -> bool:
    """About one in eight keys, by hash: stable across machines and runs, independent of order."""
    import hashlib

    return hashlib.sha256(key.encode()).digest()[0] % 8 == 0


def _check_split(split: str) -> None:
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")


def stdlib_documents(split: str) -> list[str]:
    """A domain corpus found on every machine: the docstrings (≥ 80 characters) of this Python's standard
    library, read with ``ast`` (nothing imported). Modules are split by a hash of their name, about one in
    eight ``"heldout"``, the rest ``"train"``, so a specialist is graded on text it never saw."""
    import ast
    import sysconfig

    _check_split(split)
    root = Path(sysconfig.get_paths()["stdlib"])
    docs = []
    for path in sorted(root.glob("*.py")) + sorted(root.glob("*/*.py")):
        if "test" in path.parts[-2:] or path.name.startswith("test"):
            continue
        if _held_out(".".join(path.relative_to(root).with_suffix("").parts)) != (split == "heldout"):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= 80:
                    docs.append(doc)
    if not docs:
        raise TokenfallError(f"no standard-library docstrings found under {root}; pass your own corpus file")
    return docs


def stdlib_docstrings(split: str, max_chars: int | None = None) -> str:
    text = "\n\n".join(stdlib_documents(split))
    return text[:max_chars] if max_chars else text


def corpus_documents(paths: list[str], split: str) -> list[str]:
    """A user's corpus as documents — a JSONL line's "text", else a blank-line-separated paragraph — split
    like the default one: about one document in eight (by a hash of its text) held out, the rest for training."""
    import re

    _check_split(split)
    docs = []
    for p in paths:
        if Path(p).suffix == ".jsonl":
            docs += _jsonl_texts(p)
        else:
            docs += [d.strip() for d in re.split(r"\n\s*\n", read_text(p, "corpus file")) if d.strip()]
    return [d for d in docs if _held_out(d) == (split == "heldout")]


def _jsonl_texts(path: str) -> list[str]:
    out = []
    for n, line in enumerate(read_text(path, "text file").splitlines(), 1):
        if line.strip():
            try:
                out.append(str(json.loads(line)["text"]))
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise TokenfallError(f"{path}:{n}: expected a JSON object with a \"text\" field ({type(e).__name__})") from e
    return out


def stdlib_docstrings_file(split: str) -> Path:
    """``stdlib_docstrings(split)`` as a text file in the cache (parsing the library takes seconds), for
    everything that takes text files: distillation corpora, fidelity ``--text``."""
    import sys

    from platformdirs import user_cache_dir

    path = Path(user_cache_dir("tokenfall", appauthor=False)) / "texts" / f"stdlib-docstrings-{sys.version_info[0]}.{sys.version_info[1]}-{split}.txt"
    if not path.is_file():
        write_text_atomic(path, stdlib_docstrings(split))
    return path
