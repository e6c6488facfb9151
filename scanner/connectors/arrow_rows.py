"""Records from Arrow tables: string leaves of nested columns found with Arrow compute."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scanner.connectors.base import Connector, ReadReport
from scanner.connectors.files import SourceFile
from scanner.connectors.rows import scalar_attributes
from scanner.core.fields import ID_FIELDS, TIME_FIELDS, detect_field, join_path, parse_timestamp
from scanner.core.records import Record

# Rows turned into Records at a time, so a large table is not held as Python objects at once.
RECORD_BATCH_ROWS = 2048

Leaf = tuple[np.ndarray, list[str], list[str]]  # table rows, field paths, texts


def string_leaves(arr: pa.Array, template: str, indices: list[np.ndarray], rows: np.ndarray,
                  stringify: bool = False) -> Iterator[Leaf]:
    """Every non-empty string under `arr`; list positions fill the `{}` slots of `template`."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_map(t):  # Arrow's list kernels abort the process on a map: read it as key/value structs
        arr = _map_as_list(arr)
        t = arr.type
    if pa.types.is_dictionary(t):
        yield from string_leaves(arr.dictionary_decode(), template, indices, rows, stringify)
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        mask = pc.fill_null(pc.greater(pc.utf8_length(arr), 0), False).to_numpy(zero_copy_only=False)
        if not mask.any():
            return
        values = arr.filter(pa.array(mask)).to_pylist()
        picked = [ix[mask] for ix in indices]
        if picked:
            paths = [template.format(*p) for p in zip(*(ix.tolist() for ix in picked))]
        else:
            paths = [template.format()] * len(values)
        yield rows[mask], paths, values
    elif pa.types.is_struct(t):
        children = arr.flatten()  # applies the struct's own nulls to its children
        for i, child in enumerate(children):
            name = t.field(i).name.replace("{", "{{").replace("}", "}}")
            yield from string_leaves(child, join_path(template, name), indices, rows, stringify)
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)
        flat = pc.list_flatten(arr)
        rank = np.arange(len(parents)) - np.searchsorted(parents, parents, side="left")
        yield from string_leaves(flat, template + "[{}]", [ix[parents] for ix in indices] + [rank],
                                 rows[parents], stringify)
    elif stringify and (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
        yield from string_leaves(pc.cast(arr, pa.string()), template, indices, rows, stringify)


def _map_as_list(arr: pa.Array) -> pa.Array:
    """A map column as list<struct<key, value>> (through Python: map columns are rare and small)."""
    entry = pa.struct([("key", arr.type.key_type), ("value", arr.type.item_type)])
    rows = [None if row is None else [{"key": k, "value": v} for k, v in row] for row in arr.to_pylist()]
    return pa.array(rows, type=pa.list_(entry))


def _column(table: pa.Table, path: str):
    """A top-level column, or a field inside struct columns named by a dotted path."""
    head, *rest = path.split(".")
    if head not in table.column_names:
        return None
    col = table.column(head).combine_chunks()
    for part in rest:
        if not pa.types.is_struct(col.type) or col.type.get_field_index(part) < 0:
            return None
        col = pc.struct_field(col, part)
    return col


def _in_microseconds(t: pa.DataType) -> pa.DataType:
    """The type with nanosecond times as microseconds, nested ones too: Python's datetime holds no
    nanoseconds, and pyarrow refuses to drop them when making one (pandas writes `timestamp[ns]`)."""
    if pa.types.is_timestamp(t) and t.unit == "ns":
        return pa.timestamp("us", t.tz)
    if pa.types.is_time64(t) and t.unit == "ns":
        return pa.time64("us")
    if pa.types.is_duration(t) and t.unit == "ns":
        return pa.duration("us")
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_in_microseconds(f.type)) for f in t])
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(_in_microseconds(t.value_type)))
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_in_microseconds(t.value_type)))
    if pa.types.is_map(t):
        return pa.map_(_in_microseconds(t.key_type), t.item_field.with_type(_in_microseconds(t.item_type)))
    return t


def in_microseconds(table: pa.Table) -> pa.Table:
    schema = pa.schema([f.with_type(_in_microseconds(f.type)) for f in table.schema], metadata=table.schema.metadata)
    return table if schema.equals(table.schema) else table.cast(schema, safe=False)  # truncates the nanoseconds


def table_records(connector: Connector, table: pa.Table, file: SourceFile, file_rows: np.ndarray) -> list[Record]:
    """One Record per table row; `file_rows` are those rows' 0-based numbers in their file."""
    table = in_microseconds(table)
    n = table.num_rows
    names = table.column_names
    id_field = connector.id_field or detect_field(names, ID_FIELDS)
    time_field = connector.time_field or detect_field(names, TIME_FIELDS)
    ids = _column(table, id_field).to_pylist() if id_field and _column(table, id_field) is not None else [None] * n
    times = _column(table, time_field).to_pylist() if time_field and _column(table, time_field) is not None else [None] * n

    attribute_columns = {name: _column(table, path) for name, path in connector.attribute_fields.items()}
    attribute_values = {name: column.to_pylist() if column is not None else [None] * n
                        for name, column in attribute_columns.items()}
    texts: list[dict[str, str]] = [{} for _ in range(n)]
    rows = np.arange(n)
    if connector.text_fields:
        targets = [(name, _column(table, name), True) for name in connector.text_fields]
    else:
        targets = [(name, table.column(name), False) for name in names if name != time_field]
    for name, column, stringify in targets:
        if column is None:
            continue
        template = join_path("", name).replace("{", "{{").replace("}", "}}")
        for leaf_rows, paths, values in string_leaves(column, template, [], rows, stringify):
            for r, path, value in zip(leaf_rows.tolist(), paths, values):
                texts[r][path] = value

    records = []
    for i in range(n):
        row = int(file_rows[i])
        record_id = ids[i]
        if isinstance(record_id, (dict, list)) or record_id in (None, ""):
            record_id = None
        locator = {"file": file.relpath, "record": row + 1, "size": file.size, "mtime_ns": file.mtime_ns}
        if record_id is not None:
            locator["id_field"] = id_field
        records.append(Record(
            source=connector.source,
            kind=connector.kind,
            record_id=str(record_id) if record_id is not None else f"{file.relpath}#{row + 1}",
            locator=locator,
            texts=texts[i],
            timestamp=parse_timestamp(times[i]),
            attributes=scalar_attributes({name: values[i] for name, values in attribute_values.items()}),
            id_fields=frozenset({id_field}) if record_id is not None else frozenset(),
        ))
    return records


def chosen_records(connector: Connector, table: pa.Table, file: SourceFile, file_rows: np.ndarray,
                   report: ReadReport) -> Iterator[Record]:
    """Records of the rows `file_rows` (0-based in the file) of `table`, which holds those rows or all of the file's."""
    if len(file_rows) != table.num_rows:
        raise ValueError("table and rows disagree")
    for at in range(0, table.num_rows, RECORD_BATCH_ROWS):
        part = table.slice(at, RECORD_BATCH_ROWS)
        yield from table_records(connector, part, file, file_rows[at:at + RECORD_BATCH_ROWS])
        report.advance(part.num_rows)
