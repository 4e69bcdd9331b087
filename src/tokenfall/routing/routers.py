"""Routers: what decides, per request, whether the small model's answer is enough. Each ranks requests by a
score (higher = send to the general model sooner) and takes a threshold in its own terms:

- cascade: the small model answers first; below ``threshold`` confidence (its probability of its own answer)
  the request is escalated, so escalated requests pay for both models;
- classifier: a logistic regression on hashed character n-grams of the prompt, trained on requests labelled
  "the general model was right where the small one was wrong"; at or above ``threshold`` probability the
  request goes to the general model, else to the small one — only the features and one dot product are paid;
- random: each request goes to the general model with probability ``threshold`` (the baseline to beat).

A router is saved as a small JSON file (kind, threshold, the classifier's weights) that the routed engine loads."""

from __future__ import annotations

import json
import random as _random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tokenfall.errors import TokenfallError
from tokenfall.files import read_text, write_text_atomic

N_FEATURES = 2 ** 16
NGRAMS = (2, 4)


def _vectorizer():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char_wb", ngram_range=NGRAMS, n_features=N_FEATURES, alternate_sign=False, norm="l2")


@dataclass
class Classifier:
    index: list[int]  # the features with a weight (those seen in training)
    weight: list[float]
    intercept: float

    @classmethod
    def train(cls, texts: list[str], needs_large: np.ndarray, seed: int = 0) -> "Classifier":
        """Balanced class weights: "needs the general model" is the rare label, and an unweighted fit would
        learn to send nothing."""
        from sklearn.linear_model import LogisticRegression

        if len(set(needs_large.tolist())) < 2:
            raise TokenfallError(f"the router's training requests are all labelled {'needs' if needs_large.all() else 'does not need'} "
                                 "the general model; a classifier cannot learn from one class (more items, or another pair)")
        fit = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000, random_state=seed).fit(_vectorizer().transform(texts), needs_large)
        coef = fit.coef_[0]
        nz = np.nonzero(coef)[0]
        return cls(nz.tolist(), coef[nz].tolist(), float(fit.intercept_[0]))

    def predict(self, texts: list[str]) -> np.ndarray:
        """P(needs the general model) per text."""
        x = _vectorizer().transform(texts)
        w = np.zeros(N_FEATURES)
        w[self.index] = self.weight
        return 1.0 / (1.0 + np.exp(-(x @ w + self.intercept)))


@dataclass
class Router:
    kind: str  # cascade | classifier | random | small | large
    threshold: float = 0.5
    classifier: Classifier | None = None
    seed: int = 0
    _rng: _random.Random = field(default=None, repr=False)

    def __post_init__(self):
        if self.kind not in ("cascade", "classifier", "random", "small", "large"):
            raise TokenfallError(f"router '{self.kind}' is not one of cascade, classifier, random, small, large")
        if not 0.0 <= self.threshold <= 1.0:
            raise TokenfallError(f"router threshold {self.threshold} is outside 0..1 (cascade: a confidence; classifier: "
                                 "a probability; random: the share sent to the general model)")
        if self.kind == "classifier" and self.classifier is None:
            raise TokenfallError("a classifier router needs its trained weights: pass the router file `tokenfall route` wrote")
        self._rng = _random.Random(self.seed)

    def before(self, prompt: str) -> bool | None:
        """Decided from the prompt alone: True = the general model; None = ask the small model first (cascade)."""
        if self.kind == "cascade":
            return None
        if self.kind in ("small", "large"):
            return self.kind == "large"
        if self.kind == "random":
            return self._rng.random() < self.threshold
        return bool(self.classifier.predict([prompt])[0] >= self.threshold)

    def after(self, confidence: float) -> bool:
        """A cascade's decision once the small model has answered: escalate below the threshold."""
        return confidence < self.threshold

    def save(self, path: Path) -> Path:
        body = {"kind": self.kind, "threshold": self.threshold, "seed": self.seed}
        if self.classifier:
            body["classifier"] = {"features": N_FEATURES, "ngrams": list(NGRAMS), "index": self.classifier.index,
                                  "weight": self.classifier.weight, "intercept": self.classifier.intercept}
        write_text_atomic(path, json.dumps(body))
        return path

    @classmethod
    def load(cls, path: str, threshold: float | None = None) -> "Router":
        try:
            body = json.loads(read_text(path, "router file"))
            c = body.get("classifier")
            if c and (c["features"] != N_FEATURES or tuple(c["ngrams"]) != NGRAMS):
                raise TokenfallError(f"router file '{path}' was trained with other features; train it again with `tokenfall route`")
            return cls(body["kind"], body["threshold"] if threshold is None else threshold,
                       Classifier(c["index"], c["weight"], c["intercept"]) if c else None, body.get("seed", 0))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise TokenfallError(f"router file '{path}' is not one `tokenfall route` wrote ({type(e).__name__}: {e})") from e
