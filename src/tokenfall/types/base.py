"""The two kinds of model every type derives from, and the bounds user input is held to."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class Settings(Model):
    """What a user asks for: every number finite and in range, checked before anything loads or runs."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False)


# Bounds that keep a typo from allocating the machine away (a level of 10^12 requests, a 10^8-token prompt).
MAX_REQUESTS = 1_000_000
MAX_CONCURRENCY = 65_536
MAX_TOKENS = 1_048_576
