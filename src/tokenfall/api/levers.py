"""Levers on a model file: pull one, or sweep llama.cpp's quantization types, and price and grade the result
beside its parent (each measurement a bench or eval run in the ledger)."""

from __future__ import annotations

from tokenfall import models
from tokenfall.api.measure import bench, evaluate
from tokenfall.errors import TokenfallError
from tokenfall.levers import job
from tokenfall.levers.job import artifact_dir, check_quant_types
from tokenfall.progress import Progress
from tokenfall.store import Ledger
from tokenfall.types import BenchConfig, EvalConfig, Load, ModelInfo, PriceSpec, Prompts

__all__ = ["apply_lever", "artifact_dir", "distill", "pull", "quantize_sweep"]


def apply_lever(lever_name: str, model_ref: str | None, options: dict, out_dir: str | None = None, db: str | None = None,
                progress=None) -> ModelInfo:
    """Pull one lever on a model: a new GGUF (reused when the same lever with the same options was already
    applied to the same parent), recorded in the ledger with its lineage."""
    with Ledger(db) as ledger:
        return job.apply(lever_name, model_ref, options, ledger, out_dir, progress)


def _float_reference(source: ModelInfo, out_dir: str | None, db: str | None) -> ModelInfo:
    with Ledger(db) as ledger:
        return job.float_reference(source, ledger, out_dir)


def quantize_sweep(model_ref: str | None, qtypes: list[str], out_dir: str | None = None, db: str | None = None,
                   measure: bool = True, tasks: list | None = None, tokens: int = 20480, progress: Progress | None = None,
                   imatrix: str | None = None, calibration: str | None = None) -> dict:
    """llama.cpp's quantization table, priced: every type quantized from a float reference (the model
    itself when it is F32/F16, else its F32 copy), then, with ``measure``, benchmarked (decode at 1 and 16
    streams, $/M output at 16) and evaluated (fidelity to the reference, ``tasks`` paired with it). With
    ``imatrix`` ('calibrate' or an imatrix GGUF), every type is quantized guided by it (computed once)."""
    check_quant_types(qtypes, imatrix=imatrix, calibration=calibration)
    reference = _float_reference(models.resolve(model_ref), out_dir, db)
    rows = []
    for q in qtypes:
        art = apply_lever("quantize", reference.path, {"type": q, "imatrix": imatrix, "calibration": calibration}, out_dir, db)
        rows.append({"type": q} | _row(art, reference, measure, tasks, tokens, db, progress))
    return {"reference": reference.model_dump(), "rows": rows}


def pull(lever_name: str, model_ref: str | None, options: dict, out_dir: str | None = None, db: str | None = None,
         measure: bool = True, reference: str | None = None, tasks: list | None = None, tokens: int = 20480,
         progress: Progress | None = None) -> dict:
    """Pull one lever and, with ``measure``, put the parent and the result side by side: size, bits/weight,
    decode tok/s at 1 and 16 streams, $/M output, fidelity to ``reference`` (default: the parent's float
    weights) and ``tasks`` paired with it."""
    parent = models.resolve(model_ref)
    art = apply_lever(lever_name, parent.path, options, out_dir, db)
    ref = models.resolve(reference) if reference else _float_reference(parent, out_dir, db) if measure else None
    rows = [{"type": label} | _row(m, ref, measure, tasks, tokens, db, progress) for label, m in (("parent", parent), (lever_name, art))]
    return {"reference": ref.model_dump() if ref else None, "artifact": art.model_dump(), "lineage": models.lineage_of(art.path),
            "rows": rows}


def _row(m: ModelInfo, reference: ModelInfo | None, measure: bool, tasks, tokens: int, db, progress) -> dict:
    """One row of a lever table: the file's size and, with ``measure``, its price and its fidelity and
    task accuracy against ``reference`` (a model compared with itself scores KLD 0, top-1 1, not rerun)."""
    row = {"path": m.path, "sha256": m.sha256, "size_bytes": m.size_bytes, "n_params": m.n_params, "quant_type": m.quant_type,
           "bits_per_weight": m.size_bytes * 8 / m.n_params if m.n_params else None}
    if not measure:
        return row
    row |= _price(m.path, db, progress)
    if m.sha256 == reference.sha256:
        return row | {"eval_run": None, "kld_mean": 0.0, "top1": 1.0, "ppl_ratio": 1.0, "tasks": {}}
    e = evaluate(EvalConfig(model=m.path, reference=reference.path, tokens=tokens, tasks=tasks or []), db, progress)
    f = e.summary.fidelity
    return row | {"eval_run": e.id, "kld_mean": f.kld_mean, "top1": f.top1_agreement, "ppl_ratio": f.ppl_ratio,
                  "tasks": {t.name: t.acc for t in e.summary.tasks}}


def _price(path: str, db: str | None, progress: Progress | None) -> dict:
    """Decode speed at 1 and 16 streams and $/M output at 16 (32 in / 32 out tokens), one bench run."""
    b = bench(BenchConfig(model=path, loads=[Load(concurrency=1, requests=8), Load(concurrency=16, requests=32)],
                          prompts=Prompts(input_tokens=32, output_tokens=32), price=PriceSpec()), db, progress)
    one, many = b.levels
    return {"bench_run": b.id, "decode_tok_s_c1": one.output_tokens_per_s, "decode_tok_s_c16": many.output_tokens_per_s,
            "usd_per_m_output_c16": many.cost.usd_per_m_output}


def distill(student_ref: str | None, teacher_ref: str, options: dict, out_dir: str | None = None, db: str | None = None,
            measure: bool = True, heldout: list[str] | None = None, tasks: list | None = None, tokens: int = 8192,
            progress: Progress | None = None, train_progress=None) -> dict:
    """Distill ``student_ref`` from ``teacher_ref`` (lever ``distill``), then, with ``measure``, grade the
    teacher, the student before and the student after side by side: fidelity to the teacher on held-out
    in-domain text (``heldout``; by default the standard library's held-out docstrings, when the corpus
    is the default) and on general text (the built-in set), task accuracy paired with the teacher, and
    decode speed and $/M output of each — the specialist's case in one table."""
    from tokenfall.workloads.texts import from_files, stdlib_docstrings_file

    teacher = models.resolve(teacher_ref)
    if options.get("corpus") and not heldout and measure:
        raise TokenfallError("--heldout: give in-domain text that is not in --corpus, to grade the student on its domain "
                             "(or --no-measure)")
    for f in (options.get("corpus") or []) + (heldout or []):
        from_files([f])  # a missing or malformed file fails before minutes of training
    art = apply_lever("distill", student_ref, {**options, "teacher": teacher.path}, out_dir, db, progress=train_progress)
    result = {"teacher": teacher.model_dump(), "student": models.resolve(student_ref).model_dump(), "distilled": art.model_dump(),
              "lineage": models.lineage_of(art.path), "rows": []}
    if not measure:
        return result
    domain = heldout or [str(stdlib_docstrings_file("heldout"))]
    for label, m in (("teacher", teacher), ("student", models.resolve(student_ref)), ("distilled", art)):
        row = {"label": label} | _row(m, None, False, None, 0, db, progress) | _price(m.path, db, progress)
        if m.sha256 != teacher.sha256:
            for where, texts, t in (("domain", domain, []), ("general", [], tasks or [])):
                e = evaluate(EvalConfig(model=m.path, reference=teacher.path, texts=texts, tokens=tokens, tasks=t), db, progress)
                f = e.summary.fidelity
                row |= {f"{where}_eval_run": e.id, f"{where}_kld": f.kld_mean, f"{where}_top1": f.top1_agreement,
                        f"{where}_ppl": f.ppl, f"{where}_ppl_teacher": f.ppl_reference}
                for task in e.summary.tasks:
                    row.setdefault("tasks", {})[task.name] = task.acc
                    result["rows"][0].setdefault("tasks", {})[task.name] = task.paired.reference_acc if task.paired else None
        result["rows"].append(row)
    return result
