"""HF transformers engine on the bundled GGUF (dequantized into torch): the naive baseline."""

from tokenfall import api
from tokenfall.types import BenchConfig, Load, Prompts


def test_transformers_engine_streams_pinned_output(db):
    cfg = BenchConfig(engine="transformers", loads=[Load(concurrency=2, requests=2, warmup_requests=0)],
                      prompts=Prompts(input_tokens=8, output_tokens=6))
    run = api.bench(cfg, db=db)
    s = run.levels[0]
    assert s.requests_ok == 2 and s.tokens_out == 12 and s.tokens_in == 16
    assert run.engine["name"] == "transformers" and "torch" in run.engine["version"]
    assert s.cost.usd_per_m_output > 0


def test_hf_model_directory_reference(tmp_path, db, smollm):
    """An HF directory (a small random llama with the bundled tokenizer) is identified and served."""
    from pathlib import Path

    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from tokenfall.models import resolve

    src = Path(smollm.path)
    tok = AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
    tok.save_pretrained(tmp_path / "hf")
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).to(torch.bfloat16).save_pretrained(tmp_path / "hf")
    info = resolve(str(tmp_path / "hf"))
    expected = 2 * len(tok) * 64 + 2 * (4 * 64 * 64 // 1 - 2 * 64 * 32 + 3 * 64 * 128 + 2 * 64) + 64
    assert info.kind == "hf" and info.architecture == "LlamaForCausalLM" and info.quant_type == "BF16"
    assert info.n_params == expected and len(info.sha256) == 64
    run = api.bench(BenchConfig(model=str(tmp_path / "hf"), engine="transformers",
                                loads=[Load(concurrency=1, requests=1, warmup_requests=0)],
                                prompts=Prompts(input_tokens=8, output_tokens=4)), db=db)
    assert run.levels[0].tokens_out == 4
