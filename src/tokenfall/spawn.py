"""Submitting work to a spawn-context process pool without letting Ctrl-C cut a child's start-up.

A spawned child first reads its pickled start-up data from a pipe the parent is still writing; Ctrl-C in the
parent at that moment leaves the child an unfinished pickle, and it dies printing a traceback on the shared
stderr. Holding the interrupt until ``submit`` has started the child (the write is then complete) and raising
it right after keeps the user's Ctrl-C and drops the stray traceback."""

from __future__ import annotations

import signal
import threading
from concurrent.futures import Executor, Future


def submit(pool: Executor, fn, /, *args, **kwargs) -> Future:
    if threading.current_thread() is not threading.main_thread():
        return pool.submit(fn, *args, **kwargs)
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        return pool.submit(fn, *args, **kwargs)
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            raise KeyboardInterrupt
