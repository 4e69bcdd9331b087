"""What a long job reports while it runs: the CLI draws it, Python callers may ignore it."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def level(self, label: str, total: int | None) -> None: ...
    def tokens(self, n: int) -> None: ...
    def request_done(self) -> None: ...


class Silent:
    """The progress of a caller that does not watch."""

    def level(self, label: str, total: int | None) -> None:
        pass

    def tokens(self, n: int) -> None:
        pass

    def request_done(self) -> None:
        pass
