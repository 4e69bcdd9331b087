"""Prompt sets: synthetic text with an exact token length in the model's own tokenizer, or a JSONL file.

Synthetic text is drawn from a small word list authored in this repo, seeded, so runs are repeatable.
"""

from __future__ import annotations

import json
import random
from importlib.resources import files
from pathlib import Path

from tokenfall.errors import TokenfallError
from tokenfall.types import Prompts, Request


def _words() -> list[str]:
    return files("tokenfall").joinpath("data/words.txt").read_text().split()


def fit_tokens(tokenizer, n: int, rng: random.Random) -> tuple[str, list[int]]:
    """Text whose tokenisation (with the model's special tokens) has exactly ``n`` tokens."""
    words = _words()
    base = len(tokenizer.encode("", special=True))
    if n < max(base, 1):
        raise TokenfallError(f"--input-tokens {n}: this tokenizer adds {base} special token(s); ask for at least {max(base, 1)}")
    text = ""
    while len(tokenizer.encode(text, special=True)) < n:
        text += (" " if text else "") + " ".join(rng.choice(words) for _ in range(max(1, n)))
    ids = tokenizer.encode(text, special=True)
    content = tokenizer.encode(text, special=False)
    # trim content tokens until the full encoding lands exactly on n (re-tokenising can merge at the cut)
    k = n - (len(ids) - len(content))
    for _ in range(64):
        text = tokenizer.decode(content[:k])
        got = len(tokenizer.encode(text, special=True))
        if got == n:
            return text, tokenizer.encode(text, special=True)
        k += n - got
        if k <= 0:
            break
    raise TokenfallError(f"could not build a prompt of exactly {n} tokens with this tokenizer; use --prompts FILE.jsonl")


def synthetic(count: int, spec: Prompts, tokenizer) -> list[Request]:
    """``count`` prompts of ``input_tokens`` tokens; with ``shared_prefix_tokens``, each starts with the
    same text of that many tokens (a system prompt) and only the rest differs."""
    rng = random.Random(spec.seed)
    k = spec.shared_prefix_tokens
    if not 0 <= k < spec.input_tokens:
        raise TokenfallError(f"--shared-prefix {k}: must be >= 0 and below --input-tokens {spec.input_tokens}")
    prefix_text, prefix_ids = ("", []) if k == 0 or tokenizer is None else fit_tokens(tokenizer, k, rng)
    out = []
    for i in range(count):
        if tokenizer is None:  # remote model without a tokenizer: approximate, flagged in the run's assumptions
            text, ids = " ".join(rng.choice(_words()) for _ in range(spec.input_tokens)), None
        elif k:
            words = " " + " ".join(rng.choice(_words()) for _ in range(spec.input_tokens))
            rest = tokenizer.encode(words, special=False)[:spec.input_tokens - k]
            text, ids = prefix_text + tokenizer.decode(rest), prefix_ids + rest
        else:
            text, ids = fit_tokens(tokenizer, spec.input_tokens, rng)
        out.append(Request(id=i, prompt=text, prompt_tokens=ids, max_tokens=spec.output_tokens,
                           ignore_eos=spec.ignore_eos, chat=spec.chat, seed=spec.seed + i))
    return out


def from_jsonl(path: str | Path, spec: Prompts, tokenizer=None) -> list[Request]:
    """One JSON object per line: {"prompt": str, "max_tokens": int (optional)}."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise TokenfallError(f"prompts file '{p}' cannot be read ({e})") from e
    out = []
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            prompt = obj["prompt"]
            if not isinstance(prompt, str):
                raise TypeError("'prompt' must be a string")
            max_tokens = int(obj.get("max_tokens", spec.output_tokens))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise TokenfallError(f"{p}:{no}: bad prompt line ({type(e).__name__}: {e}); expected {{\"prompt\": \"...\", \"max_tokens\": 32}}") from e
        ids = tokenizer.encode(prompt, special=True) if tokenizer else None
        out.append(Request(id=len(out), prompt=prompt, prompt_tokens=ids, max_tokens=max_tokens,
                           ignore_eos=spec.ignore_eos, chat=spec.chat, seed=spec.seed + len(out)))
    if not out:
        raise TokenfallError(f"prompts file '{p}' holds no prompts")
    return out


def build(count: int, spec: Prompts, tokenizer) -> list[Request]:
    """``count`` requests, cycling through a file's prompts when it has fewer."""
    if spec.source == "synthetic":
        return synthetic(count, spec, tokenizer)
    base = from_jsonl(spec.path, spec, tokenizer)
    return [base[i % len(base)].model_copy(update={"id": i}) for i in range(count)]
