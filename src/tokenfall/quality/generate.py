"""Text generation through a serving engine, for generation tasks and the built-in fidelity text:
the same engine code that was priced produces the answers that are graded."""

from __future__ import annotations

import asyncio
from typing import Callable

from tokenfall import loop
from tokenfall.engines import create
from tokenfall.errors import EngineError, TokenfallError
from tokenfall.types import ModelInfo, Request


def generate(engine: str, model: ModelInfo, options: dict, requests: list[Request], concurrency: int = 32,
             progress: Callable[[int], None] = lambda n: None, timeout_s: float = 600.0) -> list[str]:
    """Completions for ``requests`` in order; any failed request fails the call (a missing answer
    would silently count as wrong)."""

    async def main() -> list[str]:
        eng = create(engine, model, options)
        await eng.start()
        sem = asyncio.Semaphore(concurrency)

        async def one(req: Request) -> str:
            async with sem:
                parts = []
                async with asyncio.timeout(timeout_s):
                    async for ch in eng.stream(req):
                        parts.append(ch.text)
                progress(1)
                return "".join(parts)

        try:
            return await asyncio.gather(*(one(r) for r in requests))
        finally:
            await eng.stop()

    try:
        return loop.run(main())
    except EngineError as e:
        raise TokenfallError(f"generation with engine '{engine}' on '{model.ref}' failed ({e.kind}: {e}); check the engine with `tokenfall bench`") from e
    except TimeoutError as e:
        raise TokenfallError(f"a generation request to engine '{engine}' took longer than {timeout_s:.0f} s; lower max_tokens") from e
