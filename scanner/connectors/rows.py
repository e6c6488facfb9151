"""Building a Record from one JSON-like row (JSONL, JSON, CSV)."""

from __future__ import annotations

from typing import Any

from scanner.connectors.base import Connector, RecordUnreadable
from scanner.connectors.files import SourceFile
from scanner.core.fields import ID_FIELDS, TIME_FIELDS, detect_field, extract_texts, get_path, parse_timestamp
from scanner.core.records import Record


def row_record(connector: Connector, file: SourceFile, row: int, obj: Any, line: int | None = None) -> Record:
    if not isinstance(obj, dict):
        raise RecordUnreadable("not_object", f"not a JSON object but {type(obj).__name__}")
    id_field = connector.id_field or detect_field(obj, ID_FIELDS)
    id_value = obj.get(id_field) if id_field else None
    if isinstance(id_value, (dict, list)) or id_value in (None, ""):
        id_value = None
    record_id = str(id_value) if id_value is not None else f"{file.relpath}#{row + 1}"
    time_field = connector.time_field or detect_field(obj, TIME_FIELDS)
    exclude = {time_field} if time_field else set()
    locator = {"file": file.relpath, "record": row + 1, "size": file.size, "mtime_ns": file.mtime_ns}
    if line is not None:
        locator["line"] = line
    if id_value is not None:
        locator["id_field"] = id_field
    return Record(
        source=connector.source,
        kind=connector.kind,
        record_id=record_id,
        locator=locator,
        texts=extract_texts(obj, connector.text_fields, exclude),
        timestamp=parse_timestamp(obj.get(time_field)) if time_field else None,
        attributes=scalar_attributes({name: get_path(obj, path) for name, path in connector.attribute_fields.items()}),
        id_fields=frozenset({id_field}) if id_value is not None else frozenset(),
    )


def scalar_attributes(values: dict[str, Any]) -> dict[str, str]:
    """Attribute values as text; a missing, empty or nested value is no attribute."""
    return {name: str(value) for name, value in values.items()
            if isinstance(value, (str, int, float, bool)) and str(value) != ""}
