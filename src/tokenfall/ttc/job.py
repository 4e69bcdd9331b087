"""A ttc run recorded in the ledger: n samples per problem, verifier scores, tree search, a second model — each
problem stored as it completes, so a rerun of the same config continues where an interrupted one stopped."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tokenfall import cost, loop, models
from tokenfall.engines import Engine, create
from tokenfall.errors import EngineError, Interrupted, TokenfallError
from tokenfall.progress import Progress, Silent
from tokenfall.store import Ledger
from tokenfall.ttc import analysis, sampling, search
from tokenfall.ttc.curves import interval
from tokenfall.types import Comparison, ModelInfo, Problem, Run, Searched, TtcConfig, TtcSummary


@dataclass
class Problems:
    """A task ready to sample: prompts with their answers, where a sample stops, how its answer is read and compared."""

    name: str
    items: list[tuple[str, str]]  # (prompt, answer)
    stops: tuple[str, ...]
    extract: Callable[[str], str | None]
    same: Callable[[str, str], bool]
    origin: str | None = None


def engine_options(config: TtcConfig, problems: Problems, model: ModelInfo, n: int) -> dict:
    """For llama.cpp: the prompt prefilled once per problem (shared prompts, later waves from the prefix cache),
    up to 64 samples decoding at once, contexts sized to the longest prompt; the user's options win."""
    if config.engine != "llamacpp":
        return dict(config.engine_options)
    longest = max(len(p) for p, _ in problems.items) // 2 + 64  # a generous tokens-per-character bound for English
    parallel = min(n, 64) if not config.search else max(min(n, 64), config.beam_width * config.beam_expand)
    return {"share_prompts": True, "prefix_cache": 4, "parallel": parallel, "n_batch": max(512, parallel),
            "seq_ctx": max(256, longest + config.max_tokens + 64)} | config.engine_options


def run(config: TtcConfig, problems: Problems, model: ModelInfo, ledger: Ledger, progress: Progress | None = None,
        verifier: ModelInfo | None = None, vs: ModelInfo | None = None, resume: bool = True) -> Run:
    progress = progress or Silent()
    pricing = cost.pricing(config.price.hardware, config.price.usd_per_hour, config.price.watts, config.price.usd_per_kwh,
                           config.price.utilisation, remote=config.engine == "openai")
    usd_per_s = cost.hourly(pricing) / 3600.0
    stored_config = config.model_dump()
    run_id = ledger.resume("ttc", stored_config, model.sha256) if resume else None  # another file of that name: a new run
    if run_id is None:
        run_id = ledger.new_run("ttc", stored_config, models.run_fingerprint(model, config.engine))
    opts = engine_options(config, problems, model, config.n)
    ledger.set_engine(run_id, {"name": config.engine, "options": opts, "model": model.model_dump()})
    done = ledger.items(run_id)
    status = "failed"
    try:
        loop.run(_work(config, problems, model, opts, ledger, run_id, done, progress, verifier, vs))
        summary = summarise(config, problems, model, pricing, usd_per_s, done, vs)
        status = "complete"
    except KeyboardInterrupt:
        status = "incomplete"
        n = sum(1 for k in done if k.startswith("p:"))
        raise Interrupted(run_id, n, "problems (rerun the same command to continue)") from None
    except EngineError as e:
        raise TokenfallError(f"engine '{config.engine}' failed during the ttc run ({e.kind}: {e}); "
                             f"the {len(done)} completed items are kept in run {run_id}") from e
    finally:
        ledger.finish(run_id, status, summary if status == "complete" else None)
    return ledger.run(run_id)


async def _started(engine: str, model: ModelInfo, options: dict) -> Engine:
    eng = create(engine, model, options)
    await eng.start()
    return eng


async def _work(config: TtcConfig, problems: Problems, model: ModelInfo, opts: dict, ledger: Ledger, run_id: str,
                done: dict, progress: Progress, verifier: ModelInfo | None, vs: ModelInfo | None) -> None:
    def keep(key: str, record) -> None:
        done[key] = record.model_dump_json()
        ledger.add_item(run_id, key, done[key])

    draw = functools.partial(sampling.sample, max_tokens=config.max_tokens, temperature=config.temperature,
                             top_p=config.top_p, seed=config.seed, stops=problems.stops, extract=problems.extract,
                             same=problems.same)  # the same sampling for both models

    todo = [i for i in range(len(problems.items)) if f"p:{i}" not in done]
    targets = list(range(min(len(problems.items), config.search_problems or len(problems.items))))
    if not todo and all(f"s:{m}:{i}" in done for m in config.search for i in targets) and (
            vs is None or all(f"vs:{i}" in done for i in range(len(problems.items)))):
        return  # a finished run, re-read
    eng = await _started(config.engine, model, opts)
    check = None
    try:
        if config.verifier is not None:
            check = eng if verifier is None else await _started("llamacpp", verifier, {"prefix_cache": 4, "parallel": 32})
        progress.level(f"sampling {config.n} per problem", len(todo))
        for i in todo:
            prompt, answer = problems.items[i]
            p = await draw(eng, i, prompt, answer, config.n)
            if config.extract and config.n >= 4 and not any(a is not None for a in p.answers):
                raise TokenfallError(f"--extract '{config.extract}' matched none of the {config.n} answers to problem {i} "
                                     f"(one was {p.texts[0][:60]!r}); fix the pattern (group 1 is the answer)")
            if check is not None:
                distinct = sorted({a for a in p.answers if a is not None})
                p.scores, p.verify_s, p.verify_tokens = await sampling.verify(check, prompt, distinct)
            keep(f"p:{i}", p)
            progress.tokens(sum(p.tokens))
            progress.request_done()
        for method in config.search:
            left = [i for i in targets if f"s:{method}:{i}" not in done]
            progress.level(f"{method} search, {config.search_budget} tokens a problem", len(left))
            for i in left:
                prompt, answer = problems.items[i]
                scores: dict[str, float] = {}

                async def judge(a: str, prompt=prompt, scores=scores) -> float:
                    if a not in scores:
                        scores.update((await sampling.verify(check, prompt, [a]))[0])
                    return scores[a]

                r = await search.solve(method, eng, i, prompt, answer, width=config.beam_width, expand=config.beam_expand,
                                       budget=config.search_budget, max_tokens=config.max_tokens,
                                       temperature=config.temperature, top_p=config.top_p, seed=config.seed,
                                       stops=problems.stops, extract=problems.extract, same=problems.same,
                                       verify=judge if check is not None else None)
                keep(f"s:{method}:{i}", r)
                progress.request_done()
    finally:
        if check is not None and check is not eng:
            await check.stop()
        await eng.stop()
    if vs is not None:
        left = [i for i in range(len(problems.items)) if f"vs:{i}" not in done]
        if left:
            big = await _started(config.engine, vs, engine_options(config, problems, vs, config.vs_n))
            progress.level(f"{vs.name}: {config.vs_n} per problem", len(left))
            try:
                for i in left:
                    prompt, answer = problems.items[i]
                    p = await draw(big, i, prompt, answer, config.vs_n)
                    keep(f"vs:{i}", p)
                    progress.request_done()
            finally:
                await big.stop()


def _stored(done: dict, prefix: str, cls):
    return [cls.model_validate_json(v) for k, v in sorted(done.items(), key=lambda kv: int(kv[0].rsplit(":", 1)[1]))
            if k.startswith(prefix)]


def summarise(config: TtcConfig, problems: Problems, model: ModelInfo, pricing, usd_per_s: float, done: dict,
              vs: ModelInfo | None) -> TtcSummary:
    probs: list[Problem] = _stored(done, "p:", Problem)
    ks = sorted(set(config.ks or analysis.default_ks(config.n)))
    pts = analysis.points(probs, ks, usd_per_s, config.accept, config.seed)
    pts += analysis.searched_points(_stored(done, "s:", Searched), config.search_budget, usd_per_s, config.seed)
    engine_s = sum(p.prefill_s + p.decode_s for p in probs)
    n_samples = sum(len(p.texts) for p in probs)
    summary = TtcSummary(
        model=model, engine=config.engine, task=problems.name, origin=problems.origin, problems=len(probs), n=config.n,
        temperature=config.temperature, top_p=config.top_p, max_tokens=config.max_tokens,
        prompt_tokens=float(np.mean([p.prompt_tokens for p in probs])), prompt_computed=float(np.mean([p.prompt_computed for p in probs])),
        samples_per_s=n_samples / max(engine_s, 1e-9), output_tokens_per_s=sum(sum(p.tokens) for p in probs) / max(engine_s, 1e-9),
        pricing=pricing, usd_per_engine_second=usd_per_s, points=pts, coverage_fit=analysis.coverage_fit(pts),
        majority_plateau=analysis.plateau(pts), verifier=config.verifier, frontier=analysis.frontier(pts),
        choice=analysis.choose(pts, config.budget_usd, config.target),
        assumptions=[
            f"${cost.hourly(pricing) * 1:.4g}/hour all-in for the hardware ({pricing.hardware or 'given'}; {pricing.usd_per_hour_source})",
            "spend per problem = engine seconds (llama.cpp's own prefill and decode time; the wall clock for a remote server) "
            "x $/second; a sample is charged the decode time it took with all n in flight (the batched rate)",
            "the prompt is charged for the tokens the engine computed: once per problem, shared by its samples (later waves, "
            "and a prefix shared with the previous problem, come from the prefix cache)",
            "intervals: 95% percentile bootstrap over problems; votes over 200 random k-subsets per problem",
        ] + ([f"verifier '{config.verifier}': P(' Yes') vs P(' No') after the problem and one distinct final answer, "
              "charged per distinct answer it checked"] if config.verifier else []))
    if vs is not None:
        big = _stored(done, "vs:", Problem)
        if big:
            acc, lo, hi = interval([float(np.mean(p.correct)) for p in big], seed=config.seed)
            one = float(np.mean([(p.prefill_s + p.decode_s / len(p.texts)) for p in big])) * usd_per_s
            small_prompt = float(np.mean([p.prefill_s for p in probs])) * usd_per_s
            small_sample = float(np.mean([p.decode_s / len(p.texts) for p in probs])) * usd_per_s
            fits = [p for p in summary.frontier if p.usd <= one]
            summary.comparison = Comparison(model=vs, acc=acc, lo=lo, hi=hi, usd=one, small=fits[-1] if fits else None,
                                            k_equal_cost=max(0.0, one - small_prompt) / small_sample if small_sample > 0 else 0.0)
    return summary
