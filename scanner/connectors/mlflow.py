"""MLflow traces: `Trace.to_json()` documents (MLflow 3, and MLflow 2's request_id form), one per file, in
a JSON array or JSON Lines, and the file store's traces (`<experiment>/traces/<trace_id>/`: the spans in
`artifacts/traces.json`, beside `trace_info.yaml`, `request_metadata/` and `tags/`). A record is a trace."""

from __future__ import annotations

import json
import os
import posixpath
import shutil
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import yaml

from scanner.connectors.base import RecordUnreadable
from scanner.connectors.files import SourceFile, filesystem
from scanner.connectors.jsonl import JsonlConnector
from scanner.connectors.otel import SpanTexts, trace_record
from scanner.core.fields import parse_timestamp
from scanner.core.errors import one_line
from scanner.core.records import Record

USER_KEY = "mlflow.trace.user"
SESSION_KEY = "mlflow.trace.session"
DELETING = ".dhscan-deleting"  # a trace folder renamed away, about to be removed
CONTENT_KEYS = ("mlflow.traceInputs", "mlflow.traceOutputs")  # the trace's request and response, as JSON


def _attribute_value(value: Any) -> Any:
    """MLflow stores every span attribute JSON-encoded (`"\\"LLM\\""`); decode it once."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class MlflowConnector(JsonlConnector):
    name = "mlflow"
    description = "MLflow 3 trace JSON (Trace.to_json, traces.json artifacts)"
    default_kind = "trace_log"
    picks_bare_paths = False

    def build_record(self, file: SourceFile, row: int, value, line: int) -> Record:
        if not isinstance(value, dict) or not ({"info", "data"} <= set(value) or "spans" in value):
            raise RecordUnreadable("not_mlflow_trace", "not an MLflow trace (no info and data, no spans)")
        if "info" not in value and (folder := trace_folder(file.path)) is not None:
            value = {**value, "info": self._stored_info(folder)}
        info = value.get("info") or {}
        spans = (value.get("data") or {}).get("spans") if "data" in value else value.get("spans")
        metadata = info.get("trace_metadata") or info.get("request_metadata") or {}
        texts = SpanTexts()
        for key in ("request_preview", "response_preview", "request", "response"):
            if info.get(key):
                texts.add_content(f"info.{key}", info[key])
        for key in CONTENT_KEYS:
            if metadata.get(key):
                texts.add_content(f"info.trace_metadata.{key}", metadata[key])
        id_fields = frozenset(f"info.trace_metadata.{k}" for k in (USER_KEY, SESSION_KEY) if metadata.get(k))
        for key in id_fields:
            texts.texts[key] = str(metadata[key.removeprefix("info.trace_metadata.")])
        for i, span in enumerate(spans or []):
            attributes = {k: _attribute_value(v) for k, v in (span.get("attributes") or {}).items()}
            texts.add_attributes(f"spans[{i}].", attributes)
            for j, event in enumerate(span.get("events") or []):
                texts.add_attributes(f"spans[{i}].events[{j}].", event.get("attributes") or {})
        trace_id = info.get("trace_id") or info.get("request_id") or _artifact_trace_id(file.relpath)
        timestamp = parse_timestamp(info.get("request_time") or info.get("timestamp_ms"))
        if timestamp is None and spans:
            timestamp = parse_timestamp((spans[0].get("start_time_unix_nano") or 0) // 1_000_000 or None)
        attributes = {"user": metadata.get(USER_KEY), "session": metadata.get(SESSION_KEY),
                      "experiment": (info.get("trace_location") or {}).get("mlflow_experiment", {}).get("experiment_id")
                      or info.get("experiment_id")}
        record_id = str(trace_id or f"{file.relpath}#{row + 1}")
        return trace_record(self, file, row, line, record_id, texts, timestamp,
                            {k: str(v) for k, v in attributes.items() if v}, {"trace_id": trace_id}, id_fields)

    def _stored_info(self, folder: str) -> dict:
        """A file-store trace's trace_info.yaml, with its request_metadata files as `trace_metadata`."""
        fs, _ = filesystem(self.uri)
        try:
            with fs.open_input_stream(f"{folder}/trace_info.yaml") as stream:
                info = yaml.safe_load(stream.read()) or {}
            metadata = {}
            for entry in fs.get_file_info(pafs.FileSelector(f"{folder}/request_metadata", allow_not_found=True)):
                if entry.type == pafs.FileType.File:
                    with fs.open_input_stream(entry.path) as stream:
                        metadata[posixpath.basename(entry.path)] = stream.read().decode("utf-8", "replace")
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise RecordUnreadable("unreadable_trace_info", f"trace_info.yaml or request_metadata: {one_line(exc)}")
        return {**(info if isinstance(info, dict) else {}), "trace_metadata": metadata}

    def deletable_files(self):
        """The files apply may rewrite; trace folders a killed apply renamed away but did not remove yet are
        removed first (they still hold the trace)."""
        fs, files = super().deletable_files()
        if isinstance(fs, pafs.LocalFileSystem):
            root = Path(self.uri.path).expanduser()
            for doomed in (root.rglob(f".*{DELETING}") if root.is_dir() else []):
                shutil.rmtree(doomed, ignore_errors=True)
        return fs, files

    def copy_to(self, folder: Path) -> str:
        fs, files = self.deletable_files()
        stored = next((f for f in files if trace_folder(f.path) is not None), None)
        if stored is not None:
            raise self.fail(f"{stored.relpath.split('/')[0]}: an MLflow file-store trace cannot be redacted (its "
                            "trace_info.yaml and request_metadata keep the same text): redact an export of the traces")
        return super().copy_to(folder)

    def rewrite_file(self, path: Path, drop: set[int], ids, edits=None):
        """As JSON's; a file-store trace is never redacted: its trace_info.yaml, request_metadata and tags hold
        its inputs and outputs too, which a rewrite of its spans would leave (delete it instead)."""
        if edits and trace_folder(str(path)) is not None:
            raise self.fail(f"{posixpath.basename(trace_folder(str(path)))}: an MLflow file-store trace cannot be "
                            "redacted (its trace_info.yaml and request_metadata keep the same text): delete it, or "
                            "redact an export of it")
        return super().rewrite_file(path, drop, ids, edits)

    def after_rewrite(self, fs, rewritten: dict[str, int], changed: list[str]) -> list[dict]:
        """A file-store trace whose spans were deleted goes whole: its trace_info.yaml, request_metadata
        and tags hold its inputs, outputs and user too. Its folder is renamed away first, then removed,
        so MLflow sees the trace whole or not at all."""
        events = []
        for path in changed:
            folder = trace_folder(path)
            if folder is None or not isinstance(fs, pafs.LocalFileSystem) or not Path(folder).is_dir():
                continue
            doomed = Path(folder).with_name(f".{Path(folder).name}{DELETING}")
            os.replace(folder, doomed)
            shutil.rmtree(doomed)
            events.append({"event": "mlflow_trace_removed", "source": self.source,
                           "trace_folder": posixpath.basename(folder)})
        return events + super().after_rewrite(fs, rewritten, changed)


def trace_folder(path: str) -> str | None:
    """The file-store trace folder of `<trace_id>/artifacts/traces.json`, if it is one (trace_info.yaml beside)."""
    artifacts = posixpath.dirname(path)
    if posixpath.basename(path) != "traces.json" or posixpath.basename(artifacts) != "artifacts":
        return None
    folder = posixpath.dirname(artifacts)
    return folder if os.path.isfile(f"{folder}/trace_info.yaml") else None  # a local file store


def _artifact_trace_id(relpath: str) -> str | None:
    """`<trace_id>/artifacts/traces.json` in MLflow's artifact store names its trace by folder."""
    parts = relpath.split("/")
    if len(parts) >= 3 and parts[-2] == "artifacts" and posixpath.basename(relpath) == "traces.json":
        return parts[-3]
    return None
