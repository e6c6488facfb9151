"""JSON Lines and JSON files (also gzip-compressed). Lines are parsed one by one, so chat
records whose `content` is sometimes a string and sometimes a list of parts read fine."""

from __future__ import annotations

import json
from typing import Iterator

from scanner.connectors.base import Candidate, FileConnector, RecordUnreadable
from scanner.connectors.files import S3_OPTIONS, SourceFile
from scanner.connectors.rows import row_record
from scanner.errors import one_line


class JsonlConnector(FileConnector):
    name = "jsonl"
    extensions = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson")
    options = S3_OPTIONS
    description = "JSON Lines or JSON array files, a folder or glob of them; local or s3://"

    def file_candidates(self, stream, file: SourceFile) -> Iterator[Candidate]:
        head = stream.read(1 << 16)
        first = head.lstrip()[:1]
        whole_document = first == b"[" or (first == b"{" and _is_json_name(file.relpath))
        if whole_document:
            data = head + stream.read()
            try:
                document = json.loads(data)
            except (ValueError, UnicodeDecodeError) as exc:
                if first == b"[":
                    raise self.fail(f"{file.relpath}: not valid JSON: {_json_problem(exc)}") from None
                document = None  # a .json file holding JSON Lines
            if document is not None:
                items = document if isinstance(document, list) else [document]
                for row, item in enumerate(items):
                    yield Candidate(file.relpath, row, lambda item=item, row=row: row_record(self, file, row, item))
                return
            head, stream = data, _Empty()
        row = 0
        for number, raw in enumerate(_lines(stream, head), start=1):
            if not raw.strip():
                continue
            yield Candidate(file.relpath, row, lambda raw=raw, row=row, number=number: self._load(file, row, raw, number),
                            line=number)
            row += 1

    def _load(self, file: SourceFile, row: int, raw: bytes, line: int):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordUnreadable("invalid_utf8", f"invalid UTF-8 at byte {exc.start}") from None
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise RecordUnreadable("not_json", f"not JSON: {_json_problem(exc)}") from None
        return row_record(self, file, row, obj, line=line)


def _is_json_name(relpath: str) -> bool:
    return relpath.endswith((".json", ".json.gz"))


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""


def _lines(stream, prefix: bytes, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    chunk = prefix or stream.read(chunk_size)
    buffer = b""
    while chunk:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        yield from complete
        chunk = stream.read(chunk_size)
    if buffer:
        yield buffer


def _json_problem(exc: Exception) -> str:
    # json's messages name a position, never the content, so they are safe to show.
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {exc.start}"
    return one_line(exc)
