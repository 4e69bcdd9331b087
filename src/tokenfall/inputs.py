"""Files a user names (prompts, tasks, texts, prices): read whole, or refused in one line naming the file
and the fix. UTF-8 with or without a byte-order mark (spreadsheet exports add one)."""

from __future__ import annotations

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
