"""Files on disk: a user's file read whole or refused in one line naming it and the fix (UTF-8 with or
without a byte-order mark: spreadsheet exports add one), and cache files written atomically (a reader,
or a run interrupted half-way, never sees half a file)."""

from __future__ import annotations

import os
from pathlib import Path

from tokenfall.errors import TokenfallError


def read_text(path: str | Path, what: str) -> str:
    p = Path(path)
    if not p.exists():
        raise TokenfallError(f"{what} '{p}' does not exist; check the path")
    if p.is_dir():
        raise TokenfallError(f"{what} '{p}' is a folder; give a file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise TokenfallError(f"{what} '{p}' cannot be read ({e.strerror or e}); check its permissions") from e
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TokenfallError(f"{what} '{p}' is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                             "save it as UTF-8") from e


def write_text_atomic(path: Path, text: str) -> None:
    """``text`` at ``path`` (folders created) through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
