"""Delta Lake tables through deltalake: the current version's files read one by one (a cluster reads
them apart), rows found again by the id column, deleted with a predicate on it and redacted with a
merge on it.

Delta never changes a file: a delete or a merge writes new files and the old ones, with the removed
values in them, stay until VACUUM. The residue says which are there; `dhscan apply --vacuum` removes them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

from scanner.connectors.arrowtables import PAGE, Layout, key_in
from scanner.connectors.base import BY_ID, Connector, ReadReport
from scanner.connectors.files import copy_uri
from scanner.connectors.vectors import guarded, id_number, pages, payload_record, sample_ids
from scanner.core.errors import UsageError
from scanner.core.records import Record
from scanner.core.sampling import SamplePlan

VACUUM_ADVICE = ("run VACUUM with no retention (dhscan apply --vacuum, or DeltaTable.vacuum(retention_hours=0, "
                 "enforce_retention_duration=False, dry_run=False)) once no reader needs an older version; the "
                 "transaction log may also keep column statistics (min/max values) of the removed files until "
                 "its own clean-up (delta.logRetentionDuration); then check the folder's backups")


class DeltaConnector(Connector):
    name = "delta"
    description = "Delta Lake tables: a local table folder (delta:PATH?id=COLUMN; by id column, files rewritten)"
    default_kind = "eval_dataset"
    picks_bare_paths = False
    deletes = BY_ID
    redacts = BY_ID
    vacuums = True

    def __init__(self, uri):
        super().__init__(uri)
        self._table = self._dataset = self._layout = None

    # -- the table ----------------------------------------------------------------------------------
    def path(self) -> Path:
        return Path(self.uri.path).expanduser()

    def table(self):
        if self._table is None:
            try:
                from deltalake import DeltaTable
            except ImportError:
                raise UsageError("the delta connector needs deltalake: pip install 'dhscan[delta]'") from None
            if not (self.path() / "_delta_log").is_dir():
                raise self.fail(f"{self.uri.path} is not a Delta table (no _delta_log folder)"
                                if self.path().exists() else f"no such folder: {self.uri.path}")
            self._table = guarded(self.source, "open the Delta table", lambda: DeltaTable(str(self.path())))
            features = self._table.protocol().reader_features or []
            if "deletionVectors" in features:
                raise self.fail("the table uses deletion vectors, which deltalake's file reader does not apply")
        return self._table

    def dataset(self):
        if self._dataset is None:
            self._dataset = guarded(self.source, "read the Delta table", self.table().to_pyarrow_dataset)
        return self._dataset

    def layout(self) -> Layout:
        if self._layout is None:
            self._layout = Layout(self.source, self.path().name, self.dataset().schema, self.id_field,
                                  self.time_field, self.text_fields)
        return self._layout

    def close(self) -> None:
        self._table = self._dataset = self._layout = None

    def location(self) -> str:
        return str(self.path().resolve())

    # -- reading ------------------------------------------------------------------------------------
    def _fragments(self) -> list:
        fragments = sorted(self.dataset().get_fragments(), key=lambda f: f.path)
        return fragments if self.shard is None else [f for f in fragments if f.path == self.shard]

    def shards(self) -> list[str | None]:
        try:
            return self.shards_of([f.path for f in self._fragments()])
        finally:
            self.close()

    def _rows(self, fragment, columns: list[str] | None = None, where=None) -> Iterator[dict]:
        schema = self.dataset().schema
        table = guarded(self.source, "read a file of the table", lambda: fragment.to_table(
            columns=columns or self.layout().columns, schema=schema, filter=where), names_keys=where is not None)
        for batch in table.to_batches(PAGE):
            yield from batch.to_pylist()

    def _record(self, row: dict, file: str) -> Record:
        key = row.pop(self.layout().key)
        return payload_record(self, str(key), {"table": self.location(), "data_file": file, "id": key}, row, "")

    def position(self, record: Record) -> tuple[str, int]:
        return "table", id_number(record.locator["id"])

    def _key_filter(self, keys: list[Any]):
        import pyarrow.compute as pc

        return pc.field(self.layout().key).isin(keys)

    def _by_keys(self, keys: list[Any]) -> dict[Any, tuple[dict, str]]:
        key = self.layout().key
        found = {}
        for page in pages(keys, PAGE):
            for fragment in self._fragments():
                for row in self._rows(fragment, where=self._key_filter(page)):
                    found[row[key]] = (row, fragment.path)
        return found

    def records(self, plan: SamplePlan, report: ReadReport) -> Iterator[Record]:
        try:
            key = self.layout().key
            fragments = self._fragments()
            if plan.mode == "full":
                report.records_total = sum(f.count_rows() for f in fragments)
                for fragment in fragments:
                    for row in self._rows(fragment):
                        report.advance()
                        yield self._record(row, fragment.path)
                return
            keys = [row[key] for f in fragments for row in self._rows(f, [key])]
            report.records_total = len(keys)
            chosen = [k for _, k in sample_ids(plan, [("table", k) for k in keys])]
            for page in pages(chosen, PAGE):
                rows = self._by_keys(page)
                for k in page:
                    if k in rows:
                        report.advance()
                        yield self._record(*rows[k])
        finally:
            self.close()

    # -- apply: by id -------------------------------------------------------------------------------
    def record_ids(self) -> list[str]:
        try:
            key = self.layout().key
            return [str(row[key]) for f in self._fragments() for row in self._rows(f, [key])]
        finally:
            self.close()

    def fetch(self, record_ids: list[str]) -> dict[str, Record]:
        try:
            return {str(k): self._record(*found) for k, found in
                    self._by_keys([self.layout().typed(i) for i in record_ids]).items()}
        finally:
            self.close()

    def verify_absent(self, record_ids: list[str]) -> list[str]:
        try:
            return sorted(str(k) for k in self._by_keys([self.layout().typed(i) for i in record_ids]))
        finally:
            self.close()

    def delete(self, record_ids: list[str]) -> None:
        """One commit: the files holding these rows written again without them."""
        try:
            layout = self.layout()
            keys = [layout.typed(i) for i in record_ids]
            guarded(self.source, "delete from the Delta table", lambda: self.table().delete(key_in(layout.key, keys)),
                    names_keys=True)
        finally:
            self.close()

    def redact(self, edits: dict[str, Callable[[Any], Any]]) -> None:
        """One merge on the id column: the edited rows' text columns written as their edits return them."""
        import pyarrow as pa

        try:
            layout = self.layout()
            rows = []
            for k, (row, _) in self._by_keys([layout.typed(i) for i in edits]).items():
                payload = {c: v for c, v in row.items() if c != layout.key}
                rows.append({**edits[str(k)](payload), layout.key: k})
            if not rows:
                return
            columns = [c for c in layout.columns if c != layout.time]
            update = pa.Table.from_pylist(rows, schema=pa.schema([layout.schema.field(c) for c in columns]))
            quoted = {c: '"' + c.replace('"', '""') + '"' for c in columns}
            guarded(self.source, "update the Delta table", lambda: self.table().merge(
                source=update, source_alias="s", target_alias="t",
                predicate=f"t.{quoted[layout.key]} = s.{quoted[layout.key]}").when_matched_update(
                updates={quoted[c]: f"s.{quoted[c]}" for c in columns if c != layout.key}).execute(), names_keys=True)
        finally:
            self.close()

    def _unreferenced(self) -> list[str]:
        """Files of earlier versions still on disk: what a VACUUM with no retention removes (its dry run
        lists the log's removed files, whether a vacuum took them already or not)."""
        listed = guarded(self.source, "list the table's old files", lambda: self.table().vacuum(
            retention_hours=0, enforce_retention_duration=False, dry_run=True))
        return [f for f in listed if (self.path() / f).exists()]

    def residue(self, record_ids: list[str]) -> list[dict]:
        return self._kept(record_ids, "{n} deleted rows are still in {files} files of the table's earlier versions")

    def redaction_residue(self, record_ids: list[str]) -> list[dict]:
        return self._kept(record_ids, "{n} redacted rows: their original values are still in {files} files of the "
                                      "table's earlier versions")

    def _kept(self, record_ids: list[str], summary: str) -> list[dict]:
        try:
            old = self._unreferenced()
        finally:
            self.close()
        n = len(set(record_ids))
        return [{"event": "residue", "source": self.source, "records": n, "of": n,
                 "summary": summary.format(n=n, files=len(old)), "advice": VACUUM_ADVICE}] if old else []

    def vacuumed_records(self) -> Iterator[Record]:
        """The rows of the earlier versions' files still on disk (partition values are not in the files)."""
        import pyarrow.parquet as pq

        try:
            layout = self.layout()
            for relpath in self._unreferenced():
                table = pq.read_table(self.path() / relpath)
                columns = [c for c in layout.columns if c in table.column_names]
                if layout.key not in columns:
                    continue
                for row in table.select(columns).to_pylist():
                    yield self._record(row, relpath)
        finally:
            self.close()

    def vacuum(self) -> list[dict]:
        try:
            removed = guarded(self.source, "vacuum the Delta table", lambda: self.table().vacuum(
                retention_hours=0, enforce_retention_duration=False, dry_run=False))
        finally:
            self.close()
        return [{"event": "vacuum", "source": self.source, "files_removed": len(removed),
                 "summary": f"{len(removed)} files of earlier versions removed"}]

    def copy_to(self, folder: Path) -> str:
        """The table folder copied whole (its log and every file)."""
        self.table()
        shutil.copytree(self.path(), folder, dirs_exist_ok=True)
        return copy_uri(self.uri, self.name, self.source, str(folder))
