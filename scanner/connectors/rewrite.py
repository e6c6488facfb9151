"""Rewriting a source file without some of its records: into a temporary file beside it, fsynced,
with the original's permissions; the caller renames it over the original once the intent is logged.

Records are numbered exactly as the connectors number them, and each one whose id the
worklist names is checked before anything is written: a file whose records moved is stale.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from scanner.connectors.jsonvalues import BadValue, json_values_raw, lines, max_record_bytes
from scanner.core.digests import sha256_file
from scanner.core.durable import keep_mode_and_owner, temporary_beside, write_temporary
from scanner.core.errors import UsageError

JSON_FAMILY = ("jsonl", "langfuse", "mlflow")
# (request keys, scope keys, record keys) in the order the otlp connector numbers records
OTLP_GROUPS = ((("resourceSpans", "resource_spans"), ("scopeSpans", "scope_spans", "instrumentationLibrarySpans"),
                ("spans",)),
               (("resourceLogs", "resource_logs"), ("scopeLogs", "scope_logs", "instrumentationLibraryLogs"),
                ("logRecords", "log_records")))
SUPPORTED = (*JSON_FAMILY, "otlp", "csv", "parquet", "langsmith", "hf")


class StaleFile(Exception):
    """The file no longer holds the records the worklist describes."""


@dataclass
class Rewrite:
    temp: Path | None  # the rewritten file (empty of records when none is left)
    sha256: str | None  # of the new file's bytes
    removed: set[int]  # record numbers (1-based) taken out


def _open_text_bytes(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


class _Sink:
    """Bytes to a temporary file in the target's folder, gzip-compressed if the target is."""

    def __init__(self, target: Path):
        fd, self.path = temporary_beside(target)
        self.raw = os.fdopen(fd, "wb")
        self.out = gzip.GzipFile(fileobj=self.raw, mode="wb", mtime=0) if target.name.endswith(".gz") else self.raw
        self.count = 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.count += 1

    def close(self, target: Path) -> Path:
        if self.out is not self.raw:
            self.out.close()
        self.raw.flush()
        os.fsync(self.raw.fileno())
        self.raw.close()
        keep_mode_and_owner(self.path, target)
        return self.path

    def discard(self) -> None:
        try:
            self.raw.close()
        finally:
            self.path.unlink(missing_ok=True)


def _check_id(value: Any, record: int, ids: dict[int, tuple[str, str]]) -> None:
    if record in ids:
        field, expected = ids[record]
        actual = value.get(field) if isinstance(value, dict) else None
        if actual is None or str(actual) != expected:
            raise StaleFile(f"record {record} no longer has {field} = the listed id")


def rewrite(connector: str, path: Path, drop: set[int], ids: dict[int, tuple[str, str]]) -> Rewrite:
    """The file without the records numbered `drop`; ids[n] = (id field, id) are checked first."""
    if connector not in SUPPORTED:
        raise UsageError(f"apply cannot delete from {connector}: sources yet")
    if connector == "parquet" or (connector == "langsmith" and path.suffix == ".parquet"):
        return _rewrite_parquet(path, drop, ids)
    if connector == "hf":
        return _rewrite_arrow_stream(path, drop, ids)
    sink = _Sink(path)
    try:
        with _open_text_bytes(path) as stream:
            if connector == "csv":
                removed = _rewrite_csv(stream, sink, drop, ids)
            elif connector == "otlp":
                removed = _rewrite_otlp(stream, sink, drop)
            else:
                removed, whole = _rewrite_json(stream, sink, drop, ids)
                if whole is not None:
                    sink.discard()
                    sink = _Sink(path)
                    sink.write(json.dumps(whole, indent=2).encode() + b"\n")  # `[]` when none is left
        missing = drop - removed
        if missing:
            raise StaleFile(f"record(s) {sorted(missing)[:5]} are not in the file")
        # nothing left: the file stays, empty (valid JSON Lines; a CSV keeps its header), so a re-run
        # finds the file it emptied and the source's layout is as it was
        temp = sink.close(path)
    except BaseException:
        sink.discard()
        raise
    return Rewrite(temp, sha256_file(temp), removed)


def _rewrite_json(stream, sink: _Sink, drop: set[int], ids) -> tuple[set[int], list | None]:
    removed, kept_elements, array = set(), [], False
    for record, (_, value, raw) in enumerate(json_values_raw(stream), start=1):
        if raw is None:  # an element of a top-level array: the array is written again
            array = True
        if record in drop:
            if not isinstance(value, BadValue):
                _check_id(value, record, ids)
            removed.add(record)
        elif array:
            kept_elements.append(value)
        else:
            sink.write(raw + b"\n")
    return removed, (kept_elements if array else None)


def _rewrite_otlp(stream, sink: _Sink, drop: set[int]) -> set[int]:
    """Spans and log records are numbered across the file; a line losing some is written again."""
    removed: set[int] = set()
    number = 0

    def prune(container: dict, keys: tuple[str, ...]) -> bool:
        nonlocal number
        for key in keys:
            if key in container:
                items = container[key]
                kept = []
                for item in items:
                    number += 1
                    if number in drop:
                        removed.add(number)
                    else:
                        kept.append(item)
                container[key] = kept
                return bool(kept)
        return False

    limit = max_record_bytes()
    for _, value, raw in json_values_raw(stream):
        if raw is not None and max(map(len, raw.split(b"\n"))) > limit:  # the reader skipped it: not numbered
            sink.write(raw + b"\n")
            continue
        if isinstance(value, list):
            raise StaleFile("a line holding a JSON array of requests cannot be rewritten")
        if not isinstance(value, dict):
            sink.write(raw + b"\n")
            continue
        before = len(removed)
        if isinstance(value.get("context"), dict) and "trace_id" in value["context"]:  # a console-exporter span
            number += 1
            if number in drop:
                removed.add(number)
            else:
                sink.write(raw + b"\n")
            continue
        for tops, scopes, items in OTLP_GROUPS:
            for top in tops:
                for resource in value.get(top) or []:
                    for scope_key in scopes:
                        if scope_key in resource:
                            resource[scope_key] = [s for s in resource[scope_key] if prune(s, items)]
                            break
                if top in value:
                    value[top] = [r for r in value[top] if any(r.get(k) for k in scopes)]
        if len(removed) == before:
            sink.write(raw + b"\n")
        elif any(value.get(top) for tops, _, _ in OTLP_GROUPS for top in tops):
            sink.write(json.dumps(value, separators=(",", ":")).encode() + b"\n")
    return removed


def _rewrite_csv(stream, sink: _Sink, drop: set[int], ids) -> set[int]:
    consumed: list[bytes] = []

    def feed() -> Iterator[str]:
        for raw in lines(stream):
            consumed.append(raw + b"\n")
            yield raw.decode("utf-8", "surrogateescape") + "\n"

    reader = csv.reader(feed())
    header = next(reader, None)
    if header is None:
        return set()
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    sink.write(b"".join(consumed))
    consumed.clear()
    removed, record = set(), 0
    for cells in reader:
        raw, consumed[:] = b"".join(consumed), []
        if not cells:
            sink.write(raw)
            continue
        record += 1
        if record in drop:
            _check_id(dict(zip(header, cells)), record, ids)
            removed.add(record)
        else:
            sink.write(raw)
    return removed


def _kept_rows(table: pa.Table, drop: set[int], ids) -> pa.Table:
    """The table without the rows numbered `drop` (1-based), once their ids are checked."""
    for record, (field, expected) in ids.items():
        if record in drop and (field not in table.column_names or record > table.num_rows
                               or str(table.column(field)[record - 1].as_py()) != expected):
            raise StaleFile(f"record {record} no longer has {field} = the listed id")
    if max(drop, default=0) > table.num_rows:
        raise StaleFile(f"the file has {table.num_rows} rows, fewer than the worklist says")
    return table.filter(pa.array([i + 1 not in drop for i in range(table.num_rows)]))


def _rewrite_parquet(path: Path, drop: set[int], ids) -> Rewrite:
    parquet = pq.ParquetFile(path)
    kept = _kept_rows(parquet.read(), drop, ids)  # no row left: a Parquet file of the schema, no rows
    meta = parquet.metadata
    compression = meta.row_group(0).column(0).compression.lower() if meta.num_row_groups else "snappy"
    row_group = max(1, max((meta.row_group(i).num_rows for i in range(meta.num_row_groups)), default=1))
    temp = write_temporary(path, lambda temp: pq.write_table(
        kept, temp, row_group_size=row_group, compression=compression if compression != "uncompressed" else "none"))
    return Rewrite(temp, sha256_file(temp), set(drop))


def _rewrite_arrow_stream(path: Path, drop: set[int], ids) -> Rewrite:
    """A Hugging Face data file (an Arrow IPC stream), with the same schema and its metadata, in batches
    of the original's size. Kept even when no row is left: the split's state.json lists it."""
    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_stream(source)
        batches = list(reader)
        table = pa.Table.from_batches(batches, schema=reader.schema)
        kept = _kept_rows(table, drop, ids).combine_chunks()
        batch_rows = max((b.num_rows for b in batches), default=1) or 1

        def write(temp: Path) -> None:
            with pa.OSFile(str(temp), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
                for batch in kept.to_batches(max_chunksize=batch_rows):
                    writer.write_batch(batch)

        temp = write_temporary(path, write)
    return Rewrite(temp, sha256_file(temp), set(drop))


