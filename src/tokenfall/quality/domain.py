"""In-domain tasks made from held-out corpus text, so a specialist's domain quality has a number without
hand labelling: "which continuation is the real one" — a passage's next words against spans of the same
length taken elsewhere in the same document (so topic alone does not give the answer away), or from other
documents when it is too short. Items are drawn with a seed and graded like any choice task (acc_norm)."""

from __future__ import annotations

import random
import re

from tokenfall.errors import TokenfallError
from tokenfall.quality.tasks import Task

CONTEXT_WORDS = 48  # at most this many words before the cut
MIN_CONTEXT = 12  # at least this many
SPAN_WORDS = 10  # the continuation to recognise
MIN_ITEMS = 20


def _words(doc: str) -> list[str]:
    return re.sub(r"\s+", " ", doc).strip().split(" ")


def continuation_task(docs: list[str], n: int, seed: int = 0, choices: int = 4, name: str = "domain-continuation") -> Task:
    """Up to ``n`` items, at most one per document: context = up to 48 words of a document ending at a random
    cut, choices = its next 10 words and ``choices − 1`` spans of 10 words from elsewhere in the document
    (overlapping neither the real one nor the context), then from other documents. Documents too short for a context and a span
    are skipped."""
    rng = random.Random(seed)
    usable = [w for w in map(_words, docs) if len(w) >= MIN_CONTEXT + SPAN_WORDS]
    if len(usable) < max(MIN_ITEMS, choices):
        raise TokenfallError(f"the held-out corpus has {len(usable)} documents of at least {MIN_CONTEXT + SPAN_WORDS} words; "
                             f"domain tasks need {max(MIN_ITEMS, choices)}: give a larger corpus (about 8x that many "
                             "documents, one in eight is held out)")
    order = list(range(len(usable)))
    rng.shuffle(order)
    items = []
    for i in order[:n]:
        words = usable[i]
        cut = rng.randint(MIN_CONTEXT, len(words) - SPAN_WORDS)
        context = " ".join(words[max(0, cut - CONTEXT_WORDS):cut])
        real = " ".join(words[cut:cut + SPAN_WORDS])
        others = []
        starts = [a for a in range(0, len(words) - SPAN_WORDS + 1)  # never the context's own words: copying would win
                  if a >= cut + SPAN_WORDS or a + SPAN_WORDS <= cut - CONTEXT_WORDS]
        for a in rng.sample(starts, len(starts)):
            span = " ".join(words[a:a + SPAN_WORDS])
            if len(others) < choices - 1 and span != real and span not in others:
                others.append(span)
        while len(others) < choices - 1:
            j = rng.randrange(len(usable))
            if j == i:
                continue
            at = rng.randint(0, len(usable[j]) - SPAN_WORDS)
            span = " ".join(usable[j][at:at + SPAN_WORDS])
            if span != real and span not in others:
                others.append(span)
        answer = rng.randrange(choices)
        options = others[:answer] + [real] + others[answer:]
        items.append((context, options, answer))
    return Task(name, "choice", "acc_norm", items)
