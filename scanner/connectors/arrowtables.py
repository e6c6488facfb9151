"""What the Arrow-typed table stores (LanceDB, Delta Lake) share: which columns are read, the key
column, and filters on the key written as the stores' SQL."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from scanner.core.errors import SourceError
from scanner.core.fields import ID_FIELDS, TIME_FIELDS

PAGE = 500  # keys a filter names at a time


def holds_text(t: pa.DataType) -> bool:
    """Whether a column of this type can hold text: strings, and lists, structs and maps with strings in them."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return True
    if pa.types.is_dictionary(t):
        return holds_text(t.value_type)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return holds_text(t.value_type)
    if pa.types.is_map(t):
        return holds_text(t.key_type) or holds_text(t.item_type)
    if pa.types.is_struct(t):
        return any(holds_text(t.field(i).type) for i in range(t.num_fields))
    return False


def is_vector(t: pa.DataType) -> bool:
    """An embedding column: a list of numbers."""
    return (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)) and (
        pa.types.is_floating(t.value_type) or pa.types.is_integer(t.value_type))


class Layout:
    """The key column, the time column and the columns a record's texts come from."""

    def __init__(self, source: str, table: str, schema: pa.Schema, id_field: str | None, time_field: str | None,
                 text_fields: list[str] | None):
        names = schema.names
        self.key = id_field or next((c for c in ID_FIELDS if c in names), None)
        if self.key is None:
            raise SourceError(source, f"table {table!r} has no id column: give ?id=COLUMN")
        if self.key not in names:
            raise SourceError(source, f"table {table!r} has no column {self.key!r}")
        key_type = schema.field(self.key).type
        if not (pa.types.is_integer(key_type) or pa.types.is_string(key_type) or pa.types.is_large_string(key_type)):
            raise SourceError(source, f"table {table!r}: the id column {self.key!r} is {key_type}; an integer or "
                                      "string column is needed")
        self.integer_key = pa.types.is_integer(key_type)
        self.time = time_field or next((c for c in TIME_FIELDS if c in names), None)
        wanted = [t.split(".")[0] for t in text_fields] if text_fields else \
            [f.name for f in schema if f.name != self.key and holds_text(f.type) and not is_vector(f.type)]
        missing = sorted({c for c in [*wanted, self.time] if c and c not in names})
        if missing:
            raise SourceError(source, f"table {table!r} has no column {missing[0]!r}")
        self.texts = [c for c in names if c in wanted and c != self.time]
        self.columns = [c for c in names if c == self.key or c == self.time or c in self.texts]
        self.vectors = [f.name for f in schema if is_vector(f.type)]
        self.schema = schema

    def typed(self, record_id: str) -> Any:
        """A record id as the key column's type."""
        return int(record_id) if self.integer_key and record_id.lstrip("-").isdigit() else record_id


def literal(value: Any) -> str:
    """A key value as an SQL literal."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"a key of type {type(value).__name__} cannot be written in a filter")
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


def key_in(column: str, values: list[Any], quote: str = '"') -> str:
    """`"column" IN (v1, v2, …)` in the stores' SQL (DataFusion); `quote` the identifier quote."""
    name = quote + column.replace(quote, quote * 2) + quote
    return f"{name} IN ({', '.join(map(literal, values))})"
