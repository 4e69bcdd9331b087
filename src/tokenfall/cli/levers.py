"""The model levers: convert, quantize, prune, sparsify, distill, each priced and graded beside its parent."""

from __future__ import annotations

import click

from tokenfall.cli.params import COUNT, NONNEG, OPEN_FRACTION, POS, Number, progress_steps, task_specs
from tokenfall.cli.root import cli, echo_json, out
from tokenfall.report import console


_OUT_DIR = click.option("--out-dir", type=click.Path(file_okay=False), help="Where artifacts go (default: user data dir/artifacts).")

_OUT_TYPE = click.option("--out-type", default="parent", show_default=True,
                         help="File type written: parent (the parent's own), f32, f16, or a llama.cpp type such as q8_0.")


@cli.command()
@click.argument("model", required=False)
@click.option("--to", "dtype", type=click.Choice(["f32", "f16"]), default="f32", show_default=True)
@click.option("--via", type=click.Choice(["gguf", "torch"]), default="gguf", show_default=True,
              help="torch: load into transformers and write back (the training-side levers' round trip).")
@_OUT_DIR
@click.pass_context
def convert(ctx, model, dtype, via, out_dir):
    """Write a GGUF's weights dequantized to F32/F16 (the reference for compression studies)."""
    from tokenfall import api

    info = api.apply_lever("convert", model, {"dtype": dtype, "via": via}, out_dir, ctx.obj["db"])
    out.print(f"{info.path}  {info.size_bytes / 1e6:,.1f} MB  {info.n_params:,} parameters  {info.quant_type}  sha256 {info.sha256[:12]}",
              highlight=False)


@cli.command()
@click.argument("model", required=False)
@click.option("--types", "qtypes", default="q8_0,q6_k,q5_k_m,q4_k_m,q4_0,q3_k_m,q2_k", show_default=True,
              help="llama.cpp file types, comma list.")
@_OUT_DIR
@click.option("--no-measure", is_flag=True, help="Only write the files (no bench, no eval).")
@click.option("-t", "--task", "task_values", multiple=True, help="Tasks to grade each type on, paired with the reference (as in eval).")
@click.option("--limit", type=COUNT, help="First N items of each task.")
@click.option("--tokens", type=COUNT, default=20480, show_default=True, help="Fidelity tokens per type.")
@click.option("--imatrix", help="Importance matrix: 'calibrate' (computed on --calibration text) or an imatrix GGUF from llama-imatrix.")
@click.option("--calibration", type=click.Path(), help="Calibration text for --imatrix calibrate (default: built-in openings).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def quantize(ctx, model, qtypes, out_dir, no_measure, task_values, limit, tokens, imatrix, calibration, as_json):
    """Quantize a model to several llama.cpp types and price each: size, bits/weight, decode tok/s at 1 and
    16 streams, $/M output, KLD / top-1 / PPL ratio against the float reference, task accuracy."""
    from tokenfall import api

    types_ = [t.strip().lower() for t in qtypes.split(",") if t.strip()]
    if not types_:
        raise click.BadParameter("give at least one type, e.g. q8_0,q4_k_m", param_hint="--types")
    specs = task_specs(task_values, limit, 0, 1, 200, 0, 256)
    with progress_steps() as p:
        res = api.quantize_sweep(model, types_, out_dir, ctx.obj["db"], measure=not no_measure, tasks=specs, tokens=tokens,
                                 progress=p, imatrix=imatrix, calibration=calibration)
    _print_lever_table(res, as_json, f"quantized from {res['reference']['path']}")


def _print_lever_table(res: dict, as_json: bool, title: str) -> None:
    if as_json:
        echo_json(res)
    else:
        out.print(console.lever_table(res, title))


def _measure_options(f):
    """The options every measured lever command shares: what to grade against, on which tasks, how long."""
    for opt in reversed([
        click.option("--no-measure", is_flag=True, help="Only write the file (no bench, no eval)."),
        click.option("-r", "--reference", help="Reference for fidelity (default: the parent's float weights, written F32 if needed)."),
        click.option("-t", "--task", "task_values", multiple=True, help="Tasks to grade parent and result on, paired with the reference."),
        click.option("--limit", type=COUNT, help="First N items of each task."),
        click.option("--tokens", type=COUNT, default=20480, show_default=True, help="Fidelity tokens."),
        click.option("--json", "as_json", is_flag=True)]):
        f = opt(f)
    return f


def _pull(ctx, lever, model, options, out_dir, no_measure, reference, task_values, limit, tokens, as_json) -> dict:
    from tokenfall import api

    specs = task_specs(task_values, limit, 0, 1, 200, 0, 256)
    with progress_steps() as p:
        res = api.pull(lever, model, options, out_dir, ctx.obj["db"], measure=not no_measure, reference=reference, tasks=specs,
                       tokens=tokens, progress=p)
    _print_lever_table(res, as_json, f"{lever} -> {res['artifact']['path']}" + (f", graded against {res['reference']['path']}"
                                                                               if res["reference"] else ""))
    return res


@cli.command()
@click.argument("model", required=False)
@click.option("--layers", type=COUNT, help="Depth: transformer blocks to remove (ShortGPT block influence).")
@click.option("--ffn", type=OPEN_FRACTION, help="Width: fraction of MLP channels to remove in every block (Minitron activation importance).")
@click.option("--kv-groups", type=COUNT, help="Width: attention KV groups (a KV head and its query heads) to remove per block.")
@click.option("--calibration", type=click.Path(), help="Calibration text file (default: built-in openings).")
@_OUT_TYPE
@_OUT_DIR
@_measure_options
@click.pass_context
def prune(ctx, model, layers, ffn, kv_groups, calibration, out_type, out_dir, **measure):
    """Structured pruning, then parent and result priced and graded side by side. Depth (--layers): drop
    the blocks that change their input least, keeping the parent's quantization. Width (--ffn,
    --kv-groups): remove the least active MLP channels and attention head groups in every block."""
    if layers and (ffn or kv_groups):
        raise click.UsageError("give --layers (depth) or --ffn/--kv-groups (width), not both")
    if layers:
        lever, options = "prune", {"layers": layers, "calibration": calibration}
    elif ffn or kv_groups:
        lever, options = "prune-width", {"ffn": ffn or 0.0, "kv_groups": kv_groups or 0, "calibration": calibration, "out_type": out_type}
    else:
        raise click.UsageError("say what to remove: --layers N, or --ffn FRACTION and/or --kv-groups N")
    lin = _pull(ctx, lever, model, options, out_dir, **measure)["lineage"]
    if measure["as_json"]:
        return
    if layers:
        out.print(f"removed blocks {lin.get('dropped_layers')}; block influence per block: {lin.get('block_influence')}", highlight=False)
    else:
        out.print(f"MLP channels kept per block {lin.get('ffn_kept')}; attention heads kept {lin.get('heads_kept')}", highlight=False)


@cli.command()
@click.argument("model", required=False)
@click.option("--sparsity", type=OPEN_FRACTION, default=0.5, show_default=True, help="Fraction of each linear layer's weights zeroed.")
@click.option("--method", type=click.Choice(["wanda", "magnitude"]), default="wanda", show_default=True)
@click.option("--pattern", type=click.Choice(["unstructured", "2:4"]), default="unstructured", show_default=True)
@click.option("--calibration", type=click.Path(), help="Calibration text for wanda (default: built-in openings).")
@click.option("--out-type", default="f16", show_default=True, help="File type written; f16/f32 keep the zeros exact.")
@_OUT_DIR
@_measure_options
@click.pass_context
def sparsify(ctx, model, sparsity, method, pattern, calibration, out_type, out_dir, **measure):
    """Unstructured sparsity (magnitude or Wanda, optionally 2:4) for quality study, parent and result
    graded side by side. llama.cpp multiplies zeros like any other weight: no speed-up from sparsity."""
    options = {"sparsity": 0.5 if pattern == "2:4" else sparsity, "method": method, "pattern": pattern, "calibration": calibration,
               "out_type": out_type}
    lin = _pull(ctx, "sparsify", model, options, out_dir, **measure)["lineage"]
    if not measure["as_json"]:
        out.print(f"weights zeroed in the blocks' linear layers: {float(lin['sparsity_achieved']):.1%} "
                  "(no speed-up on llama.cpp: it stores and multiplies the zeros)", highlight=False)


@cli.command()
@click.argument("student")
@click.option("--teacher", required=True, help="Teacher model (e.g. the unpruned F32 reference), same tokenizer.")
@click.option("--corpus", multiple=True, type=click.Path(), help="Training text file (repeatable; default: the standard library's "
              "docstrings, train split).")
@click.option("--heldout", multiple=True, type=click.Path(), help="In-domain text not in --corpus, to grade on (default with the "
              "default corpus: the held-out docstrings).")
@click.option("--steps", type=COUNT, default=200, show_default=True, help="Optimizer steps (about 5 s each here at the defaults).")
@click.option("--minutes", type=POS, help="Stop training after this many minutes (the file is written with the steps done).")
@click.option("--seq-len", type=Number(8, integer=True), default=256, show_default=True)
@click.option("--batch", type=COUNT, default=4, show_default=True)
@click.option("--lr", type=POS, default=6e-4, show_default=True, help="Peak AdamW learning rate (linear warm-up, cosine decay).")
@click.option("--temperature", type=POS, default=2.0, show_default=True)
@click.option("--ce-weight", type=NONNEG, default=0.0, show_default=True, help="Weight of next-token cross-entropy beside the KL term.")
@click.option("--train-embeddings", is_flag=True, help="Also train the tied embeddings (slower).")
@click.option("--seed", type=Number(integer=True), default=0, show_default=True)
@_OUT_TYPE
@_OUT_DIR
@click.option("--no-measure", is_flag=True, help="Only train and write the file.")
@click.option("-t", "--task", "task_values", multiple=True, help="Tasks to grade teacher, student and distilled on (as in eval).")
@click.option("--limit", type=COUNT, help="First N items of each task.")
@click.option("--tokens", type=COUNT, default=8192, show_default=True, help="Fidelity tokens per text.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def distill(ctx, student, teacher, corpus, heldout, steps, minutes, seq_len, batch, lr, temperature, ce_weight, train_embeddings, seed,
            out_type, out_dir, no_measure, task_values, limit, tokens, as_json):
    """Distill a student (e.g. a pruned model) from a teacher: forward KL at a temperature on a corpus,
    torch on the CPU, resumable (Ctrl-C keeps a checkpoint; the same command resumes). Then grade teacher,
    student and distilled side by side: fidelity on held-out in-domain and general text, tasks, $/M output."""
    from tokenfall import api

    options = {"corpus": list(corpus) or None, "steps": steps, "minutes": minutes, "seq_len": seq_len, "batch": batch, "lr": lr,
               "temperature": temperature, "ce_weight": ce_weight, "train_embeddings": train_embeddings, "seed": seed, "out_type": out_type}
    specs = task_specs(task_values, limit, 0, 1, 200, 0, 256)
    with progress_steps() as progress:
        train = progress.p.add_task("distilling", total=steps)

        def on_step(step, total, loss):
            progress.p.update(train, completed=step, total=total, description="distilling" + ("" if loss is None else f", loss {loss:.4f}"),
                              visible=step < total)

        res = api.distill(student, teacher, options, out_dir, ctx.obj["db"], measure=not no_measure, heldout=list(heldout) or None,
                          tasks=specs, tokens=tokens, progress=progress, train_progress=on_step)
    if as_json:
        echo_json(res)
        return
    console.print_distill(out, res)
