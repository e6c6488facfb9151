"""OTLP value decoding: every AnyValue type, id encodings, enum forms, snake_case keys."""

from scanner.connectors.otel import SpanTexts, any_value, key_values, nanos_to_datetime, normalize_id
from scanner.connectors.jsonvalues import BadValue, json_values
import io


def test_any_value_of_every_type():
    assert any_value({"stringValue": "a"}) == "a"
    assert any_value({"intValue": "42"}) == 42 and any_value({"int_value": 7}) == 7
    assert any_value({"doubleValue": 1.5}) == 1.5 and any_value({"boolValue": True}) is True
    assert any_value({"arrayValue": {"values": [{"stringValue": "x"}, {"intValue": "1"}]}}) == ["x", 1]
    assert any_value({"kvlistValue": {"values": [{"key": "k", "value": {"stringValue": "v"}}]}}) == {"k": "v"}
    assert any_value({"bytesValue": "aGVsbG8="}) is None and any_value({}) is None
    assert key_values([{"key": "a", "value": {"arrayValue": {}}}]) == {"a": []}


def test_ids_from_hex_base64_and_console():
    assert normalize_id("5B8EFFF798038103D269B633813FC60C", 16) == "5b8efff798038103d269b633813fc60c"
    assert normalize_id("W47/95gDgQPSabYzgT/GDA==", 16) == "5b8efff798038103d269b633813fc60c"
    assert normalize_id("0xeee19b7ec3c1b174", 8) == "eee19b7ec3c1b174"
    assert normalize_id("", 8) is None


def test_nanosecond_times():
    assert nanos_to_datetime("1767225600000000000").isoformat() == "2026-01-01T00:00:00+00:00"
    assert nanos_to_datetime("0") is None and nanos_to_datetime(None) is None
    assert nanos_to_datetime(1767225600123456789).isoformat() == "2026-01-01T00:00:00.123456+00:00"


def test_content_and_structural_attributes():
    texts = SpanTexts()
    texts.add_attributes("", {"gen_ai.request.model": "gpt-4o", "http.url": "https://x.test/?q=1",
                              "gen_ai.prompt": '[{"role": "user", "content": "hi"}]', "gen_ai.prompt.0.role": "user"})
    assert texts.texts == {"http.url": "https://x.test/?q=1", "gen_ai.prompt[0].role": "user",
                           "gen_ai.prompt[0].content": "hi"}
    assert texts.has_content
    plain = SpanTexts()
    plain.add_attributes("", {"http.url": "https://x.test/"})
    assert not plain.has_content


def test_json_values_reads_lines_documents_and_pretty_printed_objects():
    data = b'{"a": 1}\n\n{\n  "b": 2\n}\n{"c": broken\n{\n  "d": 4\n}\n[1]\n'
    values = list(json_values(io.BytesIO(data)))
    assert [(line, v) for line, v in values if not isinstance(v, BadValue)] == [
        (1, {"a": 1}), (3, {"b": 2}), (7, {"d": 4}), (10, [1])]
    assert [(line, v.category) for line, v in values if isinstance(v, BadValue)] == [(6, "not_json")]
    array = list(json_values(io.BytesIO(b'[{"x": 1}, {"y": 2}]')))
    assert [v for _, v in array] == [{"x": 1}, {"y": 2}]
