"""Procedurally generated tasks with verifiable answers: no dataset, seeded, three difficulty levels.

Each family makes (prompt, answer, distractors); graded by log-likelihood over answer + distractors or by
exact match on generated text. Difficulty scales operand size or list length."""

from __future__ import annotations

import random
import string


def arithmetic(rng: random.Random, d: int):
    lo, hi = 10 ** (d - 1) if d > 1 else 1, 10 ** d - 1
    a, b = rng.randint(lo, hi), rng.randint(lo, hi)
    op = rng.choice("+-*")
    val = {"+": a + b, "-": a - b, "*": a * b}[op]
    wrong = {val + 1, val - 1, val + 10, val - 10, int(str(abs(val))[::-1]) * (1 if val >= 0 else -1)} - {val}
    return f"Q: What is {a} {op} {b}?\nA:", str(val), [str(w) for w in sorted(wrong)][:3]


def compare(rng: random.Random, d: int):
    a = rng.randint(10 ** d, 10 ** (d + 1) - 1)
    digits = list(str(a))
    i, j = rng.sample(range(len(digits)), 2)
    digits[i], digits[j] = digits[j], digits[i]
    b = int("".join(digits)) if digits[0] != "0" and int("".join(digits)) != a else a + rng.randint(1, 9)
    return f"Q: Which number is larger, {a} or {b}?\nA:", str(max(a, b)), [str(min(a, b))]


def count(rng: random.Random, d: int):
    n = rng.randint(2 + 2 * (d - 1), 4 + 3 * d)
    s = "".join(rng.choice(string.ascii_lowercase) for _ in range(n))
    return f"Q: How many letters are in the string '{s}'?\nA:", str(n), [str(n + k) for k in (-2, -1, 1, 2)]


def order(rng: random.Random, d: int):
    xs = rng.sample(range(1, 10 ** (d + 1)), 2 + d)
    right = sorted(xs)
    wrong = {tuple(rng.sample(xs, len(xs))) for _ in range(10)} - {tuple(right)}
    fmt = lambda v: ", ".join(map(str, v))  # noqa: E731
    return f"Q: Sort from smallest to largest: {fmt(xs)}\nA:", fmt(right), [fmt(w) for w in sorted(wrong)][:3]


def sequence(rng: random.Random, d: int):
    start, step = rng.randint(1, 10 ** d), rng.randint(2, 3 + 4 * d)
    xs = [start + step * k for k in range(4)]
    nxt = start + step * 4
    return (f"Q: What number comes next: {', '.join(map(str, xs))}, ...?\nA:", str(nxt),
            [str(nxt + step), str(nxt - 1), str(nxt + 1)])


FAMILIES = {"arithmetic": arithmetic, "compare": compare, "count": count, "order": order, "sequence": sequence}


def make(family: str, n: int, difficulty: int, seed: int) -> list[tuple[str, str, list[str]]]:
    rng = random.Random(f"{family}:{difficulty}:{seed}")
    return [FAMILIES[family](rng, difficulty) for _ in range(n)]
