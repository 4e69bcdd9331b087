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


def test_a_gguf_loads_into_torch_once_then_from_its_cached_copy(smollm):
    """The dequantized HF copy kept in the cache: written whole, nothing quantized left in it, the same tokens as
    llama.cpp's tokenizer, tied embeddings. (test_round_trip_through_torch_keeps_the_logits checks its weights:
    written back to GGUF they score KLD < 1e-3 against the float file in llama.cpp.)"""
    from tokenfall.models import tokenizers
    from tokenfall.models.hf import _cache_dir, load_hf

    model, tok = load_hf(smollm)  # from the GGUF, or from the copy an earlier test kept
    cached = _cache_dir(smollm, "float32")
    assert (cached / "model.safetensors").is_file() and "quantization_config" not in (cached / "config.json").read_text()
    again, tok2 = load_hf(smollm)
    text = "The capital of France is"
    assert tok2(text).input_ids == tok(text).input_ids == tokenizers.load(smollm).encode(text, special=False)
    assert getattr(again, "hf_quantizer", None) is None and again.config._name_or_path == str(cached)
    assert again.lm_head.weight.data_ptr() == again.model.embed_tokens.weight.data_ptr()  # still tied
