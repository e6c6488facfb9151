"""What the connectors' file rewriters share. A rewriter writes the file without some of its records
into a temporary file beside it, fsynced, with the original's permissions; apply renames it over the
original once its intent is logged.

Each connector numbers records in its rewriter exactly as its reader does, and checks every dropped
record whose id the worklist names before anything is kept: a file whose records moved is stale.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from scanner.connectors.replacing import Edits
from scanner.core.digests import sha256_file
from scanner.core.durable import keep_mode_and_owner, temporary_beside, write_temporary

IdChecks = dict[int, tuple[str, str]]  # record number -> (id field, the id the worklist lists)


class StaleFile(Exception):
    """The file no longer holds the records the worklist describes."""


@dataclass
class Rewrite:
    temp: Path | None  # the rewritten file (empty of records when none is left)
    sha256: str | None  # of the new file's bytes
    removed: set[int]  # record numbers (1-based) taken out (or, for a redaction, edited)


def open_bytes(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


class Sink:
    """Bytes to a temporary file in the target's folder, gzip-compressed if the target is."""

    def __init__(self, target: Path):
        self.target = target
        fd, self.path = temporary_beside(target)
        self.raw = os.fdopen(fd, "wb")
        self.out = gzip.GzipFile(fileobj=self.raw, mode="wb", mtime=0) if target.name.endswith(".gz") else self.raw

    def write(self, data: bytes) -> None:
        self.out.write(data)

    def close(self) -> Path:
        if self.out is not self.raw:
            self.out.close()
        self.raw.flush()
        os.fsync(self.raw.fileno())
        self.raw.close()
        keep_mode_and_owner(self.path, self.target)
        return self.path

    def discard(self) -> None:
        try:
            self.raw.close()
        finally:
            self.path.unlink(missing_ok=True)


def rewrite_text(path: Path, drop: set[int], copy: Callable[[Any, Sink], set[int]],
                 edits: Edits | None = None) -> Rewrite:
    """A text file (maybe gzipped) copied by `copy(stream, sink)` into a sink, which leaves out the records
    numbered `drop`, writes those of `edits` as their edit returns them, and returns the numbers it left
    out or edited. Every one of them must have been found."""
    sink = Sink(path)
    try:
        with open_bytes(path) as stream:
            removed = copy(stream, sink)
        missing = (drop | set(edits or ())) - removed
        if missing:
            raise StaleFile(f"record(s) {sorted(missing)[:5]} are not in the file")
        # nothing left: the file stays, empty (valid JSON Lines; a CSV keeps its header), so a re-run
        # finds the file it emptied and the source's layout is as it was
        temp = sink.close()
    except BaseException:
        sink.discard()
        raise
    return Rewrite(temp, sha256_file(temp), removed)


def rewrite_whole(path: Path, drop: set[int], write: Callable[[Path], None], edits: Edits | None = None) -> Rewrite:
    """A file written afresh by `write(temporary path)` (a table format), without the records `drop`."""
    temp = write_temporary(path, write)
    return Rewrite(temp, sha256_file(temp), set(drop) | set(edits or ()))


def check_id(value: Any, record: int, ids: IdChecks) -> None:
    """A dropped record still has the id the worklist lists for it, or the file is stale."""
    if record in ids:
        field, expected = ids[record]
        actual = value.get(field) if isinstance(value, dict) else None
        if actual is None or str(actual) != expected:
            raise StaleFile(f"record {record} no longer has {field} = the listed id")


def kept_rows(table: pa.Table, drop: set[int], ids: IdChecks) -> pa.Table:
    """The table without the rows numbered `drop` (1-based), once their ids are checked."""
    for record, (field, expected) in ids.items():
        if record in drop and (field not in table.column_names or record > table.num_rows
                               or str(table.column(field)[record - 1].as_py()) != expected):
            raise StaleFile(f"record {record} no longer has {field} = the listed id")
    if max(drop, default=0) > table.num_rows:
        raise StaleFile(f"the file has {table.num_rows} rows, fewer than the worklist says")
    return table.filter(pa.array([i + 1 not in drop for i in range(table.num_rows)]))


def holds_strings(t: pa.DataType) -> bool:
    """Whether a column of type `t` can hold text (nested in lists, structs and maps too)."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return True
    if pa.types.is_dictionary(t):
        return holds_strings(t.value_type)
    if pa.types.is_struct(t):
        return any(holds_strings(t.field(i).type) for i in range(t.num_fields))
    if pa.types.is_map(t):
        return holds_strings(t.key_type) or holds_strings(t.item_type)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return holds_strings(t.value_type)
    return False


def edited_rows(table: pa.Table, edits: Edits, ids: IdChecks) -> pa.Table:
    """The table with the rows numbered in `edits` (1-based) as their edit returns them (each row a dict
    of its text-holding columns' values), once their ids are checked; schema and metadata kept, other
    columns untouched (a timestamp is never converted to Python and back)."""
    if not edits:
        return table
    if max(edits) > table.num_rows:
        raise StaleFile(f"the file has {table.num_rows} rows, fewer than the worklist says")
    for record, (field, expected) in ids.items():
        if record in edits and (field not in table.column_names
                                or str(table.column(field)[record - 1].as_py()) != expected):
            raise StaleFile(f"record {record} no longer has {field} = the listed id")
    texts = table.select([i for i, f in enumerate(table.schema) if holds_strings(f.type)])
    rows = {n: texts.slice(n - 1, 1).to_pylist()[0] for n in edits}
    new = {n: edits[n](row) for n, row in rows.items()}
    columns = []
    for i, name in enumerate(table.column_names):
        column = table.column(i)
        changed = {n: new[n][name] for n in new if name in rows[n] and new[n].get(name) != rows[n][name]}
        if changed:
            values = column.to_pylist()
            for n, value in changed.items():
                values[n - 1] = value
            column = pa.chunked_array([pa.array(values, type=column.type)], type=column.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)
