"""Bad input: a clear one-line error naming the source, a documented exit code, nothing lost."""

import json

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import read_jsonl, run_cli
from scanner.core.errors import EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("dhscan: error:")]


def summary(out):
    return json.loads((out / "summary.json").read_text())


def test_missing_file_fails_that_source_and_the_others_finish(demo_data, tmp_path):
    result = run_cli("scan", tmp_path / "nope.jsonl", demo_data / "qa_eval.csv", "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_SOURCE_FAILED
    [line] = error_lines(result.output)
    assert "'nope'" in line and "no such file or folder" in line
    s = summary(tmp_path / "out")
    assert s["sources"]["nope"]["status"] == "failed"
    assert s["sources"]["qa_eval"]["status"] == "ok" and s["sources"]["qa_eval"]["records_sampled"] == 120
    assert any(f["source"] == "qa_eval" for f in read_jsonl(tmp_path / "out" / "findings.jsonl"))
    assert (tmp_path / "out" / "evidence.json").exists()


def test_empty_file_is_a_failed_source(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    result = run_cli("scan", empty, "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_SOURCE_FAILED
    [line] = error_lines(result.output)
    assert "'empty'" in line and "empty file" in line


def test_header_only_csv_is_a_failed_source(tmp_path):
    data = tmp_path / "headers.csv"
    data.write_text("question,answer\n")
    result = run_cli("scan", data, "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_SOURCE_FAILED
    assert "no records" in error_lines(result.output)[0]


def test_truncated_and_corrupt_parquet_fail_cleanly(demo_data, tmp_path):
    whole = (demo_data / "chat_eval.parquet").read_bytes()
    (tmp_path / "truncated.parquet").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "garbage.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 8)
    result = run_cli("scan", tmp_path / "truncated.parquet", tmp_path / "garbage.parquet", demo_data / "qa_eval.csv",
                     "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_SOURCE_FAILED
    lines = error_lines(result.output)
    assert len(lines) == 2
    assert all("not a Parquet file or corrupt" in line for line in lines)
    assert summary(tmp_path / "out")["sources"]["qa_eval"]["status"] == "ok"


def test_corrupt_row_group_fails_the_source_with_its_file_name(tmp_path):
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"text": [f"row {i} mail a{i}@example.com" for i in range(400)]}), path,
                   row_group_size=100, compression="snappy")
    data = bytearray(path.read_bytes())
    meta = pq.ParquetFile(path).metadata
    column = meta.row_group(2).column(0)
    start = column.data_page_offset
    data[start + 8:start + 40] = b"\xff" * 32  # damage the page, keep the footer intact
    path.write_bytes(bytes(data))
    result = run_cli("scan", path, "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_SOURCE_FAILED
    [line] = error_lines(result.output)
    assert "rows.parquet" in line


def test_bad_jsonl_lines_are_reported_skipped_counted(tmp_path):
    data = tmp_path / "mixed.jsonl"
    data.write_bytes(b'{"id": "1", "q": "mail jo@example.com"}\n'
                     b'{"id": "2", "q": broken\n'
                     b'\n'
                     b'{"id": "3", "q": "caf\xe9 au lait"}\n'
                     b'[1, 2]\n'
                     b'{"id": "5", "q": "call 212-555-0147"}\n')
    result = run_cli("scan", data, "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK
    warnings = [line for line in result.output.splitlines() if line.startswith("dhscan: warning:")]
    assert any("mixed.jsonl:2: not JSON" in w for w in warnings)
    assert any("mixed.jsonl:4: invalid UTF-8" in w for w in warnings)
    assert any("mixed.jsonl:5: not a JSON object" in w for w in warnings)
    s = summary(tmp_path / "out")["sources"]["mixed"]
    assert s["records_total"] == 5 and s["records_sampled"] == 2 and s["records_skipped"] == 3
    assert {x["location"] for x in s["skipped"]} == {"mixed.jsonl:2", "mixed.jsonl:4", "mixed.jsonl:5"}
    assert {f["record_id"] for f in read_jsonl(tmp_path / "out" / "findings.jsonl")} == {"1", "5"}


def test_chat_content_string_or_list_of_parts(tmp_path):
    data = tmp_path / "chat.jsonl"
    rows = [{"id": "a", "messages": [{"role": "user", "content": "mail ann@example.com"}]},
            {"id": "b", "messages": [{"role": "user", "content": [{"type": "text", "text": "mail bo@example.org"},
                                                                  {"type": "image_url", "image_url": {"url": "x"}}]}]}]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    run_cli("scan", data, "--full", "--entities", "EMAIL_ADDRESS", "--out", tmp_path / "out")
    fields = {(f["record_id"], f["field"]) for f in read_jsonl(tmp_path / "out" / "findings.jsonl")}
    assert fields == {("a", "messages[0].content"), ("b", "messages[0].content[0].text")}


def test_ragged_and_invalid_utf8_csv_rows_are_skipped(tmp_path):
    data = tmp_path / "ragged.csv"
    data.write_bytes(b"question,answer\n"
                     b"mail jo@example.com,ok\n"
                     b"only one cell\n"
                     b"a,b,c\n"
                     b"caf\xe9,x\n"
                     b"\"multi\nline mail mo@example.com\",fine\n")
    result = run_cli("scan", data, "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK
    s = summary(tmp_path / "out")["sources"]["ragged"]
    reasons = {x["location"]: x["reason"] for x in s["skipped"]}
    assert reasons == {"ragged.csv:3": "expected 2 columns, got 1", "ragged.csv:4": "expected 2 columns, got 3",
                       "ragged.csv:5": "invalid UTF-8 in column 'question'"}
    assert {f["record_id"] for f in read_jsonl(tmp_path / "out" / "findings.jsonl")} == {"ragged.csv#1", "ragged.csv#5"}


def test_number_or_null_where_text_is_expected(tmp_path):
    data = tmp_path / "typed.jsonl"
    data.write_text('{"id": 1, "phone": 2125550147, "note": null}\n{"id": 2, "phone": null, "note": "hi"}\n'
                    '{"id": 3, "phone": "212-555-0147", "note": 7}\n')
    result = run_cli("scan", f"jsonl:{data}?text=phone,note", "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK
    found = {(f["record_id"], f["field"], f["entity_type"]) for f in read_jsonl(tmp_path / "out" / "findings.jsonl")}
    assert ("1", "phone", "PHONE_NUMBER") in found and ("3", "phone", "PHONE_NUMBER") in found
    parquet = tmp_path / "typed.parquet"
    pq.write_table(pa.table({"id": [1, 2], "phone": [2125550147, None], "note": [None, "x"]}), parquet)
    result = run_cli("scan", f"parquet:{parquet}?text=phone,note", "--full", "--out", tmp_path / "out2")
    assert result.exit_code == EXIT_OK
    found = {(f["record_id"], f["field"]) for f in read_jsonl(tmp_path / "out2" / "findings.jsonl")}
    assert ("1", "phone") in found


def test_unknown_scheme_is_a_usage_error_before_any_scan(demo_data, tmp_path):
    result = run_cli("scan", "ftp2:whatever", demo_data / "qa_eval.csv", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_USAGE
    [line] = error_lines(result.output)
    assert "unknown URI scheme 'ftp2:'" in line and "jsonl:" in line
    assert not (tmp_path / "out" / "summary.json").exists()


def test_unknown_uri_option_and_entity_and_config_key_are_usage_errors(demo_data, tmp_path):
    result = run_cli("scan", f"jsonl:{demo_data / 'support_eval.jsonl'}?colour=red", "--out", tmp_path / "o")
    assert result.exit_code == EXIT_USAGE and "unknown option(s) colour" in result.output
    result = run_cli("scan", demo_data / "qa_eval.csv", "--entities", "EMAIL_ADDRESS,NOPE", "--out", tmp_path / "o")
    assert result.exit_code == EXIT_USAGE and "unknown entity type(s) NOPE" in result.output
    config = tmp_path / "bad.yaml"
    config.write_text("detection:\n  min_scor: 0.5\n")
    result = run_cli("scan", demo_data / "qa_eval.csv", "--config", config, "--out", tmp_path / "o")
    assert result.exit_code == EXIT_USAGE
    assert f"{config}:2: detection.min_scor: unknown key" in result.output


def test_conflicting_sampling_options_are_a_usage_error(demo_data, tmp_path):
    result = run_cli("scan", demo_data / "qa_eval.csv", "--full", "--sample", "5", "--out", tmp_path)
    assert result.exit_code == EXIT_USAGE
    result = run_cli("scan", demo_data / "qa_eval.csv", "--sample-rate", "1.5", "--out", tmp_path)
    assert result.exit_code == EXIT_USAGE and "--sample-rate" in result.output


def test_missing_model_is_named_and_never_downloaded(demo_data, tmp_path):
    result = run_cli("scan", demo_data / "qa_eval.csv", "--model", "xx_no_such_model", "--out", tmp_path)
    assert result.exit_code == EXIT_USAGE
    [line] = error_lines(result.output)
    assert "'xx_no_such_model' is not installed" in line


def test_mixed_folder_needs_a_scheme(demo_data, tmp_path):
    (tmp_path / "a.csv").write_text("q\nx\n")
    (tmp_path / "b.jsonl").write_text('{"q": "x"}\n')
    result = run_cli("scan", tmp_path, "--out", tmp_path / "out")
    assert result.exit_code == EXIT_USAGE and "name the connector" in result.output
    result = run_cli("scan", f"jsonl:{tmp_path}", "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK


def test_outputs_of_a_failed_run_stay_valid(demo_data, tmp_path):
    out = tmp_path / "out"
    assert run_cli("scan", demo_data / "qa_eval.csv", "--full", "--out", out).exit_code == EXIT_OK
    before = (out / "findings.jsonl").read_text()
    result = run_cli("scan", "bogus:x", "--out", out)
    assert result.exit_code == EXIT_USAGE
    assert (out / "findings.jsonl").read_text() == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left behind


def test_skip_categories_are_counted(tmp_path):
    data = tmp_path / "cats.jsonl"
    data.write_bytes(b'{"q": "fine"}\nnot json\nalso not\n"a string"\n')
    run_cli("scan", data, "--full", "--out", tmp_path / "out")
    s = summary(tmp_path / "out")["sources"]["cats"]
    assert s["skipped_reasons"] == {"not_json": 2, "not_object": 1}


def test_a_source_with_no_readable_record_fails(tmp_path):
    data = tmp_path / "binary.jsonl"
    data.write_bytes(b"\x00\x01\x02 garbage\n\xff\xfe more\n")
    result = run_cli("scan", data, "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_SOURCE_FAILED
    assert "no readable records: 2 skipped, the first at binary.jsonl:1" in error_lines(result.output)[0]


def test_json_documents_array_object_and_lines(tmp_path):
    (tmp_path / "array.json").write_text(json.dumps([{"id": "a1", "q": "mail a@example.com"}, {"id": "a2", "q": "x"}]))
    (tmp_path / "object.json").write_text(json.dumps({"id": "o1", "q": "mail o@example.com"}, indent=2))
    (tmp_path / "lines.json").write_text('{"id": "l1", "q": "mail l@example.com"}\n{"id": "l2", "q": "y"}\n')
    result = run_cli("scan", f"jsonl:{tmp_path}", "--full", "--entities", "EMAIL_ADDRESS", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK, result.output
    s = summary(tmp_path / "out")["sources"][tmp_path.name]
    assert s["records_total"] == 5 and s["records_skipped"] == 0
    assert {f["record_id"] for f in read_jsonl(tmp_path / "out" / "findings.jsonl")} == {"a1", "o1", "l1"}


def test_csv_quote_left_open_swallows_the_rest_as_one_skipped_row(tmp_path):
    data = tmp_path / "quote.csv"
    data.write_bytes(b'q,a\nmail jo@example.com,ok\n"open quote,x\nmail mo@example.com,y\n')
    result = run_cli("scan", data, "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK
    s = summary(tmp_path / "out")["sources"]["quote"]
    assert s["records_total"] == 2 and s["skipped_reasons"] == {"wrong_column_count": 1}
    assert "quote.csv:4: expected 2 columns, got 1; skipped" in result.output


def test_missing_hf_split_fails_that_source(demo_data, tmp_path):
    result = run_cli("scan", f"hf:{demo_data / 'hf_eval'}?split=validation", demo_data / "qa_eval.csv", "--full",
                     "--out", tmp_path)
    assert result.exit_code == EXIT_SOURCE_FAILED
    [line] = error_lines(result.output)
    assert "no split 'validation' (splits: train, test)" in line
    s = summary(tmp_path)["sources"]
    assert s["qa_eval"]["status"] == "ok"
    result = run_cli("scan", f"hf:{demo_data / 'hf_eval'}?split=test", "--full", "--out", tmp_path / "t")
    assert summary(tmp_path / "t")["sources"]["hf_eval"]["records_total"] == 30


def test_unwritable_output_folder_is_a_usage_error(demo_data, tmp_path):
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: use a path under a file instead
            target = tmp_path / "a-file"
            target.write_text("x")
            out = target / "out"
        else:
            out = locked / "out"
        result = run_cli("scan", demo_data / "qa_eval.csv", "--out", out)
    finally:
        locked.chmod(0o700)
    assert result.exit_code == EXIT_USAGE
    assert "cannot write to output folder" in error_lines(result.output)[0]
