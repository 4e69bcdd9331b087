"""A small specialist for a domain, built and graded against the general model it is meant to sit beside:
continued training of a small model on the domain corpus (distilled from the general model as well when the two
share a tokenizer), then the base, the specialist and the general model side by side on in-domain requests made
from held-out corpus text, on general tasks, and on price."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from tokenfall import models
from tokenfall.api.levers import _price, apply_lever
from tokenfall.api.route import _answer, check_roles, domain_task, general_tasks
from tokenfall.errors import TokenfallError
from tokenfall.files import write_text_atomic
from tokenfall.levers.job import artifact_dir
from tokenfall.models import tokenizers
from tokenfall.progress import Progress, Silent
from tokenfall.routing.job import paired_gap
from tokenfall.routing.curves import wilson
from tokenfall.types import RouteConfig
from tokenfall.workloads.texts import corpus_documents


def _train_file(corpus: list[str]) -> str:
    """A user corpus's train split as one text file (the held-out documents never reach training)."""
    docs = corpus_documents(corpus, "train")
    if not docs:
        raise TokenfallError(f"corpus {', '.join(corpus)}: no documents left for training after the held-out split; give more text")
    body = "\n\n".join(docs)
    path = artifact_dir() / "corpora" / f"train-{hashlib.sha256(body.encode()).hexdigest()[:16]}.txt"
    if not path.is_file():
        write_text_atomic(path, body)
    return str(path)


def specialize(base_ref: str | None, general_ref: str, corpus: list[str] | None = None, steps: int = 300,
               minutes: float | None = None, lr: float = 2e-4, seed: int = 0, items: int = 600, general: list | None = None,
               price: bool = True, db: str | None = None, progress: Progress | None = None, train_progress=None) -> dict:
    """Train the specialist (lever ``distill``: the cross-entropy on the corpus's train split, plus the KL to the
    general model when it has the base's tokenizer), then grade base, specialist and general model on the same
    in-domain requests (Wilson intervals; the general − specialist gap with a paired bootstrap interval), on the
    ``general`` tasks, and, with ``price``, on decode speed and $/M output (one bench run each)."""
    progress = progress or Silent()
    base, large = models.resolve(base_ref), models.resolve(general_ref)
    check_roles(base, large)
    config = RouteConfig(small=base.path, large=large.path, corpus=corpus, items=items, general=general or [], seed=seed)
    task = domain_task(config)  # a corpus too small to split fails here, before training
    gen_tasks = general_tasks(config)
    same_vocab = tokenizers.vocab_digest(tokenizers.load(base)) == tokenizers.vocab_digest(tokenizers.load(large))
    options = {"ce_weight": 1.0, "lr": lr, "steps": steps, "minutes": minutes, "seed": seed,
               "corpus": None if corpus is None else [_train_file(corpus)], "teacher": large.path if same_vocab else None}
    options = {k: v for k, v in options.items() if v is not None or k == "corpus"}
    spec = apply_lever("distill", base.path, options, None, db, progress=train_progress)
    task_list = [("domain", task)] + [("general", t) for t in gen_tasks]
    rows, outcomes = [], {}
    for label, m in (("base", base), ("specialist", spec), ("general", large)):
        answers = _answer(m, task_list, progress)
        ok = np.asarray([a[0] for a in answers])
        n_dom = len(task.items)
        outcomes[label] = ok[:n_dom]
        row = {"label": label, "path": m.path, "sha256": m.sha256, "n_params": m.n_params, "size_bytes": m.size_bytes,
               "quant_type": m.quant_type, "domain": float(ok[:n_dom].mean()), "domain_ci": wilson(int(ok[:n_dom].sum()), n_dom),
               "tasks": {}}
        at = n_dom
        for t in gen_tasks:
            part = ok[at:at + len(t.items)]
            row["tasks"][t.name] = {"acc": float(part.mean()), "ci": wilson(int(part.sum()), len(part))}
            at += len(t.items)
        if price:
            row |= _price(m.path, db, progress)
        rows.append(row)
    gap, ci = paired_gap(outcomes["general"], outcomes["specialist"], seed=seed)
    gain, gain_ci = paired_gap(outcomes["specialist"], outcomes["base"], seed=seed)
    return {"specialist": spec.model_dump(), "lineage": models.lineage_of(spec.path), "teacher": options["teacher"],
            "options": json.loads(json.dumps(options)), "domain_items": len(task.items), "rows": rows,
            "gap_general_minus_specialist": gap, "gap_ci": ci, "gain_over_base": gain, "gain_ci": gain_ci}
