"""Byte ranges of big line-based files, so a cluster reads one file on several workers.

A range owns the lines that start inside it; its first line's number and its first record's row
in the file come from a counting pass over the ranges before it (`Cluster` runs it), so records
keep the line numbers, row numbers and sample keys a whole-file read gives them.
"""

from __future__ import annotations

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

    def __str__(self) -> str:
        return f"{self.file}::bytes={self.start}-{self.end}"


def ranges_of(relpath: str, size: int, range_bytes: int) -> list[ByteRange]:
    return [ByteRange(relpath, start, min(start + range_bytes, size)) for start in range(0, size, range_bytes)]


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
