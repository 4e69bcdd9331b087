"""HF transformers engine on the bundled GGUF (dequantized into torch): the naive baseline."""

from tokenfall import api
from tokenfall.types import BenchConfig, Load, Prompts


def test_transformers_engine_streams_pinned_output(db):
    cfg = BenchConfig(engine="transformers", loads=[Load(concurrency=2, requests=2, warmup_requests=0)],
                      prompts=Prompts(input_tokens=8, output_tokens=6))
    run = api.bench(cfg, db=db)
    s = run["summary"][0]
    assert s["requests_ok"] == 2 and s["tokens_out"] == 12 and s["tokens_in"] == 16
    assert run["engine"]["name"] == "transformers" and "torch" in run["engine"]["version"]
    assert s["cost"]["usd_per_m_output"] > 0
