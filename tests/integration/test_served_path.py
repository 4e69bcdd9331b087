"""Quality of what is served, on the bundled model: the reference graded with its own options whatever ran first,
and the serving path itself graded, so a lever that changes the numbers (a quantized KV cache, a prefix copy) shows."""

from tokenfall.engines import llamacpp
from tokenfall.progress import Silent
from tokenfall.quality import gate, served
from tokenfall.quality.evaluate import evaluate
from tokenfall.types import EvalConfig, Gate, Prompts

SHARED = Prompts(input_tokens=40, output_tokens=16, shared_prefix_tokens=32)


def _served(model, options, n=8):
    """The bundled model served at ``options``, graded against itself at its defaults."""
    return served.grade(model, model, {"seq_ctx": 128, "parallel": 4, **options}, {}, SHARED, n, Silent(), "itself")


def test_a_quantized_kv_cache_is_graded_against_an_f16_reference_whichever_ran_first(smollm, tmp_path, monkeypatch):
    fid = {}
    for order in (("q4_0", "f16"), ("f16", "q4_0")):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "-".join(order)))  # an empty reference cache per order
        for kv in order:
            cfg = EvalConfig(model=smollm.path, reference=smollm.path, engine_options={"kv_type": kv}, tokens=768, ctx=128)
            fid[order, kv] = evaluate(cfg, Silent()).fidelity
    assert len({f.ppl_reference for f in fid.values()}) == 1  # the same reference numbers in both orders
    assert fid[("q4_0", "f16"), "f16"].kld_mean == 0.0 == fid[("f16", "q4_0"), "f16"].kld_mean
    lossy = fid[("q4_0", "f16"), "q4_0"]
    assert lossy.kld_mean > 1e-3 and lossy.kld_mean == fid[("f16", "q4_0"), "q4_0"].kld_mean


def test_prefix_cache_hits_serve_what_the_reference_computes(smollm):
    f = _served(smollm, {"prefix_cache": 2})
    assert f.path == "served" and f.sequences == 8 and f.tokens_scored == 8 * 16
    assert f.tokens_cached >= 4 * 32  # the second wave started from cached prefixes: hits were graded
    assert f.kld_mean < 1e-3 and f.top1_agreement >= 0.95
    assert gate.check(Gate(max_kld=0.05), f, []).passed


def test_a_broken_prefix_copy_fails_the_gate_as_served(smollm, monkeypatch):
    # a hacked prefix match: every cached prompt "matches" in full, so a request continues from another prompt's KV
    monkeypatch.setattr(llamacpp, "_common_prefix", lambda a, b: min(len(a), len(b)))
    f = _served(smollm, {"prefix_cache": 2}, n=16)  # 12 of 16 requests start from a cached prompt
    v = gate.check(Gate(max_kld=0.05), f, [])  # optimize's default bound
    assert f.tokens_cached > 12 * 32 and not v.passed and "FAIL" in v.checks[0]
    assert f.sequences_identical <= 4  # only the first wave writes the reference's text


def test_a_lossy_kv_cache_shows_as_served(smollm):
    plain, lossy = _served(smollm, {}), _served(smollm, {"kv_type": "q4_0"})
    assert lossy.kld_mean > max(10 * plain.kld_mean, 1e-3)
