"""A no-op OpenAI-compatible streaming server on loopback, for testing clients rather than models.

It answers /v1/completions and /v1/chat/completions with ``max_tokens`` SSE chunks (optionally paced by
``ttft_s``/``itl_s``), reports usage, and can inject faults in a fixed cycle: ``reset`` (connection dropped),
``500``, ``malformed`` (broken SSE JSON), ``stall`` (headers, then silence), ``truncate`` (no [DONE]).
Raw asyncio streams keep it cheap enough that it is not the bottleneck when measuring a load generator.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading

FAULTS = ("ok", "reset", "500", "malformed", "stall", "truncate", "error_event")


def echo_logprobs(prompt: str) -> dict:
    """A non-streamed completion echoing ``prompt`` with OpenAI-style prompt logprobs from a toy rule, so a
    client's offset and summing logic can be checked by hand: words (with their leading space) are tokens,
    each with log-probability minus its letter count; a word of up to 3 letters is also the top choice."""
    tokens, pos = [], 0
    for word in prompt.split(" "):
        tok = word if pos == 0 else " " + word
        tokens.append((pos, tok))
        pos += len(tok)
    offsets = [p for p, _ in tokens]
    values = [None] + [-float(len(t.strip())) for _, t in tokens[1:]]
    top = [None] + [{t: -float(len(t.strip()))} if len(t.strip()) <= 3 else {" x": -0.1, t: -float(len(t.strip()))}
                    for _, t in tokens[1:]]
    return {"object": "text_completion", "model": "mock", "usage": {"prompt_tokens": len(tokens), "completion_tokens": 1},
            "choices": [{"index": 0, "text": prompt + " x", "finish_reason": "length",
                         "logprobs": {"tokens": [t for _, t in tokens] + [" x"], "text_offset": offsets + [pos],
                                      "token_logprobs": values + [-0.1], "top_logprobs": top + [{" x": -0.1}]}}]}


class MockServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, ttft_s: float = 0.0, itl_s: float = 0.0,
                 faults: list[str] | None = None):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the mock server binds loopback only")
        bad = [f for f in faults or [] if f not in FAULTS]
        if bad:
            raise ValueError(f"unknown fault {bad[0]}; known: {', '.join(FAULTS)}")
        self.host, self.port, self.ttft_s, self.itl_s = host, port, ttft_s, itl_s
        self._faults = itertools.cycle(faults or ["ok"])
        self.requests = 0
        self._server = None
        self._loop = None
        self._thread = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                if method == "GET" and path.endswith("/models"):
                    payload = json.dumps({"object": "list", "data": [{"id": "mock", "object": "model"}]}).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(payload), payload))
                    await writer.drain()
                    continue
                self.requests += 1
                if not await self._complete(json.loads(body or b"{}"), path.endswith("/chat/completions"), writer, next(self._faults)):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.CancelledError):  # shutdown included
            pass
        finally:
            writer.close()

    async def _complete(self, req: dict, chat: bool, writer: asyncio.StreamWriter, fault: str) -> bool:
        """Stream one completion; False when the connection must end (fault injected)."""
        if req.get("echo") and not req.get("stream"):
            payload = json.dumps(echo_logprobs(str(req.get("prompt", "")))).encode()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(payload), payload))
            await writer.drain()
            return True
        if fault == "500":
            msg = b'{"error": "injected"}'
            writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(msg), msg))
            await writer.drain()
            return True
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        if fault == "reset":
            writer.transport.abort()
            return False
        if fault == "stall":
            await writer.drain()
            await asyncio.sleep(3600)
            return False
        n = int(req.get("max_tokens") or 16)

        def event(obj) -> bytes:
            data = b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
            return b"%x\r\n%s\r\n" % (len(data), data)

        if self.ttft_s:
            await asyncio.sleep(self.ttft_s)
        for i in range(n):
            if fault == "malformed" and i == n // 2:
                writer.write(event(b"{not json"))
                break
            if fault == "error_event" and i == n // 2:  # as vLLM and TGI report a failure after the 200 was sent
                writer.write(event({"error": {"message": "injected mid-stream failure", "type": "internal_error", "code": 500}}))
                break
            choice = {"index": 0, "finish_reason": "length" if i == n - 1 else None}
            choice.update({"delta": {"content": " tok"}} if chat else {"text": " tok"})
            writer.write(event({"object": "text_completion", "choices": [choice]}))
            if self.itl_s:
                await writer.drain()
                await asyncio.sleep(self.itl_s)
        if fault == "truncate":
            await writer.drain()
            writer.transport.abort()
            return False
        if fault not in ("malformed", "error_event"):
            writer.write(event({"choices": [], "usage": {"prompt_tokens": len(str(req.get("prompt", "")).split()),
                                                         "completion_tokens": n}}))
        writer.write(event(b"[DONE]") + b"0\r\n\r\n")
        await writer.drain()
        return True

    # run in a background thread, so tests and benchmarks can use it from synchronous code
    def __enter__(self) -> "MockServer":
        ready = threading.Event()

        def run():
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, self.host, self.port, backlog=4096))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        async def shutdown():
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def serve(host: str, port: int, ttft_s: float, itl_s: float, faults: list[str] | None) -> None:
    """Run in the foreground until Ctrl-C (the `tokenfall mock-server` command)."""
    server = MockServer(host, port, ttft_s, itl_s, faults)

    async def main():
        srv = await asyncio.start_server(server._handle, host, port, backlog=4096)
        async with srv:
            await srv.serve_forever()

    asyncio.run(main())
