"""Levers as a user pulls them: new GGUF files with lineage in metadata and ledger, reused when identical,
and the quantization table measured (bench + eval) per type."""

import json
import os

from conftest import cli

from tokenfall.models import lineage_of, resolve


def test_convert_and_quantize_write_artifacts_with_lineage(db, tmp_path, smollm):
    out = tmp_path / "arts"
    r = cli("--db", db, "convert", "--out-dir", str(out))
    assert r.returncode == 0, r.stderr
    f32 = out / "SmolLM2-135M-Instruct.F32.gguf"
    assert lineage_of(f32)["parent_sha256"] == smollm.sha256 and lineage_of(f32)["lever"] == "convert"

    r = cli("--db", db, "quantize", str(f32), "--types", "q8_0,q4_0", "--no-measure", "--out-dir", str(out), "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["rows"]
    ref = resolve(str(f32))
    for row in rows:
        assert row["size_bytes"] == os.path.getsize(row["path"])  # reported size is the file's size
        lin = lineage_of(row["path"])
        assert lin["parent_sha256"] == ref.sha256 and lin["lever"] == "quantize" and json.loads(lin["options"])["type"] == row["type"]
        assert resolve(row["path"]).quant_type == row["type"].upper()
    mtime = os.path.getmtime(rows[0]["path"])
    again = cli("--db", db, "quantize", str(f32), "--types", "q8_0", "--no-measure", "--out-dir", str(out))
    assert again.returncode == 0 and os.path.getmtime(rows[0]["path"]) == mtime  # same lever, options, parent: reused

    listed = json.loads(cli("--db", db, "models", "--json").stdout)
    assert {a["lever"] for a in listed} == {"convert", "quantize"} and len(listed) == 3
    assert {a["parent_sha256"] for a in listed if a["lever"] == "quantize"} == {ref.sha256}

    bad = cli("--db", db, "quantize", "--types", "q9_k", "--no-measure", "--out-dir", str(out))
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

    r = cli("--db", db, "prune", "--layers", "8", "--out-dir", str(tmp_path))
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
    b = cli("--db", db, "bench", "-m", str(path), "-c", "1", "-n", "2", "--output-tokens", "4", "--warmup", "0")
    assert b.returncode == 0, b.stderr  # llama.cpp serves the rewritten file
    bad = cli("--db", db, "prune", "--layers", "30", "--out-dir", str(tmp_path))
    assert bad.returncode == 2 and "keep at least one" in bad.stderr
