"""S3 sources through pyarrow's S3 filesystem against moto in server mode on 127.0.0.1."""

import json

import boto3
import pytest
from moto.server import ThreadedMotoServer

from conftest import free_port, read_jsonl, run_cli
from scanner.errors import EXIT_OK, EXIT_SOURCE_FAILED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, demo_data, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="evals")
    client.upload_file(str(demo_data / "chat_eval.parquet"), "evals", "support/part-0.parquet")
    client.upload_file(str(demo_data / "support_eval.jsonl"), "evals", "chat/support_eval.jsonl")
    yield "evals"
    for item in client.list_objects_v2(Bucket="evals").get("Contents", []):
        client.delete_object(Bucket="evals", Key=item["Key"])
    client.delete_bucket(Bucket="evals")


def normalized(findings):
    return sorted((f["record_id"], f["field"], f["entity_type"], f["digest"], f["start"]) for f in findings)


def test_s3_parquet_folder_and_jsonl_match_the_local_scan(bucket, s3_endpoint, demo_data, tmp_path):
    remote = run_cli("scan", f"parquet:s3://{bucket}/support/?name=support-v3&endpoint={s3_endpoint}",
                     f"s3://{bucket}/chat/support_eval.jsonl?endpoint={s3_endpoint}", "--full", "--out", tmp_path / "s3")
    assert remote.exit_code == EXIT_OK, remote.output
    local = run_cli("scan", demo_data / "chat_eval.parquet", demo_data / "support_eval.jsonl", "--full",
                    "--out", tmp_path / "local")
    assert local.exit_code == EXIT_OK
    s3_findings = read_jsonl(tmp_path / "s3" / "findings.jsonl")
    local_findings = read_jsonl(tmp_path / "local" / "findings.jsonl")
    assert normalized(f for f in s3_findings if f["source"] == "support-v3") == \
        normalized(f for f in local_findings if f["source"] == "chat_eval")
    assert normalized(f for f in s3_findings if f["source"] == "support_eval") == \
        normalized(f for f in local_findings if f["source"] == "support_eval")
    summary = json.loads((tmp_path / "s3" / "summary.json").read_text())
    assert summary["sources"]["support-v3"]["records_total"] == 120


def test_s3_endpoint_from_the_environment_and_sampled_row_groups(bucket, s3_endpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    result = run_cli("scan", f"parquet:s3://{bucket}/support/", "--sample", "3", "--out", tmp_path)
    assert result.exit_code == EXIT_OK, result.output
    size = json.loads((tmp_path / "evidence.json").read_text())["sources"][0]["size"]
    assert size["row_groups_read"] <= 3 < size["row_groups_total"]


def test_missing_bucket_is_a_failed_source(bucket, s3_endpoint, demo_data, tmp_path):
    result = run_cli("scan", f"parquet:s3://no-such-bucket/x/?endpoint={s3_endpoint}", demo_data / "qa_eval.csv",
                     "--full", "--out", tmp_path)
    assert result.exit_code == EXIT_SOURCE_FAILED
    errors = [line for line in result.output.splitlines() if line.startswith("dhscan: error:")]
    assert errors == ["dhscan: error: source 'x': S3 bucket 'no-such-bucket' does not exist"]
    assert json.loads((tmp_path / "summary.json").read_text())["sources"]["qa_eval"]["status"] == "ok"


def test_secret_uri_options_never_reach_outputs(bucket, s3_endpoint, tmp_path):
    uri = f"parquet:s3://{bucket}/support/?endpoint={s3_endpoint}&access_key=testing&secret_key=s3cr3t-value"
    result = run_cli("scan", uri, "--sample", "5", "--out", tmp_path)
    assert result.exit_code == EXIT_OK, result.output
    for path in tmp_path.iterdir():
        assert "s3cr3t-value" not in path.read_text()


def test_evidence_command_line_is_redacted(bucket, s3_endpoint, tmp_path):
    uri = f"parquet:s3://{bucket}/support/?endpoint={s3_endpoint}&secret_key=s3cr3t-value&access_key=testing"
    run_cli("scan", uri, "--sample", "5", "--deny-list", "Jane Roe", "--out", tmp_path)
    command = json.loads((tmp_path / "evidence.json").read_text())["command_line"]
    assert command[:2] == ["dhscan", "scan"]
    assert "secret_key=***" in command[2] and "s3cr3t" not in command[2]
    assert command[command.index("--deny-list") + 1] == "***"


def test_byte_ranges_of_an_s3_file_give_the_records_of_a_whole_file_read(bucket, s3_endpoint, monkeypatch):
    """What a cluster worker reads of a big S3 object: ranged reads, numbered as the whole file."""
    from scanner.connectors import open_source
    from scanner.connectors.base import ReadReport
    from scanner.sampling import SamplePlan
    from tests.test_units import _read_in_ranges

    source = f"s3://{bucket}/chat/support_eval.jsonl?endpoint={s3_endpoint}"
    whole = list(open_source(source).records(SamplePlan("full"), ReadReport()))
    ranged = _read_in_ranges(source, 4096, monkeypatch)
    assert len(whole) > 100 and ranged == whole
