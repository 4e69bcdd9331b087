"""Streaming client for any OpenAI-compatible server (vLLM, SGLang, TGI, llama-server, Ollama, ...).

Tokens are timed at SSE arrival. A content chunk counts as one token for timing; the server's
``usage`` (requested with ``stream_options.include_usage``) is the authoritative count when sent.
"""

from __future__ import annotations

import json
import os
import time
from typing import AsyncIterator, ClassVar, Literal

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from tokenfall import __version__
from tokenfall.engines import Engine
from tokenfall.errors import EngineError, TokenfallError
from tokenfall.types import Chunk, EngineInfo, ModelInfo, Request


class OpenAIEngine(Engine):
    name: ClassVar[str] = "openai"
    requires: ClassVar = ()
    tokenizer = None  # remote: the bench attaches a local tokenizer when one is given

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        endpoint: Literal["completions", "chat"] = Field("completions", description="/v1/completions or /v1/chat/completions")
        api_key_env: str = Field("OPENAI_API_KEY", description="name of the environment variable holding the key")
        timeout_s: float = Field(300.0, gt=0, description="per-request limit, connect to last byte")
        connect_timeout_s: float = Field(10.0, gt=0, description="TCP connect limit")
        pin_output: bool = Field(True, description="send ignore_eos/min_tokens so outputs have the asked length")
        processes: int = Field(1, ge=1, le=64, description="client processes sharing the load")
        max_connections: int = Field(4096, ge=1, description="connection pool size per client process")

    def __init__(self, model: ModelInfo, options: Options):
        if model.kind != "remote":
            raise TokenfallError(f"engine 'openai' needs a server URL as the model, e.g. http://127.0.0.1:8000/v1#name (got '{model.ref}')")
        self.model_info, self.opts = model, options
        self.session: aiohttp.ClientSession | None = None

    @property
    def processes(self) -> int:
        return self.opts.processes

    def info(self) -> EngineInfo:
        return EngineInfo(name=self.name, version=f"tokenfall {__version__} aiohttp {aiohttp.__version__}",
                          options=self.opts.model_dump(), model=self.model_info)

    def _headers(self) -> dict:
        key = os.environ.get(self.opts.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def start(self) -> None:
        # aiohttp rather than httpx: httpx's pool scans every connection per request (quadratic), which made the
        # client, not the server, the bottleneck at a few hundred requests/s (profiled)
        self.session = aiohttp.ClientSession(
            base_url=self.model_info.base_url.rstrip("/") + "/", headers=self._headers(),
            connector=aiohttp.TCPConnector(limit=self.opts.max_connections),
            timeout=aiohttp.ClientTimeout(total=self.opts.timeout_s, sock_connect=self.opts.connect_timeout_s),
            read_bufsize=1 << 20)  # long SSE lines (big logprobs, long contexts) must not hit a 64 KiB line limit
        try:
            async with self.session.get("models") as r:
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as e:
            await self.stop()
            raise TokenfallError(f"server {self.model_info.base_url} is unreachable ({type(e).__name__}); start it or fix the URL") from e
        if status in (401, 403):
            await self.stop()
            raise TokenfallError(f"server {self.model_info.base_url} refused the key (HTTP {status}); set ${self.opts.api_key_env}")

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    def _body(self, req: Request) -> tuple[str, dict]:
        body: dict = {"model": self.model_info.name, "max_tokens": req.max_tokens, "temperature": req.temperature,
                      "seed": req.seed, "stream": True, "stream_options": {"include_usage": True}}
        if req.temperature > 0:
            body["top_p"] = req.top_p
        if req.logprobs:
            body["logprobs"] = True if self.opts.endpoint == "chat" or req.chat else 1
        if self.opts.pin_output and req.ignore_eos:
            body.update(ignore_eos=True, min_tokens=req.max_tokens)
        if self.opts.endpoint == "chat" or req.chat:
            return "chat/completions", {**body, "messages": [{"role": "user", "content": req.prompt}]}
        return "completions", {**body, "prompt": req.prompt}

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        path, body = self._body(request)
        try:
            async with self.session.post(path, json=body) as resp:
                if resp.status >= 400:
                    raise EngineError(f"http_{resp.status}", (await resp.text())[:200])
                done = False
                async for raw in resp.content:
                    if not raw.startswith(b"data:"):
                        continue
                    data = raw[5:].strip()
                    if data == b"[DONE]":
                        done = True
                        break
                    t = time.monotonic()
                    try:
                        obj = json.loads(data)
                        choices = obj.get("choices") or []
                        usage = obj.get("usage") or {}
                    except (json.JSONDecodeError, AttributeError, UnicodeDecodeError) as e:
                        raise EngineError("malformed_sse", str(e)) from e
                    if obj.get("error"):  # the server failed after its 200: vLLM, TGI, SGLang send this event
                        raise EngineError("stream_error", _error_text(obj["error"]))
                    text, finish, logprob = "", None, None
                    if choices:
                        c = choices[0]
                        text = c.get("text") or (c.get("delta") or {}).get("content") or ""
                        finish = c.get("finish_reason")
                        logprob = _logprob(c.get("logprobs")) if request.logprobs else None
                    is_token = bool(text) or (bool(choices) and finish is None and "role" not in (choices[0].get("delta") or {}))
                    yield Chunk(t=t, text=text, n_tokens=1 if is_token else 0, finish_reason=finish,
                                prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens"),
                                cached_tokens=((usage.get("prompt_tokens_details") or {}).get("cached_tokens")), logprob=logprob)
                if not done:
                    raise EngineError("stream_ended", "stream closed before [DONE]")
        except TimeoutError as e:
            raise EngineError("timeout", str(e)) from e
        except aiohttp.ClientConnectorError as e:
            raise EngineError("connect", str(e)) from e
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError) as e:
            raise EngineError("connection_reset", str(e)) from e
        except aiohttp.ClientError as e:
            raise EngineError("http_client", f"{type(e).__name__}: {e}") from e


def _error_text(error) -> str:
    """The message of an SSE error event, whether an object ({"message": ...}) or a bare string."""
    if isinstance(error, dict):
        return str(error.get("message") or error)[:200]
    return str(error)[:200]


def _logprob(lp) -> float | None:
    """Sum of a chunk's token log-probabilities: chat's {"content": [{"logprob": ..}]} or completions'
    {"token_logprobs": [..]}."""
    if not isinstance(lp, dict):
        return None
    vals = [t.get("logprob") for t in lp.get("content") or [] if isinstance(t, dict)] or lp.get("token_logprobs") or []
    vals = [v for v in vals if isinstance(v, (int, float))]
    return float(sum(vals)) if vals else None
