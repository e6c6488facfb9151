"""MLflow trace exports: `Trace.to_json()` documents (MLflow 3, and MLflow 2's request_id form),
one per file, in a JSON array or JSON Lines, and the `traces.json` span artifacts. A record is a trace."""

from __future__ import annotations

import json
import posixpath
from typing import Any

from scanner.connectors.base import RecordUnreadable
from scanner.connectors.files import SourceFile
from scanner.connectors.jsonl import JsonlConnector
from scanner.connectors.otel import SpanTexts, trace_record
from scanner.core.fields import parse_timestamp
from scanner.core.records import Record

USER_KEY = "mlflow.trace.user"
SESSION_KEY = "mlflow.trace.session"


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
        info = value.get("info") or {}
        spans = (value.get("data") or {}).get("spans") if "data" in value else value.get("spans")
        metadata = info.get("trace_metadata") or info.get("request_metadata") or {}
        texts = SpanTexts()
        for key in ("request_preview", "response_preview", "request", "response"):
            if info.get(key):
                texts.add_content(f"info.{key}", info[key])
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
                            {k: str(v) for k, v in attributes.items() if v}, {"trace_id": trace_id}, frozenset())


def _artifact_trace_id(relpath: str) -> str | None:
    """`<trace_id>/artifacts/traces.json` in MLflow's artifact store names its trace by folder."""
    parts = relpath.split("/")
    if len(parts) >= 3 and parts[-2] == "artifacts" and posixpath.basename(relpath) == "traces.json":
        return parts[-3]
    return None
