"""S3 sources through pyarrow's S3 filesystem against moto in server mode on 127.0.0.1."""

import gzip
import json
from collections import Counter

import boto3
import pytest
from moto.server import ThreadedMotoServer

from conftest import free_port, read_jsonl, run_cli
from scanner.connectors import open_source
from scanner.connectors.base import ReadReport
from scanner.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_SOURCE_FAILED
from scanner.core.sampling import SamplePlan

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
    from scanner.core.sampling import SamplePlan
    from tests.test_units import _read_in_ranges

    source = f"s3://{bucket}/chat/support_eval.jsonl?endpoint={s3_endpoint}"
    whole = list(open_source(source).records(SamplePlan("full"), ReadReport()))
    ranged = _read_in_ranges(source, 4096, monkeypatch)
    assert len(whole) > 100 and ranged == whole


POLICY = "version: 1\nrules:\n  - id: no-emails\n    match: {entities: [EMAIL_ADDRESS]}\n    action: delete\n"


def s3_records(uri: str) -> Counter:
    """A source's records as a multiset of their texts (ids of CSV rows are positions and move)."""
    return Counter(json.dumps(r.texts, sort_keys=True)
                   for r in open_source(uri).records(SamplePlan("full"), ReadReport()))


def test_apply_rewrites_s3_objects_whole_and_is_idempotent(bucket, s3_endpoint, demo_data, tmp_path):
    """apply on S3: each object is rewritten through a local copy and uploaded whole, gzip and metadata
    kept; an object changed since the sweep is stale; a re-run finds the records already absent."""
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.put_object(Bucket=bucket, Key="gz/support_eval.jsonl.gz", ContentType="application/x-ndjson",
                      Body=gzip.compress((demo_data / "support_eval.jsonl").read_bytes()))
    client.upload_file(str(demo_data / "qa_eval.csv"), bucket, "qa/qa_eval.csv")
    uris = {"support-v3": f"parquet:s3://{bucket}/support/?name=support-v3&endpoint={s3_endpoint}",
            "support_eval": f"s3://{bucket}/gz/support_eval.jsonl.gz?endpoint={s3_endpoint}",
            "qa_eval": f"s3://{bucket}/qa/qa_eval.csv?endpoint={s3_endpoint}"}
    (tmp_path / "policy.yaml").write_text(POLICY)
    swept = run_cli("sweep", *uris.values(), "--policy", tmp_path / "policy.yaml", "--out", tmp_path / "sweep")
    assert swept.exit_code == EXIT_OK, swept.output
    worklist = tmp_path / "sweep" / "deletion_worklist.jsonl"
    rows = read_jsonl(worklist)
    listed = Counter(r["source"] for r in rows)
    assert set(listed) == set(uris) and all(listed.values())
    before = {name: s3_records(uri) for name, uri in uris.items()}
    texts = {(r.source, r.record_id): json.dumps(r.texts, sort_keys=True)
             for uri in uris.values() for r in open_source(uri).records(SamplePlan("full"), ReadReport())}
    csv_bytes = client.get_object(Bucket=bucket, Key="qa/qa_eval.csv")["Body"].read()
    # every listed row of this object edited after the sweep (each holds an email)
    changed_csv = csv_bytes.replace(b"@", b"@x.")
    client.put_object(Bucket=bucket, Key="qa/qa_eval.csv", Body=changed_csv)

    log = tmp_path / "apply.jsonl"
    result = run_cli("apply", worklist, "--execute", "--yes", "--log", log, "--json")
    assert result.exit_code == EXIT_FINDINGS, result.output  # the changed object's rows are stale
    outcomes = Counter((e["source"], e["outcome"]) for e in read_jsonl(log) if e["event"] == "row")
    assert outcomes == {("support-v3", "deleted"): listed["support-v3"],
                        ("support_eval", "deleted"): listed["support_eval"], ("qa_eval", "stale"): listed["qa_eval"]}
    for name in ("support-v3", "support_eval"):
        want = before[name] - Counter(texts[(name, r["record_id"])] for r in rows if r["source"] == name)
        assert s3_records(uris[name]) == want
    gz = client.get_object(Bucket=bucket, Key="gz/support_eval.jsonl.gz")
    assert gz["ContentType"] == "application/x-ndjson"
    assert len(gzip.decompress(gz["Body"].read()).splitlines()) == sum(before["support_eval"].values()) - \
        listed["support_eval"]
    assert client.get_object(Bucket=bucket, Key="qa/qa_eval.csv")["Body"].read() == changed_csv
    residue = json.loads(result.output)["residue"]
    assert residue == [{"source": "support-v3", "records": listed["support-v3"], "of": listed["support-v3"],
                        "files": [f"s3://{bucket}/support/part-0.parquet"], "summary": residue[0]["summary"],
                        "advice": residue[0]["advice"]},
                       {"source": "support_eval", "records": listed["support_eval"], "of": listed["support_eval"],
                        "files": [f"s3://{bucket}/gz/support_eval.jsonl.gz"], "summary": residue[1]["summary"],
                        "advice": residue[1]["advice"]}]
    assert f"--bucket {bucket}" in residue[0]["advice"] and "earlier versions" in residue[0]["summary"]

    objects = {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
               for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    again = run_cli("apply", worklist, "--execute", "--yes", "--log", log, "--json")
    assert again.exit_code == EXIT_FINDINGS
    assert json.loads(again.output)["outcomes"] == {"already_absent": listed["support-v3"] + listed["support_eval"],
                                                    "stale": listed["qa_eval"]}
    assert {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for o in client.list_objects_v2(Bucket=bucket)["Contents"]} == objects


def test_an_s3_object_changed_while_apply_rewrites_it_is_left_as_it_is(bucket, s3_endpoint, tmp_path, monkeypatch):
    """pyarrow has no conditional upload: the object is checked again (size, time, ETag) right before the
    upload, and one written by someone else meanwhile is stale, not overwritten."""
    from scanner.connectors.s3files import S3File

    uri = f"s3://{bucket}/chat/support_eval.jsonl?endpoint={s3_endpoint}"
    (tmp_path / "policy.yaml").write_text(POLICY)
    assert run_cli("sweep", uri, "--policy", tmp_path / "policy.yaml", "--out", tmp_path / "sweep").exit_code == EXIT_OK
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    first, second, *rest = client.get_object(Bucket=bucket, Key="chat/support_eval.jsonl")["Body"].read().splitlines(True)
    theirs = b"".join([second, first, *rest])  # the same size, maybe the same second: the records moved
    download = S3File.download

    def download_then_someone_writes(self, folder):
        local = download(self, folder)
        client.put_object(Bucket=bucket, Key="chat/support_eval.jsonl", Body=theirs)
        return local

    monkeypatch.setattr(S3File, "download", download_then_someone_writes)
    result = run_cli("apply", tmp_path / "sweep" / "deletion_worklist.jsonl", "--execute", "--yes", "--json")
    assert result.exit_code == EXIT_FINDINGS
    assert set(json.loads(result.output)["outcomes"]) == {"stale"}
    assert client.get_object(Bucket=bucket, Key="chat/support_eval.jsonl")["Body"].read() == theirs


def test_an_s3_object_rewritten_within_the_listed_size_and_time_is_still_changed(bucket, s3_endpoint, tmp_path):
    """S3 times are whole seconds: a same-size write in the second of the listing is told by its ETag."""
    from scanner.connectors.files import list_files
    from scanner.connectors.s3files import S3File
    from scanner.core.uri import parse_source_uri

    uri = parse_source_uri(f"s3://{bucket}/chat/support_eval.jsonl?endpoint={s3_endpoint}")
    fs, [listed] = list_files(uri, "support_eval", (".jsonl",))
    remote = S3File(fs, listed)
    first, second, *rest = (remote.download(tmp_path)).read_bytes().splitlines(True)
    assert remote.unchanged()
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").put_object(
        Bucket=bucket, Key="chat/support_eval.jsonl", Body=b"".join([second, first, *rest]))
    _, [now] = list_files(uri, "support_eval", (".jsonl",))
    remote.file = now  # as if listed after that write: the same size and time as the object now
    assert now.size == listed.size and not remote.unchanged()


def test_s3_sources_are_redacted_into_local_copies_and_in_place(bucket, s3_endpoint, tmp_path):
    identifiers = "EMAIL_ADDRESS,PHONE_NUMBER,CREDIT_CARD,IBAN_CODE,US_SSN"
    sources = [f"parquet:s3://{bucket}/support/?name=support-v3&endpoint={s3_endpoint}",
               f"s3://{bucket}/chat/support_eval.jsonl?endpoint={s3_endpoint}"]
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    etags = {k: client.head_object(Bucket=bucket, Key=k)["ETag"] for k in ("support/part-0.parquet",
                                                                         "chat/support_eval.jsonl")}
    copied = run_cli("redact", *sources, "--out", tmp_path / "copy", "--entities", identifiers, "--json")
    assert copied.exit_code == EXIT_OK, copied.output
    assert {k: client.head_object(Bucket=bucket, Key=k)["ETag"] for k in etags} == etags  # the sources as they were
    section = json.loads(copied.output)
    assert (tmp_path / "copy" / "redacted" / "support-v3" / "part-0.parquet").is_file()
    assert (tmp_path / "copy" / "redacted" / "support_eval" / "support_eval.jsonl").is_file()
    for name, source in section["sources"].items():
        assert source["records_changed"] > 0 and source["findings_after"] == {}, name
        assert source["original_values_found_again"] == 0 and source["written_to"].startswith(
            ("parquet:" + str(tmp_path), "jsonl:" + str(tmp_path))), name
    in_place = run_cli("redact", *sources, "--in-place", "--no-holds", "--out", tmp_path / "in", "--entities",
                       identifiers, "--json")
    assert in_place.exit_code == EXIT_OK, in_place.output
    assert all(client.head_object(Bucket=bucket, Key=k)["ETag"] != etag for k, etag in etags.items())
    after = run_cli("scan", *sources, "--full", "--entities", identifiers, "--out", tmp_path / "after", "--json")
    assert after.exit_code == EXIT_OK
    assert all(s["findings"] == 0 for s in json.loads(after.output)["sources"].values())
    local = {r.record_id: r.texts for r in open_source(
        str(tmp_path / "copy" / "redacted" / "support_eval" / "support_eval.jsonl")).records(SamplePlan("full"),
                                                                                          ReadReport())}
    remote = {r.record_id: r.texts for r in open_source(sources[1]).records(SamplePlan("full"), ReadReport())}
    assert local == remote  # the copy and the object rewritten in place are redacted alike
