"""Vector-store connectors: Qdrant (embedded; server URIs) and Chroma (persistent and a real server)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import TEST_KEY, free_port, read_jsonl, run_cli, start_chroma, stop
from detectors.normalize import digest
from fixtures.generate import IDENTIFIER_TYPES
from fixtures.vectors import generate_vectors
from scanner.connectors import open_source
from scanner.connectors.base import ReadReport
from scanner.core.errors import EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE
from scanner.core.sampling import SamplePlan

CHUNKS = 1200


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("vectors")
    paths = generate_vectors(root, n=CHUNKS, seed=7)
    return root, paths


def expected(root, store: str, source: str) -> set[tuple]:
    return {(source, t["record_id"], t["field"], t["entity_type"], digest(TEST_KEY.encode(), t["entity_type"], t["value"]))
            for t in read_jsonl(root / "ground_truth.jsonl") if t["store"] == store and t["entity_type"] in IDENTIFIER_TYPES}


def identifiers(out, source: str) -> set[tuple]:
    return {(f["source"], f["record_id"], f["field"], f["entity_type"], f["digest"])
            for f in read_jsonl(out / "findings.jsonl") if f["source"] == source and f["entity_type"] in IDENTIFIER_TYPES}


@pytest.fixture(scope="module")
def full_scan(stores, tmp_path_factory):
    root, paths = stores
    out = tmp_path_factory.mktemp("vector-scan")
    os.environ["DHSCAN_KEY"] = TEST_KEY
    result = run_cli("scan", f"qdrant:{paths['qdrant']}?collection=support_kb&name=kb-qdrant",
                     f"chroma:{paths['chroma']}?collection=support_kb&name=kb-chroma", "--full", "--out", out)
    return result, out


def test_planted_identifiers_found_exactly_in_both_stores(stores, full_scan):
    root, _ = stores
    result, out = full_scan
    assert result.exit_code == EXIT_OK, result.output
    assert identifiers(out, "kb-qdrant") == expected(root, "qdrant", "kb-qdrant")
    assert identifiers(out, "kb-chroma") == expected(root, "chroma", "kb-chroma")
    summary = json.loads((out / "summary.json").read_text())["sources"]
    assert summary["kb-qdrant"]["records_total"] == summary["kb-chroma"]["records_total"] == CHUNKS


def test_records_carry_time_and_tenant(stores):
    root, paths = stores
    truth = {r["n"]: r for r in json.loads((root / "records.json").read_text())}
    plan = SamplePlan("count", seed=1, count=40)
    for uri in (f"qdrant:{paths['qdrant']}?collection=support_kb", f"chroma:{paths['chroma']}?collection=support_kb"):
        records = list(open_source(uri).records(plan, ReadReport()))
        assert len(records) == 40
        for record in records:
            n = int(record.record_id.removeprefix("chunk-"))
            assert record.kind == "vector_index"
            assert record.attributes["tenant"] == truth[n]["tenant"]
            assert record.timestamp.isoformat() == truth[n]["created_at"]


def test_sampling_is_seeded_and_the_same_in_any_run(stores, tmp_path):
    _, paths = stores
    def sampled(seed):
        records = open_source(f"qdrant:{paths['qdrant']}?collection=support_kb").records(
            SamplePlan("count", seed=seed, count=25), ReadReport())
        return [r.record_id for r in records]
    first = sampled(5)
    assert len(first) == 25 and first == sampled(5) and first != sampled(6)


def test_every_collection_when_none_is_named(stores):
    _, paths = stores
    report = ReadReport()
    records = list(open_source(f"qdrant:{paths['qdrant']}").records(SamplePlan("full"), report))
    assert report.records_total == CHUNKS + 20
    assert {r.record_id.split("/")[0] for r in records} == {"faq", "support_kb"}


def copy_store(path, tmp_path):
    target = tmp_path / path.name
    shutil.copytree(path, target)
    return target


@pytest.mark.parametrize("store", ["qdrant", "chroma"])
def test_delete_and_verify_absent_remove_exactly_those_records(stores, tmp_path, store):
    _, paths = stores
    path = copy_store(paths[store], tmp_path)
    uri = f"{store}:{path}?collection=support_kb"
    before = [r.record_id for r in open_source(uri).records(SamplePlan("full"), ReadReport())]
    doomed = before[10:15]
    connector = open_source(uri)
    assert connector.verify_absent(doomed) == sorted(doomed)  # still there
    connector.delete(doomed)
    assert open_source(uri).verify_absent(doomed) == []
    after = [r.record_id for r in open_source(uri).records(SamplePlan("full"), ReadReport())]
    assert after == [r for r in before if r not in doomed]


def test_qdrant_folder_in_use_is_a_clear_error(stores, tmp_path):
    _, paths = stores
    path = copy_store(paths["qdrant"], tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from qdrant_client import QdrantClient; "
                               f"c = QdrantClient(path={str(path)!r}); print('ready', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = run_cli("scan", f"qdrant:{path}?collection=support_kb", "--sample", "5", "--out", tmp_path / "out")
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == EXIT_SOURCE_FAILED
    assert "is open in another process" in result.output


def test_not_a_store_and_missing_collection(stores, tmp_path):
    _, paths = stores
    (tmp_path / "empty").mkdir()
    result = run_cli("scan", f"qdrant:{tmp_path / 'empty'}", f"chroma:{tmp_path / 'empty'}?name=c",
                     f"qdrant:{paths['qdrant']}?collection=nope", f"chroma:{paths['chroma']}?collection=nope&name=c2",
                     "--sample", "5", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_SOURCE_FAILED
    errors = [line for line in result.output.splitlines() if line.startswith("dhscan: error:")]
    assert len(errors) == 4
    assert "is not a Qdrant local store" in errors[0] and "is not a Chroma persistent store" in errors[1]
    assert "no collection 'nope' (collections: faq, support_kb)" in errors[2]
    assert "no collection 'nope' (collections: support_kb)" in errors[3]
    assert not (tmp_path / "empty" / "meta.json").exists()  # opening did not create a store


def test_points_without_text_and_non_string_payloads(tmp_path):
    from qdrant_client import QdrantClient, models

    path = tmp_path / "odd"
    client = QdrantClient(path=str(path))
    client.create_collection("odd", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    client.upsert("odd", points=[
        models.PointStruct(id=1, vector=[0.1, 0.2], payload={}),
        models.PointStruct(id=2, vector=[0.1, 0.2], payload={"score": 0.5, "flags": [1, 2], "ok": True}),
        models.PointStruct(id=3, vector=[0.1, 0.2], payload={"phone": 2125550147, "nested": {"n": None}}),
        models.PointStruct(id=4, vector=[0.1, 0.2], payload={"text": "mail jo@example.com"}),
    ])
    client.close()
    result = run_cli("scan", f"qdrant:{path}?collection=odd", "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK
    source = json.loads((tmp_path / "out" / "summary.json").read_text())["sources"]["odd"]
    assert source["records_sampled"] == 4 and source["records_no_content"] == 3
    assert [f["record_id"] for f in read_jsonl(tmp_path / "out" / "findings.jsonl")] == ["4"]
    result = run_cli("scan", f"qdrant:{path}?collection=odd&text=phone", "--full", "--out", tmp_path / "out2")
    assert {(f["record_id"], f["field"]) for f in read_jsonl(tmp_path / "out2" / "findings.jsonl")} == {("3", "payload.phone")}


def test_qdrant_server_uri_and_client_construction(monkeypatch):
    monkeypatch.setenv("QDRANT_API_KEY", "secret-key-value")
    connector = open_source("qdrant+https://db.example.internal:6334?collection=support_kb&api_key_env=QDRANT_API_KEY")
    remote = connector.client()._client
    assert (remote._host, remote._port, remote._https, remote._api_key) == (
        "db.example.internal", 6334, True, "secret-key-value")
    assert connector.source == "support_kb"
    assert "secret-key-value" not in connector.uri.redacted()
    plain = open_source("qdrant+http://127.0.0.1:6333?collection=kb")
    assert plain.client()._client.rest_uri == "http://127.0.0.1:6333"


def test_api_key_env_must_be_set(tmp_path):
    result = run_cli("scan", "qdrant+http://127.0.0.1:6333?collection=kb&api_key_env=NOT_SET_ANYWHERE", "--out", tmp_path)
    assert result.exit_code == EXIT_USAGE and "NOT_SET_ANYWHERE" in result.output


def test_a_server_that_is_down_fails_that_source_only(demo_data, tmp_path):
    port = free_port()
    result = run_cli("scan", f"qdrant+http://127.0.0.1:{port}?collection=kb&timeout=2",
                     f"chroma+http://127.0.0.1:{port}?collection=kb&name=ch", demo_data / "qa_eval.csv",
                     "--sample", "5", "--out", tmp_path)
    assert result.exit_code == EXIT_SOURCE_FAILED
    errors = [line for line in result.output.splitlines() if line.startswith("dhscan: error:")]
    assert len(errors) == 2 and all(f"127.0.0.1:{port}" in e for e in errors)
    assert json.loads((tmp_path / "summary.json").read_text())["sources"]["qa_eval"]["status"] == "ok"


@pytest.fixture
def chroma_server(stores, tmp_path):
    _, paths = stores
    path = copy_store(paths["chroma"], tmp_path)
    process, port = start_chroma(path)
    yield process, port, path
    stop(process)


@pytest.mark.slow
def test_chroma_server_and_persistent_client_give_identical_findings(chroma_server, full_scan, tmp_path):
    _, port, _ = chroma_server
    _, local_out = full_scan
    result = run_cli("scan", f"chroma+http://127.0.0.1:{port}?collection=support_kb&name=kb-chroma", "--full",
                     "--out", tmp_path)
    assert result.exit_code == EXIT_OK, result.output
    def rows(out):
        return sorted(json.dumps({k: v for k, v in f.items()}, sort_keys=True)
                      for f in read_jsonl(out / "findings.jsonl") if f["source"] == "kb-chroma")
    assert rows(tmp_path) == rows(local_out)


@pytest.mark.slow
def test_chroma_server_delete_and_sampling(chroma_server):
    _, port, _ = chroma_server
    uri = f"chroma+http://127.0.0.1:{port}?collection=support_kb"
    sample = [r.record_id for r in open_source(uri).records(SamplePlan("count", seed=2, count=10), ReadReport())]
    assert len(sample) == 10
    assert sample == [r.record_id for r in open_source(uri).records(SamplePlan("count", seed=2, count=10), ReadReport())]
    open_source(uri).delete(sample[:3])
    assert open_source(uri).verify_absent(sample) == sorted(sample[3:])


@pytest.mark.slow
def test_chroma_server_stopping_mid_scan_fails_the_source(chroma_server, demo_data, tmp_path):
    from detectors.config import ScanConfig
    from scanner.runs.scan import run_scan

    process, port, _ = chroma_server
    calls = []

    def stop_server_on_first_batch(name, done, total):
        calls.append(name)
        if name == "support_kb" and process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

    run = run_scan([f"chroma+http://127.0.0.1:{port}?collection=support_kb", str(demo_data / "qa_eval.csv")],
                   SamplePlan("full"), ScanConfig(), tmp_path, command_line=["test"], progress=stop_server_on_first_batch)
    assert run.exit_code == EXIT_SOURCE_FAILED
    failed = run.summary["sources"]["support_kb"]
    assert failed["status"] == "failed" and f"127.0.0.1:{port}" in failed["error"]
    assert 0 < failed["records_sampled"] < CHUNKS  # what was read before the stop is kept and counted
    assert run.summary["sources"]["qa_eval"]["status"] == "ok"
