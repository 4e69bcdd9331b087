"""Arrival times for open-loop load (seeded), as offsets in seconds from the start of a level."""

from __future__ import annotations

import numpy as np

from tokenfall.types import Load


def arrivals(load: Load, count: int) -> list[float]:
    if load.mode == "concurrency":
        return [0.0] * count
    rate = float(load.rate)
    if load.mode == "constant":
        return [i / rate for i in range(count)]
    gaps = np.random.default_rng(load.seed).exponential(1.0 / rate, size=count)
    return list(np.concatenate([[0.0], np.cumsum(gaps[:-1])]))
