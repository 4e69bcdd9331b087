"""Quality on real llama.cpp with the bundled model: fidelity against its own F32 weights, HellaSwag
pairs with intervals, paired tests that flag a damaged model and not a good quantization."""

import pytest

from tokenfall import api
from tokenfall.errors import TokenfallError
from tokenfall.levers.quantize import quantize
from tokenfall.models import resolve
from tokenfall.models.gguf_write import drop_layers
from tokenfall.types import EvalConfig, Gate, TaskSpec



class Steps:
    def __init__(self):
        self.labels = []

    def level(self, label, total):
        self.labels.append(label)

    def tokens(self, n):
        pass

    def request_done(self):
        pass


def test_fidelity_self_is_exact_and_q4_1_diverges(smollm, reference_f32, hellaswag_text, db):
    same = api.evaluate(EvalConfig(model=reference_f32.path, reference=reference_f32.path, texts=[hellaswag_text], tokens=2048), db)
    f = same.summary.fidelity
    assert f.tokens_evaluated == 2048 and f.tokens_scored == 1024  # 4 windows of 512, second halves scored
    assert f.kld_mean == 0.0 and f.kld_max == 0.0 and f.top1_agreement == 1.0 and f.ppl_ratio == 1.0

    steps = Steps()
    q = api.evaluate(EvalConfig(model=smollm.path, reference=reference_f32.path, texts=[hellaswag_text], tokens=2048,
                                gate=Gate(max_kld=0.05, min_top1=0.9)), db, steps)
    f = q.summary.fidelity
    assert not any("reference log-probabilities" in s for s in steps.labels)  # cached by the first comparison
    assert 0 < f.kld_mean < 0.05 and 0.9 < f.top1_agreement < 1.0 and f.kld_median <= f.kld_p99 <= f.kld_max
    assert f.ppl_reference == same.summary.fidelity.ppl
    assert q.summary.gate.passed

    strict = api.evaluate(EvalConfig(model=smollm.path, reference=reference_f32.path, texts=[hellaswag_text], tokens=2048,
                                     gate=Gate(max_kld=1e-6)), db)
    assert not strict.summary.gate.passed


def test_hellaswag_pairs_accuracy_is_above_chance(smollm, hellaswag_file, db):
    """200 of the 600 pairs: a 95% interval of about +-6.5 points around an accuracy near 0.63."""
    run = api.evaluate(EvalConfig(model=smollm.path, tasks=[TaskSpec(kind="dataset", source="hellaswag", limit=200)]), db)
    (t,) = run.summary.tasks
    assert t.n == 200 and len(t.items) == 200 and t.metric == "acc_norm"
    assert t.acc == t.items.count("1") / 200
    assert t.ci[0] > 0.5, f"HellaSwag pairs acc_norm {t.acc:.3f} CI {t.ci} is not above chance"
    assert t.ci[0] < t.acc < t.ci[1]


def test_paired_test_flags_damage_not_q8_0(reference_f32, hellaswag_file, tmp_path, db):
    damaged = drop_layers(reference_f32.path, tmp_path / "drop20.gguf", list(range(6, 26)))
    q8 = quantize(reference_f32.path, tmp_path / "q8_0.gguf", "q8_0")
    # 20 of 30 blocks dropped: -13 points, McNemar p 0.003 on these 200 items (8 blocks dropped: -8, p 0.06). The gate is
    # non-inferiority: 200 items support a margin of a few points, not one (the detectable drop says how many)
    task = TaskSpec(kind="choice", source=str(hellaswag_file), limit=200)
    gate = Gate(max_acc_drop=5.0)

    first = Steps()
    bad = api.evaluate(EvalConfig(model=str(damaged), reference=reference_f32.path, fidelity=False, tasks=[task], gate=gate), db, first)
    p = bad.summary.tasks[0].paired
    assert p.significant_drop and p.p_value < 0.05 and p.diff_pp < -1.0 and p.ref_only > p.cand_only
    assert not bad.summary.gate.passed
    assert any("reference" in s for s in first.labels)

    second = Steps()
    good = api.evaluate(EvalConfig(model=str(q8), reference=reference_f32.path, fidelity=False, tasks=[task], gate=gate), db, second)
    p = good.summary.tasks[0].paired
    assert not p.significant_drop and good.summary.gate.passed and p.drop_upper_pp < 5.0 < bad.summary.tasks[0].paired.drop_upper_pp
    assert 0 < p.detectable_pp < 5.0
    assert not any("reference" in s for s in second.labels)  # reference outcomes reused from the ledger
    assert p.reference_acc == bad.summary.tasks[0].paired.reference_acc


def test_tokenizer_mismatch_is_refused_before_any_model_runs(smollm, other_tokenizer, db):
    with pytest.raises(TokenfallError, match="different tokenizers"):
        api.evaluate(EvalConfig(model=other_tokenizer, reference=smollm.path, tokens=1024), db)
    assert api.runs(db) == []


def test_generation_and_synthetic_tasks(smollm, gsm8k_file, db):
    run = api.evaluate(EvalConfig(model=smollm.path, tasks=[
        TaskSpec(kind="dataset", source="gsm8k", limit=4, max_tokens=24, shots=1),
        TaskSpec(kind="synth-gen", source="arithmetic", n=6, max_tokens=6),
        TaskSpec(kind="synth", source="compare", n=20)]), db)
    gen, sgen, syn = run.summary.tasks
    assert gen.n == 4 and gen.metric == "exact_match" and len(gen.items) == 4  # the worked example is not graded
    assert sgen.n == 6 and syn.n == 20 and syn.metric == "acc"
    assert all(0.0 <= t.acc <= 1.0 and t.ci[0] <= t.acc <= t.ci[1] for t in (gen, sgen, syn))


def test_builtin_text_is_sampled_from_the_reference_once(reference_f32, db):
    steps = Steps()
    # a token count no other test asks for: the built-in text is cached per (reference, length)
    cfg = EvalConfig(model=reference_f32.path, reference=reference_f32.path, tokens=1536)
    a = api.evaluate(cfg, db, steps)
    assert any("built-in text" in s for s in steps.labels)
    assert a.summary.fidelity.kld_mean == 0.0 and a.summary.fidelity.tokens_evaluated == 1536
    again = Steps()
    api.evaluate(cfg, db, again)
    assert not any("built-in text" in s or "reference log-probabilities" in s for s in again.labels)


def test_transformers_backend_agrees_with_itself(smollm, hellaswag_text, db):
    pytest.importorskip("transformers")
    run = api.evaluate(EvalConfig(model=smollm.path, reference=smollm.path, engine="transformers", texts=[hellaswag_text],
                                  tokens=512, tasks=[TaskSpec(kind="synth", source="compare", n=8)]), db)
    s = run.summary
    assert s.fidelity.kld_mean == 0.0 and s.fidelity.top1_agreement == 1.0
    assert s.tasks[0].n == 8 and s.tasks[0].paired.diff_pp == 0.0


def test_resolve_written_models(reference_f32, smollm):
    assert reference_f32.quant_type == "ALL_F32" and reference_f32.n_params == smollm.n_params
    assert resolve(reference_f32.path).sha256 == reference_f32.sha256


def test_lm_eval_local_task_runs_through_the_scorer(tmp_path, smollm, reference_f32, hellaswag_file, db):
    pytest.importorskip("lm_eval")
    import json

    rows = [json.loads(line) for line in hellaswag_file.read_text().splitlines()[:12]]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps({"context": r["context"].rstrip(), "choices": [r["correct"], r["wrong"]], "answer": 0}) + "\n"
                            for r in rows))
    (tmp_path / "pairs.yaml").write_text(
        f"task: tf_pairs\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data}\ntest_split: test\n"
        "output_type: multiple_choice\ndoc_to_text: context\ndoc_to_choice: choices\ndoc_to_target: answer\n"
        "metric_list:\n  - metric: acc\n  - metric: acc_norm\n")
    run = api.evaluate(EvalConfig(model=smollm.path, reference=reference_f32.path, fidelity=False, lm_eval=["tf_pairs"],
                                  lm_eval_include=str(tmp_path)), db)
    (t,) = run.summary.tasks
    assert t.name == "lm-eval:tf_pairs" and t.metric == "acc_norm" and t.n == 12
    assert t.acc == pytest.approx(t.metrics["acc_norm"]) and t.paired is not None
    with pytest.raises(TokenfallError, match="Did you mean 'tf_pairs'"):
        api.evaluate(EvalConfig(model=smollm.path, lm_eval=["tf_pair"], lm_eval_include=str(tmp_path)), db)


def test_openai_scorer_sums_echoed_prompt_logprobs(tmp_path, db):
    """Client logic only (offsets, sums, greedy flag) against the mock server's toy logprob rule."""
    from tokenfall.mockserver import MockServer
    from tokenfall.quality.scoring import choice_loglik, open_scorer

    with MockServer() as srv:
        scorer = open_scorer(resolve(f"{srv.url}#mock"), "openai")
        (res,) = choice_loglik(scorer, [("The sky is ", ["blue today", "red"])])
        assert res == [(-9.0, False), (-3.0, True)]  # " blue" -4 + " today" -5; " red" -3 and top-1
        scorer.close()
        f = tmp_path / "mc.jsonl"
        f.write_text('{"context": "Pick one:", "choices": ["elephant", "cat"], "answer": 1}\n'
                     '{"context": "Pick one:", "choices": ["ox", "giraffe"], "answer": 0}\n')
        run = api.evaluate(EvalConfig(model=f"{srv.url}#mock", engine="openai", tasks=[TaskSpec(kind="choice", source=str(f))]), db)
        t = run.summary.tasks[0]
        assert t.metrics["acc"] == 1.0 and t.n == 2
