"""Running a coroutine from synchronous code, whether or not an event loop is already running.

``asyncio.run`` raises inside a running loop, which is where a notebook (Jupyter, IPython) calls the
public API from: there the coroutine gets its own loop in a worker thread and the caller waits for it.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1, thread_name_prefix="tokenfall-loop") as pool:
        return pool.submit(asyncio.run, coro).result()
