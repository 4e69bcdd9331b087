"""Ctrl-C during a child's start-up is held until the submit returns, then raised."""

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from tokenfall import spawn


def test_an_interrupt_during_submit_is_raised_after_it():
    started, before = [], signal.getsignal(signal.SIGINT)
    with ThreadPoolExecutor(1) as pool:
        plain = pool.submit

        def submit(fn, *args):
            os.kill(os.getpid(), signal.SIGINT)  # arrives while the child would be reading its start-up data
            started.append(fn)
            return plain(fn, *args)
        pool.submit = submit
        with pytest.raises(KeyboardInterrupt):
            spawn.submit(pool, abs, -1)
        assert started == [abs]  # the work was handed over before the interrupt surfaced
        pool.submit = plain
        assert spawn.submit(pool, abs, -2).result() == 2
    assert signal.getsignal(signal.SIGINT) is before  # the caller's own handler is back
