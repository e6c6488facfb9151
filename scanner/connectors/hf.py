"""Hugging Face `datasets` save_to_disk folders, read with pyarrow alone.

A folder holds either one split (state.json) or several (dataset_dict.json and a folder per
split); each split's data are the Arrow IPC stream files that its state.json lists.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs

from scanner.connectors.arrow_rows import chosen_records
from scanner.connectors.base import REWRITES_FILES, Connector, ReadReport
from scanner.connectors.files import S3_OPTIONS, SourceFile, copy_files, copy_uri, filesystem, is_s3
from scanner.connectors.hffolders import CACHE_ADVICE, cache_files, refresh_fingerprint
from scanner.connectors.replacing import Edits
from scanner.connectors.rewriting import IdChecks, Rewrite, edited_rows, kept_rows, rewrite_whole
from scanner.core.errors import UsageError, one_line
from scanner.core.records import Record
from scanner.core.sampling import SamplePlan

HF_MARKERS = ("dataset_dict.json", "state.json")


class HfConnector(Connector):
    name = "hf"
    extensions = (".arrow",)
    options = S3_OPTIONS | {"split"}
    description = "Hugging Face datasets save_to_disk folders (all splits, or ?split=)"
    folder_markers = HF_MARKERS
    deletes = REWRITES_FILES
    redacts = REWRITES_FILES
    reads_files = True

    def _read_json(self, fs, path: str) -> dict:
        try:
            with fs.open_input_stream(path) as stream:
                return json.loads(stream.read())
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise self.fail(f"{posixpath.basename(path)}: unreadable: {one_line(exc)}") from None

    def deletable_files(self) -> tuple[pafs.FileSystem, list[SourceFile]]:
        """Only the data files, never datasets' cache files beside them."""
        return self.data_files()

    def rewrite_file(self, path: Path, drop: set[int], ids: IdChecks, edits: Edits | None = None) -> Rewrite:
        """A data file (an Arrow IPC stream) with the same schema and its metadata, in batches of the
        original's size. Kept even when no row is left: the split's state.json lists it."""
        with pa.memory_map(str(path)) as source:
            reader = pa.ipc.open_stream(source)
            batches = list(reader)
            table = pa.Table.from_batches(batches, schema=reader.schema)
            kept = kept_rows(edited_rows(table, edits or {}, ids), drop, ids).combine_chunks()
            batch_rows = max((b.num_rows for b in batches), default=1) or 1

            def write(temp: Path) -> None:
                with pa.OSFile(str(temp), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
                    for batch in kept.to_batches(max_chunksize=batch_rows):
                        writer.write_batch(batch)

            return rewrite_whole(path, drop, write, edits)

    def copy_to(self, folder: Path) -> str:
        """The whole save_to_disk folder (state and info files with the data), never datasets' cache files:
        they hold the original rows."""
        fs, root = filesystem(self.uri)
        self.data_files()  # a folder that is not a dataset fails here, before anything is copied
        infos = fs.get_file_info(pafs.FileSelector(root.rstrip("/"), recursive=True))
        files = [SourceFile(posixpath.relpath(i.path, root.rstrip("/")), i.path, i.size, i.mtime_ns) for i in infos
                 if i.type == pafs.FileType.File and not posixpath.basename(i.path).startswith("cache-")]
        copy_files(fs, files, folder)
        return copy_uri(self.uri, self.name, self.source, str(folder))

    def after_rewrite(self, fs, rewritten: dict[str, int], changed: list[str]) -> list[dict]:
        """New fingerprints for the splits whose data changed; their datasets cache files reported."""
        events = []
        folders = sorted({posixpath.dirname(path) for path in changed})
        for folder in folders:
            if refresh_fingerprint(fs, folder):
                events.append({"event": "hf_fingerprint", "source": self.source, "split_folder": folder})
        caches = [path for folder in folders for path in cache_files(fs, folder)]
        if caches and rewritten:
            deleted = sum(rewritten.values())
            events.append({"event": "residue", "source": self.source, "records": deleted, "of": deleted,
                           "files": caches,
                           "summary": f"{len(caches)} datasets cache file(s) may hold copies of the {deleted} "
                                      "deleted records.", "advice": CACHE_ADVICE})
        return events + super().after_rewrite(fs, rewritten, changed)

    def data_files(self) -> tuple[pafs.FileSystem, list[SourceFile]]:
        """The filesystem, and the Arrow files the state.json of each split lists."""
        fs, root = filesystem(self.uri)
        root = root.rstrip("/")
        kind = fs.get_file_info(root).type
        if kind == pafs.FileType.NotFound:
            raise self.fail(f"no such folder: {self.uri.path}")
        if fs.get_file_info(f"{root}/dataset_dict.json").type == pafs.FileType.File:
            splits = self._read_json(fs, f"{root}/dataset_dict.json").get("splits", [])
            split_dirs = [(s, f"{root}/{s}") for s in splits]
        elif fs.get_file_info(f"{root}/state.json").type == pafs.FileType.File:
            split_dirs = [("", root)]
        else:
            raise self.fail(f"{self.uri.path} is not a datasets save_to_disk folder "
                            "(no dataset_dict.json or state.json)")
        wanted = self.uri.options.get("split")
        if wanted:
            names = [s for s, _ in split_dirs]
            if wanted not in names:
                raise UsageError(f"source {self.uri.redacted()!r}: no split {wanted!r} (splits: {', '.join(names) or 'none'})")
            split_dirs = [(s, d) for s, d in split_dirs if s == wanted]
        files = []
        for split, folder in split_dirs:
            state = self._read_json(fs, f"{folder}/state.json")
            for entry in state.get("_data_files", []):
                path = f"{folder}/{entry['filename']}"
                info = fs.get_file_info(path)
                if info.type != pafs.FileType.File:
                    raise self.fail(f"{split or '.'}/{entry['filename']}: listed in state.json but missing")
                rel = posixpath.join(split, entry["filename"]) if split else entry["filename"]
                files.append(SourceFile(rel, path, info.size, info.mtime_ns))
        return fs, files

    def _table(self, fs, file: SourceFile) -> pa.Table:
        try:
            if is_s3(self.uri.path):
                with fs.open_input_stream(file.path) as stream:
                    return pa.ipc.open_stream(stream).read_all()
            # memory-mapped: the table's buffers keep the map open, and nothing is copied
            return pa.ipc.open_stream(pa.memory_map(file.path)).read_all()
        except (OSError, pa.ArrowException) as exc:
            raise self.fail(f"{file.relpath}: not an Arrow stream or corrupt: {one_line(exc)}") from None

    def shards(self) -> list[str | None]:
        _, files = self.data_files()
        return self.shards_of([f.relpath for f in files])

    def records(self, plan: SamplePlan, report: ReadReport) -> Iterator[Record]:
        fs, files = self.data_files()
        files = self.in_shard(files)
        tables = [(f, self._table(fs, f)) for f in files]
        report.records_total = sum(t.num_rows for _, t in tables)
        report.stats.update(files=len(files), bytes=sum(f.size for f in files))
        chosen = plan.choose_rows([(f.relpath, t.num_rows) for f, t in tables])
        for file, table in tables:
            rows = chosen.get(file.relpath, np.empty(0, np.int64))
            if len(rows) == 0:
                continue
            if len(rows) != table.num_rows:
                table = table.take(pa.array(rows))
            yield from chosen_records(self, table, file, rows, report)
