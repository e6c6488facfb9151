"""Worklists written as they grow: CSV for people, JSON Lines for machines, Parquet on request.
Every file is written under a temporary name and renamed when the sweep ends."""

from __future__ import annotations

import csv
import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from scanner.outputs import atomic_write, json_line

# Bumped when the rows change in a way apply depends on; apply refuses rows of another format.
WORKLIST_FORMAT = 2
DELETION_COLUMNS = ("format_version", "run_id", "key_id", "content_digest", "source", "kind", "record_id", "locator", "rule_id", "reason", "entity_types",
                    "production_match", "record_timestamp", "age_days", "due_since", "copied_from",
                    "attribute_digests", "finding_digests")
LEGAL_HOLD_COLUMNS = ("hold_id", "matter", "source", "kind", "record_id", "locator", "matched_on",
                      "suppressed_rule_id", "copied_from")
_TYPES = {"format_version": pa.int32(), "production_match": pa.bool_(), "age_days": pa.float64(), "entity_types": pa.list_(pa.string()),
          "matched_on": pa.list_(pa.string()), "finding_digests": pa.list_(pa.string())}
PARQUET_BATCH = 10_000


# A cell starting with one of these is a formula to a spreadsheet (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a leading `'`.
    Only the CSV is changed; JSON Lines and Parquet keep the value exactly (apply reads the JSONL)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cell(value: Any) -> str:
    return spreadsheet_safe(_text(value))


class Worklist:
    """One worklist in every format asked for; rows are dicts with `columns` as keys."""

    def __init__(self, stack: ExitStack, out_dir: Path, name: str, columns: tuple[str, ...], parquet: bool):
        self.name, self.columns, self.rows = name, columns, 0
        self._csv = csv.writer(stack.enter_context(atomic_write(out_dir / f"{name}.csv")))
        self._csv.writerow(columns)
        self._jsonl = stack.enter_context(atomic_write(out_dir / f"{name}.jsonl"))
        self._parquet = None
        self._pending: list[dict] = []
        if parquet:
            self.schema = pa.schema([(c, _TYPES.get(c, pa.string())) for c in columns])
            handle = stack.enter_context(atomic_write(out_dir / f"{name}.parquet", "wb"))
            self._parquet = stack.enter_context(pq.ParquetWriter(handle, self.schema))
            stack.callback(self._flush)  # runs before the writer closes

    def add(self, row: dict[str, Any]) -> None:
        self.rows += 1
        self._csv.writerow([_cell(row.get(c)) for c in self.columns])
        self._jsonl.write(json_line({c: row.get(c) for c in self.columns}))
        if self._parquet is not None:
            self._pending.append({c: _text(row.get(c)) if c not in _TYPES else row.get(c) for c in self.columns})
            if len(self._pending) >= PARQUET_BATCH:
                self._flush()

    def _flush(self) -> None:
        if self._parquet is not None and self._pending:
            self._parquet.write_table(pa.Table.from_pylist(self._pending, schema=self.schema))
            self._pending = []
