"""CSV files with a header row. Every cell is read as text: a phone number stays a string."""

from __future__ import annotations

import csv
import io
import itertools
import sys
from pathlib import Path
from typing import Iterator

from scanner.connectors.base import REWRITES_FILES, Candidate, FileConnector, ReadReport, RecordUnreadable
from scanner.connectors.byteranges import ByteRange, RangeCount, count_bytes
from scanner.connectors.files import S3_OPTIONS, SourceFile
from scanner.connectors.jsonvalues import lines
from scanner.connectors.replacing import Edits
from scanner.connectors.rewriting import IdChecks, Rewrite, Sink, StaleFile, check_id, rewrite_text
from scanner.connectors.rows import row_record

# Eval exports put whole conversations in one cell; the csv module's 128 KiB default is too small.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
QUOTE = b'"'


class CsvConnector(FileConnector):
    name = "csv"
    extensions = (".csv", ".csv.gz", ".tsv")
    options = S3_OPTIONS | {"delimiter"}
    description = "CSV files with a header row, a folder or glob of them; local or s3://"

    splits_into_byte_ranges = True  # a range is read alone only where the quotes are well-formed
    deletes = REWRITES_FILES
    redacts = REWRITES_FILES

    def file_candidates(self, stream, file: SourceFile, report: ReadReport) -> Iterator[Candidate]:
        reader = self._reader(lines(stream), file.relpath)
        header = self._header(reader, file)
        if header is not None:
            yield from self._rows(reader, file, header, 0, 0)

    def range_candidates(self, handle, file: SourceFile, shard: ByteRange, report: ReadReport) -> Iterator[Candidate]:
        header = self._header(self._reader(lines(handle), file.relpath), file)  # the file's first record
        if header is None:
            return
        reader = self._reader(record_lines(handle, shard.start, shard.end, shard.quote_parity, []), file.relpath)
        if shard.start == 0:
            next(reader, None)  # the header again
        yield from self._rows(reader, file, header, shard.first_row, shard.first_line - 1)

    def count_lines(self, handle, shard: ByteRange) -> RangeCount | None:
        quotes = count_bytes(handle, shard.start, shard.end, QUOTE)
        return RangeCount(tuple(self._count(handle, shard, parity) for parity in (0, 1)), quotes)

    def _count(self, handle, shard: ByteRange, parity: int) -> tuple[int, int] | None:
        """(lines, rows) of the records starting in the range if `parity` quotes come before it; None when
        the csv module's records do not start exactly where the quotes say (a quote inside a bare field)."""
        even: list[bool] = []
        # a blank line after the range is a record of its own unless the reader is still inside quotes
        reader = self._reader(itertools.chain(record_lines(handle, shard.start, shard.end, parity, even), [b""]),
                              shard.file)
        starts, rows, consumed = [], 0, 0  # starts: the line (index) each record starts on
        try:
            for cells in reader:
                starts.append(consumed)
                consumed = reader.line_num
                rows += bool(cells) and not (shard.start == 0 and len(starts) == 1)  # not the header
        except csv.Error:
            return None
        expected = [i for i, start in enumerate(even) if start] + [len(even)]
        return (len(even), rows) if starts == expected else None

    def rewrite_file(self, path: Path, drop: set[int], ids: IdChecks, edits: Edits | None = None) -> Rewrite:
        """Rows are numbered as `_rows` numbers them (blank lines are none); every other byte is kept. A row
        of `edits` is written again from the header-keyed dict its edit returns."""
        edits = edits or {}

        def copy(stream, sink: Sink) -> set[int]:
            consumed: list[bytes] = []

            def feed() -> Iterator[bytes]:
                for raw in lines(stream):
                    consumed.append(raw + b"\n")
                    yield raw

            reader = self._reader(feed(), path.name)
            header = self._header(reader, SourceFile(path.name, str(path), 0, None))
            sink.write(b"".join(consumed))
            consumed.clear()
            removed, record = set(), 0
            try:
                for cells in reader:
                    raw, consumed[:] = b"".join(consumed), []
                    if cells:
                        record += 1
                        if record in drop:
                            check_id(dict(zip(header, cells)), record, ids)
                            removed.add(record)
                            continue
                        if record in edits:
                            row = dict(zip(header, cells))
                            check_id(row, record, ids)
                            removed.add(record)
                            raw = self._row_bytes(header, cells, edits[record](row), raw, path.name)
                    sink.write(raw)
            except csv.Error:  # the sweep parsed it: it changed since
                raise StaleFile(f"line {reader.line_num} is not parseable as CSV any more") from None
            return removed

        return rewrite_text(path, drop, copy, edits)

    def _row_bytes(self, header: list[str], cells: list[str], row: dict, raw: bytes, relpath: str) -> bytes:
        """A row written again with the file's delimiter and line ending; cells past the header kept."""
        out = io.StringIO()
        ending = "\r\n" if raw.endswith(b"\r\n") else "\n"
        delimiter = self.uri.options.get("delimiter") or ("\t" if relpath.endswith(".tsv") else ",")
        csv.writer(out, delimiter=delimiter, lineterminator=ending).writerow(
            [row.get(name, cell) for name, cell in zip(header, cells)] + cells[len(header):])
        return out.getvalue().encode("utf-8", "surrogateescape")

    def _reader(self, raw_lines, relpath: str):
        delimiter = self.uri.options.get("delimiter") or ("\t" if relpath.endswith(".tsv") else ",")
        # surrogateescape keeps invalid UTF-8 bytes visible to the row check instead of failing the file
        return csv.reader((raw.decode("utf-8", "surrogateescape") + "\n" for raw in raw_lines), delimiter=delimiter)

    def _header(self, reader, file: SourceFile) -> list[str] | None:
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise self.fail(f"{file.relpath}:{reader.line_num}: not parseable as CSV: {exc}") from None
        if header is None:
            return None
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        if any(_has_invalid_utf8(name) for name in header):
            raise self.fail(f"{file.relpath}: header row is not valid UTF-8")
        return [name or f"column_{i + 1}" for i, name in enumerate(header)]

    def _rows(self, reader, file: SourceFile, header: list[str], first_row: int, line_offset: int):
        row = first_row
        try:
            for cells in reader:
                if not cells:
                    continue  # a blank line
                line = line_offset + reader.line_num
                yield Candidate(file.relpath, row, lambda cells=cells, row=row, line=line:
                                self._load(file, header, cells, row, line), line=line)
                row += 1
        except csv.Error as exc:  # e.g. a NUL byte: the rest of the file cannot be parsed
            raise self.fail(f"{file.relpath}:{line_offset + reader.line_num}: not parseable as CSV: {exc}") from None

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


def record_lines(handle, start: int, end: int, parity: int, even: list[bool]) -> Iterator[bytes]:
    """The lines of the CSV records that start in [start, end) of a seekable file, `parity` being the
    number of quote characters before `start` mod 2. In well-formed CSV a record starts exactly at the
    line starts with an even number of quotes before them; `even` gets that flag for each line given."""
    at_line_start = start == 0
    if start > 0:
        handle.seek(start - 1)
        at_line_start = handle.read(1) == b"\n"
    handle.seek(start)
    offset, started = start, False
    for n, line in enumerate(lines(handle)):
        line_start, offset = offset, offset + len(line) + 1
        if n == 0 and not at_line_start:  # the end of a line that starts before the range
            parity ^= line.count(QUOTE) & 1
            continue
        if parity == 0:
            if line_start >= end:
                return
            started = True
        if started:
            even.append(parity == 0)
            yield line
        parity ^= line.count(QUOTE) & 1
