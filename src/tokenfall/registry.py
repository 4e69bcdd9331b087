"""Lazy name -> "module:attr" registries, so naming an engine never imports torch or llama.cpp."""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from tokenfall.errors import TokenfallError


def did_you_mean(name: str, known: list[str], what: str) -> TokenfallError:
    close = [k for k in sorted(known) if name.lower() in k.lower()][:1] or difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    names = sorted(known)
    listed = ", ".join(names) if len(names) <= 20 else f"{', '.join(names[:12])}, ... ({len(names)} in all)"
    return TokenfallError(f"unknown {what} '{name}'.{hint} Known: {listed}")


class Registry:
    def __init__(self, what: str, entries: dict[str, str]):
        self.what = what
        self.entries = dict(entries)

    def names(self) -> list[str]:
        return sorted(self.entries)

    def load(self, name: str) -> Any:
        if name not in self.entries:
            raise did_you_mean(name, self.names(), self.what)
        module, _, attr = self.entries[name].partition(":")
        return getattr(importlib.import_module(module), attr)
