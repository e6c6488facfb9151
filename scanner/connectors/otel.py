"""OpenTelemetry spans and log records as Records: ids, times, attributes and the texts of the
GenAI, OpenInference, MLflow, Traceloop and Langfuse conventions, old and new, mixed."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from scanner.core.fields import parse_timestamp, string_leaves
from scanner.core.records import Record

# Attributes that hold prompts, completions, messages, documents or tool payloads.
CONTENT_KEY = re.compile(r"""^(?:
    gen_ai\.(?:input|output)\.messages | gen_ai\.system_instructions
  | gen_ai\.tool\.call\.(?:arguments|result)
  | gen_ai\.(?:prompt|completion)(?:\.\d+\.content)?
  | input\.value | output\.value
  | llm\.(?:input|output)_messages\.\d+\.message\.(?:content|contents\.\d+\.message_content\.text
                                                   |tool_calls\.\d+\.tool_call\.function\.arguments)
  | llm\.prompts(?:\.\d+)? | llm\.prompt_template\.variables
  | retrieval\.documents\.\d+\.document\.content
  | reranker\.(?:input|output)_documents\.\d+\.document\.content
  | embedding\.embeddings\.\d+\.embedding\.text
  | mlflow\.span(?:Inputs|Outputs)
  | traceloop\.entity\.(?:input|output)
  | langfuse\.(?:trace|observation)\.(?:input|output)
)$""", re.X)
# Log events whose body is a message (the GenAI event conventions).
CONTENT_EVENT = re.compile(r"^gen_ai\.(?:system|user|assistant|tool)\.message$|^gen_ai\.choice$")
# Attributes that describe the call, not what was said: never scanned.
STRUCTURAL_KEY = re.compile(r"""^(?:
    gen_ai\.(?:request|response|usage|token|operation|system|provider|output\.type|agent\.id)(?:\..*)?
  | gen_ai\.prompt\.\d+\.role | gen_ai\.completion\.\d+\.(?:role|finish_reason)
  | llm\.(?:model_name|provider|system|invocation_parameters|token_count)(?:\..*)?
  | openinference\.span\.kind | .*\.mime_type | .*\.message\.role
  | (?:telemetry|otel|code|thread|process|host|os|rpc|net|network)\..*
  | http\.(?:method|status_code|request\.method|response\.status_code|flavor)
  | db\.system | server\.port | service\.name
  | mlflow\.(?:spanType|spanFunctionName|traceRequestId|spanId|experimentId|chat\.tools)
)$""", re.X)
USER_KEYS = ("user.id", "enduser.id")
SESSION_KEYS = ("session.id", "gen_ai.conversation.id")
DEFAULT_TENANT_KEY = "tenant.id"
_HEX = re.compile(r"^(?:0x)?[0-9a-fA-F]+$")


def get(obj: dict, *names: str, default=None):
    """A field under its camelCase (proto3 JSON) or snake_case name."""
    for name in names:
        if name in obj:
            return obj[name]
    return default


def any_value(value: Any) -> Any:
    """An OTLP AnyValue as a Python value (strings, numbers, lists, dicts); bytes as None."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value or "string_value" in value:
        return get(value, "stringValue", "string_value")
    if "intValue" in value or "int_value" in value:
        raw = get(value, "intValue", "int_value")
        try:
            return int(raw)
        except (TypeError, ValueError):
            return raw
    if "doubleValue" in value or "double_value" in value:
        return get(value, "doubleValue", "double_value")
    if "boolValue" in value or "bool_value" in value:
        return get(value, "boolValue", "bool_value")
    if "arrayValue" in value or "array_value" in value:
        return [any_value(v) for v in (get(value, "arrayValue", "array_value") or {}).get("values", [])]
    if "kvlistValue" in value or "kvlist_value" in value:
        return key_values((get(value, "kvlistValue", "kvlist_value") or {}).get("values", []))
    return None  # bytesValue or an empty AnyValue: no text


def key_values(items: Iterable[dict] | None) -> dict[str, Any]:
    """OTLP `[{key, value: AnyValue}]` as a dict."""
    return {item.get("key"): any_value(item.get("value")) for item in items or [] if isinstance(item, dict)}


def normalize_id(value: Any, nbytes: int) -> str | None:
    """A trace or span id as lower-case hex, from hex (OTLP/JSON), 0x-hex (console) or base64 (proto JSON)."""
    if not isinstance(value, str) or not value:
        return None
    text = value[2:] if value.startswith("0x") else value
    if len(text) == nbytes * 2 and _HEX.match(text):
        return text.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return text.lower()
    return raw.hex() if len(raw) == nbytes else text.lower()


def nanos_to_datetime(value: Any) -> datetime | None:
    """`startTimeUnixNano` (a string or number of nanoseconds); 0 or missing is no time."""
    try:
        nanos = int(value)
    except (TypeError, ValueError):
        return parse_timestamp(value)
    if nanos <= 0:
        return None
    seconds, rest = divmod(nanos, 1_000_000_000)  # integer arithmetic: floats lose microseconds here
    return datetime.fromtimestamp(seconds, tz=timezone.utc) + timedelta(microseconds=rest // 1000)


def _leaves(path: str, value: Any, parse_json: bool) -> list[tuple[str, str]]:
    """Texts under one attribute value; a JSON string in a content attribute is walked inside."""
    if isinstance(value, str) and parse_json:
        stripped = value.strip()
        if stripped[:1] in ("{", "[", '"'):
            try:
                value = json.loads(stripped)
            except ValueError:
                pass
    return list(string_leaves(value, path))


class SpanTexts:
    """Collects a span's texts, and whether any of them is captured content."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.has_content = False

    def add_attributes(self, prefix: str, attributes: dict[str, Any]) -> None:
        for key, value in attributes.items():
            if not isinstance(key, str) or STRUCTURAL_KEY.match(key):
                continue
            content = bool(CONTENT_KEY.match(key))
            found = _leaves(f"{prefix}{key}", value, parse_json=content)
            if found and content:
                self.has_content = True
            self.texts.update(found)

    def add_content(self, path: str, value: Any) -> None:
        found = _leaves(path, value, parse_json=True)
        if found:
            self.has_content = True
        self.texts.update(found)


def identity_attributes(span_attrs: dict, resource_attrs: dict, tenant_key: str) -> dict[str, str]:
    """service, user, session and tenant for retention rules and holds: span first, then resource."""
    def first(keys) -> str | None:
        for attrs in (span_attrs, resource_attrs):
            for key in keys:
                value = attrs.get(key)
                if value not in (None, ""):
                    return str(value)
        return None

    found = {"service": first(("service.name",)), "user": first(USER_KEYS), "session": first(SESSION_KEYS),
             "tenant": first((tenant_key,))}
    return {k: v for k, v in found.items() if v is not None}


def identifier_paths(span_attrs: dict, tenant_key: str) -> frozenset[str]:
    return frozenset(k for k in (*USER_KEYS, *SESSION_KEYS, tenant_key) if k in span_attrs)


def event_prefix(name: str, seen: dict[str, int]) -> str:
    """`gen_ai.content.prompt[0].` — the n-th event of that name in the span."""
    n = seen.get(name, 0)
    seen[name] = n + 1
    return f"{name}[{n}]."



def trace_record(connector, file, row: int, line: int | None, record_id: str, texts: SpanTexts, timestamp,
                 attributes: dict[str, str], ids: dict[str, Any], id_fields: frozenset[str]) -> Record:
    """A trace-log Record; `ids` (trace, span, run ids) go into the locator, for apply to find it again."""
    locator = {"file": file.relpath, "record": row + 1, "size": file.size, "mtime_ns": file.mtime_ns,
               **{k: v for k, v in ids.items() if v}}
    if line is not None:
        locator["line"] = line
    return Record(source=connector.source, kind=connector.kind, record_id=record_id, locator=locator,
                  texts=texts.texts, timestamp=timestamp, attributes={k: v for k, v in attributes.items() if v},
                  id_fields=id_fields, has_content=texts.has_content)
