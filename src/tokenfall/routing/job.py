"""From requests answered by both models to a route run's summary: each router trained (on the train split) and
traced over the test split, RouteLLM's metrics, the cheapest point keeping the quality floor, router files."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from tokenfall.routing import curves
from tokenfall.routing.routers import Classifier, Router
from tokenfall.types import ModelInfo, ModelSide, Pricing, RouteConfig, RouteItem, RouterCurve, RoutePoint, RouteSummary


def split_of(seed: int, segment: str, task: str, index: int, train_share: float) -> str:
    """Train or test by a hash of the request's identity: stable whatever else is in the run."""
    h = int.from_bytes(hashlib.sha256(f"{seed}:{segment}:{task}:{index}".encode()).digest()[:8], "big") / 2 ** 64
    return "train" if h < train_share else "test"


def requests_of(items: list[RouteItem]) -> curves.Requests:
    col = lambda f, dt=float: np.asarray([getattr(i, f) for i in items], dtype=dt)  # noqa: E731
    return curves.Requests(col("ok_small", bool), col("ok_large", bool), col("usd_small"), col("usd_large"),
                           col("tokens_small"), col("tokens_large"), np.asarray([i.segment == "domain" for i in items]))


def paired_gap(large: np.ndarray, small: np.ndarray, rounds: int = 2000, seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Mean of large − small on the same requests and its 95% bootstrap interval."""
    d = large.astype(float) - small.astype(float)
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), (rounds, len(d)))].mean(axis=1)
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return float(d.mean()), (float(lo), float(hi))


def side(model: ModelInfo, seconds_per_token: float, items: list[RouteItem], which: str) -> ModelSide:
    """One model answering every test request alone."""
    ok = np.asarray([getattr(i, f"ok_{which}") for i in items])
    dom = np.asarray([i.segment == "domain" for i in items])
    usd = sum(getattr(i, f"usd_{which}") for i in items)
    tokens = sum(getattr(i, f"tokens_{which}") for i in items)
    out = {"model": model, "seconds_per_token": seconds_per_token, "tokens": tokens, "quality_domain": float(ok[dom].mean()),
           "ci_domain": curves.wilson(int(ok[dom].sum()), int(dom.sum())), "usd_per_request": usd / len(items),
           "usd_per_m_tokens": usd / tokens * 1e6 if tokens else 0.0}
    if (~dom).any():
        out |= {"quality_general": float(ok[~dom].mean()), "ci_general": curves.wilson(int(ok[~dom].sum()), int((~dom).sum()))}
    return ModelSide(**out)


def _threshold(name: str, scores: np.ndarray, order: np.ndarray, k: int, n: int) -> float:
    """The router's own threshold that sends the first k of ``order`` to the general model."""
    if name == "random":
        return k / n
    if name == "cascade":  # escalate below a confidence: the confidence of the first request kept
        return float(1 - scores[order[k]]) if k < n else 1.0
    return float(scores[order[k - 1]]) if k else 1.0  # classifier: at or above a probability


def router_curve(name: str, config: RouteConfig, train: list[RouteItem], test: list[RouteItem], usd_per_s: float,
                 out_dir: Path, run_id: str) -> RouterCurve:
    r = requests_of(test)
    n = len(test)
    overhead = 0.0
    if name == "cascade":
        scores, pays_small = 1.0 - np.asarray([i.conf_small for i in test]), True
        c = curves.curve(r, scores, pays_small)
    elif name == "classifier":
        labels = np.asarray([i.ok_large and not i.ok_small for i in train])
        if len(set(labels.tolist())) < 2:  # nothing to learn: reported as such, not traced
            return RouterCurve(name=name, points=[], apgr=None, note=f"not trained: all {len(train)} training requests have one label")
        clf = Classifier.train([i.text for i in train], labels, config.seed)
        t = time.perf_counter()
        scores = clf.predict([i.text for i in test])
        overhead = (time.perf_counter() - t) / n * usd_per_s
        pays_small = False
        c = curves.curve(r, scores, pays_small, overhead)
    else:
        clf, scores, pays_small = None, None, False
        c = curves.random_curve(r)
    rand = curves.random_curve(r)

    def pt(k):
        return RoutePoint(**curves.point(c, r, k, _threshold(name, scores, c.order, k, n), rand))

    k_floor = curves.floor_k(c, r, config.floor)
    at_floor = pt(k_floor) if k_floor is not None else None
    ci = curves.apgr_interval(r, scores, pays_small, seed=config.seed) if scores is not None else None
    apgr = curves.apgr(c, n)
    file = None
    if at_floor is not None:
        router = Router(name, at_floor.threshold, clf if name == "classifier" else None, config.seed)
        file = str(router.save(out_dir / f"{run_id}-{name}.json"))
    return RouterCurve(name=name, points=[pt(k) for k in curves.display_ks(n)], apgr=apgr, apgr_ci=ci,
                       cpt50=curves.cpt(c, n, 0.5), cpt80=curves.cpt(c, n, 0.8),
                       beats_random=None if ci is None else ci[0] > 0.5, at_floor=at_floor,
                       overhead_usd_per_request=overhead, file=file)


def summarise(config: RouteConfig, items: list[RouteItem], small: ModelInfo, large: ModelInfo, seconds: dict[str, float],
              pricing: Pricing, usd_per_s: float, out_dir: Path, run_id: str, assumptions: list[str]) -> RouteSummary:
    train = [i for i in items if i.split == "train"]
    test = [i for i in items if i.split == "test"]
    dom = [i for i in test if i.segment == "domain"]
    gap, gap_ci = paired_gap(np.asarray([i.ok_large for i in dom]), np.asarray([i.ok_small for i in dom]), seed=config.seed)
    routers = [router_curve(name, config, train, test, usd_per_s, out_dir, run_id) for name in config.routers]
    return RouteSummary(pricing=pricing, small=side(small, seconds["small"], test, "small"),
                        large=side(large, seconds["large"], test, "large"), gap_domain=gap, gap_domain_ci=gap_ci,
                        n_train=len(train), n_test=len(test), routers=routers, items=items, assumptions=assumptions)
