"""OTLP/JSON exports: the SDK's and the Collector's file exporters (one request per line, or one
document; .gz), OTLP logs files, and the console exporter's pretty-printed spans.

A record is one span (`<traceId>:<spanId>`) or one log record.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Iterator

from scanner.connectors.base import Candidate, FileConnector, ReadReport
from scanner.connectors.files import S3_OPTIONS, SourceFile
from scanner.connectors.jsonvalues import BadValue, WholeFileError, json_values
from scanner.connectors.otel import (DEFAULT_TENANT_KEY, SpanTexts, any_value, event_prefix, get,
                                     identifier_paths, identity_attributes, key_values, nanos_to_datetime,
                                     normalize_id, trace_record)
from scanner.core.fields import parse_timestamp
from scanner.core.records import Record
from scanner.core.uri import SourceURI

Builder = Callable[[SourceFile, int, int], Record]


class OtlpConnector(FileConnector):
    name = "otlp"
    extensions = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson")
    options = S3_OPTIONS | {"tenant"}
    description = "OpenTelemetry OTLP/JSON trace and log exports, and console-exporter spans"

    default_kind = "trace_log"
    picks_bare_paths = False

    def __init__(self, uri: SourceURI):
        super().__init__(uri)
        self.tenant_key = uri.options.get("tenant") or DEFAULT_TENANT_KEY

    def file_candidates(self, stream, file: SourceFile, report: ReadReport) -> Iterator[Candidate]:
        row = 0
        try:
            for line, value in json_values(stream):
                if isinstance(value, BadValue):
                    # The spans inside are unknown: reported now, whether or not the sample would take them.
                    report.skip(f"{file.relpath}:{line}", value.category, value.problem)
                    continue
                builders = list(self._builders(value, report, f"{file.relpath}:{line}"))
                for build in builders:
                    yield Candidate(file.relpath, row, lambda build=build, row=row, line=line: build(file, row, line),
                                    line=line)
                    row += 1
        except WholeFileError as exc:
            raise self.fail(f"{file.relpath}: not valid JSON: {exc}") from None

    def _builders(self, value: Any, report: ReadReport, where: str) -> Iterator[Builder]:
        if isinstance(value, list):
            for item in value:
                yield from self._builders(item, report, where)
            return
        if not isinstance(value, dict):
            report.skip(where, "not_otlp", f"a JSON {type(value).__name__}, not an OTLP request or span")
            return
        if "resourceSpans" in value or "resource_spans" in value:
            for resource_spans in get(value, "resourceSpans", "resource_spans") or []:
                resource = key_values((get(resource_spans, "resource") or {}).get("attributes"))
                for scope in get(resource_spans, "scopeSpans", "scope_spans", "instrumentationLibrarySpans") or []:
                    for span in scope.get("spans") or []:
                        yield partial(self._span, resource, span)
        elif "resourceLogs" in value or "resource_logs" in value:
            for resource_logs in get(value, "resourceLogs", "resource_logs") or []:
                resource = key_values((get(resource_logs, "resource") or {}).get("attributes"))
                for scope in get(resource_logs, "scopeLogs", "scope_logs", "instrumentationLibraryLogs") or []:
                    for log in get(scope, "logRecords", "log_records") or []:
                        yield partial(self._log, resource, log)
        elif "resourceMetrics" in value or "resource_metrics" in value:
            report.stats["metrics_requests_ignored"] = report.stats.get("metrics_requests_ignored", 0) + 1
        elif isinstance(value.get("context"), dict) and "trace_id" in value["context"]:
            yield partial(self._console_span, value)
        else:
            report.skip(where, "not_otlp", "no resourceSpans, resourceLogs or console span in it")

    def _record(self, file: SourceFile, row: int, line: int, record_id: str, texts: SpanTexts, timestamp,
                attributes: dict, resource: dict, ids: dict) -> Record:
        return trace_record(self, file, row, line, record_id, texts, timestamp,
                            identity_attributes(attributes, resource, self.tenant_key), ids,
                            identifier_paths(attributes, self.tenant_key))

    def _span(self, resource: dict, span: dict, file: SourceFile, row: int, line: int) -> Record:
        trace_id = normalize_id(get(span, "traceId", "trace_id"), 16)
        span_id = normalize_id(get(span, "spanId", "span_id"), 8)
        attributes = key_values(span.get("attributes"))
        texts = SpanTexts()
        texts.add_attributes("", attributes)
        seen: dict[str, int] = {}
        for event in span.get("events") or []:
            texts.add_attributes(event_prefix(str(event.get("name")), seen), key_values(event.get("attributes")))
        return self._record(file, row, line, f"{trace_id}:{span_id}", texts,
                            nanos_to_datetime(get(span, "startTimeUnixNano", "start_time_unix_nano")),
                            attributes, resource, {"trace_id": trace_id, "span_id": span_id})

    def _log(self, resource: dict, log: dict, file: SourceFile, row: int, line: int) -> Record:
        trace_id = normalize_id(get(log, "traceId", "trace_id"), 16)
        span_id = normalize_id(get(log, "spanId", "span_id"), 8)
        attributes = key_values(log.get("attributes"))
        event_name = get(log, "eventName", "event_name") or attributes.pop("event.name", None)
        texts = SpanTexts()
        texts.add_attributes("", attributes)
        body = any_value(log.get("body"))
        if body not in (None, ""):
            texts.add_content("body", body)
        # timeUnixNano is optional in OTLP; the collector always sets observedTimeUnixNano
        timestamp = (nanos_to_datetime(get(log, "timeUnixNano", "time_unix_nano"))
                     or nanos_to_datetime(get(log, "observedTimeUnixNano", "observed_time_unix_nano")))
        record_id = f"{trace_id}:{span_id}:{row + 1}" if trace_id and span_id else f"{file.relpath}#{row + 1}"
        ids = {"trace_id": trace_id, "span_id": span_id, "event_name": event_name}
        return self._record(file, row, line, record_id, texts, timestamp, attributes, resource, ids)

    def _console_span(self, span: dict, file: SourceFile, row: int, line: int) -> Record:
        context = span["context"]
        trace_id = normalize_id(context.get("trace_id"), 16)
        span_id = normalize_id(context.get("span_id"), 8)
        attributes = span.get("attributes") or {}
        texts = SpanTexts()
        texts.add_attributes("", attributes)
        seen: dict[str, int] = {}
        for event in span.get("events") or []:
            texts.add_attributes(event_prefix(str(event.get("name")), seen), event.get("attributes") or {})
        resource = (span.get("resource") or {}).get("attributes") or {}
        return self._record(file, row, line, f"{trace_id}:{span_id}", texts, parse_timestamp(span.get("start_time")),
                            attributes, resource, {"trace_id": trace_id, "span_id": span_id})
