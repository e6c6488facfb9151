"""CSV files with a header row. Every cell is read as text: a phone number stays a string."""

from __future__ import annotations

import csv
import sys
from typing import Iterator

from scanner.connectors.base import Candidate, FileConnector, ReadReport, RecordUnreadable
from scanner.connectors.files import S3_OPTIONS, SourceFile
from scanner.connectors.jsonvalues import lines
from scanner.connectors.rows import row_record

# Eval exports put whole conversations in one cell; the csv module's 128 KiB default is too small.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class CsvConnector(FileConnector):
    name = "csv"
    extensions = (".csv", ".csv.gz", ".tsv")
    options = S3_OPTIONS | {"delimiter"}
    description = "CSV files with a header row, a folder or glob of them; local or s3://"

    def file_candidates(self, stream, file: SourceFile, report: ReadReport) -> Iterator[Candidate]:
        delimiter = self.uri.options.get("delimiter") or ("\t" if file.relpath.endswith(".tsv") else ",")
        # surrogateescape keeps invalid UTF-8 bytes visible to the row check instead of failing the file
        decoded = (raw.decode("utf-8", "surrogateescape") + "\n" for raw in lines(stream))
        reader = csv.reader(decoded, delimiter=delimiter)
        try:
            header = next(reader, None)
            if header is None:
                return
            if header and header[0].startswith("\ufeff"):
                header[0] = header[0][1:]
            if any(_has_invalid_utf8(name) for name in header):
                raise self.fail(f"{file.relpath}: header row is not valid UTF-8")
            header = [name or f"column_{i + 1}" for i, name in enumerate(header)]
            row = 0
            for cells in reader:
                if not cells:
                    continue  # a blank line
                yield Candidate(file.relpath, row, lambda cells=cells, row=row, line=reader.line_num:
                                self._load(file, header, cells, row, line), line=reader.line_num)
                row += 1
        except csv.Error as exc:  # e.g. a NUL byte: the rest of the file cannot be parsed
            raise self.fail(f"{file.relpath}:{reader.line_num}: not parseable as CSV: {exc}") from None

    def _load(self, file: SourceFile, header: list[str], cells: list[str], row: int, line: int):
        if len(cells) != len(header):
            raise RecordUnreadable("wrong_column_count", f"expected {len(header)} columns, got {len(cells)}")
        for name, cell in zip(header, cells):
            if _has_invalid_utf8(cell):
                raise RecordUnreadable("invalid_utf8", f"invalid UTF-8 in column {name!r}")
        return row_record(self, file, row, dict(zip(header, cells)), line=line)


def _has_invalid_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
