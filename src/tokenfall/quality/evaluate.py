"""One evaluation: fidelity of a candidate to a reference and task accuracy of both, item-paired, gated.

Order matters for cost: tokenizers are compared before any model runs (a mismatch is refused at once),
the reference's log-probabilities come from the disk cache when present, and the reference's task
outcomes can come from earlier runs (``known``), so comparing N candidates costs one reference pass."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from platformdirs import user_cache_dir

from tokenfall import models
from tokenfall.errors import TokenfallError
from tokenfall.models import tokenizers
from tokenfall.quality import fidelity as fid
from tokenfall.quality import gate, tasks, texts
from tokenfall.quality.generate import generate
from tokenfall.quality.scoring import BACKENDS, open_scorer, vocab_digest
from tokenfall.types import EvalConfig, EvalSummary, ModelInfo

CHUNK = 32  # items per loglik call between progress updates


class Progress:
    def level(self, label: str, total: int | None) -> None: ...
    def tokens(self, n: int) -> None: ...
    def request_done(self) -> None: ...


def _advance(progress, n: int) -> None:
    for _ in range(n):
        progress.request_done()


def cache_dir() -> Path:
    return Path(user_cache_dir("tokenfall", appauthor=False)) / "reference-logprobs"


def prepare(cfg: EvalConfig) -> tuple[ModelInfo, ModelInfo | None, list]:
    """Everything that can be checked before a model runs: options, models, task files."""
    if cfg.ctx < 16:
        raise TokenfallError(f"--ctx {cfg.ctx}: windows need at least 16 tokens")
    if not 0 < cfg.score_from < 1:
        raise TokenfallError(f"--score-from {cfg.score_from}: give a fraction between 0 and 1 (llama.cpp scores from 0.5)")
    model = models.resolve(cfg.model)
    ref = models.resolve(cfg.reference) if cfg.reference else None
    loaded = [(spec, tasks.load(spec)) for spec in cfg.tasks]  # bad files fail before any model runs
    if cfg.engine not in BACKENDS.names() and any(t.kind == "choice" for _, t in loaded):
        raise TokenfallError(f"engine '{cfg.engine}' gives no log-probabilities for choice tasks; use --engine llamacpp or transformers")
    do_fidelity = ref is not None and cfg.fidelity
    if not do_fidelity and not loaded:
        raise TokenfallError("nothing to evaluate: give --reference for fidelity and/or --task (e.g. --task synth:arithmetic)")
    if do_fidelity and cfg.engine not in ("llamacpp", "transformers"):
        raise TokenfallError(f"fidelity needs full next-token distributions, which engine '{cfg.engine}' does not return; "
                             "run it with --engine llamacpp or transformers on the model file, or pass --no-fidelity")
    if do_fidelity:
        if model.kind == "remote" or ref.kind == "remote":
            raise TokenfallError("fidelity needs local model files for both candidate and reference")
        cand_tok, ref_tok = tokenizers.load(model), tokenizers.load(ref)
        if vocab_digest(cand_tok) != vocab_digest(ref_tok):
            raise TokenfallError(f"candidate '{model.ref}' and reference '{ref.ref}' use different tokenizers (vocabulary {cand_tok.n_vocab} "
                                 f"vs {ref_tok.n_vocab} tokens, or different merges); fidelity compares next-token distributions "
                                 "token by token, so it needs the same tokenizer — compare task accuracy instead (--no-fidelity --task ...)")
    return model, ref, loaded


def evaluate(cfg: EvalConfig, progress: Progress, summary: EvalSummary | None = None,
             known: Callable[[str, str], str | None] = lambda sha, digest: None, prepared=None) -> EvalSummary:
    """Fill ``summary`` step by step (an interrupted run keeps what finished). ``known(model_sha256,
    task_digest)`` returns stored per-item outcomes of the reference, if any."""
    model, ref, loaded = prepared or prepare(cfg)
    summary = summary or EvalSummary(model=model, reference=ref, engine=cfg.engine)
    if ref is not None and cfg.fidelity:
        summary.fidelity = _fidelity(cfg, model, ref, progress)
    for spec, task in loaded:
        outcomes, metrics = _grade(cfg, model, task, spec, progress, "candidate")
        ref_outcomes = None
        if ref is not None:
            stored = known(ref.sha256 or ref.ref, task.digest())
            if stored is not None and len(stored) == len(task.items):
                ref_outcomes = np.asarray([c == "1" for c in stored])
            else:
                ref_outcomes, _ = _grade(cfg, ref, task, spec, progress, "reference")
        summary.tasks.append(tasks.result(spec, task, outcomes, metrics, ref_outcomes, cfg.gate.alpha))
    summary.gate = gate.check(cfg.gate, summary.fidelity, summary.tasks)
    return summary


def _grade(cfg: EvalConfig, model: ModelInfo, task, spec, progress, who: str):
    progress.level(f"{task.name} ({who}: {model.name or model.ref})", len(task.items))
    if task.kind == "gen":
        outs = generate(cfg.engine, model, cfg.engine_options, tasks.gen_requests(task, spec.max_tokens),
                        progress=lambda n: _advance(progress, n))
        return tasks.grade_gen(task, outs)
    scorer = open_scorer(model, cfg.engine, cfg.engine_options | {"n_ctx": cfg.ctx})
    try:
        parts = []
        for i in range(0, len(task.items), CHUNK):
            sub = tasks.Task(task.name, task.kind, task.metric, task.items[i:i + CHUNK])
            parts.append(tasks.grade_choice(scorer, sub))
            _advance(progress, len(sub.items))
    finally:
        scorer.close()
    outcomes = np.concatenate([p[0] for p in parts])
    n = [len(p[0]) for p in parts]
    metrics = {k: float(np.average([p[1][k] for p in parts], weights=n)) for k in parts[0][1]}
    return outcomes, metrics


def _fidelity(cfg: EvalConfig, model: ModelInfo, ref: ModelInfo, progress):
    if cfg.texts:
        text = texts.from_files(cfg.texts)
    else:
        progress.level(f"built-in text: {ref.name or ref.ref} continues {len(texts.OPENINGS)} openings", len(texts.OPENINGS))
        text = texts.builtin(ref, cfg.engine, cfg.engine_options, cfg.tokens, progress=lambda n: _advance(progress, n))
    opts = cfg.engine_options | {"n_ctx": cfg.ctx}
    rs = open_scorer(ref, cfg.engine, opts)
    try:
        stream = rs.encode(text, bos=False)[:cfg.tokens]
        wins = fid.windows(stream, rs.bos(), cfg.ctx, cfg.score_from)
        if not wins:
            raise TokenfallError(f"the fidelity text has {len(stream)} tokens, too few for one {cfg.ctx}-token window; "
                                 "give more text or a smaller --ctx")
        path = cache_dir() / fid.cache_key(rs, cfg.engine, stream, cfg.ctx, cfg.score_from)
        if (path / "meta.json").is_file():
            reference = fid.ReferenceLogprobs(path)
        else:
            progress.level(f"reference log-probabilities ({ref.name or ref.ref})", len(wins))
            reference = fid.ReferenceLogprobs.build(path, rs, wins, lambda n: progress.request_done())
    finally:
        rs.close()
    cs = open_scorer(model, cfg.engine, opts)
    try:
        progress.level(f"fidelity ({model.name or model.ref})", len(wins))
        return fid.compare(cs, reference, wins, lambda n: progress.request_done(), ref.ref)
    finally:
        cs.close()
