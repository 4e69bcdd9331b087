"""Metric definitions on hand-made timestamps."""

import pytest

from tokenfall.bench import metrics
from tokenfall.types import RequestRecord, Slo


def rec(idx, sched, sent, times, usage=None, err=None, warmup=False):
    return RequestRecord(idx=idx, t_scheduled=sched, t_sent=sent, t_first=times[0] if times else None,
                         t_last=times[-1] if times else None, t_done=(times[-1] if times else sent) + 0.01,
                         token_times=times, n_out_usage=usage, n_in_usage=10, error=err, warmup=warmup)


def test_per_request_definitions():
    r = rec(0, 0.0, 0.5, [1.0, 1.2, 1.4, 1.6, 1.8])
    assert metrics.ttft(r, open_loop=False) == pytest.approx(0.5)      # from actual send
    assert metrics.ttft(r, open_loop=True) == pytest.approx(1.0)       # from schedule
    assert metrics.tpot_excl_first(r) == pytest.approx(0.8 / 4)         # vLLM convention
    assert metrics.tpot_incl_first(r) == pytest.approx((1.8 - 0.5) / 5)  # GuideLLM convention


def test_usage_overrides_stream_count():
    r = rec(0, 0.0, 0.0, [1.0, 2.0], usage=4)  # two SSE chunks, server says 4 tokens
    assert metrics.n_out(r) == 4
    assert metrics.tpot_excl_first(r) == pytest.approx(1.0 / 3)


def test_summary_window_errors_goodput():
    ok = [rec(i, 0.0, float(i), [i + 0.1 * k for k in range(1, 11)]) for i in range(4)]
    bad = rec(9, 0.0, 1.0, [], err="http_500")
    warm = rec(8, 0.0, -5.0, [-4.0], warmup=True)
    s = metrics.summarize(ok + [bad, warm], 0, "c=1", open_loop=False, slo=Slo(ttft_s=0.15))
    assert s.requests_ok == 4 and s.requests_failed == 1 and s.errors == {"http_500": 1}
    # window: first send 0.0 to the last send 3.0 (the drain after it is excluded): it holds 30 of 40 tokens
    assert s.window_s == pytest.approx(3.0)
    assert s.output_tokens_per_s == pytest.approx(30 / 3.0)
    assert s.requests_per_s == pytest.approx(2 / 3.0)  # completions at 1.01 and 2.01 fall inside
    assert s.ttft_s.p50 == pytest.approx(0.1)
    assert s.itl_s.n == 36 and s.itl_s.mean == pytest.approx(0.1)
    assert s.goodput_rps == pytest.approx(2 / 3.0)
    assert s.slo_attainment == pytest.approx(4 / 5)


def test_prefill_share():
    a = rec(0, 0.0, 0.0, [1.0, 4.0])  # 1 s before first token, 3 s decoding
    assert metrics.prefill_share([a]) == pytest.approx(0.25)


def test_percentiles():
    d = metrics.dist(range(1, 101))
    assert d.p50 == pytest.approx(50.5) and d.p99 == pytest.approx(99.01) and d.n == 100
    assert metrics.dist([]).n == 0


def test_window_falls_back_to_full_span_when_sends_are_simultaneous():
    rs = [rec(i, 0.0, 0.0, [1.0, 2.0]) for i in range(4)]  # closed loop c=4, one wave
    assert metrics.window(rs) == (0.0, pytest.approx(2.01))
