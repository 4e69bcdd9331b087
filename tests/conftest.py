import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items):
    """The two tiers: tests/unit is the fast one (`make check`: no model runs, a few seconds each); everything in
    tests/integration and tests/e2e drives the real engine, the CLI or a browser and is marked ``slow``."""
    for item in items:
        if Path(str(item.fspath)).parent.name in ("integration", "e2e"):
            item.add_marker(pytest.mark.slow)


def dataset(name: str) -> Path:
    """A public data set's file (mirror, cache or download); the test is skipped, saying why, without one."""
    from tokenfall.errors import TokenfallError
    from tokenfall.quality import datasets

    try:
        return datasets.locate(name).path
    except TokenfallError as e:
        pytest.skip(f"public data set unavailable here: {e}")


@pytest.fixture(scope="session", autouse=True)
def private_dirs(tmp_path_factory):
    """Caches (reference log-probabilities, built-in texts, model identities) and the data dir (default ledger,
    artifacts) start empty in every test session, so the cold path is what is tested and a user's ledger is
    never touched; subprocesses inherit the variables."""
    old = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "XDG_DATA_HOME")}
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data"))
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def reference_f32(smollm, tmp_path_factory):
    """The bundled model's weights written as F32 GGUF: the reference for compression studies."""
    from tokenfall.models import resolve
    from tokenfall.models.gguf_write import dequantize

    return resolve(str(dequantize(smollm.path, tmp_path_factory.mktemp("models") / "smollm2-f32.gguf", "f32")))


@pytest.fixture(scope="session")
def other_tokenizer(smollm, tmp_path_factory):
    """The bundled model with three quarters of its BPE merges dropped: same vocabulary size, other tokenizer."""
    import gguf

    from tokenfall.models.gguf_write import rewrite

    merges = gguf.GGUFReader(smollm.path).fields["tokenizer.ggml.merges"].contents()
    return str(rewrite(smollm.path, tmp_path_factory.mktemp("models") / "other-tokenizer.gguf",
                       lambda rd: ((t.name, t.data, t.tensor_type) for t in rd.tensors),
                       {"tokenizer.ggml.merges": (merges[: len(merges) // 4], gguf.GGUFValueType.ARRAY)}))


@pytest.fixture(scope="session")
def hellaswag_file():
    return dataset("hellaswag")


@pytest.fixture(scope="session")
def gsm8k_file():
    return dataset("gsm8k")


@pytest.fixture(scope="session")
def hellaswag_text(hellaswag_file, tmp_path_factory):
    """Fidelity text from the HellaSwag pairs (context + correct ending per line)."""
    import json

    rows = [json.loads(line) for line in hellaswag_file.read_text().splitlines()]
    path = tmp_path_factory.mktemp("text") / "hellaswag.txt"
    path.write_text("\n".join(r["context"] + r["correct"] for r in rows))
    return str(path)


OLD_LEDGER = ROOT / "tests" / "fixtures" / "ledger-v0.sql"


@pytest.fixture
def old_ledger(tmp_path) -> Path:
    """A ledger written by tokenfall before schema versions existed: a real bench run at two levels, an eval run and
    an artifact row (tests/fixtures/ledger-v0.sql, dumped with sqlite3's iterdump)."""
    import sqlite3

    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(OLD_LEDGER.read_text())
    con.close()
    return path


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "ledger.sqlite")


@pytest.fixture(scope="session")
def smollm():
    from tokenfall.models import resolve

    return resolve("smollm2-135m")


def run(coro):
    return asyncio.run(coro)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args, timeout=600, env=None):
    """Run the real CLI in a subprocess (as a user would)."""
    return subprocess.run([sys.executable, "-m", "tokenfall", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


def cli_here(*args):
    """The CLI in this process, for input checks that end before any model runs (a subprocess costs ~2 s of
    imports each): its exit code, stdout and stderr, as ``cli`` returns them."""
    import contextlib
    import io

    from tokenfall.cli import main

    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else int(e.code is not None)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def bench_run(db: str, *args: str) -> str:
    """A real `tokenfall bench --json` of the bundled model into ``db``; its run id."""
    import json

    r = cli("--db", db, "bench", *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["id"]


ARTIFACTS = Path(os.environ.get("TOKENFALL_TEST_ARTIFACTS", ROOT / "test-artifacts"))


def draw_in_chromium(html_path: Path, shot_name: str, min_charts: int = 1) -> None:
    """Open an offline report page in headless Chromium: every chart drawn, no JS or console error, a screenshot kept."""
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is missing: `make test` installs the Debian chromium package (scripts/install-browser.sh)"
    assert "<script src" not in html_path.read_text()  # offline: plotly.js is inline, nothing is fetched
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / shot_name
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000", "--window-size=1200,2400"]
    dom = subprocess.run(base + ["--dump-dom", html_path.as_uri()], capture_output=True, text=True, timeout=180)
    subprocess.run(base + [f"--screenshot={shot}", html_path.as_uri()], capture_output=True, text=True, timeout=180)
    body = dom.stdout.split("<body", 1)[1].split(">", 1)[0]
    charts = int(body.split('data-charts="')[1].split('"')[0])
    assert charts >= min_charts
    assert f'data-charts-drawn="{charts}"' in body, body
    assert 'data-js-errors="0"' in body, body
    assert dom.stdout.count('class="main-svg"') >= charts
    console_errors = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln and ("Error" in ln or "error" in ln)]
    assert not console_errors, console_errors
    assert shot.is_file() and shot.stat().st_size > 10_000


@pytest.fixture(scope="session")
def llama_server(smollm):
    """llama-cpp-python's OpenAI-compatible server with the bundled model, on a free loopback port."""
    import httpx

    port = free_port()
    # --interrupt_requests False: by default this server cuts a stream short when another request arrives
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "llama_server.py"), "--model", smollm.path, "--host", "127.0.0.1",
                             "--port", str(port), "--model_alias", "smol", "--n_ctx", "2048", "--verbose", "False",
                             "--interrupt_requests", "False"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start")
    yield url
    proc.terminate()
    proc.wait(10)
