"""The JSON values in a file: JSON Lines, one array, or pretty-printed objects one after another.

Each value comes with the line it starts on. A value that does not parse comes as a
`BadValue` naming the problem (never the content), so readers can skip it and go on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Iterator

from scanner.core.errors import one_line

# A pretty-printed object larger than this is not buffered whole.
MAX_DOCUMENT_BYTES = 256 << 20


def max_record_bytes() -> int:
    """The largest record read (a JSON line, a record's texts); a larger one is skipped with a reason.
    `DHSCAN_MAX_RECORD_BYTES` sets it (default 8 MiB)."""
    try:
        return max(1024, int(os.environ.get("DHSCAN_MAX_RECORD_BYTES") or (8 << 20)))
    except ValueError:
        return 8 << 20


@dataclass(frozen=True)
class TooLong:
    """A line longer than the limit, skipped without being held in memory."""

    length: int


@dataclass(frozen=True)
class BadValue:
    category: str  # "not_json" | "invalid_utf8"
    problem: str


class WholeFileError(Exception):
    """A file that is one JSON document and does not parse: nothing in it can be read."""


def read_past(raw: bytes | None, limit: int) -> bool:
    """Whether `json_values` reads past these bytes as too large (a line of them over `limit`): what a
    rewriter copying them as they are must tell, to number records as the reader does."""
    return raw is not None and max(map(len, raw.split(b"\n"))) > limit


def lines(stream, prefix: bytes = b"", chunk_size: int = 1 << 20, limit: int | None = None) -> Iterator[bytes | TooLong]:
    """The lines of a byte stream, without their line ends. With `limit`, a longer line is read past
    (decompressed as a stream, never held) and comes as TooLong."""
    chunk = prefix or stream.read(chunk_size)
    buffer = b""
    skipped = None  # bytes of an over-long line read past so far
    while chunk:
        if skipped is not None:
            end = chunk.find(b"\n")
            if end < 0:
                skipped += len(chunk)
                chunk = stream.read(chunk_size)
                continue
            yield TooLong(skipped + end)
            skipped, chunk = None, chunk[end + 1:]
            if not chunk:
                chunk = stream.read(chunk_size)
                continue
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:  # every line longer than the limit, so a rewriter can tell them as the reader does
            yield TooLong(len(line)) if limit is not None and len(line) > limit else line
        if limit is not None and len(buffer) > limit:
            skipped, buffer = len(buffer), b""
        chunk = stream.read(chunk_size)
    if skipped is not None:
        yield TooLong(skipped)
    elif buffer:
        yield TooLong(len(buffer)) if limit is not None and len(buffer) > limit else buffer


def problem_of(exc: Exception) -> str:
    # json's messages name a position, never the content, so they are safe to show.
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {exc.start}"
    return one_line(exc)


def parse_value(raw: bytes) -> Any:
    """One JSON value, or a BadValue naming the problem."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadValue("invalid_utf8", problem_of(exc))
    try:
        return json.loads(text)
    except ValueError as exc:
        return BadValue("not_json", f"not JSON: {problem_of(exc)}")
    except RecursionError:
        return BadValue("too_deep", "nested too deeply to read")


def json_values(stream) -> Iterator[tuple[int, Any]]:
    """(line, value) for every JSON value in the stream; elements of a top-level array one by one. A line
    longer than max_record_bytes() is a BadValue, read past without being held."""
    for line, value, _ in json_values_raw(stream, max_record_bytes()):
        yield line, value


def json_values_raw(stream, limit: int | None = None) -> Iterator[tuple[int, Any, bytes | None]]:
    """As json_values, with each value's bytes (None for the elements of a top-level array); `limit`
    bounds a line (rewriting a file copies every line whole, so it gives none)."""
    head = stream.read(1 << 16)
    if head.lstrip()[:1] == b"[":
        data = head + stream.read(MAX_DOCUMENT_BYTES + 1 - len(head))
        if len(data) > MAX_DOCUMENT_BYTES:
            raise WholeFileError("a JSON document larger than 256 MiB (give it as JSON Lines)")
        document = parse_value(data)
        if isinstance(document, BadValue):
            raise WholeFileError(document.problem)
        if isinstance(document, list):
            for item in document:
                yield 1, item, None
        else:
            yield 1, document, data
        return
    pending: list[bytes] = []  # lines of a pretty-printed value (its first line is "{" or "[")
    pending_bytes = 0
    start = 0
    for number, raw in enumerate(lines(stream, head, limit=limit), start=1):
        if isinstance(raw, TooLong):
            if pending:
                yield start, BadValue("not_json", "not JSON: a value cut by an over-long line"), None
                pending = []
            yield number, BadValue("record_too_large", f"a record of {raw.length:,} bytes, more than the "
                                   f"{limit:,} read (DHSCAN_MAX_RECORD_BYTES)"), None
            continue
        if pending:
            pending.append(raw)
            pending_bytes += len(raw)
            if raw.rstrip() in (b"}", b"]"):  # a closing bracket at column 0 ends a top-level value
                raw_value = b"\n".join(pending)
                value = parse_value(raw_value)
                if not isinstance(value, BadValue) or pending_bytes > MAX_DOCUMENT_BYTES:
                    yield start, value, raw_value
                    pending = []
            elif pending_bytes > MAX_DOCUMENT_BYTES:
                yield start, BadValue("not_json", "not JSON: a value larger than 256 MiB"), b"\n".join(pending)
                pending = []
            continue
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped in (b"{", b"["):
            pending, pending_bytes, start = [raw], len(raw), number
            continue
        yield number, parse_value(raw), raw
    if pending:
        yield start, BadValue("not_json", "not JSON: the file ends inside a value"), b"\n".join(pending)
