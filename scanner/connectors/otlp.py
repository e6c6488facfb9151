"""OTLP/JSON exports: the SDK's and the Collector's file exporters (one request per line, or one
document; .gz), OTLP logs files, and the console exporter's pretty-printed spans.

A record is one span (`<traceId>:<spanId>`) or one log record.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator

from scanner.connectors.base import REWRITES_FILES, Candidate, FileConnector, ReadReport
from scanner.connectors.files import S3_OPTIONS, SourceFile
from scanner.connectors.jsonvalues import (BadValue, WholeFileError, json_values, json_values_raw, max_record_bytes,
                                          read_past)
from scanner.connectors.replacing import Edits
from scanner.connectors.rewriting import IdChecks, Rewrite, Sink, StaleFile, rewrite_text
from scanner.connectors.otel import (DEFAULT_TENANT_KEY, SpanTexts, any_value, event_prefix, get,
                                     identifier_paths, identity_attributes, key_values, nanos_to_datetime,
                                     normalize_id, trace_record)
from scanner.core.fields import parse_timestamp
from scanner.core.records import Record
from scanner.core.uri import SourceURI

Builder = Callable[[SourceFile, int, int], Record]
# (request keys, scope keys, record keys) of a spans request and of a logs request: each name in
# proto3 JSON (camelCase), the Python SDK's form (snake_case) and the pre-1.0 form
SPANS = (("resourceSpans", "resource_spans"), ("scopeSpans", "scope_spans", "instrumentationLibrarySpans"),
         ("spans",))
LOGS = (("resourceLogs", "resource_logs"), ("scopeLogs", "scope_logs", "instrumentationLibraryLogs"),
        ("logRecords", "log_records"))


def signal_of(request: dict) -> tuple | None:
    """SPANS or LOGS: what the request carries (a request carries one signal), or None."""
    return next((signal for signal in (SPANS, LOGS) if any(key in request for key in signal[0])), None)


def _key(obj: dict, names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in obj), None)  # the name `get` reads


def signal_items(request: dict, signal: tuple) -> Iterator[tuple[dict, dict, dict]]:
    """(resource entry, scope entry, span or log record) of a request, in the order records are numbered:
    the one walk both the reader and the rewriter take."""
    tops, scopes, items = signal
    for resource_entry in get(request, *tops) or []:
        for scope in get(resource_entry, *scopes) or []:
            for item in get(scope, *items) or []:
                yield resource_entry, scope, item


def without_items(request: dict, signal: tuple, dropped: set[int]) -> dict | None:
    """The request without the records whose id() is in `dropped`, and without the scopes and resources
    left empty; None when nothing is left."""
    tops, scopes, items = signal
    top = _key(request, tops)
    kept_resources = []
    for resource_entry in request.get(top) or []:
        scope_key = _key(resource_entry, scopes)
        kept_scopes = []
        for scope in resource_entry.get(scope_key) or [] if scope_key else []:
            item_key = _key(scope, items)
            kept = [i for i in scope.get(item_key) or [] if id(i) not in dropped] if item_key else []
            if kept:
                kept_scopes.append({**scope, item_key: kept})
        if kept_scopes:
            kept_resources.append({**resource_entry, scope_key: kept_scopes})
    return {**request, top: kept_resources} if kept_resources else None


class OtlpConnector(FileConnector):
    name = "otlp"
    extensions = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson")
    options = S3_OPTIONS | {"tenant"}
    description = "OpenTelemetry OTLP/JSON trace and log exports, and console-exporter spans"

    default_kind = "trace_log"
    picks_bare_paths = False
    deletes = REWRITES_FILES
    redacts = REWRITES_FILES

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

    def rewrite_file(self, path: Path, drop: set[int], ids: IdChecks, edits: Edits | None = None) -> Rewrite:
        """Records numbered across the file as `file_candidates` numbers them; a line losing (or, with
        `edits`, changing) some of its spans or log records is written again, every other line is kept."""
        limit = max_record_bytes()
        edits = edits or {}

        def copy(stream, sink: Sink) -> set[int]:
            removed: set[int] = set()
            number, elements, array = 0, [], False

            def keep(value, raw: bytes | None) -> None:
                if raw is None:  # an element of a top-level array: the array is written again
                    elements.append(value)
                else:
                    sink.write(raw + b"\n")

            for _, value, raw in json_values_raw(stream):
                array = array or raw is None
                if read_past(raw, limit):  # the reader skips it unnumbered
                    keep(value, raw)
                    continue
                if isinstance(value, list):
                    raise StaleFile("a line holding a JSON array of requests cannot be rewritten")
                signal = signal_of(value) if isinstance(value, dict) else None
                if signal is None:
                    console_span = isinstance(value, dict) and isinstance(value.get("context"), dict) \
                        and "trace_id" in value["context"]
                    number += console_span
                    if console_span and number in drop:
                        removed.add(number)
                    elif console_span and number in edits:
                        removed.add(number)
                        value = edits[number](value)
                        keep(value, None if raw is None else _compact(value))
                    else:
                        keep(value, raw)
                    continue
                dropped, edited = set(), False
                for _, _, item in signal_items(value, signal):
                    number += 1
                    if number in drop:
                        removed.add(number)
                        dropped.add(id(item))
                    elif number in edits:
                        removed.add(number)
                        new = edits[number](item)
                        item.clear()
                        item.update(new)  # in place: the request around it is written again as it was
                        edited = True
                if not dropped:
                    keep(value, raw if not edited or raw is None else _compact(value))
                elif (kept := without_items(value, signal, dropped)) is not None:
                    keep(kept, None if raw is None else _compact(kept))
            if array:
                sink.write(json.dumps(elements, indent=2).encode() + b"\n")
            return removed

        return rewrite_text(path, drop, copy, edits)

    def _builders(self, value: Any, report: ReadReport, where: str) -> Iterator[Builder]:
        if isinstance(value, list):
            for item in value:
                yield from self._builders(item, report, where)
            return
        if not isinstance(value, dict):
            report.skip(where, "not_otlp", f"a JSON {type(value).__name__}, not an OTLP request or span")
            return
        signal = signal_of(value)
        if signal is not None:
            build = self._span if signal is SPANS else self._log
            resources: dict[int, dict] = {}
            for resource_entry, _, item in signal_items(value, signal):
                if id(resource_entry) not in resources:
                    resources[id(resource_entry)] = key_values((get(resource_entry, "resource") or {}).get("attributes"))
                yield partial(build, resources[id(resource_entry)], item)
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


def _compact(value) -> bytes:
    """A request written again as the OTLP file exporter writes one: compact, one line."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
