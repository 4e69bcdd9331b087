"""lm-evaluation-harness tasks through tokenfall's scorers and engines, so lm-eval's numbers describe the
same engine and model file that was priced. lm-eval is optional; its stock tasks fetch datasets from the
Hugging Face hub, local task YAMLs (``include``) need no network."""

from __future__ import annotations

import importlib.util
import logging
import os
from functools import lru_cache
from typing import Callable

import numpy as np

from tokenfall.errors import MissingDependency, TokenfallError
from tokenfall.quality.scoring import choice_loglik

PRIMARY = ("acc_norm", "acc", "exact_match", "f1", "mcc")  # first metric present is the primary one


@lru_cache(maxsize=4)
def _task_manager(include: str | None):
    """lm-eval indexes every task YAML it ships (seconds): once per include path, not per call."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=include)


def check(tasks: list[str], include: str | None) -> None:
    if importlib.util.find_spec("lm_eval") is None:
        raise MissingDependency("--lm-eval needs lm-evaluation-harness, which", "lmeval")
    if include and not os.path.isdir(include):
        raise TokenfallError(f"--lm-eval-include {include}: not a directory of lm-eval task YAML files")
    known = _task_manager(include).all_tasks
    for t in tasks:
        if t not in known:
            from tokenfall.registry import did_you_mean

            raise did_you_mean(t, sorted(known), "lm-eval task")


def run(task: str, include: str | None, limit: int | None, scorer_for: Callable[[], object],
        generate_for: Callable[[list[tuple[str, int]]], list[str]], ctx: int) -> tuple[str, np.ndarray, dict[str, float]]:
    """(metric name, per-item outcomes of the primary metric, all aggregate metrics) for one lm-eval task."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # lm-eval's bars would tear through tokenfall's progress display
    logging.getLogger("lm-eval").setLevel(logging.ERROR)
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    from lm_eval import evaluator
    from lm_eval.api.model import LM
    class Adapter(LM):
        def loglikelihood(self, requests):
            return [tuple(x[0]) for x in choice_loglik(scorer_for(), [(r.args[0], [r.args[1]]) for r in requests])]

        def loglikelihood_rolling(self, requests):
            scorer = scorer_for()
            return [_rolling(scorer, r.args[0], ctx) for r in requests]

        def generate_until(self, requests):
            outs = generate_for([(r.args[0], int(r.args[1].get("max_gen_toks", 256))) for r in requests])
            res = []
            for r, text in zip(requests, outs):
                until = r.args[1].get("until") or []
                for stop in [until] if isinstance(until, str) else until:
                    text = text.split(stop)[0]
                res.append(text)
            return res

    try:
        results = evaluator.simple_evaluate(model=Adapter(), tasks=[task], limit=limit, log_samples=True,
                                            task_manager=_task_manager(include), bootstrap_iters=0)
    except (ConnectionError, OSError, ValueError) as e:
        raise TokenfallError(f"lm-eval task '{task}' could not run ({type(e).__name__}: {str(e)[:160]}); stock tasks download "
                             "their datasets from the Hugging Face hub — without network, point --lm-eval-include at a local task YAML") from e
    agg = {k.split(",")[0]: float(v) for k, v in results["results"][task].items()
           if isinstance(v, (int, float)) and "stderr" not in k and k != "alias"}
    metric = next((m for m in PRIMARY if m in agg), None)
    if metric is None:
        raise TokenfallError(f"lm-eval task '{task}' reports none of {', '.join(PRIMARY)}; tokenfall grades per-item accuracy only")
    samples = sorted(results["samples"][task], key=lambda s: s["doc_id"])
    outcomes = np.asarray([float(s[metric]) >= 1.0 for s in samples])
    return metric, outcomes, agg


def _rolling(scorer, text: str, ctx: int) -> float:
    """Sum of log-probabilities of every token of ``text`` (after BOS when the model uses one), in windows
    of ``ctx`` that overlap by one token so each token is predicted exactly once."""
    bos = scorer.bos()
    seq = ([bos] if bos is not None else []) + scorer.encode(text, bos=False)
    total = 0.0
    for start in range(0, max(len(seq) - 1, 0), ctx - 1):
        w = seq[start:start + ctx]
        targets = np.asarray(w[1:])
        for block in scorer.windows(w, 1):
            total += float(block[np.arange(len(block)), targets[:len(block)]].sum())
            targets = targets[len(block):]
    return total
