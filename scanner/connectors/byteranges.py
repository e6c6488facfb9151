"""Byte ranges of big line-based files, so a cluster reads one file on several workers.

A range owns the lines that start inside it; its first line's number and its first record's row
in the file come from a counting pass over the ranges before it (`Cluster` runs it), so records
keep the line numbers, row numbers and sample keys a whole-file read gives them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator

RANGE_BYTES = 64 << 20  # on a cluster, uncompressed files larger than this are read in ranges of this size
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class ByteRange:
    """The lines of `file` that start at a byte offset in [start, end)."""

    file: str  # relative to the source root
    start: int
    end: int
    first_line: int = 1  # physical line number of the first line it owns
    first_row: int = 0  # row number of its first record
    quote_parity: int = 0  # CSV: the number of quote characters before `start`, mod 2

    def __str__(self) -> str:
        return f"{self.file}::bytes={self.start}-{self.end}"


@dataclass(frozen=True)
class RangeCount:
    """A counting pass over a range: (lines, records) that start in it, when the quote characters before
    it are even (counts[0]) or odd (counts[1]) in number, None where it cannot be read on its own; and
    its own quote characters. Formats without quoting (JSON Lines) give the same count twice."""

    counts: tuple[tuple[int, int] | None, tuple[int, int] | None]
    quotes: int = 0


def numbered(counts: dict[ByteRange, RangeCount]) -> dict[ByteRange, ByteRange] | None:
    """The ranges of one file, in order, with their first line, row and quote parity; None: read it whole."""
    placed, line, row, parity = {}, 1, 0, 0
    for shard, count in counts.items():
        found = count.counts[parity] if count is not None else None
        if found is None:
            return None
        placed[shard] = dataclasses.replace(shard, first_line=line, first_row=row, quote_parity=parity)
        line, row, parity = line + found[0], row + found[1], (parity + count.quotes) % 2
    return placed


def ranges_of(relpath: str, size: int, range_bytes: int) -> list[ByteRange]:
    return [ByteRange(relpath, start, min(start + range_bytes, size)) for start in range(0, size, range_bytes)]


def count_bytes(handle, start: int, end: int, byte: bytes) -> int:
    """How often `byte` occurs in [start, end) of a seekable binary file."""
    handle.seek(start)
    found, left = 0, end - start
    while left > 0:
        data = handle.read(min(CHUNK_BYTES, left))
        if not data:
            break
        found, left = found + data.count(byte), left - len(data)
    return found


def range_lines(handle, start: int, end: int) -> Iterator[bytes]:
    """The lines (without line ends) that start in [start, end) of a seekable binary file."""
    position = max(start - 1, 0)
    handle.seek(position)
    buffer = b""
    if start > 0:  # the line running through `start - 1` belongs to the range before
        while True:
            data = handle.read(CHUNK_BYTES)
            if not data:
                return
            cut = data.find(b"\n")
            if cut >= 0:
                buffer, position = data[cut + 1:], position + cut + 1
                break
            position += len(data)
    while position < end:  # `position`: the offset of buffer[0], always a line start
        *complete, rest = buffer.split(b"\n")
        for line in complete:
            yield line
            position += len(line) + 1
            if position >= end:
                return
        data = handle.read(CHUNK_BYTES)
        if not data:
            if rest:
                yield rest
            return
        buffer = rest + data
