"""Routing between a small specialist and a general model: every request answered by both, each router traced
from all-small to all-general, priced with the compute each model measured in this run. Recorded as a
``route`` run; the router files it writes serve the pair with ``bench --engine routed``."""

from __future__ import annotations

import asyncio
import json

from tokenfall import cost, models
from tokenfall.errors import TokenfallError
from tokenfall.files import write_text_atomic
from tokenfall.levers.job import artifact_dir
from tokenfall.progress import Progress, Silent
from tokenfall.quality import domain, tasks
from tokenfall.quality.scoring import open_scorer
from tokenfall.routing import job
from tokenfall.store import Ledger
from tokenfall.types import ModelInfo, RouteConfig, RouteItem, Run
from tokenfall.workloads.texts import corpus_documents, stdlib_documents


RATE_SAMPLE = 200  # requests served to measure each model's prefill rate


def check_roles(small: ModelInfo, large: ModelInfo) -> None:
    """The small model must be the cheaper one to run: fewer parameters or fewer bytes read per token."""
    for m, role in ((small, "small"), (large, "general")):
        if m.kind != "gguf":
            raise TokenfallError(f"the {role} model '{m.ref}' is {m.kind}; route scores both models in-process: give GGUF files")
    if small.sha256 == large.sha256:
        raise TokenfallError(f"the small and the general model are the same file ({small.path}); give two models")
    if (small.n_params or 0) >= (large.n_params or 0) and small.size_bytes >= large.size_bytes:
        raise TokenfallError(f"mismatched roles: the small model ({small.n_params:,} parameters, {small.size_bytes / 1e6:,.0f} MB) is "
                             f"not smaller than the general one ({large.n_params:,}, {large.size_bytes / 1e6:,.0f} MB); swap them")


def domain_task(config: RouteConfig) -> tasks.Task:
    docs = stdlib_documents("heldout") if config.corpus is None else corpus_documents(config.corpus, "heldout")
    return domain.continuation_task(docs, config.items, config.seed)


def general_tasks(config: RouteConfig) -> list[tasks.Task]:
    out = []
    for spec in config.general:
        t = tasks.load(spec)
        if t.kind != "choice":
            raise TokenfallError(f"task '{t.name}' is a generation task; route grades requests by log-likelihood: "
                                 "give choice tasks (hellaswag, synth:FAMILY, choice:FILE.jsonl)")
        out.append(t)
    return out


def _answer(model: ModelInfo, task_list: list[tuple[str, tasks.Task]], progress: Progress) -> list[tuple[bool, float, int]]:
    """Every request of every task scored by one model: (right, confidence, tokens computed) per request."""
    scorer = open_scorer(model, "llamacpp", {"n_ctx": 1024})
    rows = []
    try:
        for _, t in task_list:
            progress.level(f"{model.ref}: {t.name}", len(t.items))
            ok, conf = tasks.choice_details(scorer, t)
            rows += list(zip(ok.tolist(), conf.tolist(), tasks.choice_tokens(scorer, t).tolist()))
    finally:
        scorer.close()
    return rows


def prefill_rate(model: ModelInfo, texts: list[str], parallel: int = 8) -> tuple[float, int]:
    """Engine seconds per prompt token when serving ``texts`` (the requests with their choices) on in-process
    llama.cpp, ``parallel`` at a time, one output token each: llama.cpp's own prefill time over the prompt tokens
    it computed. The scorer's packed batches are not how a model is served, so its wall time prices nothing."""
    from tokenfall import loop
    from tokenfall.engines import create
    from tokenfall.types import Request

    async def go():
        eng = create("llamacpp", model, {"parallel": parallel, "seq_ctx": 1024})
        await eng.start()
        try:
            async def one(i, text):
                async for _ in eng.stream(Request(id=i, prompt=text, max_tokens=1)):
                    pass
            await one(-1, texts[0])  # warm-up, untimed
            busy0, pre0 = eng.busy(), eng.prefilled
            for at in range(0, len(texts), parallel):
                await asyncio.gather(*(one(at + i, t) for i, t in enumerate(texts[at:at + parallel])))
            return eng.busy()[0] - busy0[0], eng.prefilled - pre0
        finally:
            await eng.stop()

    seconds, tokens = loop.run(go())
    return seconds / max(1, tokens), tokens


def route(config: RouteConfig, db: str | None = None, progress: Progress | None = None) -> Run:
    """Answer in-domain requests (built from held-out corpus text) and the general tasks' requests with both
    models, then train and trace each router, and store the curves as a ``route`` run."""
    progress = progress or Silent()
    small, large = models.resolve(config.small), models.resolve(config.large)
    check_roles(small, large)
    task_list = [("domain", domain_task(config))] + [("general", t) for t in general_tasks(config)]
    pricing = cost.pricing(config.price.hardware, config.price.usd_per_hour, config.price.watts, config.price.usd_per_kwh,
                           config.price.utilisation)
    usd_per_s = cost.hourly(pricing) / 3600.0
    out_dir = artifact_dir() / "routers"
    with Ledger(db) as ledger:
        run_id = ledger.new_run("route", config.model_dump(), models.run_fingerprint(small, "llamacpp") | {"large": large.model_dump()})
        status, summary = "failed", None
        try:
            answers, rates = {}, {}
            texts = [" ".join([ctx, *choices]) for _, t in task_list for ctx, choices, _ in t.items]
            sample = texts[::max(1, len(texts) // RATE_SAMPLE)]
            for role, m in (("small", small), ("large", large)):
                answers[role] = _answer(m, task_list, progress)
                progress.level(f"{m.ref}: serving prefill rate", len(sample))
                rates[role] = prefill_rate(m, sample)
            items, n = [], 0
            for segment, t in task_list:
                for i, (ctx, _, _) in enumerate(t.items):
                    (ok_s, conf_s, tok_s), (ok_l, _, tok_l) = answers["small"][n], answers["large"][n]
                    items.append(RouteItem(segment=segment, task=t.name, index=i, text=ctx, ok_small=ok_s, ok_large=ok_l,
                                           conf_small=conf_s, tokens_small=tok_s, tokens_large=tok_l,
                                           usd_small=tok_s * rates["small"][0] * usd_per_s, usd_large=tok_l * rates["large"][0] * usd_per_s,
                                           split=job.split_of(config.seed, segment, t.name, i, config.train_share)))
                    n += 1
            test = [i for i in items if i.split == "test"]
            if sum(i.segment == "domain" for i in test) < 10:
                raise TokenfallError(f"only {sum(i.segment == 'domain' for i in test)} in-domain requests fall in the test split; "
                                     "raise --items or lower --train-share")
            out_dir.mkdir(parents=True, exist_ok=True)
            write_text_atomic(out_dir / f"{run_id}-prompts.jsonl",
                              "".join(json.dumps({"prompt": i.text}) + "\n" for i in test))
            summary = job.summarise(config, items, small, large, {k: v[0] for k, v in rates.items()}, pricing, usd_per_s, out_dir,
                                    run_id, assumptions(config, small, large, rates, usd_per_s))
            status = "complete"
        except KeyboardInterrupt:
            status = "incomplete"
            raise
        finally:
            ledger.finish(run_id, status, summary)
        return ledger.run(run_id)


def assumptions(config: RouteConfig, small: ModelInfo, large: ModelInfo, rates: dict, usd_per_s: float) -> list[str]:
    return [
        "each request is answered by log-likelihood over its choices (prefill of the context and every choice, no decoding)",
        f"serving cost per prompt token, measured in this run on in-process llama.cpp (8 requests at a time, llama.cpp's own "
        f"prefill time over the tokens it computed, {rates['small'][1]:,} and {rates['large'][1]:,} tokens of these requests): "
        f"small {rates['small'][0] * 1e6:.0f} µs/token, general {rates['large'][0] * 1e6:.0f} µs/token",
        f"a request's cost = its tokens (context once, then every choice; each model's own tokenizer) x that rate x ${usd_per_s * 3600:.4f}/h",
        "a cascade pays for the small model on every request and for the general one on those it escalates",
        "the classifier's cost per request is its measured feature + prediction time; its labels: the general model right "
        "where the small one was wrong, on the train split only",
        f"curves, APGR and CPT on the test split ({config.train_share:.0%} of requests trained the classifier); "
        "APGR integrates PGR over the share of calls to the general model, k = 0..n (RouteLLM's definition)",
        f"in-domain requests: 'which continuation is real' items from held-out {'standard-library docstrings' if config.corpus is None else 'corpus documents'} "
        f"(one per document, 4 choices, acc_norm); chance {1 / 4:.0%}",
        f"quality floor: {config.floor:.0%} of the general model's score on every segment (in-domain{', general' if config.general else ''})",
        f"small {small.ref} ({small.n_params:,} params, {small.quant_type}); general {large.ref} ({large.n_params:,} params, {large.quant_type})",
    ]
