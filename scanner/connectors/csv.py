"""CSV files with a header row. Every cell is read as text: a phone number stays a string."""

from __future__ import annotations

import csv
import sys
from typing import Iterator

from scanner.connectors.base import Candidate, Connector, ReadReport, RecordUnreadable
from scanner.connectors.files import S3_OPTIONS, SourceFile, list_files
from scanner.connectors.jsonl import _lines
from scanner.connectors.rows import row_record
from scanner.errors import one_line

# Eval exports put whole conversations in one cell; the csv module's 128 KiB default is too small.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class CsvConnector(Connector):
    name = "csv"
    extensions = (".csv", ".csv.gz", ".tsv")
    options = S3_OPTIONS | {"delimiter"}
    description = "CSV files with a header row, a folder or glob of them; local or s3://"

    def candidates(self, report: ReadReport) -> Iterator[Candidate]:
        fs, files = list_files(self.uri, self.source, self.extensions)
        report.stats["files"] = len(files)
        report.stats["bytes"] = sum(f.size for f in files)
        for file in files:
            if file.size == 0:
                report.skip(file.relpath, "empty_file", "empty file (0 bytes)")
                continue
            try:
                with fs.open_input_stream(file.path) as stream:
                    yield from self._file_candidates(stream, file)
            except (OSError, csv.Error) as exc:
                raise self.fail(f"{file.relpath}: cannot read CSV: {one_line(exc)}") from None

    def _file_candidates(self, stream, file: SourceFile) -> Iterator[Candidate]:
        delimiter = self.uri.options.get("delimiter") or ("\t" if file.relpath.endswith(".tsv") else ",")
        # surrogateescape keeps invalid UTF-8 bytes visible to the row check instead of failing the file
        lines = (raw.decode("utf-8", "surrogateescape") + "\n" for raw in _lines(stream, b""))
        reader = csv.reader(lines, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        header = [name or f"column_{i + 1}" for i, name in enumerate(header)]
        row = 0
        for cells in reader:
            if not cells:
                continue  # a blank line
            yield Candidate(file.relpath, row, lambda cells=cells, row=row, line=reader.line_num:
                            self._load(file, header, cells, row, line), line=reader.line_num)
            row += 1

    def _load(self, file: SourceFile, header: list[str], cells: list[str], row: int, line: int):
        if len(cells) != len(header):
            raise RecordUnreadable("wrong_column_count", f"expected {len(header)} columns, got {len(cells)}")
        for name, cell in zip(header, cells):
            try:
                cell.encode("utf-8")
            except UnicodeEncodeError:
                raise RecordUnreadable("invalid_utf8", f"invalid UTF-8 in column {name!r}") from None
        return row_record(self, file, row, dict(zip(header, cells)), line=line)
