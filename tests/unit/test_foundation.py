"""Package-level promises: cheap import, lazy registry with did-you-mean, model references."""

import signal
import subprocess
import sys

import pytest

from tokenfall.engines import ENGINES, create
from tokenfall.errors import TokenfallError
from tokenfall.models import resolve


def test_import_does_not_load_heavy_libraries():
    code = ("import sys, tokenfall, tokenfall.api, tokenfall.cli, tokenfall.engines;"
            "print(sorted(m for m in ('torch', 'llama_cpp', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_names_suggest():
    with pytest.raises(TokenfallError, match="Did you mean 'llamacpp'"):
        ENGINES.load("llamacp")
    with pytest.raises(TokenfallError, match="Did you mean 'smollm2-135m'.*Known: gemma3-270m, smollm2-135m"):
        resolve("smollm2")


def test_model_references(tmp_path):
    with pytest.raises(TokenfallError, match="served model name"):
        resolve("http://127.0.0.1:9/v1")
    m = resolve("http://127.0.0.1:9/v1#x")
    assert m.kind == "remote" and m.name == "x" and m.base_url == "http://127.0.0.1:9/v1"
    with pytest.raises(TokenfallError, match="no such file"):
        resolve(str(tmp_path / "missing.gguf"))
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 20)
    with pytest.raises(TokenfallError, match="not a readable GGUF"):
        resolve(str(bad))
    with pytest.raises(TokenfallError, match="config.json"):
        resolve(str(tmp_path))


def test_bundled_model_identity(smollm):
    assert smollm.kind == "gguf" and smollm.architecture == "llama" and smollm.quant_type == "Q4_1"
    assert smollm.n_params == 134_515_008 and len(smollm.sha256) == 64
    from pathlib import Path
    assert smollm.size_bytes == Path(smollm.path).stat().st_size


def test_engine_options_are_validated(smollm):
    with pytest.raises(TokenfallError, match="option parallel"):
        create("llamacpp", smollm, {"parallel": 0})
    with pytest.raises(TokenfallError, match="exceeds n_batch"):
        create("llamacpp", smollm, {"parallel": 64, "n_batch": 32})
    with pytest.raises(TokenfallError, match="option bogus"):
        create("llamacpp", smollm, {"bogus": 1})
    with pytest.raises(TokenfallError, match="needs a server URL"):
        create("openai", smollm, {})


def test_ctrl_c_during_model_loading_is_not_lost(smollm):
    """A model load calls back into Python for every log line; Ctrl-C landing there used to vanish."""
    code = ("import sys, llama_cpp\nfrom tokenfall.models.llama import load_model\n"
            "try:\n"
            "    for i in range(100000):\n"
            "        llama_cpp.llama_model_free(load_model(sys.argv[1], vocab_only=True))\n"
            "        if i == 2: print('loading', flush=True)\n"
            "except KeyboardInterrupt:\n"
            "    print('interrupted', flush=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, smollm.path], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "loading"
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert out.strip() == "interrupted"
