"""Load-generator capacity: tokenfall vs GuideLLM against the same no-op streaming server, in one run.

A no-op OpenAI-compatible server (`tokenfall mock-server`, separate process, 127.0.0.1) answers every request
with 16 SSE tokens at once, so what limits the measured rate is the client. Each tool is offered constant
arrival rates for a fixed time; for each we record the completed-request rate and the p99 schedule lateness
(tokenfall: actual send - scheduled send; GuideLLM: its `request_dispatch_delay`). A rate is *sustained*
when >= 95% of it completes and p99 lateness stays under 1 s.

GuideLLM 0.8.1 is installed into its own venv (~/.cache/tokenfall/guidellm-venv; torch==2.13.0 first, so it
does not pull a CUDA build); its synthetic prompts use the bundled model's tokenizer saved as an HF directory.

    python benchmarks/loadgen_capacity.py [--rates 200,300,400,600,800,1200] [--seconds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CACHE = Path(os.environ.get("TOKENFALL_CACHE", Path.home() / ".cache" / "tokenfall"))
GUIDELLM_VENV = CACHE / "guidellm-venv"
GUIDELLM = "guidellm==0.8.1"


def ensure_guidellm() -> Path:
    exe = GUIDELLM_VENV / "bin" / "guidellm"
    if not exe.exists():
        print(f"installing {GUIDELLM} into {GUIDELLM_VENV} (once)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(GUIDELLM_VENV)], check=True)
        pip = [str(GUIDELLM_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run(pip + ["torch==2.13.0"], check=True)
        subprocess.run(pip + [GUIDELLM], check=True)
    return exe


def ensure_tokenizer_dir() -> Path:
    """The bundled model's tokenizer as an HF directory (GuideLLM sizes synthetic prompts with it)."""
    out = CACHE / "smollm2-135m-tokenizer"
    if not (out / "tokenizer.json").exists():
        from transformers import AutoTokenizer

        from tokenfall.models import resolve

        p = Path(resolve("smollm2-135m").path)
        AutoTokenizer.from_pretrained(str(p.parent), gguf_file=p.name).save_pretrained(out)
    return out


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "tokenfall", "mock-server", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("mock server did not start")


def run_tokenfall(url: str, rate: float, seconds: float, db: str) -> tuple[float, float, int]:
    from tokenfall import api
    from tokenfall.store import Ledger
    from tokenfall.types import BenchConfig, Load, PriceSpec, Prompts

    cfg = BenchConfig(model=url + "#mock", engine="openai", tokenizer="smollm2-135m", timeout_s=30, price=PriceSpec(usd_per_hour=1.0),
                      loads=[Load(mode="constant", rate=rate, duration_s=seconds, requests=None, warmup_requests=0)],
                      prompts=Prompts(input_tokens=32, output_tokens=16))
    run = api.bench(cfg, db=db)
    recs = Ledger(db).requests(run.id)
    ok = [r for r in recs if r.error is None]
    span = max(r.t_done for r in recs) - min(r.t_scheduled for r in recs)
    return len(ok) / span, run.levels[0].lateness_s.p99, len(ok)


def run_guidellm(exe: Path, url: str, rate: float, seconds: float, tok: Path, workdir: str) -> tuple[float, float, int]:
    out = Path(workdir) / f"guidellm-{rate}.json"
    cmd = [str(exe), "run", "--backend", f"kind=openai_http,target={url.removesuffix('/v1')}",
           "--profile", f"kind=constant,rate={rate}", "--constraint", f"kind=max_duration,seconds={seconds}",
           "--data", "kind=synthetic_text,prompt_tokens=32,output_tokens=16",
           "--tokenizer", f"kind=huggingface_auto,model={tok}", "--output", f"kind=json,path={out}",
           "--disable-console"]
    subprocess.run(cmd, check=True, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=seconds * 20 + 120)
    b = json.loads(out.read_text())["benchmarks"][0]
    m = b["metrics"]
    # GuideLLM's own completed-requests rate over its measurement window
    return (m["requests_per_second"]["successful"]["mean"], m["request_dispatch_delay"]["successful"]["percentiles"]["p99"],
            m["request_latency"]["successful"]["count"])


def sustained(rows: list[tuple[float, float, float]]) -> float:
    ok = [offered for offered, achieved, late in rows if achieved >= 0.95 * offered and late < 1.0]
    return max(ok, default=0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="200,300,400,600,800,1200")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--port", type=int, default=8731)
    a = ap.parse_args()
    rates = [float(r) for r in a.rates.split(",")]
    exe, tok = ensure_guidellm(), ensure_tokenizer_dir()
    server = start_server(a.port)
    url = f"http://127.0.0.1:{a.port}/v1"
    rows = {"tokenfall": [], "guidellm": []}
    try:
        with tempfile.TemporaryDirectory() as d:
            for rate in rates:  # alternate the tools at each rate, same server
                for tool in ("tokenfall", "guidellm"):
                    if tool == "tokenfall":
                        achieved, late, n = run_tokenfall(url, rate, a.seconds, f"{d}/ledger.sqlite")
                    else:
                        achieved, late, n = run_guidellm(exe, url, rate, a.seconds, tok, d)
                    rows[tool].append((rate, achieved, late))
                    print(f"{tool:10} offered {rate:7.0f} req/s  completed {n:6d}  achieved {achieved:7.1f} req/s  "
                          f"lateness p99 {late:8.3f} s", flush=True)
    finally:
        server.terminate()
        server.wait(10)
    tf, gl = sustained(rows["tokenfall"]), sustained(rows["guidellm"])
    print(f"\nsustained rate (>=95% completed, p99 lateness < 1 s): tokenfall {tf:.0f} req/s, GuideLLM {gl:.0f} req/s")
    ratio = tf / gl if gl else float("inf")
    print(f"tokenfall / GuideLLM = {ratio:.2f} (goal >= 2: {'met' if ratio >= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
