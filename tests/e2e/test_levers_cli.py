"""Levers as a user pulls them: new GGUF files with lineage in metadata and ledger, reused when identical,
and the quantization table measured (bench + eval) per type. The measured commands run as a user runs them, in
their own process; the ones that only write files run the same CLI in this process (no 3 s of imports each)."""

import json
import os
from pathlib import Path

from conftest import cli, cli_here

from tokenfall.models import lineage_of, resolve


def test_convert_and_quantize_write_artifacts_with_lineage(db, tmp_path, smollm):
    out = tmp_path / "arts"
    r = cli_here("--db", db, "convert", "--out-dir", str(out))
    assert r.returncode == 0, r.stderr
    f32 = out / "SmolLM2-135M-Instruct.F32.gguf"
    assert lineage_of(f32)["parent_sha256"] == smollm.sha256 and lineage_of(f32)["lever"] == "convert"

    r = cli_here("--db", db, "quantize", str(f32), "--types", "q8_0,q4_0", "--no-measure", "--out-dir", str(out), "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["rows"]
    ref = resolve(str(f32))
    for row in rows:
        assert row["size_bytes"] == os.path.getsize(row["path"])  # reported size is the file's size
        lin = lineage_of(row["path"])
        assert lin["parent_sha256"] == ref.sha256 and lin["lever"] == "quantize" and json.loads(lin["options"])["type"] == row["type"]
        assert resolve(row["path"]).quant_type == row["type"].upper()
    mtime = os.path.getmtime(rows[0]["path"])
    again = cli_here("--db", db, "quantize", str(f32), "--types", "q8_0", "--no-measure", "--out-dir", str(out))
    assert again.returncode == 0 and os.path.getmtime(rows[0]["path"]) == mtime  # same lever, options, parent: reused

    listed = json.loads(cli_here("--db", db, "models", "--json").stdout)
    assert {a["lever"] for a in listed} == {"convert", "quantize"} and len(listed) == 3
    assert {a["parent_sha256"] for a in listed if a["lever"] == "quantize"} == {ref.sha256}

    bad = cli_here("--db", db, "quantize", "--types", "q9_k", "--no-measure", "--out-dir", str(out))
    assert bad.returncode == 2 and "Did you mean" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_quantize_sweep_measures_speed_cost_and_fidelity(db, tmp_path, reference_f32):
    r = cli("--db", db, "quantize", reference_f32.path, "--types", "q8_0,q2_k", "--tokens", "1024", "--out-dir", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    q8, q2 = json.loads(r.stdout)["rows"]
    for row in (q8, q2):
        assert row["decode_tok_s_c1"] > 0 and row["decode_tok_s_c16"] > 0 and row["usd_per_m_output_c16"] > 0
        assert row["bench_run"] and row["eval_run"]
    assert 0 < q8["kld_mean"] < q2["kld_mean"] and q8["top1"] > q2["top1"]  # KLD orders as expected
    assert q2["size_bytes"] < q8["size_bytes"]


def test_depth_prune_drops_the_least_influential_blocks(db, tmp_path, smollm):
    import gguf

    r = cli_here("--db", db, "prune", "--layers", "8", "--no-measure", "--out-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    path = tmp_path / "SmolLM2-135M-Instruct.Q4_1.drop8.gguf"
    lin = lineage_of(path)
    dropped = [int(x) for x in lin["dropped_layers"].split(",")]
    scores = [float(x) for x in lin["block_influence"].split(",")]
    assert len(dropped) == 8 and len(scores) == 30 and lin["parent_sha256"] == smollm.sha256
    assert max(scores[i] for i in dropped) <= min(s for i, s in enumerate(scores) if i not in dropped)
    assert gguf.GGUFReader(path).fields["llama.block_count"].contents() == 22
    pruned = resolve(str(path))
    assert pruned.n_params < smollm.n_params and pruned.quant_type == smollm.quant_type
    b = cli_here("--db", db, "bench", "-m", str(path), "-c", "1", "-n", "2", "--output-tokens", "4", "--warmup", "0")
    assert b.returncode == 0, b.stderr  # llama.cpp serves the rewritten file
    bad = cli_here("--db", db, "prune", "--layers", "30", "--out-dir", str(tmp_path))
    assert bad.returncode == 2 and "remove at most 29" in bad.stderr


def test_round_trip_through_torch_keeps_the_logits(db, tmp_path, reference_f32):
    """GGUF -> transformers -> GGUF, the route every training-side lever takes, gives back the same model."""
    r = cli_here("--db", db, "convert", "--via", "torch", "--out-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    back = tmp_path / "SmolLM2-135M-Instruct.F32.torch.gguf"
    e = cli_here("--db", db, "eval", "-m", str(back), "-r", reference_f32.path, "--tokens", "1024", "--json")
    assert e.returncode == 0, e.stderr
    fid = json.loads(e.stdout)["summary"]["fidelity"]
    assert fid["kld_mean"] < 1e-3 and fid["top1_agreement"] > 0.99


def test_width_prune_writes_consistent_metadata_priced_and_graded_beside_its_parent(db, tmp_path, smollm, reference_f32):
    import gguf

    r = cli("--db", db, "prune", "--ffn", "0.25", "--kv-groups", "1", "-r", reference_f32.path, "--tokens", "1024",
            "--out-dir", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    path = tmp_path / "SmolLM2-135M-Instruct.Q4_1.ffn25.kv-1.gguf"
    fields = gguf.GGUFReader(path).fields
    meta = {k: fields[f"llama.{k}"].contents() for k in ("feed_forward_length", "attention.head_count", "attention.head_count_kv",
                                                          "attention.key_length", "block_count")}
    assert meta == {"feed_forward_length": 1152, "attention.head_count": 6, "attention.head_count_kv": 2,
                    "attention.key_length": 64, "block_count": 30}
    tensors = {t.name: t for t in gguf.GGUFReader(path).tensors}
    assert list(tensors["blk.0.ffn_down.weight"].shape) == [1152, 576] and list(tensors["blk.0.attn_k.weight"].shape) == [576, 128]
    info = resolve(str(path))
    assert info.quant_type == smollm.quant_type and info.n_params < smollm.n_params  # written in the parent's type
    assert lineage_of(path)["lever"] == "prune-width" and lineage_of(path)["heads_kept"] == "6/9"
    parent, pruned = json.loads(r.stdout)["rows"]  # llama.cpp served and scored the narrower file
    assert parent["sha256"] == smollm.sha256 and pruned["sha256"] == info.sha256
    assert pruned["size_bytes"] == os.path.getsize(path) < parent["size_bytes"]
    assert 0 < parent["kld_mean"] < pruned["kld_mean"] and pruned["decode_tok_s_c1"] > 0 and pruned["usd_per_m_output_c16"] > 0


def test_sparsify_zeroes_the_asked_share_in_the_asked_pattern(db, tmp_path):
    import gguf
    import numpy as np

    r = cli_here("--db", db, "sparsify", "--method", "wanda", "--pattern", "2:4", "--no-measure", "--out-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "no speed-up" in r.stdout
    path = tmp_path / "SmolLM2-135M-Instruct.F16.wanda-2of4.gguf"
    assert float(lineage_of(path)["sparsity_achieved"]) >= 0.5
    w = next(np.asarray(t.data) for t in gguf.GGUFReader(path).tensors if t.name == "blk.3.ffn_up.weight")
    assert ((w.reshape(w.shape[0], -1, 4) == 0).sum(-1) >= 2).all()  # two of every four consecutive weights are zero
    r = cli_here("--db", db, "sparsify", "--method", "magnitude", "--sparsity", "0.3", "--no-measure", "--out-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    sparse = tmp_path / "SmolLM2-135M-Instruct.F16.magnitude-sp30.gguf"
    linear = [t for t in gguf.GGUFReader(sparse).tensors if t.name.startswith("blk.") and len(t.shape) == 2]
    expected = sum(int(t.shape[1]) * int(int(t.shape[0]) * 0.3) for t in linear)  # floor(0.3 x columns) in every row
    zeros, total = map(int, lineage_of(sparse)["weights_zeroed"].split("/"))
    assert total == sum(int(t.n_elements) for t in linear) and expected <= zeros < expected + total // 10_000
    text = tmp_path / "text.txt"  # given, so the reference does not first sample 512 tokens of built-in text
    text.write_text(" ".join(f"Line {i}: the quick brown fox jumps over the lazy dog near the river bank." for i in range(40)))
    e = cli_here("--db", db, "eval", "-m", str(path), "--tokens", "512", "--ctx", "256", "--text", str(text),
            "-r", str(tmp_path / "SmolLM2-135M-Instruct.F16.magnitude-sp30.gguf"))
    assert e.returncode == 0, e.stderr  # llama.cpp reads both


def test_bad_inputs_leave_no_artifact(db, tmp_path, smollm, other_tokenizer):
    import gguf

    out = tmp_path / "arts"
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(open(smollm.path, "rb").read(20_000_000))
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("not a model")
    other = tmp_path / "other-arch.gguf"
    w = gguf.GGUFWriter(str(other), "gpt2")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", __import__("numpy").zeros((4, 8), dtype="float32"))
    w.write_header_to_file(), w.write_kv_data_to_file(), w.write_tensors_to_file(), w.close()
    cases = [
        (["sparsify", str(truncated)], "not a readable GGUF"),
        (["prune", str(not_gguf), "--ffn", "0.25"], "not a readable GGUF"),
        (["sparsify", str(other)], "architecture 'gpt2'"),
        (["convert", str(other), "--via", "torch"], "architecture 'gpt2'"),
        (["prune", "--ffn", "1.0"], "ffn"),
        (["prune", "--kv-groups", "3"], "remove at most 2"),
        (["prune", "--layers", "30"], "remove at most 29"),
        (["prune"], "say what to remove"),
        (["distill", smollm.path, "--teacher", other_tokenizer, "--no-measure"], "another tokenizer"),
        (["distill", smollm.path, "--teacher", smollm.path, "--corpus", str(tmp_path / "missing.txt"), "--no-measure"], "does not exist"),
        (["distill", smollm.path, "--teacher", smollm.path, "--corpus", str(not_gguf)], "--heldout"),
    ]
    for args, words in cases:  # each refused before a model loads: in this process
        r = cli_here("--db", db, *args, "--out-dir", str(out))
        assert r.returncode == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir())  # nothing half-written


def test_distill_prices_and_grades_teacher_student_and_distilled(db, tmp_path, smollm):
    """Specialist mode on defaults: the standard library's docstrings (train split) to train, the held-out
    split and the built-in text to grade, all three models priced in the same run. The bundled file is the
    teacher (the float copy would do the same, four times slower to serve)."""
    from tokenfall.models.gguf_write import drop_layers

    student = drop_layers(smollm.path, tmp_path / "student.gguf", list(range(5, 25)))  # 10 of 30 blocks, as prune would
    r = cli("--db", db, "distill", str(student), "--teacher", smollm.path, "--steps", "2", "--seq-len", "64", "--batch", "1",
            "--tokens", "512", "--out-dir", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["lineage"]["steps_done"] == "2" and res["lineage"]["teacher_sha256"] == smollm.sha256
    assert [row["label"] for row in res["rows"]] == ["teacher", "student", "distilled"]
    for row in res["rows"]:
        assert row["usd_per_m_output_c16"] > 0 and row["decode_tok_s_c1"] > 0 and row["bench_run"]
    for row in res["rows"][1:]:
        assert row["domain_kld"] > 0 and row["general_kld"] > 0 and row["domain_eval_run"] != row["general_eval_run"]
    assert res["distilled"]["quant_type"] == "Q4_1"  # written back in the student's own type


def test_quantize_with_an_importance_matrix(db, tmp_path, reference_f32):
    from tokenfall.levers import imatrix

    bad = cli_here("--db", db, "quantize", reference_f32.path, "--types", "iq2_xxs", "--no-measure", "--out-dir", str(tmp_path))
    assert bad.returncode == 2 and "needs an importance matrix" in bad.stderr
    bad = cli_here("--db", db, "quantize", reference_f32.path, "--imatrix", str(tmp_path / "none.gguf"), "--no-measure", "--out-dir", str(tmp_path))
    assert bad.returncode == 2 and "does not exist" in bad.stderr
    r = cli_here("--db", db, "quantize", reference_f32.path, "--types", "q4_k_m,iq2_xxs", "--imatrix", "calibrate", "--no-measure",
            "--out-dir", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["rows"]
    shas = {lineage_of(row["path"])["imatrix_sha256"] for row in rows}
    assert len(shas) == 1 and all(resolve(row["path"]).quant_type == row["type"].upper() for row in rows)  # computed once, used by both
    cached = list((Path(os.environ["XDG_CACHE_HOME"]) / "tokenfall" / "imatrix").glob("*.imatrix.gguf"))
    assert len(cached) == 1
    weights = imatrix.load(cached[0])  # llama.cpp's layout: mean squared activation per input column
    assert weights["blk.0.attn_q.weight"].shape == (576,) and weights["blk.0.ffn_down.weight"].shape == (1536,)
    assert (weights["blk.0.ffn_down.weight"] > 0).all() and len(weights) == 30 * 7
    b = cli_here("--db", db, "bench", "-m", rows[1]["path"], "-c", "1", "-n", "2", "--output-tokens", "4", "--warmup", "0")
    assert b.returncode == 0, b.stderr  # llama.cpp serves the 2-bit IQ file made with it
