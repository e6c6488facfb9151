"""Worklists written as they grow: CSV for people, JSON Lines for machines, Parquet on request.
Every file is written under a temporary name and renamed when the sweep ends."""

from __future__ import annotations

import csv
import json
from contextlib import ExitStack
from pathlib import Path
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from detectors.masking import shown
from detectors.normalize import record_digest
from detectors.operators import DEFAULT, OperatorSpec, operator_row
from retention.evaluate import Decision
from scanner.core.durable import atomic_write
from scanner.core.formats import LEGAL_HOLD_FORMAT, WORKLIST_FORMAT, DeletionRow, LegalHoldRow, RedactionRow
from scanner.core.outputs import json_line

DELETION_COLUMNS = tuple(DeletionRow.model_fields)
LEGAL_HOLD_COLUMNS = tuple(LegalHoldRow.model_fields)
REDACTION_COLUMNS = tuple(RedactionRow.model_fields)
_TYPES = {"format_version": pa.int32(), "production_match": pa.bool_(), "age_days": pa.float64(), "entity_types": pa.list_(pa.string()),
          "matched_on": pa.list_(pa.string()), "finding_digests": pa.list_(pa.string()),
          "redactions": pa.list_(pa.struct([("field", pa.string()), ("start", pa.int64()), ("end", pa.int64()),
                                            ("entity_type", pa.string()), ("digest", pa.string())]))}
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
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return json.dumps(value, sort_keys=True)  # a redaction row's values, as in the JSONL
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


@dataclass(frozen=True)
class RunIdentity:
    """What ties a worklist row to its run: the run id every output file carries, and the key its digests
    were made with (apply refuses another key: a hold's digests would match nothing)."""

    run_id: str
    key_id: str
    key: bytes


# Locator values that can hold an identifier (an email as point id or file name); shown as outputs show
# record ids, and matched back by apply (see retention.apply).
SHOWN_LOCATOR_KEYS = ("file", "id", "point_id", "id_field", "store")


def shown_locator(key: bytes, locator: dict) -> dict:
    result = {k: shown(key, v) if k in SHOWN_LOCATOR_KEYS else v for k, v in locator.items()}
    if result != locator:
        result["pseudonymous"] = True  # apply finds the record by matching what it lists against these
    return result


def shown_copy(key: bytes, copied: dict | None) -> dict | None:
    return {**copied, "record_id": shown(key, copied["record_id"])} if copied else copied


def deletion_row(decision: Decision, now: datetime, run: RunIdentity, rule=None) -> dict[str, Any]:
    record = decision.record
    rule = rule or decision.rule
    age = (now - record.timestamp).total_seconds() / 86400 if record.timestamp else None
    return {"format_version": WORKLIST_FORMAT, "run_id": run.run_id, "key_id": run.key_id,
            "content_digest": record.content_digest or record_digest(run.key, record),
            "source": record.source, "kind": record.kind, "record_id": shown(run.key, record.record_id),
            "locator": shown_locator(run.key, record.locator),
            "rule_id": rule.id, "reason": decision.reason, "entity_types": decision.entity_types,
            "production_match": decision.production_match,
            "record_timestamp": record.timestamp.isoformat() if record.timestamp else None,
            "age_days": round(age, 2) if age is not None else None,
            "due_since": decision.due_since.isoformat() if decision.due_since else None,
            "copied_from": shown_copy(run.key, record.copied_from),
            # digests only: apply re-checks holds added after the sweep against these
            "attribute_digests": decision.facts.attribute_digests,
            "finding_digests": sorted(decision.facts.finding_digests)}


def redaction_row(decision: Decision, now: datetime, run: RunIdentity, operators: dict,
                  phone_region: str) -> dict[str, Any]:
    """A deletion row's facts, for the redact rule, with the values it replaces (their places and digests)
    and the operator for each of their types: the rule's, else `operators` (the config's; `DEFAULT` for
    the types it does not name), else `replace`."""
    row = deletion_row(decision, now, run, decision.redact_rule)
    chosen = {**operators, **(decision.redact_rule.operators or {})}
    types = sorted({f.entity_type for f in decision.redactions})
    row.update(action="redact",
               redactions=[{"field": f.field, "start": f.start, "end": f.end, "entity_type": f.entity_type,
                            "digest": f.digest} for f in sorted(decision.redactions, key=lambda f: (f.field, f.start))],
               phone_region=phone_region,
               operators={t: operator_row(chosen.get(t) or chosen.get(DEFAULT) or OperatorSpec(type="replace"))
                          for t in types})
    return row


def hold_rows(decision: Decision, key: bytes) -> list[dict[str, Any]]:
    record = decision.record
    return [{"format_version": LEGAL_HOLD_FORMAT, "hold_id": m.hold.id, "matter": m.hold.matter, "source": record.source, "kind": record.kind,
             "record_id": shown(key, record.record_id), "locator": shown_locator(key, record.locator),
             "matched_on": m.matched_on, "suppressed_rule_id": decision.suppressed_rule_id,
             "copied_from": shown_copy(key, record.copied_from)}
            for m in decision.holds]
