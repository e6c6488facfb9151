"""LangSmith run exports: JSON, JSON Lines, and the Parquet bulk export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from scanner.connectors.arrow_rows import in_microseconds
from scanner.connectors.base import Candidate, ReadReport, RecordUnreadable
from scanner.connectors.files import SourceFile, list_files
from scanner.connectors.jsonl import JsonlConnector
from scanner.connectors.parquet import rewrite_parquet
from scanner.connectors.replacing import Edits
from scanner.connectors.rewriting import IdChecks, Rewrite
from scanner.connectors.otel import SpanTexts, trace_record
from scanner.core.fields import parse_timestamp
from scanner.core.errors import one_line
from scanner.core.records import Record

SESSION_KEYS = ("session_id", "thread_id", "conversation_id")
USER_KEYS = ("user_id", "user", "userId", "user_email")


def _decoded(value: Any) -> Any:
    """The bulk export stores nested objects as JSON strings."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class LangsmithConnector(JsonlConnector):
    name = "langsmith"
    extensions = JsonlConnector.extensions + (".parquet",)
    description = "LangSmith runs: exports (JSON, JSON Lines, Parquet bulk export), /runs/query responses"
    default_kind = "trace_log"
    picks_bare_paths = False
    pages = (("runs", "cursors"),)  # POST /runs/query

    def candidates(self, report: ReadReport) -> Iterator[Candidate]:
        fs, files = list_files(self.uri, self.source, self.extensions)
        files = self.in_shard(files)
        report.stats.update(files=len(files), bytes=sum(f.size for f in files))
        json_files = [f for f in files if not f.relpath.endswith(".parquet")]
        for file in files:
            if file in json_files:
                yield from self.stream_candidates(fs, file, report)
            else:
                yield from self._parquet_candidates(fs, file)

    def rewrite_file(self, path: Path, drop: set[int], ids: IdChecks, edits: Edits | None = None) -> Rewrite:
        if path.suffix == ".parquet":
            return rewrite_parquet(path, drop, ids, edits)
        return super().rewrite_file(path, drop, ids, edits)

    def _parquet_candidates(self, fs, file: SourceFile) -> Iterator[Candidate]:
        try:
            parquet = pq.ParquetFile(fs.open_input_file(file.path))
            row = 0
            for batch in parquet.iter_batches(batch_size=1024):
                for value in in_microseconds(pa.Table.from_batches([batch])).to_pylist():
                    yield Candidate(file.relpath, row, lambda value=value, row=row:
                                    self.build_record(file, row, value, None))
                    row += 1
        except (OSError, pa.ArrowException) as exc:
            raise self.fail(f"{file.relpath}: not a Parquet file or corrupt: {one_line(exc)}") from None

    def build_record(self, file: SourceFile, row: int, value, line: int | None) -> Record:
        if not isinstance(value, dict):
            raise RecordUnreadable("not_object", f"not a JSON object but {type(value).__name__}")
        extra = _decoded(value.get("extra")) or {}
        metadata = (extra.get("metadata") if isinstance(extra, dict) else None) or {}
        texts = SpanTexts()
        for key in ("inputs", "outputs"):
            content = _decoded(value.get(key))
            if content not in (None, "", {}, []):
                texts.add_content(key, content)
        texts.add_attributes("", {"error": value.get("error"), "name": value.get("name")})
        texts.add_attributes("extra.metadata.", metadata if isinstance(metadata, dict) else {})
        session = next((metadata[k] for k in SESSION_KEYS if metadata.get(k)), None)
        user = next((metadata[k] for k in USER_KEYS if metadata.get(k)), None)
        record_id = str(value.get("id") or f"{file.relpath}#{row + 1}")
        attributes = {"user": user, "session": session, "trace": value.get("trace_id"),
                      "project": value.get("session_name") or value.get("project_name")}
        id_fields = frozenset(f"extra.metadata.{k}" for k in (*SESSION_KEYS, *USER_KEYS) if metadata.get(k))
        return trace_record(self, file, row, line, record_id, texts, parse_timestamp(value.get("start_time")),
                            {k: str(v) for k, v in attributes.items() if v},
                            {"id": value.get("id"), "trace_id": value.get("trace_id")}, id_fields)
