"""JSON Lines and JSON files (also gzip-compressed). Lines are parsed one by one, so chat
records whose `content` is sometimes a string and sometimes a list of parts read fine;
a JSON array, or pretty-printed objects one after another, read too."""

from __future__ import annotations

from typing import Iterator

from scanner.connectors.base import Candidate, FileConnector, ReadReport, RecordUnreadable
from scanner.connectors.files import S3_OPTIONS, SourceFile
from scanner.connectors.jsonvalues import BadValue, WholeFileError, json_values
from scanner.connectors.rows import row_record
from scanner.records import Record


class JsonlConnector(FileConnector):
    name = "jsonl"
    extensions = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson")
    options = S3_OPTIONS
    description = "JSON Lines or JSON array files, a folder or glob of them; local or s3://"

    def file_candidates(self, stream, file: SourceFile, report: ReadReport) -> Iterator[Candidate]:
        try:
            for row, (line, value) in enumerate(json_values(stream)):
                yield Candidate(file.relpath, row, lambda value=value, row=row, line=line:
                                self._load(file, row, value, line), line=line)
        except WholeFileError as exc:
            raise self.fail(f"{file.relpath}: not valid JSON: {exc}") from None

    def _load(self, file: SourceFile, row: int, value, line: int) -> Record:
        if isinstance(value, BadValue):
            raise RecordUnreadable(value.category, value.problem)
        return self.build_record(file, row, value, line)

    def build_record(self, file: SourceFile, row: int, value, line: int) -> Record:
        """One JSON value as a Record; connectors for JSON exports of other tools override this."""
        return row_record(self, file, row, value, line=line)
