"""One evaluation: fidelity of a candidate to a reference and task accuracy of both, item-paired, gated.

Order matters for cost: tokenizers are compared before any model runs (a mismatch is refused at once),
the reference's log-probabilities come from the disk cache when present, and the reference's task
outcomes can come from earlier runs (``known``), so comparing N candidates costs one reference pass."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np
from platformdirs import user_cache_dir

from tokenfall import models
from tokenfall.engines import create
from tokenfall.errors import TokenfallError
from tokenfall.models import tokenizers
from tokenfall.progress import Progress
from tokenfall.quality import fidelity as fid
from tokenfall.quality import gate, served, tasks, texts
from tokenfall.quality.generate import generate
from tokenfall.quality.scoring import BACKENDS, open_scorer
from tokenfall.types import EvalConfig, EvalSummary, ModelInfo, Request
from tokenfall.workloads.texts import from_files

CHUNK = 32  # items per loglik call between progress updates


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
    create(cfg.engine, model, cfg.engine_options)  # engine name, its library and options checked (nothing started)
    loaded = [(spec, tasks.load(spec)) for spec in cfg.tasks]  # bad files fail before any model runs
    if cfg.engine not in BACKENDS.names() and any(t.kind == "choice" for _, t in loaded):
        raise TokenfallError(f"engine '{cfg.engine}' gives no log-probabilities for choice tasks; use --engine llamacpp or transformers")
    do_fidelity = ref is not None and cfg.fidelity
    if cfg.lm_eval:
        from tokenfall.quality import lmeval

        lmeval.check(cfg.lm_eval, cfg.lm_eval_include)
    if not do_fidelity and not loaded and not cfg.lm_eval:
        raise TokenfallError("nothing to evaluate: give --reference for fidelity and/or --task (e.g. --task synth:arithmetic)")
    if do_fidelity and cfg.served is not None and cfg.engine != "llamacpp":
        raise TokenfallError(f"grading the served path needs the in-process llama.cpp engine (it reads every emitted token's "
                             f"distribution), not '{cfg.engine}'")
    if do_fidelity and cfg.engine not in ("llamacpp", "transformers"):
        raise TokenfallError(f"fidelity needs full next-token distributions, which engine '{cfg.engine}' does not return; "
                             "run it with --engine llamacpp or transformers on the model file, or pass --no-fidelity")
    if do_fidelity:
        if model.kind == "remote" or ref.kind == "remote":
            raise TokenfallError("fidelity needs local model files for both candidate and reference")
        cand_tok, ref_tok = tokenizers.load(model), tokenizers.load(ref)
        if tokenizers.vocab_digest(cand_tok) != tokenizers.vocab_digest(ref_tok):
            raise TokenfallError(f"candidate '{model.ref}' and reference '{ref.ref}' use different tokenizers (vocabulary {cand_tok.n_vocab} "
                                 f"vs {ref_tok.n_vocab} tokens, or different merges); fidelity compares next-token distributions "
                                 "token by token, so it needs the same tokenizer — compare task accuracy instead (--no-fidelity --task ...)")
    return model, ref, loaded


def evaluate(cfg: EvalConfig, progress: Progress, summary: EvalSummary | None = None,
             known: Callable[[str, str, dict], str | None] = lambda sha, digest, options: None, prepared=None) -> EvalSummary:
    """Fill ``summary`` (fidelity first, so an interrupted run keeps it). ``known(model_sha256,
    task_digest, engine_options)`` returns stored per-item outcomes of the reference graded with those
    options, if any. The reference is graded with ``cfg.reference_options``, the candidate with
    ``cfg.engine_options``.

    Work is grouped by model so each is loaded once: the reference's pass, then the candidate's, then
    generation tasks (which run on the serving engine)."""
    model, ref, loaded = prepared or prepare(cfg)
    summary = summary or EvalSummary(model=model, reference=ref, engine=cfg.engine)
    cand: dict[int, tuple] = {}
    ref_out: dict[int, np.ndarray] = {}
    if ref is not None:
        for i, (_, task) in enumerate(loaded):
            stored = known(ref.sha256 or ref.ref, task.digest(), cfg.reference_options)
            if stored is not None and len(stored) == len(task.items):
                ref_out[i] = np.asarray([c == "1" for c in stored])
    if ref is not None and cfg.fidelity and cfg.served is not None:
        summary.fidelity = served.grade(model, ref, cfg.engine_options, cfg.reference_options, cfg.served, cfg.served_requests,
                                        progress, ref.ref)
    text_fidelity = ref is not None and cfg.fidelity and cfg.served is None
    pool = _Scorers(cfg)
    try:
        if text_fidelity:
            wins, reference = _reference_pass(cfg, ref, pool, progress)
        for i, (_, task) in enumerate(loaded):
            if ref is not None and task.kind == "choice" and i not in ref_out:
                ref_out[i] = _grade_choice(pool.get(ref, True), task, progress, "reference")[0]
        if text_fidelity:
            progress.level(f"fidelity ({model.name or model.ref})", len(wins))
            summary.fidelity = fid.compare(pool.get(model), reference, wins, lambda n: progress.request_done(), ref.ref)
        for i, (_, task) in enumerate(loaded):
            if task.kind == "choice":
                cand[i] = _grade_choice(pool.get(model), task, progress, "candidate")
    finally:
        pool.close()
    for i, (spec, task) in enumerate(loaded):
        if task.kind == "gen":
            cand[i] = _grade_gen(cfg, model, task, spec, progress, "candidate", cfg.engine_options)
            if ref is not None and i not in ref_out:
                ref_out[i] = _grade_gen(cfg, ref, task, spec, progress, "reference", cfg.reference_options)[0]
        summary.tasks.append(tasks.result(task.name, spec.kind, task.metric, task.digest(), *cand[i], ref_out.get(i), cfg.gate.alpha,
                                          origin=task.origin, chance=tasks.chance(task)))
    for name in cfg.lm_eval:
        summary.tasks.append(_lm_eval(cfg, name, model, ref, progress, known))
    summary.gate = gate.check(cfg.gate, summary.fidelity, summary.tasks)
    return summary


def _lm_eval(cfg: EvalConfig, name: str, model: ModelInfo, ref: ModelInfo | None, progress, known):
    from tokenfall.quality import lmeval

    digest = hashlib.sha256(json.dumps(["lm-eval", name, cfg.limit, cfg.lm_eval_include]).encode()).hexdigest()[:16]

    def one(m: ModelInfo, who: str):
        progress.level(f"lm-eval {name} ({who}: {m.name or m.ref})", None)
        pool = _Scorers(cfg)
        is_ref = who == "reference"
        opts = cfg.reference_options if is_ref else cfg.engine_options
        gen = lambda reqs: generate(cfg.engine, m, opts,  # noqa: E731
                                    [Request(id=i, prompt=p, max_tokens=n, ignore_eos=False) for i, (p, n) in enumerate(reqs)])
        try:
            return lmeval.run(name, cfg.lm_eval_include, cfg.limit, lambda: pool.get(m, is_ref), gen, cfg.ctx)
        finally:
            pool.close()

    metric, outcomes, agg = one(model, "candidate")
    ref_outcomes = None
    if ref is not None:
        stored = known(ref.sha256 or ref.ref, digest, cfg.reference_options)
        ref_outcomes = np.asarray([c == "1" for c in stored]) if stored and len(stored) == len(outcomes) else one(ref, "reference")[1]
    return tasks.result(f"lm-eval:{name}", "lm-eval", metric, digest, outcomes, agg, ref_outcomes, cfg.gate.alpha)


class _Scorers:
    """One open scorer at a time (models can be large); reopened only when the model or its options change."""

    def __init__(self, cfg: EvalConfig):
        self.cfg, self.key, self.scorer = cfg, None, None

    def get(self, model: ModelInfo, reference: bool = False):
        options = self.cfg.reference_options if reference else self.cfg.engine_options
        key = (model.sha256, model.path, repr(sorted(options.items())))
        if key != self.key:
            self.close()
            self.scorer = open_scorer(model, self.cfg.engine, options | {"n_ctx": self.cfg.ctx})
            self.key = key
        return self.scorer

    def close(self) -> None:
        if self.scorer is not None:
            self.scorer.close()
        self.key = self.scorer = None


def _grade_gen(cfg: EvalConfig, model: ModelInfo, task, spec, progress, who: str, options: dict):
    progress.level(f"{task.name} ({who}: {model.name or model.ref})", len(task.items))
    outs = generate(cfg.engine, model, options, tasks.gen_requests(task, spec.max_tokens),
                    progress=lambda n: _advance(progress, n))
    return tasks.grade_gen(task, outs)


def _grade_choice(scorer, task, progress, who: str):
    progress.level(f"{task.name} ({who}: {scorer.model.name or scorer.model.ref})", len(task.items))
    parts = []
    for i in range(0, len(task.items), CHUNK):
        sub = tasks.Task(task.name, task.kind, task.metric, task.items[i:i + CHUNK])
        parts.append(tasks.grade_choice(scorer, sub))
        _advance(progress, len(sub.items))
    outcomes = np.concatenate([p[0] for p in parts])
    n = [len(p[0]) for p in parts]
    metrics = {k: float(np.average([p[1][k] for p in parts], weights=n)) for k in parts[0][1]}
    return outcomes, metrics


def _reference_pass(cfg: EvalConfig, ref: ModelInfo, pool: _Scorers, progress):
    """The fidelity windows and the reference's log-probabilities (from the disk cache when present)."""
    text = from_files(cfg.texts) if cfg.texts else texts.builtin(ref, cfg.engine, cfg.reference_options, cfg.tokens, progress)
    rs = pool.get(ref, True)
    stream = rs.encode(text, bos=False)[:cfg.tokens]
    wins = fid.windows(stream, rs.bos(), cfg.ctx, cfg.score_from)
    if not wins:
        raise TokenfallError(f"the fidelity text has {len(stream)} tokens, too few for one {cfg.ctx}-token window; "
                             "give more text or a smaller --ctx")
    path = cache_dir() / fid.cache_key(rs, cfg.engine, stream, cfg.ctx, cfg.score_from)
    if (path / "meta.json").is_file():
        return wins, fid.ReferenceLogprobs(path)
    progress.level(f"reference log-probabilities ({ref.name or ref.ref})", len(wins))
    return wins, fid.ReferenceLogprobs.build(path, rs, wins, lambda n: progress.request_done())
