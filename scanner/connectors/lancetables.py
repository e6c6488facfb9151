"""LanceDB tables through lancedb: a local database folder (embedded), one table or all of them.

Rows are read without their vector columns, found again by the id column, deleted with a filter on
it and redacted with a merge on it. Lance keeps what a delete or an update removed in its data files
(deletion files) and in every earlier version until the table is compacted and its old versions
cleaned up: the residue says so, and `dhscan apply --vacuum` does both.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from scanner.connectors.arrowtables import PAGE, Layout, key_in
from scanner.connectors.base import ReadReport
from scanner.connectors.vectors import StoreConnector, guarded, pages, payload_record
from scanner.core.errors import UsageError
from scanner.core.records import Record
from scanner.core.sampling import SamplePlan

FRAGMENT = "::fragment="  # between a table and one of its fragments in a shard name
VACUUM_ADVICE = ("compact the table with its deletions materialized and remove its old versions "
                 "(dhscan apply --vacuum, or lance's compact_files(materialize_deletions_threshold=0) then "
                 "cleanup_old_versions(older_than=timedelta(0))), then check the folder's backups")


class LanceConnector(StoreConnector):
    name = "lancedb"
    options = frozenset({"table"})
    description = "LanceDB tables: a local database folder (lancedb:PATH?table=NAME&id=COLUMN; by id column)"
    vacuums = True
    collection_word = "table"

    def __init__(self, uri):
        if uri.options.get("collection"):
            raise UsageError(f"source {uri.redacted()!r}: LanceDB has tables: give ?table=NAME")
        super().__init__(uri)
        self.collection = uri.options.get("table") or None
        if self.collection and "name" not in uri.options:
            self.source = self.collection
        self._layouts: dict[str, Layout] = {}

    def client(self):
        if self._client is None:
            try:
                import lancedb
            except ImportError:
                raise UsageError("the lancedb connector needs lancedb: pip install 'dhscan[lancedb]'") from None
            path = Path(self.uri.path).expanduser()
            if not path.is_dir():
                raise self.fail(f"no such folder: {self.uri.path}")
            self._client = lancedb.connect(str(path))
        return self._client

    def close(self) -> None:
        self._client = None
        self._layouts = {}

    def list_collections(self) -> list[str]:
        return _all_tables(self.client())

    def _table(self, name: str):
        return guarded(self.source, f"open table {name!r}", lambda: self.client().open_table(name))

    def layout(self, name: str) -> Layout:
        if name not in self._layouts:
            self._layouts[name] = Layout(self.source, name, self._table(name).schema, self.id_field,
                                         self.time_field, self.text_fields)
        return self._layouts[name]

    def _record(self, table: str, row: dict) -> Record:
        layout = self.layout(table)
        key = row.pop(layout.key)
        return payload_record(self, self._record_id(table, key), {"collection": table, "id": key,
                              "store": self.store()}, row, "")

    def _query(self, table: str, where: str | None = None, columns: list[str] | None = None) -> Iterator[dict]:
        layout = self.layout(table)
        query = self._table(table).search().select(columns or layout.columns).limit(None)
        if where:
            query = query.where(where)
        reader = guarded(self.source, f"read table {table!r}", query.to_batches, names_keys=bool(where))
        while (batch := guarded(self.source, f"read table {table!r}", lambda: next(reader, None),
                                names_keys=bool(where))) is not None:
            yield from batch.to_pylist()

    def _keys(self, table: str, fragment: int | None = None) -> list[Any]:
        key = self.layout(table).key
        rows = self._query(table, columns=[key]) if fragment is None else self._fragment_rows(table, fragment, [key])
        return [row[key] for row in rows]

    def _fragment_rows(self, table: str, fragment: int, columns: list[str] | None = None) -> Iterator[dict]:
        """The rows of one fragment (a cluster's shard), deleted ones left out."""
        part = guarded(self.source, f"read table {table!r}",
                       lambda: self._table(table).to_lance().get_fragment(fragment))
        if part is None:
            raise self.fail(f"table {table!r} has no fragment {fragment} (changed since the shards were listed)")
        for batch in part.to_table(columns=columns or self.layout(table).columns).to_batches(PAGE):
            yield from batch.to_pylist()

    def _parts(self) -> list[tuple[str, int | None]]:
        """(table, fragment) pairs this connector reads: whole tables, or its shard's one fragment."""
        if self.shard is None:
            return [(table, None) for table in self.collections()]
        table, _, fragment = self.shard.rpartition(FRAGMENT)
        return [(table, int(fragment))]

    def shards(self) -> list[str | None]:
        """A cluster reads each table's fragments (its data files) apart."""
        try:
            return self.shards_of([f"{t}{FRAGMENT}{f.fragment_id}" for t in self.collections()
                                   for f in guarded(self.source, f"list the fragments of {t!r}",
                                                    lambda: self._table(t).to_lance().get_fragments())])
        finally:
            self.close()

    def _by_keys(self, table: str, keys: list[Any]) -> dict[Any, dict]:
        layout = self.layout(table)
        found = {}
        for page in pages(keys, PAGE):
            for row in self._query(table, key_in(layout.key, page, "`")):
                found[row[layout.key]] = row
        return found

    def records(self, plan: SamplePlan, report: ReadReport) -> Iterator[Record]:
        try:
            parts = self._parts()
            for table, _ in parts:
                self.layout(table)  # a table without an id column is said before anything is read
            if plan.mode == "full":
                if self.shard is None:
                    report.records_total = sum(guarded(self.source, "count", self._table(t).count_rows)
                                               for t, _ in parts)
                for table, fragment in parts:
                    for row in self._query(table) if fragment is None else self._fragment_rows(table, fragment):
                        report.advance()
                        yield self._record(table, row)
                if report.records_total is None:  # a shard: its fragment's rows
                    report.records_total = report.records_read
                return
            everything = [(t, k) for t, fragment in parts for k in self._keys(t, fragment)]
            report.records_total = len(everything)
            for table, row in self.sampled(plan, everything, self._by_keys, PAGE):
                report.advance()
                yield self._record(table, row)
        finally:
            self.close()

    def _split(self, record_ids: list[str]) -> dict[str, list[Any]]:
        return self.split_ids(record_ids, lambda table, raw: self.layout(table).typed(raw))

    def record_ids(self) -> list[str]:
        try:
            return [self._record_id(t, k) for t in self.collections() for k in self._keys(t)]
        finally:
            self.close()

    def fetch(self, record_ids: list[str]) -> dict[str, Record]:
        try:
            return {r.record_id: r for table, keys in self._split(record_ids).items()
                    for r in (self._record(table, row) for row in self._by_keys(table, keys).values())}
        finally:
            self.close()

    def delete(self, record_ids: list[str]) -> None:
        try:
            for table, keys in self._split(record_ids).items():
                key = self.layout(table).key
                for page in pages(keys, PAGE):
                    guarded(self.source, f"delete from {table!r}", lambda: self._table(table).delete(
                        key_in(key, page, "`")), names_keys=True)
        finally:
            self.close()

    def verify_absent(self, record_ids: list[str]) -> list[str]:
        try:
            return sorted(self._record_id(t, k) for t, keys in self._split(record_ids).items()
                          for k in self._by_keys(t, keys))
        finally:
            self.close()

    def redact(self, edits: dict[str, Callable[[Any], Any]]) -> None:
        """The text columns of the edited rows written again by one merge on the id column per table
        (a new version; vector and other columns kept as they are)."""
        import pyarrow as pa

        try:
            for table, keys in self._split(list(edits)).items():
                layout = self.layout(table)
                rows = []
                for key, row in self._by_keys(table, keys).items():
                    payload = {c: v for c, v in row.items() if c != layout.key}
                    rows.append({**edits[self._record_id(table, key)](payload), layout.key: key})
                if rows:
                    schema = pa.schema([layout.schema.field(c) for c in layout.columns])
                    update = pa.Table.from_pylist(rows, schema=schema)
                    guarded(self.source, f"update {table!r}", lambda: self._table(table).merge_insert(layout.key)
                            .when_matched_update_all().execute(update), names_keys=True)
        finally:
            self.close()

    def _kept(self, table) -> tuple[int, int]:
        """(earlier versions kept, fragments with rows marked deleted but still in their data files)."""
        versions = len(table.list_versions()) - 1
        marked = sum(1 for f in table.to_lance().get_fragments() if f.deletion_file() is not None)
        return versions, marked

    def residue(self, record_ids: list[str]) -> list[dict]:
        return self._residue(record_ids, "deleted")

    def redaction_residue(self, record_ids: list[str]) -> list[dict]:
        return super().redaction_residue(record_ids) + self._residue(record_ids, "redacted")

    def _residue(self, record_ids: list[str], what: str) -> list[dict]:
        try:
            events = []
            for table, keys in self._split(record_ids).items():
                versions, marked = guarded(self.source, f"read the versions of {table!r}",
                                           lambda: self._kept(self._table(table)))
                if versions or marked:
                    n = len(set(keys))
                    where = [f"{versions} earlier versions"] * bool(versions) + \
                            [f"{marked} data files with deleted rows"] * bool(marked)
                    events.append({"event": "residue", "source": self.source, "records": n, "of": n,
                                   "summary": f"{n} {what} rows of {table!r}: their old values are still in "
                                              f"{' and '.join(where)}", "advice": VACUUM_ADVICE})
            return events
        finally:
            self.close()

    def vacuumed_records(self) -> Iterator[Record]:
        """The rows of every earlier version of each table (rows marked deleted in a data file whose
        versions were cleaned up already cannot be read, and are not among them)."""
        try:
            for table in self.collections():
                layout = self.layout(table)
                dataset = guarded(self.source, f"open table {table!r}", self._table(table).to_lance)
                latest = dataset.version
                for version in [v["version"] for v in dataset.versions() if v["version"] != latest]:
                    old = guarded(self.source, f"read an earlier version of {table!r}",
                                  lambda: dataset.checkout_version(version).to_table(columns=layout.columns))
                    for row in old.to_pylist():
                        yield self._record(table, row)
        finally:
            self.close()

    def vacuum(self) -> list[dict]:
        """Every table read compacted with its deletions materialized, then its old versions removed
        (through pylance: lancedb's own calls for these are deprecated wrappers of it)."""
        try:
            events = []
            for table in self.collections():
                dataset = guarded(self.source, f"open table {table!r}", self._table(table).to_lance)
                compacted = guarded(self.source, f"compact {table!r}", lambda: dataset.optimize.compact_files(
                    materialize_deletions=True, materialize_deletions_threshold=0.0))
                cleaned = guarded(self.source, f"clean up {table!r}", lambda: dataset.cleanup_old_versions(
                    older_than=datetime.timedelta(0), delete_unverified=True))
                events.append({"event": "vacuum", "source": self.source,
                               "fragments_rewritten": compacted.fragments_removed,
                               "versions_removed": cleaned.old_versions, "bytes_removed": cleaned.bytes_removed,
                               "summary": f"table compacted ({compacted.fragments_removed} fragments rewritten) and "
                                          f"{cleaned.old_versions} earlier versions removed"
                                          + (f"; {cleaned.failed_deletes} files could not be removed"
                                             if cleaned.failed_deletes else "")})
            return events
        finally:
            self.close()


def _all_tables(db) -> list[str]:
    """Every table name (list_tables pages its answer)."""
    names, token = [], None
    while True:
        page = db.list_tables(page_token=token) if token else db.list_tables()
        names.extend(page.tables)
        token = page.page_token
        if not token:
            return names
