"""Trace-log connectors: OTLP (spans, logs, console), Langfuse, LangSmith and MLflow exports."""

import json
from datetime import datetime

import pytest

from conftest import TEST_KEY, expected_identifiers, identifier_keys, read_jsonl, run_cli
from detectors.normalize import digest
from fixtures.traces import generate_traces
from scanner.connectors import open_source
from scanner.connectors.base import ReadReport
from scanner.core.errors import EXIT_OK
from scanner.core.sampling import SamplePlan

SCHEMES = {"traces": "otlp", "genai_events": "otlp", "console_spans": "otlp", "langfuse_traces": "langfuse",
           "langfuse_observations": "langfuse", "langsmith_runs": "langsmith", "langsmith_bulk": "langsmith",
           "mlflow_traces": "mlflow", "langfuse_downloads": "langfuse", "langfuse_api_traces": "langfuse",
           "langsmith_query": "langsmith", "mlflow_store": "mlflow"}


@pytest.fixture(scope="module")
def trace_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("traces")
    paths = generate_traces(root, spans=60, seed=7)
    return root, {name: f"{SCHEMES[name]}:{path}" for name, path in paths.items()}


@pytest.fixture(scope="module")
def trace_scan(trace_data, tmp_path_factory):
    import os

    root, uris = trace_data
    out = tmp_path_factory.mktemp("trace-scan")
    os.environ["DHSCAN_KEY"] = TEST_KEY
    result = run_cli("scan", *uris.values(), "--full", "--out", out)
    return result, out


def test_every_planted_identifier_is_found_at_its_field_path(trace_data, trace_scan):
    root, _ = trace_data
    result, out = trace_scan
    assert result.exit_code == EXIT_OK, result.output
    truth = read_jsonl(root / "ground_truth.jsonl")
    expected = expected_identifiers(truth)
    assert {e[0] for e in expected} == set(SCHEMES)
    assert identifier_keys(read_jsonl(out / "findings.jsonl")) == expected


def test_names_are_found_in_trace_content(trace_data, trace_scan):
    root, _ = trace_data
    _, out = trace_scan
    planted = {(t["source"], t["record_id"], t["field"], digest(TEST_KEY.encode(), "PERSON", t["value"]))
               for t in read_jsonl(root / "ground_truth.jsonl") if t["entity_type"] == "PERSON"}
    found = {(f["source"], f["record_id"], f["field"], f["digest"])
             for f in read_jsonl(out / "findings.jsonl") if f["entity_type"] == "PERSON"}
    assert len(found & planted) / len(planted) >= 0.7  # few names here; the small model misses some


def test_old_and_new_genai_conventions_in_one_file(trace_scan):
    _, out = trace_scan
    fields = {f["field"] for f in read_jsonl(out / "findings.jsonl") if f["source"] == "traces"}
    for path in ("gen_ai.input.messages[1].parts[0].content",  # current, a JSON string
                 "gen_ai.input.messages[0].parts[0].content",  # current, a structured kvlist (Collector)
                 "gen_ai.content.prompt[0].gen_ai.prompt",  # older span events
                 "gen_ai.prompt.0.content",  # flat attributes
                 "gen_ai.client.inference.operation.details[0].gen_ai.input.messages[0].parts[0].content",
                 "input.value.messages[0].content",  # OpenInference, JSON inside the string
                 "llm.input_messages.0.message.content"):
        assert path in fields, path


def test_record_ids_timestamps_and_attributes_are_exact(trace_data):
    root, uris = trace_data
    expected = {(r["source"], r["record_id"]): r for r in read_jsonl(root / "records.jsonl")}
    seen = set()
    for name, uri in uris.items():
        for record in open_source(uri).records(SamplePlan("full"), ReadReport()):
            want = expected[(name, record.record_id)]
            assert record.kind == "trace_log"
            assert record.timestamp == datetime.fromisoformat(want["timestamp"]), (name, record.record_id)
            assert record.attributes == want["attributes"], (name, record.record_id)
            assert record.has_content == want["has_content"], (name, record.record_id)
            seen.add((name, record.record_id))
    assert seen == set(expected)


def test_spans_without_content_are_counted_not_clean(trace_scan):
    result, out = trace_scan
    source = json.loads((out / "summary.json").read_text())["sources"]["traces"]
    assert source["records_no_content"] == 10  # every sixth SDK span was recorded with content capture off
    assert "10 of the scanned records carry no content" in result.output


def test_a_file_of_spans_without_content(tmp_path):
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    path = tmp_path / "silent.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(str(path))))
    tracer = provider.get_tracer("t")
    for _ in range(12):
        with tracer.start_as_current_span("chat gpt-4o") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", "gpt-4o")
            span.set_attribute("gen_ai.usage.output_tokens", 17)
    provider.shutdown()
    result = run_cli("scan", f"otlp:{path}", "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK
    source = json.loads((tmp_path / "out" / "summary.json").read_text())["sources"]["silent"]
    assert source["records_sampled"] == 12 and source["records_no_content"] == 12 and source["findings"] == 0
    assert "12 of the scanned records carry no content" in result.output


def test_no_planted_value_in_any_output(trace_data, trace_scan):
    root, _ = trace_data
    result, out = trace_scan
    texts = [p.read_text() for p in out.iterdir()] + [result.output]
    for planted in read_jsonl(root / "ground_truth.jsonl"):
        assert not any(planted["value"] in text for text in texts), planted["entity_type"]


def test_malformed_otlp_line_is_reported_skipped_counted(trace_data, tmp_path):
    root, _ = trace_data
    good = (root / "traces.jsonl").read_text().splitlines()
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(good[:2] + ['{"resourceSpans": [ {"oops"'] + good[2:4] + ['"just a string"']) + "\n")
    result = run_cli("scan", f"otlp:{path}", "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK
    assert "broken.jsonl:3: not JSON" in result.output
    source = json.loads((tmp_path / "out" / "summary.json").read_text())["sources"]["broken"]
    assert source["skipped_reasons"] == {"not_json": 1, "not_otlp": 1}
    assert source["records_sampled"] == 16  # four SDK requests of four spans each


def test_tenant_key_is_configurable(trace_data):
    _, uris = trace_data
    records = list(open_source(uris["traces"] + "?tenant=service.name").records(SamplePlan("full"), ReadReport()))
    assert {r.attributes["tenant"] for r in records} == {"support-bot", "edge-proxy"}


def test_trace_sample_is_seeded(trace_data, tmp_path):
    _, uris = trace_data
    outputs = []
    for run in ("a", "b"):
        result = run_cli("scan", uris["traces"], "--sample", "20", "--seed", "9", "--out", tmp_path / run)
        assert result.exit_code == EXIT_OK
        outputs.append((tmp_path / run / "findings.jsonl").read_text())
    assert outputs[0] == outputs[1]
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())["sources"]["traces"]
    assert summary["records_total"] == 66 and summary["records_sampled"] == 20


def test_trace_formats_need_their_scheme(trace_data, tmp_path):
    root, _ = trace_data
    result = run_cli("scan", root / "traces.jsonl", "--sample", "5", "--out", tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())["sources"]["traces"]
    assert summary["connector"] == "jsonl"  # a bare .jsonl path is read as plain JSON Lines
    assert result.exit_code == EXIT_OK


def test_gzipped_exports_in_a_folder(trace_data, tmp_path):
    import gzip

    root, _ = trace_data
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "traces.jsonl.gz").write_bytes(gzip.compress((root / "traces.jsonl").read_bytes()))
    (folder / "genai_events.jsonl").write_bytes((root / "genai_events.jsonl").read_bytes())
    result = run_cli("scan", f"otlp:{folder}/?tenant=service.name", "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK
    source = json.loads((tmp_path / "out" / "summary.json").read_text())["sources"]["exports"]
    assert source["records_total"] == 66 + 31
    ids = {f["record_id"] for f in read_jsonl(tmp_path / "out" / "findings.jsonl")}
    truth = {t["record_id"] for t in read_jsonl(root / "ground_truth.jsonl")
             if t["source"] in ("traces", "genai_events") and t["entity_type"] == "EMAIL_ADDRESS"}
    assert truth and truth <= ids


def test_a_real_shaped_trace_export_without_personal_data_has_no_findings(tmp_path):
    """What real traces carry besides content: epoch seconds, model names with dates, providers, token
    counts, latencies, costs, a Luhn-failing 16-digit request number. None of it is personal."""
    prompts = ["Summarise the attached article in three bullet points.", "Translate the sentence into formal English.",
               "Write a unit test for the parser.", "Classify the sentiment of the review as positive or negative."]
    runs, observations = [], []
    for i, prompt in enumerate(prompts * 3):
        created = 1749650492 + 3600 * i
        runs.append({"id": f"00000000-0000-4000-b000-{i:012d}", "trace_id": f"00000000-0000-4000-b000-{i:012d}",
                     "name": "ChatOpenAI", "run_type": "llm", "start_time": "2025-06-11T14:01:32.123456",
                     "created_at": created, "inputs": {"messages": [{"type": "human", "content": prompt}]},
                     "outputs": {"generations": [{"text": "Done."}]}, "prompt_tokens": 182 + i,
                     "completion_tokens": 41, "total_tokens": 223 + i, "total_cost": 0.00031, "latency": 1.42,
                     "extra": {"metadata": {"ls_model_name": "gpt-4.1-2025-04-14", "ls_provider": "openai",
                                            "model_provider": "OpenAI", "ls_temperature": 0.2,
                                            "request_number": "4111111111111112"}}})
        observations.append({"id": f"obs-{i:04d}", "traceId": f"tr-{i:04d}", "type": "GENERATION",
                             "startTime": "2025-06-11T14:01:32.123Z", "model": "claude-3-5-sonnet-20241022",
                             "modelParameters": {"temperature": "0.2", "max_tokens": "1024"},
                             "input": json.dumps([{"role": "user", "content": prompt}]), "output": "Done.",
                             "usageDetails": {"input": 182, "output": 41, "total": 223}, "promptTokens": 182,
                             "completionTokens": 41, "latency": 1042, "timeToFirstToken": 0.31,
                             "metadata": {"model_provider": "OpenAI", "created": str(created)}})
    (tmp_path / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    (tmp_path / "observations.json").write_text(json.dumps({"data": observations, "meta": {"page": 1}}))
    result = run_cli("scan", f"langsmith:{tmp_path / 'runs.jsonl'}", f"langfuse:{tmp_path / 'observations.json'}",
                     "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert {name: s["records_sampled"] for name, s in summary["sources"].items()} == {"runs": 12, "observations": 12}
    assert [(f["source"], f["field"], f["entity_type"]) for f in read_jsonl(tmp_path / "out" / "findings.jsonl")] == []
