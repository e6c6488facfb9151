"""Langfuse traces and observations: exports (a JSON array or JSON Lines), the UI's "Download trace" file
(`{"trace": {...}, "observations": [...]}`, one trace with its observations) and API list responses
(`{"data": [...], "meta": {...}}`)."""

from __future__ import annotations

from scanner.connectors.base import RecordUnreadable
from scanner.connectors.files import SourceFile
from scanner.connectors.jsonl import JsonlConnector
from scanner.connectors.otel import SpanTexts, trace_record
from scanner.core.fields import parse_timestamp
from scanner.core.records import Record

CONTENT_FIELDS = ("input", "output")
OTHER_TEXT_FIELDS = ("metadata", "name", "statusMessage")


class LangfuseConnector(JsonlConnector):
    name = "langfuse"
    description = "Langfuse traces and observations: exports, trace downloads, API responses"
    default_kind = "trace_log"
    picks_bare_paths = False
    pages = (("data", "meta"),)  # GET /api/public/traces, /api/public/v2/observations

    def unwrapped(self, value):
        """A trace download (`{"trace": ..., "observations": [...]}`) is its trace, observations expanded."""
        if isinstance(value, dict) and isinstance(value.get("trace"), dict) and "id" not in value:
            return {**value["trace"], "observations": value.get("observations") or []}
        return value

    def build_record(self, file: SourceFile, row: int, value, line: int) -> Record:
        if not isinstance(value, dict):
            raise RecordUnreadable("not_object", f"not a JSON object but {type(value).__name__}")
        value = self.unwrapped(value)
        texts = SpanTexts()
        _add(texts, value, "")
        for i, observation in enumerate(value.get("observations") or []):
            if isinstance(observation, dict):  # traces exported with their observations expanded
                _add(texts, observation, f"observations[{i}].")
        record_id = str(value.get("id") or f"{file.relpath}#{row + 1}")
        attributes = {"user": value.get("userId"), "session": value.get("sessionId"), "trace": value.get("traceId")}
        ids = {"id": value.get("id"), "trace_id": value.get("traceId")}
        id_fields = frozenset(k for k in ("userId", "sessionId") if value.get(k))
        for key in id_fields:
            texts.texts[key] = str(value[key])
        return trace_record(self, file, row, line, record_id, texts,
                            parse_timestamp(value.get("timestamp") or value.get("startTime")),
                            {k: str(v) for k, v in attributes.items() if v}, ids, id_fields)


def _add(texts: SpanTexts, obj: dict, prefix: str) -> None:
    for key in CONTENT_FIELDS:
        if obj.get(key) not in (None, "", [], {}):
            texts.add_content(prefix + key, obj[key])
    texts.add_attributes(prefix, {k: obj[k] for k in OTHER_TEXT_FIELDS if k in obj})
