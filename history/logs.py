"""Reading a run's output_log.txt in pieces, for the run page and its live view.

A piece ends on a whole UTF-8 character, so that text split between two polls
is never shown as replacement characters; the next piece starts where the
previous one ended (a byte offset the browser sends back).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PIECE_BYTES = 256 * 1024


@dataclass(frozen=True)
class LogPiece:
    text: str
    start: int  # byte offset of the text in the file
    end: int  # where the next piece starts
    size: int  # the file's size when read


def complete_utf8(data: bytes) -> bytes:
    """``data`` without a trailing, incomplete UTF-8 sequence (still being written)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:  # a continuation byte: its lead is further back
            continue
        if byte >> 5 == 0b110:
            needed = 2
        elif byte >> 4 == 0b1110:
            needed = 3
        elif byte >> 3 == 0b11110:
            needed = 4
        else:  # ASCII, or an invalid byte the decoder will replace
            return data
        return data if back >= needed else data[:-back]
    return data


def skip_partial(data: bytes) -> int:
    """How many leading continuation bytes to skip to start on a whole character."""
    count = 0
    while count < min(3, len(data)) and data[count] & 0xC0 == 0x80:
        count += 1
    return count


def log_read(path: Path, *, offset: int | None, limit: int = PIECE_BYTES) -> LogPiece:
    """Up to ``limit`` bytes of the log from ``offset`` (clamped to the file);
    offset None: its last ``limit`` bytes."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            start = (
                max(size - limit, 0) if offset is None else min(max(offset, 0), size)
            )
            f.seek(start)
            data = f.read(limit)
    except FileNotFoundError:
        return LogPiece(text="", start=0, end=0, size=0)
    skip = skip_partial(data) if start else 0
    data = complete_utf8(data[skip:])
    start += skip
    return LogPiece(
        text=data.decode("utf-8", "replace"),
        start=start,
        end=start + len(data),
        size=size,
    )
