"""Prompt sets: synthetic text with an exact token length in the model's own tokenizer, or a JSONL file.

Synthetic text is drawn from a small word list authored in this repo, seeded, so runs are repeatable.
"""

from __future__ import annotations

import json
import random
from importlib.resources import files
from pathlib import Path

from tokenfall.errors import TokenfallError
from tokenfall.files import read_text
from tokenfall.types import MAX_TOKENS, Prompts, Request


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


def read_jsonl(path: str | Path, spec: Prompts) -> list[tuple[str, int]]:
    """(prompt, max_tokens) per line of {"prompt": str, "max_tokens": int (optional)}; checked before any model loads."""
    out = []
    for no, line in enumerate(read_text(path, "prompts file").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{no}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise TokenfallError(f"{where}: not valid JSON ({e.msg}); expected {{\"prompt\": \"...\", \"max_tokens\": 32}}") from e
        if not isinstance(obj, dict) or not isinstance(obj.get("prompt"), str) or not obj["prompt"]:
            raise TokenfallError(f"{where}: expected an object with a non-empty string \"prompt\"")
        n = obj.get("max_tokens", spec.output_tokens)
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_TOKENS:
            raise TokenfallError(f"{where}: \"max_tokens\" {n!r} must be a whole number from 1 to {MAX_TOKENS}")
        out.append((obj["prompt"], n))
    if not out:
        raise TokenfallError(f"prompts file '{path}' holds no prompts")
    return out


def from_jsonl(path: str | Path, spec: Prompts, tokenizer=None) -> list[Request]:
    out = []
    for prompt, max_tokens in read_jsonl(path, spec):
        ids = tokenizer.encode(prompt, special=True) if tokenizer else None
        out.append(Request(id=len(out), prompt=prompt, prompt_tokens=ids, max_tokens=max_tokens,
                           ignore_eos=spec.ignore_eos, chat=spec.chat, seed=spec.seed + len(out)))
    return out


def build(count: int, spec: Prompts, tokenizer) -> list[Request]:
    """``count`` requests, cycling through a file's prompts when it has fewer."""
    if spec.source == "synthetic":
        return synthetic(count, spec, tokenizer)
    base = from_jsonl(spec.path, spec, tokenizer)
    return [base[i % len(base)].model_copy(update={"id": i}) for i in range(count)]
