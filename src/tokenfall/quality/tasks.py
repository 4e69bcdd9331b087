"""Tasks: multiple choice by log-likelihood (lm-eval style), generation with answer extraction, and the
procedural families. Loading validates every line (file:line on error); grading yields one outcome per
item so two configurations can be compared item by item.

Choice JSONL: {"context": str, "choices": [str, ...], "answer": int}, or the HellaSwag-pairs form
{"context": str, "correct": str, "wrong": str | [str, ...]}.
Generation JSONL: {"prompt": str, "answer": str}, or GSM8K's {"question": str, "answer": "... #### 42"}.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tokenfall.errors import TokenfallError
from tokenfall.files import read_text
from tokenfall.quality import datasets, synthetic
from tokenfall.quality.scoring import Scorer, choice_loglik, split_continuation
from tokenfall.quality.stats import paired, wilson
from tokenfall.registry import did_you_mean
from tokenfall.types import Request, TaskResult, TaskSpec


@dataclass
class Task:
    name: str
    kind: str  # choice | gen
    metric: str
    items: list = field(default_factory=list)  # (context, choices, answer) or (prompt, answer)
    stops: tuple[str, ...] = ("\n\n",)
    origin: str | None = None  # a named data set's source

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.items).encode()).hexdigest()[:16]


def _lines(path: str):
    for n, line in enumerate(read_text(path, "task file").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise TokenfallError(f"{path}:{n}: not valid JSON ({e.msg}); each line must be one JSON object") from e
        if not isinstance(obj, dict):
            raise TokenfallError(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
        yield n, obj


def _str(path: str, n: int, obj: dict, key: str) -> str:
    v = obj.get(key)
    if not isinstance(v, str) or not v:
        raise TokenfallError(f"{path}:{n}: field \"{key}\" must be a non-empty string")
    return v


def load_choice(path: str) -> list:
    items = []
    for n, obj in _lines(path):
        ctx = obj.get("context")
        if not isinstance(ctx, str):
            raise TokenfallError(f"{path}:{n}: field \"context\" must be a string")
        if "choices" in obj:
            choices, answer = obj["choices"], obj.get("answer")
            if not (isinstance(choices, list) and len(choices) >= 2 and all(isinstance(c, str) and c for c in choices)):
                raise TokenfallError(f"{path}:{n}: \"choices\" must be a list of at least two non-empty strings")
            if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(choices):
                raise TokenfallError(f"{path}:{n}: \"answer\" must be an index into \"choices\" (0..{len(choices) - 1})")
        elif "correct" in obj:
            wrong = obj.get("wrong")
            wrong = [wrong] if isinstance(wrong, str) else wrong
            if not (isinstance(wrong, list) and wrong and all(isinstance(w, str) and w for w in wrong)):
                raise TokenfallError(f"{path}:{n}: \"wrong\" must be a string or a list of strings")
            choices, answer = [_str(path, n, obj, "correct"), *wrong], 0
        else:
            raise TokenfallError(f"{path}:{n}: expected \"choices\" + \"answer\" or \"correct\" + \"wrong\"")
        items.append((ctx, choices, answer))
    return items


_GSM_ANSWER = re.compile(r"####\s*(.+)$", re.S)


def load_gen(path: str) -> list:
    items = []
    for n, obj in _lines(path):
        if "question" in obj:
            q, a = _str(path, n, obj, "question"), _str(path, n, obj, "answer")
            m = _GSM_ANSWER.search(a)
            if not m:
                raise TokenfallError(f"{path}:{n}: GSM8K answer has no '#### <number>' line")
            items.append((q, m.group(1).strip(), a[:m.start()].strip()))
        else:
            items.append((_str(path, n, obj, "prompt"), _str(path, n, obj, "answer"), ""))
    return items


def load(spec: TaskSpec) -> Task:
    if spec.kind == "dataset":
        if spec.source not in datasets.DATASETS:
            raise did_you_mean(spec.source, list(datasets.DATASETS), "data set")
        found = datasets.locate(spec.source)
        task = load(spec.model_copy(update={"kind": datasets.DATASETS[spec.source].kind, "source": str(found.path)}))
        task.name, task.origin = spec.source, found.origin
        return task
    if spec.kind in ("synth", "synth-gen"):
        if spec.source not in synthetic.FAMILIES:
            raise did_you_mean(spec.source, list(synthetic.FAMILIES), "synthetic task family")
        if not 1 <= spec.difficulty <= 3:
            raise TokenfallError(f"difficulty {spec.difficulty} is out of range; use 1, 2 or 3")
        made = synthetic.make(spec.source, spec.n, spec.difficulty, spec.seed)
        name = f"{spec.source}-d{spec.difficulty}"
        if spec.kind == "synth":
            task = Task(name, "choice", "acc", [(p, [" " + a] + [" " + w for w in ws], 0) for p, a, ws in made])
        else:
            task = Task(name + "-gen", "gen", "exact_match", [(p, a) for p, a, _ in made], stops=("\n",))
    elif spec.kind == "choice":
        task = Task(Path(spec.source).stem, "choice", "acc_norm", load_choice(spec.source))
    else:
        raw = load_gen(spec.source)
        shots, raw = raw[:spec.shots], raw[spec.shots:]
        prefix = "".join(f"Question: {q}\nAnswer: {w + chr(10) if w else ''}#### {a}\n\n" for q, a, w in shots)
        task = Task(Path(spec.source).stem, "gen", "exact_match", [(f"{prefix}Question: {q}\nAnswer:", a) for q, a, _ in raw],
                    stops=("\n\nQuestion:", "Question:") if spec.shots else ("\n\n\n", "Question:"))
    if spec.limit is not None:
        task.items = task.items[:spec.limit]
    if not task.items:
        raise TokenfallError(f"task '{spec.source}' has no items; check the file or --limit")
    return task


def _sep(ctx: str, choice: str) -> str:
    """A choice as it follows its context: after one space unless the context ends in whitespace."""
    return " " + choice.lstrip(" ") if ctx and not ctx.endswith((" ", "\n")) else choice


def _choice_lls(scorer: Scorer, task: Task) -> list[list[tuple[float, bool]]]:
    return choice_loglik(scorer, [(ctx, [_sep(ctx, c) for c in choices]) for ctx, choices, _ in task.items])


def _per_byte(ll, choices) -> list[float]:
    return [x[0] / max(1, len(c.encode())) for x, c in zip(ll, choices)]


def grade_choice(scorer: Scorer, task: Task) -> tuple[np.ndarray, dict[str, float]]:
    """acc: highest summed log-probability; acc_norm: highest per byte of the choice (lm-eval's)."""
    acc, acc_norm, greedy = [], [], []
    for (_, choices, answer), ll in zip(task.items, _choice_lls(scorer, task), strict=True):
        acc.append(int(np.argmax([x[0] for x in ll])) == answer)
        acc_norm.append(int(np.argmax(_per_byte(ll, choices))) == answer)
        greedy.append(ll[answer][1])
    metrics = {"acc": float(np.mean(acc)), "acc_norm": float(np.mean(acc_norm)), "greedy_match": float(np.mean(greedy))}
    return np.asarray(acc_norm if task.metric == "acc_norm" else acc), metrics


def choice_details(scorer: Scorer, task: Task) -> tuple[np.ndarray, np.ndarray]:
    """Per item: right under the task's metric, and the model's probability of its own pick — a softmax over
    the choices' scores on the log-likelihood scale (acc_norm's per-byte scores times the mean choice length),
    the confidence a cascade escalates on."""
    ok, conf = [], []
    for (_, choices, answer), ll in zip(task.items, _choice_lls(scorer, task), strict=True):
        if task.metric == "acc_norm":
            mean_bytes = float(np.mean([max(1, len(c.encode())) for c in choices]))
            scores = np.asarray(_per_byte(ll, choices)) * mean_bytes
        else:
            scores = np.asarray([x[0] for x in ll])
        p = np.exp(scores - scores.max())
        p /= p.sum()
        ok.append(int(np.argmax(scores)) == answer)
        conf.append(float(p.max()))
    return np.asarray(ok), np.asarray(conf)


def choice_tokens(scorer: Scorer, task: Task) -> np.ndarray:
    """Tokens scored per item: the context once and every choice after it (the scorer's own tokenizer)."""
    enc = lambda s: scorer.encode(s, bos=True)  # noqa: E731
    out = []
    for ctx, choices, _ in task.items:
        splits = [split_continuation(enc, ctx, _sep(ctx, c)) for c in choices]
        out.append(len(splits[0][0]) + sum(len(k) for _, k in splits))
    return np.asarray(out)


_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")


def extract(text: str) -> str | None:
    """GSM8K-style final answer: after '####', else after 'answer is', else the last number."""
    for pat in (r"####\s*(" + _NUMBER.pattern + ")", r"answer is\s*:?\s*(" + _NUMBER.pattern + ")"):
        m = re.search(pat, text, re.I)
        if m:
            return normalise(m.group(1))
    nums = _NUMBER.findall(text)
    return normalise(nums[-1]) if nums else (text.strip() or None)


def normalise(s: str) -> str:
    s = s.replace(",", "").replace("$", "").strip().rstrip(".")
    try:
        v = float(s)
        return str(int(v)) if v == int(v) else str(v)
    except ValueError:
        return s.strip().lower()


def gen_requests(task: Task, max_tokens: int) -> list[Request]:
    return [Request(id=i, prompt=p, max_tokens=max_tokens, ignore_eos=False) for i, (p, _) in enumerate(task.items)]


def grade_gen(task: Task, outputs: list[str]) -> tuple[np.ndarray, dict[str, float]]:
    ok = []
    for (_, answer), out in zip(task.items, outputs):
        for stop in task.stops:
            out = out.split(stop)[0]
        ok.append(extract(out) == normalise(answer))
    return np.asarray(ok), {"exact_match": float(np.mean(ok))}


def chance(task: Task) -> float | None:
    """Expected accuracy of guessing: the mean of 1/choices (choice tasks); None for generation tasks."""
    return float(np.mean([1 / len(choices) for _, choices, _ in task.items])) if task.kind == "choice" and task.items else None


def result(name: str, kind: str, metric: str, digest: str, outcomes: np.ndarray, metrics: dict[str, float],
           reference: np.ndarray | None = None, alpha: float = 0.05, origin: str | None = None,
           chance: float | None = None) -> TaskResult:
    k = int(outcomes.sum())
    return TaskResult(name=name, kind=kind, metric=metric, n=len(outcomes), acc=k / len(outcomes),
                      ci=wilson(k, len(outcomes)), metrics=metrics, items="".join("1" if o else "0" for o in outcomes),
                      items_digest=digest, paired=paired(outcomes, reference, alpha) if reference is not None else None,
                      reference_items="" if reference is None else "".join("1" if o else "0" for o in reference),
                      origin=origin, chance=chance)
