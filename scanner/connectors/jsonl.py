"""JSON Lines and JSON files (also gzip-compressed). Lines are parsed one by one, so chat
records whose `content` is sometimes a string and sometimes a list of parts read fine;
a JSON array, or pretty-printed objects one after another, read too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from scanner.connectors.base import REWRITES_FILES, Candidate, FileConnector, ReadReport, RecordUnreadable
from scanner.connectors.byteranges import ByteRange, RangeCount, range_lines
from scanner.connectors.files import S3_OPTIONS, SourceFile
from scanner.connectors.jsonvalues import BadValue, WholeFileError, json_values, json_values_raw, parse_value
from scanner.connectors.rewriting import IdChecks, Rewrite, Sink, check_id, rewrite_text
from scanner.connectors.rows import row_record
from scanner.core.records import Record


class JsonlConnector(FileConnector):
    name = "jsonl"
    extensions = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson")
    options = S3_OPTIONS
    description = "JSON Lines or JSON array files, a folder or glob of them; local or s3://"
    splits_into_byte_ranges = True  # JSON Lines only: a range with a pretty-printed value or an array is refused
    deletes = REWRITES_FILES

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "splits_into_byte_ranges" not in cls.__dict__:
            cls.splits_into_byte_ranges = False  # a tool's export may tie lines together: files whole unless it says

    def file_candidates(self, stream, file: SourceFile, report: ReadReport) -> Iterator[Candidate]:
        try:
            for row, (line, value) in enumerate(json_values(stream)):
                yield Candidate(file.relpath, row, lambda value=value, row=row, line=line:
                                self._load(file, row, value, line), line=line)
        except WholeFileError as exc:
            raise self.fail(f"{file.relpath}: not valid JSON: {exc}") from None

    def rewrite_file(self, path: Path, drop: set[int], ids: IdChecks) -> Rewrite:
        """Records numbered as `file_candidates` numbers them (each JSON value, each element of a top-level
        array); the other lines are kept as they are, an array is written again."""
        def copy(stream, sink: Sink) -> set[int]:
            removed, kept_elements, array = set(), [], False
            for record, (_, value, raw) in enumerate(json_values_raw(stream), start=1):
                array = array or raw is None  # an element of a top-level array
                if record in drop:
                    if not isinstance(value, BadValue):
                        check_id(value, record, ids)
                    removed.add(record)
                elif array:
                    kept_elements.append(value)
                else:
                    sink.write(raw + b"\n")
            if array:
                sink.write(json.dumps(kept_elements, indent=2).encode() + b"\n")  # `[]` when none is left
            return removed

        return rewrite_text(path, drop, copy)

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

    def build_record(self, file: SourceFile, row: int, value, line: int) -> Record:
        """One JSON value as a Record; connectors for JSON exports of other tools override this."""
        return row_record(self, file, row, value, line=line)
