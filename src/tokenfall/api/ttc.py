"""Test-time compute: sample n answers per problem, select one by several strategies, search a tree of steps, and
price every point. Recorded as a ``ttc`` run; a rerun of the same config continues an interrupted one."""

from __future__ import annotations

import re

from tokenfall import models
from tokenfall.errors import TokenfallError
from tokenfall.progress import Progress
from tokenfall.quality import tasks
from tokenfall.store import Ledger
from tokenfall.ttc import job
from tokenfall.types import Run, TtcConfig


def problems_of(config: TtcConfig) -> job.Problems:
    """The task's generation items with checkable answers and how a sample's answer is read: the GSM8K-style
    extractor (after '####', after 'answer is', else the last number), or the user's --extract pattern."""
    spec = config.task
    if spec.kind in ("choice", "synth"):
        raise TokenfallError(f"task '{spec.source}' is multiple choice; ttc needs answers to generate: use gsm8k, "
                             "synth-gen:FAMILY or gen:FILE.jsonl with {\"prompt\", \"answer\"} lines")
    task = tasks.load(spec)
    if task.kind != "gen":
        raise TokenfallError(f"task '{spec.source}' is not a generation task; ttc needs {{\"prompt\", \"answer\"}} items")
    if config.extract is None:
        extract = tasks.extract
    else:
        try:
            pattern = re.compile(config.extract, re.S)
        except re.error as e:
            raise TokenfallError(f"--extract '{config.extract}' is not a valid regular expression ({e}); "
                                 "give one whose group 1 is the answer") from e

        def extract(text: str) -> str | None:
            m = pattern.search(text)
            return None if m is None else tasks.normalise(m.group(1) if pattern.groups else m.group(0))
    return job.Problems(name=task.name, items=[(p, a) for p, a in task.items], stops=task.stops, extract=extract,
                        same=lambda got, want: got == tasks.normalise(want), origin=task.origin)


def ttc(config: TtcConfig, db: str | None = None, progress: Progress | None = None, fresh: bool = False) -> Run:
    """Sample ``config.n`` answers per problem (the prompt prefilled once), grade them, and price accuracy vs spend
    for every selection strategy and k; with ``verifier``, best-of-k and early stopping; with ``search``, beam
    search and MCTS within a token budget; with ``vs``, a second model sampled once against the first at equal cost.
    ``fresh`` starts a new run even when an unfinished one with the same config could be continued."""
    if config.search and config.search_budget < config.max_tokens:
        raise TokenfallError(f"--search-budget {config.search_budget} tokens cannot pay for one sample of up to "
                             f"--max-tokens {config.max_tokens}; raise the budget or lower --max-tokens")
    if config.verifier == "self" and config.engine != "llamacpp":
        raise TokenfallError(f"--verifier self needs next-token logits, which engine '{config.engine}' does not give; "
                             "pass a GGUF as --verifier (run in-process by llama.cpp)")
    problems = problems_of(config)
    model = models.resolve(config.model)
    verifier = models.resolve(config.verifier) if config.verifier not in (None, "self") else None
    vs = models.resolve(config.vs) if config.vs else None
    with Ledger(db) as ledger:
        return job.run(config, problems, model, ledger, progress, verifier=verifier, vs=vs, resume=not fresh)
