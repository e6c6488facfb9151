"""SQL tables as sources: one table (`?table=`), its rows as records, found again by their key.

The dialects (PostgreSQL with pgvector, SQLite, DuckDB) differ in how they connect, list their columns
and keep deleted rows; reading, sampling, deleting and redacting by key are shared here. Only the key,
the time and the text-holding columns (text, JSON, arrays of them) are read, never a vector column.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from scanner.connectors.base import BY_ID, Connector, ReadReport
from scanner.connectors.vectors import REEMBED_ADVICE, guarded, id_number, pages, sample_ids
from scanner.core.errors import UsageError
from scanner.core.fields import ID_FIELDS, TIME_FIELDS, extract_texts, parse_timestamp
from scanner.core.records import Record
from scanner.core.sampling import SamplePlan
from scanner.core.uri import SourceURI

PAGE = 500  # rows a query reads or deletes at a time
SHARD_ROWS = 50_000  # on a cluster, a server's table is read in key-ordered ranges of this size
OFFSET = "::offset="
TEXT_TYPES = ("char", "text", "clob", "json", "string", "uuid")
INTEGER_TYPES = ("int", "serial")


def is_text_type(declared: str) -> bool:
    """Whether a column of this declared type can hold text (`text[]`, `jsonb`, `VARCHAR` too)."""
    lowered = declared.lower()
    return "vector" not in lowered and any(t in lowered for t in TEXT_TYPES)


def quoted(name: str) -> str:
    """An identifier as SQL: `schema.table` as two quoted parts."""
    if set(name) & set("?%\x00"):  # ? and % are parameter marks to the drivers
        raise UsageError(f"{name!r}: a table or column name with ?, % or NUL in it cannot be read")
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


class SqlTableConnector(Connector):
    """What the SQL dialects share; a dialect sets `name`, `placeholder` and the hooks below."""

    picks_bare_paths = False
    deletes = BY_ID
    redacts = BY_ID
    options = frozenset({"table", "attributes"})
    placeholder = "?"
    residue_advice = ""  # what to do about rows the database keeps after a DELETE
    explicit_begin = False  # whether a transaction must be begun (DuckDB autocommits each statement)

    def __init__(self, uri: SourceURI):
        super().__init__(uri)
        self.table = (uri.options.get("table") or "").strip()
        if not self.table:
            raise UsageError(f"source {uri.redacted()!r}: give ?table=NAME (schema.name for another schema)")
        for name in [self.table, self.id_field, self.time_field, *(self.text_fields or [])]:
            if name:
                quoted(name)  # a name no query can hold fails here, before anything is read
        if "name" not in uri.options:
            self.source = self.table.split(".")[-1]
        self._db, self._writes = None, False
        self._layout: tuple[str, list[str], dict[str, str]] | None = None

    # -- a dialect's hooks --------------------------------------------------------------------------
    def connect(self, write: bool):
        raise NotImplementedError

    def declared_columns(self, db) -> dict[str, str]:
        """Column name -> declared type, in table order; {} when there is no such table."""
        raise NotImplementedError

    def key_column(self, db) -> str | None:
        """The primary key's column (a single-column key only)."""
        raise NotImplementedError

    def location(self) -> str:
        """Where the table is, for locators and messages (never a password)."""
        raise NotImplementedError

    @contextmanager
    def transaction(self, db):
        if self.explicit_begin:
            db.begin()
        try:
            yield
            db.commit()
        except BaseException:
            db.rollback()
            raise

    def written(self, declared: str, value: Any) -> Any:
        """A value as the driver writes it into a column of this type."""
        return value

    def kept_after_delete(self, db, record_ids: list[str]) -> dict | None:
        """A residue event for deleted rows the database still keeps (dead tuples, free pages), or None."""
        return None

    # -- shared -------------------------------------------------------------------------------------
    def db(self, write: bool = False):
        """The connection; a read-only one (where the database has them) is replaced for a write."""
        if self._db is not None and write and not self._writes:
            self.close()
        if self._db is None:
            self._db = guarded(self.source, f"connect to {self.location()}", lambda: self.connect(write))
            self._writes = write
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _sql(self, sql: str, params: tuple = (), write: bool = False) -> list[tuple]:
        def run():
            # on the connection itself: a DuckDB cursor is another connection, outside its transaction
            result = self.db(write).execute(sql.replace("?", self.placeholder), params)
            return result.fetchall() if result.description else []

        return guarded(self.source, f"{self.location()}: {sql.split(' ')[0].lower()} {self.table}", run)

    def layout(self) -> tuple[str, list[str], dict[str, str]]:
        """(the key column, the columns read, every column's declared type)."""
        if self._layout is None:
            declared = guarded(self.source, f"{self.location()}: list the columns of {self.table}",
                               lambda: self.declared_columns(self.db()))
            if not declared:
                raise self.fail(f"no table {self.table!r} in {self.location()}")
            key = self.id_field or guarded(self.source, "find the primary key", lambda: self.key_column(self.db())) \
                or next((c for c in ID_FIELDS if c in declared), None)
            if key is None or key not in declared:
                raise self.fail(f"table {self.table!r} has no column {key!r}" if key else
                                f"table {self.table!r} has no primary key and no id column: give ?id=COLUMN")
            wanted = set(self.text_fields or [c for c, t in declared.items() if is_text_type(t)])
            wanted |= {key, self.time_field or next((c for c in TIME_FIELDS if c in declared), None)}
            wanted |= {path.split(".")[0] for path in self.attribute_fields.values()}
            missing = sorted(w for w in wanted if w and w not in declared)
            if missing:
                raise self.fail(f"table {self.table!r} has no column {missing[0]!r}")
            self._layout = (key, [c for c in declared if c in wanted], declared)
        return self._layout

    def typed(self, record_id: str) -> Any:
        """A record id as the key column's type (an integer key is compared as a number)."""
        key, _, declared = self.layout()
        lowered = declared[key].lower()
        return int(record_id) if any(t in lowered for t in INTEGER_TYPES) and record_id.lstrip("-").isdigit() \
            else record_id

    def _select(self) -> str:
        _, columns, _ = self.layout()
        return f"SELECT {', '.join(map(quoted, columns))} FROM {quoted(self.table)}"

    def _record(self, row: tuple) -> Record:
        key, columns, _ = self.layout()
        values = dict(zip(columns, row))
        time_field = self.time_field or next((c for c in TIME_FIELDS if c in values), None)
        texts = extract_texts(values, self.text_fields, {time_field} if time_field else set())
        attributes = {name: str(values.get(path)) for name, path in self.attribute_fields.items()
                      if isinstance(values.get(path), (str, int, float, bool)) and str(values.get(path)) != ""}
        return Record(source=self.source, kind=self.kind, record_id=str(values[key]),
                      locator={"table": self.table, "id": values[key], "store": self.location()}, texts=texts,
                      timestamp=parse_timestamp(values.get(time_field)) if time_field else None,
                      attributes=attributes, id_fields=frozenset({key}))

    def position(self, record: Record) -> tuple[str, int]:
        return record.locator["table"], id_number(record.locator["id"])

    def _window(self) -> tuple[int, int | None]:
        if self.shard is None:
            return 0, None
        start, end = self.shard.rpartition(OFFSET)[2].split("-")
        return int(start), int(end)

    def _count(self) -> int:
        return int(self._sql(f"SELECT COUNT(*) FROM {quoted(self.table)}")[0][0])

    def shards(self) -> list[str | None]:
        """Key-ordered ranges of a server's table (`table::offset=0-50000`); a file is read as one."""
        if not getattr(self, "server", False):
            return [None]
        try:
            count = self._count()
        finally:
            self.close()
        return self.shards_of([f"{self.table}{OFFSET}{start}-{min(start + SHARD_ROWS, count)}"
                               for start in range(0, count, SHARD_ROWS)])

    def _rows_in_order(self) -> Iterator[tuple]:
        """Every row of the window, by key: keyset pages, or offset pages within a shard's range."""
        key, columns, _ = self.layout()
        at = columns.index(key)
        start, end = self._window()
        if end is not None:
            for offset in range(start, end, PAGE):
                yield from self._sql(f"{self._select()} ORDER BY {quoted(key)} LIMIT ? OFFSET ?",
                                     (min(PAGE, end - offset), offset))
            return
        last = None
        while True:
            where = f" WHERE {quoted(key)} > ?" if last is not None else ""
            rows = self._sql(f"{self._select()}{where} ORDER BY {quoted(key)} LIMIT ?",
                             (last, PAGE) if last is not None else (PAGE,))
            yield from rows
            if len(rows) < PAGE:
                return
            last = rows[-1][at]

    def _keys(self) -> list[Any]:
        key, _, _ = self.layout()
        start, end = self._window()
        rows = self._sql(f"SELECT {quoted(key)} FROM {quoted(self.table)} ORDER BY {quoted(key)}"
                         + (" LIMIT ? OFFSET ?" if end is not None else ""),
                         (end - start, start) if end is not None else ())
        return [r[0] for r in rows]

    def _by_keys(self, keys: list[Any]) -> dict[Any, tuple]:
        key, columns, _ = self.layout()
        found = {}
        for page in pages(keys, PAGE):
            marks = ", ".join("?" * len(page))
            for row in self._sql(f"{self._select()} WHERE {quoted(key)} IN ({marks})", tuple(page)):
                found[row[columns.index(key)]] = row
        return found

    def records(self, plan: SamplePlan, report: ReadReport) -> Iterator[Record]:
        try:
            self.layout()  # a missing table or key column is said as such, before any query
            start, end = self._window()
            if plan.mode == "full":
                report.records_total = self._count() if end is None else end - start
                for row in self._rows_in_order():
                    report.advance()
                    yield self._record(row)
                return
            keys = self._keys()
            report.records_total = len(keys)
            chosen = [k for _, k in sample_ids(plan, [(self.table, k) for k in keys])]
            for page in pages(chosen, PAGE):
                rows = self._by_keys(page)
                for k in page:
                    if k in rows:  # deleted since it was listed: gone, nothing to scan
                        report.advance()
                        yield self._record(rows[k])
        finally:
            self.close()

    # -- apply: by key ------------------------------------------------------------------------------
    def record_ids(self) -> list[str]:
        try:
            return [str(k) for k in self._keys()]
        finally:
            self.close()

    def fetch(self, record_ids: list[str]) -> dict[str, Record]:
        try:
            return {str(k): self._record(row) for k, row in self._by_keys([self.typed(i) for i in record_ids]).items()}
        finally:
            self.close()

    def delete(self, record_ids: list[str]) -> None:
        """One transaction: every row or none."""
        db = self.db(write=True)
        key, _, _ = self.layout()
        try:
            with self.transaction(db):
                for page in pages([self.typed(i) for i in record_ids], PAGE):
                    self._sql(f"DELETE FROM {quoted(self.table)} WHERE {quoted(key)} IN ({', '.join('?' * len(page))})",
                              tuple(page), write=True)
        finally:
            self.close()

    def verify_absent(self, record_ids: list[str]) -> list[str]:
        try:
            return sorted(str(k) for k in self._by_keys([self.typed(i) for i in record_ids]))
        finally:
            self.close()

    def redact(self, edits: dict[str, Callable[[Any], Any]]) -> None:
        """Each row's text columns written again as its edit of {column: value} returns them, in one
        transaction; a vector column is left as it is."""
        db = self.db(write=True)
        key, columns, declared = self.layout()
        try:
            with self.transaction(db):
                rows = self._by_keys([self.typed(i) for i in edits])
                for k, row in rows.items():
                    before = {c: v for c, v in zip(columns, row) if c != key}
                    after = edits[str(k)](dict(before))
                    changed = [c for c in before if after.get(c) != before[c]]
                    if changed:
                        sets = ", ".join(f"{quoted(c)} = ?" for c in changed)
                        self._sql(f"UPDATE {quoted(self.table)} SET {sets} WHERE {quoted(key)} = ?",
                                  (*(self.written(declared[c], after[c]) for c in changed), k), write=True)
        finally:
            self.close()

    def residue(self, record_ids: list[str]) -> list[dict]:
        try:
            event = self.kept_after_delete(self.db(), record_ids)
        finally:
            self.close()
        return [event] if event else []

    def redaction_residue(self, record_ids: list[str]) -> list[dict]:
        """A vector column computed from the original text; and the old row versions the database keeps."""
        _, _, declared = self.layout()
        events = []
        vectors = [c for c, t in declared.items() if "vector" in t.lower()]
        if vectors:
            n = len(set(record_ids))
            events.append({"event": "residue", "source": self.source, "records": n, "of": n,
                           "summary": f"{n} redacted rows: embedding still derived from the original text; re-embed "
                                      f"({', '.join(vectors)})", "advice": REEMBED_ADVICE})
        kept = self.residue(record_ids)
        events += [{**e, "summary": e["summary"].replace("deleted", "overwritten")} for e in kept]
        return events
