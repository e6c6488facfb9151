"""JSON Lines and JSON files (also gzip-compressed). Lines are parsed one by one, so chat
records whose `content` is sometimes a string and sometimes a list of parts read fine;
a JSON array, or pretty-printed objects one after another, read too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar, Iterator

from scanner.connectors.base import REWRITES_FILES, Candidate, FileConnector, ReadReport, RecordUnreadable
from scanner.connectors.byteranges import ByteRange, RangeCount, range_lines
from scanner.connectors.files import S3_OPTIONS, SourceFile
from scanner.connectors.jsonvalues import (BadValue, WholeFileError, json_values, json_values_raw, max_record_bytes,
                                          parse_value, read_past)
from scanner.connectors.replacing import Edits
from scanner.connectors.rewriting import IdChecks, Rewrite, Sink, StaleFile, check_id, rewrite_text
from scanner.connectors.rows import row_record
from scanner.core.fields import get_path
from scanner.core.records import Record


class JsonlConnector(FileConnector):
    name = "jsonl"
    extensions = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson")
    options = S3_OPTIONS | {"records"}
    description = ("JSON Lines or JSON array files, a folder or glob of them (records=PATH: the list of records "
                   "inside each JSON document); local or s3://")
    splits_into_byte_ranges = True  # JSON Lines only: a range with a pretty-printed value or an array is refused
    deletes = REWRITES_FILES
    redacts = REWRITES_FILES
    # API responses a tool's records come in: (the list's key, a key beside it), e.g. ("data", "meta")
    pages: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "splits_into_byte_ranges" not in cls.__dict__:
            cls.splits_into_byte_ranges = False  # a tool's export may tie lines together: files whole unless it says

    def __init__(self, uri):
        super().__init__(uri)
        self.records_path = uri.options.get("records") or None
        if self.records_path:
            self.splits_into_byte_ranges = False

    def records_in(self, value, where: str) -> tuple[list, list[str]] | None:
        """(the records, the path to their list) of a JSON value that wraps them: at `records=PATH`, or in an
        API page this connector knows; None: the value is a record itself."""
        if self.records_path:
            found = get_path(value, self.records_path)
            if not isinstance(found, list):
                raise self.fail(f"{where}: no list at {self.records_path!r} (records=)")
            return found, self.records_path.split(".")
        if isinstance(value, dict):
            for key, beside in self.pages:
                if isinstance(value.get(key), list) and beside in value:
                    return value[key], [key]
        return None

    def file_candidates(self, stream, file: SourceFile, report: ReadReport) -> Iterator[Candidate]:
        row = 0
        try:
            for line, value in json_values(stream):
                wrapped = None if isinstance(value, BadValue) else self.records_in(value, f"{file.relpath}:{line}")
                for element in (wrapped[0] if wrapped else [value]):
                    yield Candidate(file.relpath, row, lambda value=element, row=row, line=line:
                                    self._load(file, row, value, line), line=line)
                    row += 1
        except WholeFileError as exc:
            raise self.fail(f"{file.relpath}: not valid JSON: {exc}") from None

    def rewrite_file(self, path: Path, drop: set[int], ids: IdChecks, edits: Edits | None = None) -> Rewrite:
        """Records numbered as `file_candidates` numbers them (each JSON value, each element of a top-level
        array or of the list a value wraps); the other lines are kept as they are, an array or a wrapping
        value losing or changing records is written again. `edits` replaces records instead of dropping."""
        edits = edits or {}

        def copy(stream, sink: Sink) -> set[int]:
            removed, kept_elements, array, number = set(), [], False, 0

            def dropped(value) -> bool:
                nonlocal number
                number += 1
                if number not in drop and number not in edits:
                    return False
                if not isinstance(value, BadValue):
                    check_id(self.unwrapped(value), number, ids)
                elif number in edits:
                    raise StaleFile(f"record {number} is not readable JSON any more")
                removed.add(number)
                return number in drop

            def edited(value):
                return edits[number](value) if number in edits and number in removed else value

            limit = max_record_bytes()
            for line, value, raw in json_values_raw(stream):
                array = array or raw is None  # an element of a top-level array
                # a line the reader read past is one (unreadable) record to it, whatever it wraps
                wrapped = None if read_past(raw, limit) or isinstance(value, BadValue) else \
                    self.records_in(value, f"{path.name}:{line}")
                if wrapped is not None:
                    elements, at = wrapped
                    kept = [edited(element) for element in elements if not dropped(element)]
                    if len(kept) < len(elements) or any(a is not b for a, b in zip(kept, elements)):
                        value = _with_list(value, at, kept)
                        raw = None if raw is None else _dumped(value, raw)
                elif dropped(value):
                    continue
                elif (new := edited(value)) is not value:
                    value, raw = new, None if raw is None else _dumped(new, raw)
                if raw is None:
                    kept_elements.append(value)
                else:
                    sink.write(raw + b"\n")
            if array:
                sink.write(json.dumps(kept_elements, indent=2).encode() + b"\n")  # `[]` when none is left
            return removed

        return rewrite_text(path, drop, copy, edits)

    def count_lines(self, handle, shard: ByteRange) -> RangeCount | None:
        lines = records = 0
        for raw in range_lines(handle, shard.start, shard.end):
            lines += 1
            stripped = raw.strip()
            if not stripped:
                continue
            # json_values reads these across lines (a pretty-printed value, a whole-file array)
            if stripped in (b"{", b"[") or (shard.start == 0 and records == 0 and stripped[:1] == b"["):
                return None
            records += 1
        return RangeCount(((lines, records), (lines, records)))

    def range_candidates(self, handle, file: SourceFile, shard: ByteRange, report: ReadReport) -> Iterator[Candidate]:
        row = shard.first_row
        for line, raw in enumerate(range_lines(handle, shard.start, shard.end), start=shard.first_line):
            if not raw.strip():
                continue
            value = parse_value(raw)
            yield Candidate(file.relpath, row, lambda value=value, row=row, line=line:
                            self._load(file, row, value, line), line=line)
            row += 1

    def _load(self, file: SourceFile, row: int, value, line: int) -> Record:
        if isinstance(value, BadValue):
            raise RecordUnreadable(value.category, value.problem)
        return self.build_record(file, row, value, line)

    def unwrapped(self, value):
        """The object a JSON value's record is read from (its id checked by the rewriter on it too)."""
        return value

    def build_record(self, file: SourceFile, row: int, value, line: int) -> Record:
        """One JSON value as a Record; connectors for JSON exports of other tools override this."""
        return row_record(self, file, row, value, line=line)


def _dumped(value, raw: bytes) -> bytes:
    """A changed value written as its line was: pretty-printed if it was, non-ASCII text kept as text."""
    return json.dumps(value, ensure_ascii=False, indent=2 if b"\n" in raw else None).encode("utf-8", "surrogatepass")


def _with_list(value: dict, at: list[str], kept: list) -> dict:
    """`value` with the list at the path `at` replaced by `kept` (the other keys as they were)."""
    if len(at) == 1:
        return {**value, at[0]: kept}
    return {**value, at[0]: _with_list(value[at[0]], at[1:], kept)}
