import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


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


@pytest.fixture(scope="session")
def llama_server(smollm):
    """llama-cpp-python's OpenAI-compatible server with the bundled model, on a free loopback port."""
    import httpx

    port = free_port()
    # --interrupt_requests False: by default this server cuts a stream short when another request arrives
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", smollm.path, "--host", "127.0.0.1",
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
