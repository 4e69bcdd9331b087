"""Metrics derived from raw monotonic timestamps (definitions in docs/methodology.md).

Per request: TTFT = t_first - t_scheduled (open loop) or t_sent (closed loop); lateness = t_sent - t_scheduled;
TPOT excl. first (vLLM/GenAI-Perf) = (t_last - t_first)/(n - 1); TPOT incl. first (GuideLLM) = (t_last - t_sent)/n;
ITL = gaps between successive token arrivals, pooled over requests (token-weighted); E2E = t_done - t_sent.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import numpy as np

from tokenfall.types import Dist, LevelSummary, RequestRecord, Slo


def dist(values) -> Dist:
    a = np.asarray([v for v in values if v is not None], dtype=float)
    if a.size == 0:
        return Dist()
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return Dist(mean=float(a.mean()), p50=float(p50), p90=float(p90), p99=float(p99), n=int(a.size))


def n_out(r: RequestRecord) -> int:
    """Output tokens: the server's usage when given, else tokens seen in the stream."""
    return r.n_out_usage if r.n_out_usage is not None else len(r.token_times)


def n_in(r: RequestRecord) -> int:
    return r.n_in_usage if r.n_in_usage is not None else (r.n_in_tokenizer or 0)


def ttft(r: RequestRecord, open_loop: bool) -> float | None:
    start = r.t_scheduled if open_loop else r.t_sent
    return None if r.t_first is None else r.t_first - start


def tpot_excl_first(r: RequestRecord) -> float | None:
    n = n_out(r)
    return None if n < 2 or r.t_first is None or r.t_last is None else (r.t_last - r.t_first) / (n - 1)


def tpot_incl_first(r: RequestRecord) -> float | None:
    n = n_out(r)
    return None if n < 1 or r.t_last is None else (r.t_last - r.t_sent) / n


def window(records: list[RequestRecord]) -> tuple[float, float]:
    """Steady-state window: from the first measured send to the last send (excluding the drain after it),
    when that window holds at least half the output tokens; otherwise the whole span to the last completion."""
    start = min(r.t_sent for r in records)
    last_send = max(r.t_sent for r in records)
    end = max((r.t_done or r.t_sent) for r in records)
    times = [t for r in records for t in r.token_times]
    inside = sum(1 for t in times if t <= last_send)
    return (start, last_send) if times and inside >= 0.5 * len(times) else (start, end)


def prefill_share(records: list[RequestRecord]) -> float:
    """Share of request time spent before the first token (prefill + queue) vs decoding, summed over requests."""
    pre = sum(r.t_first - r.t_sent for r in records if r.t_first is not None and r.t_last is not None)
    dec = sum(r.t_last - r.t_first for r in records if r.t_first is not None and r.t_last is not None)
    return pre / (pre + dec) if pre + dec > 0 else 0.0


def summarize(records: list[RequestRecord], level: int, label: str, open_loop: bool, slo: Slo | None = None) -> LevelSummary:
    measured = [r for r in records if not r.warmup]
    ok = [r for r in measured if r.error is None and r.t_first is not None]
    failed = [r for r in measured if r.error is not None]
    t0, t1 = window(measured) if measured else (0.0, 0.0)
    span = max(t1 - t0, 1e-9)
    # token_times lists one stamp per streamed token; rescale by usage when the server counted differently
    scale = {id(r): n_out(r) / len(r.token_times) for r in ok if r.token_times}
    out_in_window = sum(scale.get(id(r), 1.0) for r in ok for t in r.token_times if t0 <= t <= t1)
    in_in_window = sum(n_in(r) for r in ok if t0 <= r.t_first <= t1)
    done_in_window = sum(1 for r in ok if r.t_done is not None and t0 <= r.t_done <= t1)
    itl = [b - a for r in ok for a, b in pairwise(r.token_times)]
    tok_counts = [r.n_out_tokenizer for r in ok]
    tokenizer_total = sum(tok_counts) if ok and all(c is not None for c in tok_counts) else None
    tokens_out = sum(n_out(r) for r in ok)
    good = None
    if slo and (slo.ttft_s or slo.tpot_s or slo.e2e_s):
        def meets(r: RequestRecord) -> bool:
            tt, tp = ttft(r, open_loop), tpot_excl_first(r)
            return ((slo.ttft_s is None or (tt is not None and tt <= slo.ttft_s))
                    and (slo.tpot_s is None or tp is None or tp <= slo.tpot_s)
                    and (slo.e2e_s is None or (r.t_done - r.t_sent) <= slo.e2e_s))
        good = [r for r in ok if meets(r)]
    cached = [r.n_cached for r in ok if r.n_cached is not None]
    drafted = sum(r.n_drafted or 0 for r in ok)
    return LevelSummary(
        level=level, label=label, requests_ok=len(ok), requests_failed=len(failed),
        errors=dict(Counter(r.error for r in failed)), window_s=span,
        requests_per_s=done_in_window / span, input_tokens_per_s=in_in_window / span,
        output_tokens_per_s=out_in_window / span, total_tokens_per_s=(in_in_window + out_in_window) / span,
        ttft_s=dist(ttft(r, open_loop) for r in ok), itl_s=dist(itl),
        tpot_excl_first_s=dist(tpot_excl_first(r) for r in ok), tpot_incl_first_s=dist(tpot_incl_first(r) for r in ok),
        e2e_s=dist(r.t_done - r.t_sent for r in ok if r.t_done is not None),
        lateness_s=dist(r.t_sent - r.t_scheduled for r in measured),
        tokens_in=sum(n_in(r) for r in ok), tokens_out=tokens_out, tokens_out_tokenizer=tokenizer_total,
        token_count_diff=None if tokenizer_total is None else tokens_out - tokenizer_total,
        goodput_rps=None if good is None else sum(1 for r in good if t0 <= r.t_done <= t1) / span,
        slo_attainment=None if good is None or not measured else len(good) / len(measured),
        tokens_cached=sum(cached) if cached else None,
        draft_acceptance=sum(r.n_accepted or 0 for r in ok) / drafted if drafted else None,
    )
