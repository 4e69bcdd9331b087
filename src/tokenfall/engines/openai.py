"""Streaming client for any OpenAI-compatible server (vLLM, SGLang, TGI, llama-server, Ollama, ...).

Tokens are timed at SSE arrival. A content chunk counts as one token for timing; the server's
``usage`` (requested with ``stream_options.include_usage``) is the authoritative count when sent.
"""

from __future__ import annotations

import json
import os
import time
from typing import AsyncIterator, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from tokenfall import __version__
from tokenfall.errors import EngineError, TokenfallError
from tokenfall.types import Chunk, EngineInfo, ModelInfo, Request


class OpenAIEngine:
    name: ClassVar[str] = "openai"
    requires: ClassVar = ()
    tokenizer = None  # remote: the bench attaches a local tokenizer when one is given

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        endpoint: Literal["completions", "chat"] = "completions"
        api_key_env: str = Field("OPENAI_API_KEY", description="name of the environment variable holding the key")
        timeout_s: float = Field(300.0, gt=0, description="per-request limit, connect to last byte")
        connect_timeout_s: float = Field(10.0, gt=0)
        pin_output: bool = Field(True, description="send ignore_eos/min_tokens so outputs have the asked length")
        processes: int = Field(1, ge=1, le=64, description="client processes sharing the load")
        max_connections: int = Field(4096, ge=1)

    def __init__(self, model: ModelInfo, options: Options):
        if model.kind != "remote":
            raise TokenfallError(f"engine 'openai' needs a server URL as the model, e.g. http://127.0.0.1:8000/v1#name (got '{model.ref}')")
        self.model_info, self.opts = model, options
        self.client: httpx.AsyncClient | None = None

    def info(self) -> EngineInfo:
        return EngineInfo(name=self.name, version=f"tokenfall {__version__} httpx {httpx.__version__}",
                          options=self.opts.model_dump(), model=self.model_info)

    def _headers(self) -> dict:
        key = os.environ.get(self.opts.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def start(self) -> None:
        limits = httpx.Limits(max_connections=self.opts.max_connections, max_keepalive_connections=self.opts.max_connections)
        timeout = httpx.Timeout(self.opts.timeout_s, connect=self.opts.connect_timeout_s)
        self.client = httpx.AsyncClient(base_url=self.model_info.base_url, headers=self._headers(), limits=limits, timeout=timeout)
        try:
            r = await self.client.get("/models")
        except httpx.HTTPError as e:
            await self.client.aclose()
            raise TokenfallError(f"server {self.model_info.base_url} is unreachable ({type(e).__name__}); start it or fix the URL") from e
        if r.status_code in (401, 403):
            await self.client.aclose()
            raise TokenfallError(f"server {self.model_info.base_url} refused the key (HTTP {r.status_code}); set ${self.opts.api_key_env}")

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    def _body(self, req: Request) -> tuple[str, dict]:
        body: dict = {"model": self.model_info.name, "max_tokens": req.max_tokens, "temperature": req.temperature,
                      "seed": req.seed, "stream": True, "stream_options": {"include_usage": True}}
        if self.opts.pin_output and req.ignore_eos:
            body.update(ignore_eos=True, min_tokens=req.max_tokens)
        if self.opts.endpoint == "chat" or req.chat:
            return "/chat/completions", {**body, "messages": [{"role": "user", "content": req.prompt}]}
        return "/completions", {**body, "prompt": req.prompt}

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        path, body = self._body(request)
        try:
            async with self.client.stream("POST", path, json=body) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise EngineError(f"http_{resp.status_code}", resp.text[:200])
                done = False
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    t = time.monotonic()
                    try:
                        obj = json.loads(data)
                        choices = obj.get("choices") or []
                        usage = obj.get("usage") or {}
                    except (json.JSONDecodeError, AttributeError) as e:
                        raise EngineError("malformed_sse", str(e)) from e
                    text, finish = "", None
                    if choices:
                        c = choices[0]
                        text = c.get("text") or (c.get("delta") or {}).get("content") or ""
                        finish = c.get("finish_reason")
                    is_token = bool(text) or (bool(choices) and finish is None and "role" not in (choices[0].get("delta") or {}))
                    yield Chunk(t=t, text=text, n_tokens=1 if is_token else 0, finish_reason=finish,
                                prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens"))
                if not done:
                    raise EngineError("stream_ended", "stream closed before [DONE]")
        except httpx.TimeoutException as e:
            raise EngineError("timeout", str(e)) from e
        except httpx.ConnectError as e:
            raise EngineError("connect", str(e)) from e
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as e:
            raise EngineError("connection_reset", str(e)) from e
