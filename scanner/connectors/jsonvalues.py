"""The JSON values in a file: JSON Lines, one array, or pretty-printed objects one after another.

Each value comes with the line it starts on. A value that does not parse comes as a
`BadValue` naming the problem (never the content), so readers can skip it and go on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from scanner.errors import one_line

# A pretty-printed object larger than this is not buffered whole.
MAX_DOCUMENT_BYTES = 256 << 20


@dataclass(frozen=True)
class BadValue:
    category: str  # "not_json" | "invalid_utf8"
    problem: str


class WholeFileError(Exception):
    """A file that is one JSON document and does not parse: nothing in it can be read."""


def lines(stream, prefix: bytes = b"", chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """The lines of a byte stream, without their line ends."""
    chunk = prefix or stream.read(chunk_size)
    buffer = b""
    while chunk:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        yield from complete
        chunk = stream.read(chunk_size)
    if buffer:
        yield buffer


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


def json_values(stream) -> Iterator[tuple[int, Any]]:
    """(line, value) for every JSON value in the stream; elements of a top-level array one by one."""
    for line, value, _ in json_values_raw(stream):
        yield line, value


def json_values_raw(stream) -> Iterator[tuple[int, Any, bytes | None]]:
    """As json_values, with each value's bytes (None for the elements of a top-level array)."""
    head = stream.read(1 << 16)
    if head.lstrip()[:1] == b"[":
        data = head + stream.read()
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
    for number, raw in enumerate(lines(stream, head), start=1):
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
