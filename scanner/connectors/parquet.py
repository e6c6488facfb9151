"""Parquet files. Row counts come from the metadata, so a sample reads only its row groups."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scanner.connectors.arrow_rows import chosen_records
from scanner.connectors.base import REWRITES_FILES, Connector, ReadReport
from scanner.connectors.files import S3_OPTIONS, list_files
from scanner.connectors.replacing import Edits
from scanner.connectors.rewriting import IdChecks, Rewrite, edited_rows, holds_strings, kept_rows, rewrite_whole
from scanner.core.errors import one_line
from scanner.core.records import Record
from scanner.core.sampling import SamplePlan


GROUP = "::"  # between a file and a row group number in a shard name


class ParquetConnector(Connector):
    name = "parquet"
    extensions = (".parquet", ".pq")
    options = S3_OPTIONS
    description = "Parquet files, a folder or glob of them; local or s3://"
    deletes = REWRITES_FILES
    redacts = REWRITES_FILES
    reads_files = True

    def rewrite_file(self, path: Path, drop: set[int], ids: IdChecks, edits: Edits | None = None) -> Rewrite:
        return rewrite_parquet(path, drop, ids, edits)

    def shards(self) -> list[str | None]:
        """One shard per row group (`file.parquet::3`), from the files' footers."""
        fs, files = list_files(self.uri, self.source, self.extensions)
        return self.shards_of([f"{file.relpath}{GROUP}{group}" for file, parquet in self._open(fs, files)
                               for group in range(parquet.metadata.num_row_groups)])

    def records(self, plan: SamplePlan, report: ReadReport) -> Iterator[Record]:
        fs, files = list_files(self.uri, self.source, self.extensions)
        only_group = None
        if self.shard is not None:
            relpath, grouped, group = self.shard.rpartition(GROUP)
            if not grouped:  # a whole file (apply re-reading it)
                relpath, group = self.shard, None
            files = [f for f in files if f.relpath == relpath]
            only_group = int(group) if group is not None else None
        opened = self._open(fs, files)
        if only_group is None:
            report.records_total = sum(p.metadata.num_rows for _, p in opened)
            report.stats.update(files=len(files), bytes=sum(f.size for f in files))
        else:  # one row group: the file itself is counted once, by the shard of its first group
            report.records_total = sum(p.metadata.row_group(only_group).num_rows for _, p in opened)
            report.stats.update(files=len(files) if only_group == 0 else 0,
                                bytes=sum(f.size for f in files) if only_group == 0 else 0)
        report.stats.update(row_groups_total=0, row_groups_read=0, bytes_read=0)
        # a shard of one row group takes the rows its file's sample has there (a superset of what the
        # whole source's sample has there: the cluster's merge keeps the smallest keys overall)
        chosen = plan.choose_rows([(f.relpath, p.metadata.num_rows) for f, p in opened])
        for file, parquet in opened:
            yield from self._file_records(file, parquet, chosen.get(file.relpath, np.empty(0, np.int64)), report,
                                          only_group)

    def _open(self, fs, files) -> list:
        opened = []
        for file in files:
            if file.size == 0:
                raise self.fail(f"{file.relpath}: empty file (0 bytes), not Parquet")
            try:
                parquet = pq.ParquetFile(fs.open_input_file(file.path))
            except (OSError, pa.ArrowException) as exc:
                raise self.fail(f"{file.relpath}: not a Parquet file or corrupt: {one_line(exc)}") from None
            opened.append((file, parquet))
        return opened

    def _file_records(self, file, parquet: pq.ParquetFile, rows: np.ndarray, report: ReadReport,
                      only_group: int | None = None) -> Iterator[Record]:
        meta = parquet.metadata
        starts = np.cumsum([0] + [meta.row_group(i).num_rows for i in range(meta.num_row_groups)])
        groups = range(meta.num_row_groups) if only_group is None else [only_group]
        report.stats["row_groups_total"] += len(groups)
        columns = self._columns(parquet.schema_arrow)
        leaf_columns = [c for c in range(meta.num_columns) if meta.schema.column(c).path.split(".")[0] in columns]
        for group in groups:
            lo, hi = np.searchsorted(rows, [starts[group], starts[group + 1]])
            wanted = rows[lo:hi]
            if len(wanted) == 0:
                continue
            try:
                table = parquet.read_row_group(group, columns=columns)
            except (OSError, pa.ArrowException) as exc:
                raise self.fail(f"{file.relpath}: row group {group} unreadable (corrupt file?): {one_line(exc)}") from None
            report.stats["row_groups_read"] += 1
            report.stats["bytes_read"] += sum(
                meta.row_group(group).column(c).total_compressed_size for c in leaf_columns)
            local = wanted - starts[group]
            if len(local) != table.num_rows:
                table = table.take(pa.array(local))
            yield from chosen_records(self, table, file, wanted, report)

    def _columns(self, schema: pa.Schema) -> list[str]:
        """The columns the scan needs: text-bearing ones (or those named in `text=`), the id and the time.

        Embedding vectors and other numeric columns are never read.
        """
        from scanner.core.fields import ID_FIELDS, TIME_FIELDS, detect_field

        names = schema.names
        if self.text_fields:
            wanted = {t.split(".")[0] for t in self.text_fields}
        else:
            wanted = {f.name for f in schema if holds_strings(f.type)}
        for field, candidates in ((self.id_field, ID_FIELDS), (self.time_field, TIME_FIELDS)):
            found = field or detect_field(names, candidates)
            if found:
                wanted.add(found.split(".")[0])
        wanted.update(path.split(".")[0] for path in self.attribute_fields.values())
        return [n for n in names if n in wanted]


def rewrite_parquet(path: Path, drop: set[int], ids: IdChecks, edits: Edits | None = None) -> Rewrite:
    """The file without the rows numbered `drop` (and the rows of `edits` edited), with its schema, metadata,
    compression and row-group size; no row left: a Parquet file of the schema with no rows."""
    parquet = pq.ParquetFile(path)
    kept = kept_rows(edited_rows(parquet.read(), edits or {}, ids), drop, ids)
    meta = parquet.metadata
    compression = meta.row_group(0).column(0).compression.lower() if meta.num_row_groups else "snappy"
    row_group = max(1, max((meta.row_group(i).num_rows for i in range(meta.num_row_groups)), default=1))
    return rewrite_whole(path, drop, lambda temp: pq.write_table(
        kept, temp, row_group_size=row_group, compression=compression if compression != "uncompressed" else "none"),
        edits)
