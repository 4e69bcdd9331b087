"""The openai engine against a real OpenAI-compatible server, and against injected faults."""

import json
import time

import httpx

from tokenfall import api
from tokenfall.mockserver import MockServer
from tokenfall.store import Ledger
from tokenfall.types import BenchConfig, Load, PriceSpec, Prompts

PRICE = PriceSpec(usd_per_hour=2.0)  # a remote server is priced with its own price, never this machine's

PROMPTS = ["Count from one to thirty: one, two,", "Once upon a time, in a small village,",
           "The list of planets in order is", "Here is a long story about a river:"]


def test_against_llama_cpp_server_counts_match_server_usage(llama_server, db, tmp_path):
    f = tmp_path / "prompts.jsonl"
    f.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in PROMPTS))
    cfg = BenchConfig(model=llama_server + "#smol", engine="openai", price=PRICE, tokenizer="smollm2-135m",
                      loads=[Load(concurrency=2, requests=4, warmup_requests=1)],
                      prompts=Prompts(source="jsonl", path=str(f), output_tokens=12))
    run = api.bench(cfg, db=db)
    s = run.levels[0]
    assert run.status == "complete" and s.requests_ok == 4 and s.requests_failed == 0
    records = [r for r in Ledger(db).requests(run.id) if not r.warmup]
    # this server sends no usage in streams: ask it, non-streaming, for the same greedy completions
    total = 0
    for r in records:
        body = {"model": "smol", "prompt": PROMPTS[r.idx], "max_tokens": 12, "temperature": 0, "min_tokens": 12}
        usage = httpx.post(llama_server + "/completions", json=body, timeout=60).json()["usage"]
        assert len(r.token_times) == usage["completion_tokens"]
        assert r.n_in_tokenizer == usage["prompt_tokens"]
        total += usage["completion_tokens"]
    assert s.tokens_out == total >= 30 and s.tokens_out_tokenizer is not None


def test_faults_are_all_accounted_for_and_nothing_hangs(db):
    with MockServer(faults=["ok", "reset", "500", "malformed", "stall", "truncate", "error_event"]) as srv:
        cfg = BenchConfig(model=srv.url + "#mock", engine="openai", price=PRICE, engine_options={"timeout_s": 2.0},
                          loads=[Load(concurrency=7, requests=14, warmup_requests=0)], timeout_s=3.0)
        t = time.monotonic()
        run = api.bench(cfg, db=db)
        elapsed = time.monotonic() - t
    s = run.levels[0]
    assert s.requests_ok + s.requests_failed == 14
    assert s.requests_ok == 2
    assert s.errors == {"http_500": 2, "connection_reset": 4, "malformed_sse": 2, "timeout": 2, "stream_error": 2}
    assert elapsed < 30
    records = Ledger(db).requests(run.id)
    assert len(records) == 14
    assert sum(r.error == "stream_error" for r in records) == 2


def test_usage_chunk_is_authoritative_and_open_loop_rate(db):
    with MockServer() as srv:
        cfg = BenchConfig(model=srv.url + "#mock", engine="openai", price=PRICE,
                          loads=[Load(mode="constant", rate=50.0, requests=40, warmup_requests=0)],
                          prompts=Prompts(output_tokens=5))
        run = api.bench(cfg, db=db)
    s = run.levels[0]
    assert s.requests_ok == 40 and s.tokens_out == 200
    assert s.lateness_s.n == 40


def test_client_processes_split_the_load(db):
    with MockServer(itl_s=0.001) as srv:
        cfg = BenchConfig(model=srv.url + "#mock", engine="openai", price=PRICE, engine_options={"processes": 2},
                          loads=[Load(concurrency=4, requests=20, warmup_requests=1)], prompts=Prompts(output_tokens=4))
        run = api.bench(cfg, db=db)
        served = srv.requests
    s = run.levels[0]
    assert s.requests_ok == 20 and served == 21
    ids = sorted(r.idx for r in Ledger(db).requests(run.id) if not r.warmup)
    assert ids == list(range(20))


def test_chat_endpoint(db):
    with MockServer() as srv:
        cfg = BenchConfig(model=srv.url + "#mock", engine="openai", price=PRICE, engine_options={"endpoint": "chat"},
                          loads=[Load(concurrency=1, requests=2, warmup_requests=0)], prompts=Prompts(output_tokens=3))
        run = api.bench(cfg, db=db)
    assert run.levels[0].tokens_out == 6


def test_the_api_runs_inside_a_running_event_loop(db):
    """As from a Jupyter cell, where asyncio.run would raise."""
    import asyncio

    async def cell():
        with MockServer() as srv:
            return api.bench(BenchConfig(model=srv.url + "#mock", engine="openai", price=PRICE, prompts=Prompts(output_tokens=2),
                                         loads=[Load(concurrency=1, requests=2, warmup_requests=0)]), db)

    run = asyncio.run(cell())
    assert run.status == "complete" and run.levels[0].requests_ok == 2
