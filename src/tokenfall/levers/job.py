"""Pulling a lever on a file, recorded: the new GGUF (reused when the same lever with the same options was
already applied to the same parent) and its lineage row in the ledger."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import ValidationError

from tokenfall import models
from tokenfall.errors import TokenfallError, invalid_options
from tokenfall.levers import LEVERS, lineage, precheck
from tokenfall.store import Ledger
from tokenfall.types import ModelInfo


def artifact_dir() -> Path:
    return Path(user_data_dir("tokenfall", appauthor=False)) / "artifacts"


def apply(lever_name: str, model_ref: str | None, options: dict, ledger: Ledger, out_dir: str | None = None,
          progress=None) -> ModelInfo:
    """Pull one lever on a model: a new GGUF, recorded in the ledger with its lineage."""
    lever = LEVERS.load(lever_name)()
    try:
        opts = lever.Options(**options)
    except ValidationError as e:
        raise invalid_options(lever_name, e) from e
    model = models.resolve(model_ref)
    if model.kind != "gguf":
        raise TokenfallError(f"lever '{lever_name}' reads GGUF files; '{model.ref}' is {model.kind}")
    precheck(model, opts)
    target = Path(out_dir).expanduser() if out_dir else artifact_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TokenfallError(f"--out-dir {target}: cannot create it ({e.strerror})") from e
    dst = target / lever.output_name(model, opts)
    want = lineage(model, lever_name, opts)
    if not (dst.is_file() and {k: v for k, v in models.lineage_of(dst).items() if k in want} == want):
        lever.apply(model, dst, opts, progress=progress)
    info = models.resolve(str(dst))
    ledger.add_artifact(info, model.sha256, lever_name, opts.model_dump())
    return info


def float_reference(source: ModelInfo, ledger: Ledger, out_dir: str | None = None) -> ModelInfo:
    """The model itself when it is F32/F16, else its F32 copy (the values llama.cpp computes with)."""
    if (source.quant_type or "").upper() in ("ALL_F32", "F16", "BF16"):
        return source
    return apply("convert", source.path, {"dtype": "f32"}, ledger, out_dir)


def descendants(model: ModelInfo, ledger: Ledger) -> list[ModelInfo]:
    """Files made from ``model`` by any chain of levers, as the ledger recorded them (still on disk)."""
    family, found = {model.sha256}, []
    for a in ledger.artifacts():  # oldest first, so parents come before children
        if a["parent_sha256"] in family:
            family.add(a["sha256"])
            if Path(a["path"]).is_file():
                found.append(ModelInfo.model_validate(a["info"]))
    return found


def check_quant_types(qtypes: list[str], **options) -> None:
    """Every type checked before minutes are spent on the first."""
    from tokenfall.levers.quantize import Quantize

    for q in qtypes:
        try:
            Quantize.Options(type=q, **options)
        except ValueError as e:
            raise invalid_options("quantize", e) from e
