"""LanceDB and Milvus Lite (embedded, real clients) and Delta Lake tables (deltalake): exact findings, a
seeded sample, the sweep's worklist, apply by id with what each store keeps stated, --vacuum, in-place
redaction, bad input. Data is made with Faker here (the same rows as the SQL tables' tests)."""

import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from conftest import read_jsonl, run_cli
from scanner.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE
from test_sql import IDENTIFIERS, N, body, expected_findings, planted, sweep_with_a_hold

VECTOR = [0.25, 0.5, 0.75]


def make_lance(path: Path, rows: list[dict]) -> str:
    import lancedb

    lancedb.connect(str(path)).create_table("tickets", data=[
        {"id": r["id"], "body": body(r), "meta": {"channel": "email"}, "vector": VECTOR,
         "created_at": datetime.fromisoformat(r["created_at"])} for r in rows])
    return f"lancedb:{path}?table=tickets&name=t-lance"


def make_milvus(path: Path, rows: list[dict]) -> str:
    from pymilvus import MilvusClient

    client = MilvusClient(str(path))
    client.create_collection("tickets", dimension=3, primary_field_name="id", id_type="int", auto_id=False,
                             enable_dynamic_field=True)
    client.insert("tickets", [{"id": r["id"], "vector": VECTOR, "body": body(r), "created_at": r["created_at"]}
                              for r in rows])
    client.close()
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(str(path))  # else this process keeps the store open
    return f"milvus:{path}?collection=tickets&name=t-milvus"


def make_delta(path: Path, rows: list[dict]) -> str:
    import pyarrow as pa
    from deltalake import write_deltalake

    def table(part):
        return pa.table({"id": pa.array([r["id"] for r in part], pa.int64()), "body": [body(r) for r in part],
                         "score": [3] * len(part),
                         "created_at": pa.array([datetime.fromisoformat(r["created_at"]) for r in part],
                                                pa.timestamp("us", tz="UTC"))})
    half = len(rows) // 2  # two commits: two files, read apart on a cluster
    write_deltalake(str(path), table(rows[:half]))
    write_deltalake(str(path), table(rows[half:]), mode="append")
    return f"delta:{path}?name=t-delta"


MAKERS = {"lancedb": (make_lance, "lance"), "milvus": (make_milvus, "m.db"), "delta": (make_delta, "delta")}


@pytest.fixture(params=sorted(MAKERS))
def store(request, tmp_path):
    rows = planted()
    make, folder = MAKERS[request.param]
    return make(tmp_path / folder, rows), rows, tmp_path / folder


def name_of(uri: str) -> str:
    return uri.rsplit("name=", 1)[1]


def raw_in(folder: Path, value: str) -> list[str]:
    """Files under `folder` holding `value`: as bytes (Lance), or in a column of any Parquet file there,
    referenced by the current version or not (Delta's are compressed)."""
    import pyarrow.parquet as pq

    found = subprocess.run(["grep", "-rlF", value, str(folder)], capture_output=True, text=True).stdout.split()
    return found + [str(p) for p in folder.rglob("*.parquet") if value in str(pq.read_table(p).to_pylist())]


@pytest.mark.slow
def test_a_store_scans_to_exactly_the_planted_findings_and_samples_by_seed(store, tmp_path):
    uri, rows, _ = store
    result = run_cli("scan", uri, "--full", "--entities", IDENTIFIERS, "--out", tmp_path / "full")
    assert result.exit_code == EXIT_OK, result.output
    findings = read_jsonl(tmp_path / "full" / "findings.jsonl")
    assert {(f["record_id"], f["entity_type"], f["digest"]) for f in findings} == expected_findings(rows)
    assert {f["field"] for f in findings} == {"body"}
    samples = []
    for run in ("a", "b"):
        sampled = run_cli("scan", uri, "--sample", "7", "--seed", "4", "--entities", IDENTIFIERS, "--out",
                          tmp_path / run, "--json")
        summary = json.loads(sampled.output)["sources"][name_of(uri)]
        assert summary["records_sampled"] == 7 and summary["records_total"] == N
        samples.append(sorted({f["record_id"] for f in read_jsonl(tmp_path / run / "findings.jsonl")}))
    assert samples[0] == samples[1]


@pytest.mark.slow
def test_a_sweep_lists_the_rows_apply_deletes_them_by_id_and_vacuum_removes_what_the_store_keeps(store, tmp_path):
    uri, rows, folder = store
    name = name_of(uri)
    held = sweep_with_a_hold(uri, rows, tmp_path)
    want = {str(r["id"]) for r in rows if r["has"] and r is not held}
    listed = read_jsonl(tmp_path / "sweep" / "deletion_worklist.jsonl")
    assert {r["record_id"] for r in listed} == want
    by_id = {str(r["id"]): r["created_at"] for r in rows}  # what retention ages are counted from
    assert all(datetime.fromisoformat(r["record_timestamp"]) == datetime.fromisoformat(by_id[r["record_id"]])
               for r in listed)
    assert [r["record_id"] for r in read_jsonl(tmp_path / "sweep" / "legal_hold_worklist.jsonl")] == [str(held["id"])]
    worklist = tmp_path / "sweep" / "deletion_worklist.jsonl"
    apply = ("apply", worklist, "--holds", tmp_path / "holds.yaml", "--execute", "--yes", "--json")
    applied = run_cli(*apply)
    assert applied.exit_code == EXIT_OK, applied.output
    outcome = json.loads(applied.output)
    assert outcome["outcomes"] == {"deleted": len(want)} and outcome["vacuum"] == []
    assert [r["records"] for r in outcome["residue"]] == [len(want)]  # each store keeps the deleted rows
    after = run_cli("scan", uri, "--full", "--entities", IDENTIFIERS, "--out", tmp_path / "after", "--json")
    assert json.loads(after.output)["sources"][name]["records_total"] == N - len(want)
    deleted = next(r for r in rows if str(r["id"]) in want)
    if not uri.startswith("milvus:"):  # Milvus Lite's files are compressed: nothing to see there
        assert raw_in(folder, deleted["email"])  # what the residue says: the deleted value is still on disk
    again = run_cli(*apply, "--vacuum")
    vacuumed = json.loads(again.output)
    assert vacuumed["outcomes"] == {"already_absent": len(want)}
    if uri.startswith("milvus:"):
        assert again.exit_code == EXIT_FINDINGS and vacuumed["residue"]
        assert vacuumed["vacuum"][0]["done"] is False and "cannot vacuum" in vacuumed["vacuum"][0]["summary"]
    else:
        assert again.exit_code == EXIT_OK and vacuumed["residue"] == []
        assert [v["done"] for v in vacuumed["vacuum"]] == [True]
        assert raw_in(folder, deleted["email"]) == []  # gone from every file, old versions included
        assert raw_in(folder, held["email"])  # the held row is still there
    final = run_cli("scan", uri, "--full", "--entities", IDENTIFIERS, "--out", tmp_path / "final", "--json")
    assert json.loads(final.output)["sources"][name]["records_total"] == N - len(want)


@pytest.mark.slow
def test_a_store_is_redacted_in_place_by_id_with_its_vectors_and_other_columns_kept(store, tmp_path):
    uri, rows, folder = store
    name = name_of(uri)
    result = run_cli("redact", uri, "--in-place", "--no-holds", "--entities", IDENTIFIERS, "--out", tmp_path / "r",
                     "--json")
    assert result.exit_code == EXIT_OK, result.output
    section = json.loads(result.output)["sources"][name]
    assert section["records_changed"] == sum(r["has"] for r in rows) and section["findings_after"] == {}
    rescan = run_cli("scan", uri, "--full", "--out", tmp_path / "again", "--entities", IDENTIFIERS, "--json")
    assert json.loads(rescan.output)["sources"][name]["findings"] == 0
    residue = " ".join(r["summary"] for r in json.loads(result.output)["residue"])
    assert "original" in residue or "old values" in residue
    if not uri.startswith("delta:"):
        assert "embedding still derived from the original text" in residue
    assert stored_rows(uri, folder) == {r["id"]: ("Customer <EMAIL_ADDRESS> asked about SSN <US_SSN>."
                                                  if r["has"] else body(r)) for r in rows}


def stored_rows(uri: str, folder: Path) -> dict[int, str]:
    """{id: body} as the store holds it, read with its own client; vectors and other columns checked."""
    if uri.startswith("lancedb:"):
        import lancedb

        table = lancedb.connect(str(folder)).open_table("tickets").to_arrow().to_pylist()
        assert all(r["vector"] == pytest.approx(VECTOR) and r["meta"] == {"channel": "email"} for r in table)
        return {r["id"]: r["body"] for r in table}
    if uri.startswith("milvus:"):
        from pymilvus import MilvusClient

        client = MilvusClient(str(folder))
        client.load_collection("tickets")
        got = client.query("tickets", filter="id >= 0", output_fields=["*"], limit=100)
        client.close()
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(str(folder))
        assert all(r["vector"] == pytest.approx(VECTOR) and r["created_at"].startswith("2026-") for r in got)
        return {r["id"]: r["body"] for r in got}
    from deltalake import DeltaTable

    table = DeltaTable(str(folder)).to_pyarrow_table().to_pylist()
    assert all(r["score"] == 3 for r in table)
    return {r["id"]: r["body"] for r in table}


@pytest.mark.parametrize("kind", ["lancedb", "delta"])
def test_data_files_are_shards_that_together_read_every_row_once(kind, tmp_path):
    from scanner.connectors import connector_for
    from scanner.connectors.base import ReadReport
    from scanner.core.sampling import SamplePlan
    from scanner.core.uri import parse_source_uri

    rows = planted()
    if kind == "lancedb":  # two writes: two fragments
        uri = parse_source_uri(make_lance(tmp_path / "lance", rows[:10]))
        import lancedb

        lancedb.connect(str(tmp_path / "lance")).open_table("tickets").add([
            {"id": r["id"], "body": body(r), "meta": {"channel": "email"}, "vector": VECTOR,
             "created_at": datetime.fromisoformat(r["created_at"])} for r in rows[10:]])
    else:
        uri = parse_source_uri(make_delta(tmp_path / "delta", rows))
    connector = connector_for(uri)
    shards = connector(uri).shards()
    assert len(shards) == 2
    seen = []
    for shard in shards:
        reader = connector(uri)
        reader.shard = shard
        report = ReadReport()
        seen.append([r.record_id for r in reader.records(SamplePlan("full"), report)])
        assert report.records_total == len(seen[-1]) > 0
    assert sorted(seen[0] + seen[1], key=int) == [str(i) for i in range(1, N + 1)]


def test_bad_store_sources_are_one_line_and_the_others_finish(tmp_path):
    import lancedb

    good = make_delta(tmp_path / "delta", planted())
    lancedb.connect(str(tmp_path / "lance")).create_table("notes", data=[{"body": "x", "vector": VECTOR}])
    (tmp_path / "plain").mkdir()
    result = run_cli("scan", good, f"lancedb:{tmp_path / 'nope'}?name=l-gone",
                     f"lancedb:{tmp_path / 'lance'}?table=tickets&name=l-missing",
                     f"lancedb:{tmp_path / 'lance'}?table=notes&name=l-nokey",
                     f"milvus:{tmp_path / 'none.db'}?name=m-gone", f"delta:{tmp_path / 'plain'}?name=d-plain",
                     "--full", "--out", tmp_path / "o", "--json")
    assert result.exit_code == EXIT_SOURCE_FAILED
    sources = json.loads((tmp_path / "o" / "summary.json").read_text())["sources"]
    assert sources["t-delta"]["status"] == "ok"
    assert "no such folder" in sources["l-gone"]["error"]
    assert "no table 'tickets' (tables: notes)" in sources["l-missing"]["error"]
    assert "no id column: give ?id=COLUMN" in sources["l-nokey"]["error"]
    assert "no such Milvus Lite store" in sources["m-gone"]["error"] and not (tmp_path / "none.db").exists()
    assert "is not a Delta table (no _delta_log folder)" in sources["d-plain"]["error"]
    assert all("\n" not in (s.get("error") or "") for s in sources.values())
    vacuum_dry = run_cli("apply", tmp_path / "o" / "findings.jsonl", "--vacuum")
    assert vacuum_dry.exit_code == EXIT_USAGE and "--vacuum goes with --execute" in vacuum_dry.output


def test_a_milvus_lite_store_open_in_another_process_is_one_line(tmp_path):
    import sys

    uri = make_milvus(tmp_path / "m.db", planted())
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pymilvus import MilvusClient; "
                               f"MilvusClient({str(tmp_path / 'm.db')!r}); print('open', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        result = run_cli("scan", uri, "--full", "--out", tmp_path / "o", "--json")
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == EXIT_SOURCE_FAILED
    error = json.loads((tmp_path / "o" / "summary.json").read_text())["sources"]["t-milvus"]["error"]
    assert "another process has it open" in error and "\n" not in error


@pytest.mark.parametrize("kind", ["lancedb", "delta"])
def test_vacuum_never_destroys_an_earlier_version_of_a_held_record(kind, tmp_path):
    """A held row deleted outside dhscan lives on only in an earlier version: --vacuum refuses to
    remove it while the hold is given, and goes ahead with --no-holds."""
    rows = planted()
    make, folder_name = MAKERS[kind]
    folder = tmp_path / folder_name
    uri = make(folder, rows)
    held = next(r for r in rows if r["has"])
    if kind == "lancedb":
        import lancedb

        lancedb.connect(str(folder)).open_table("tickets").delete(f"id = {held['id']}")
    else:
        from deltalake import DeltaTable

        DeltaTable(str(folder)).delete(f"id = {held['id']}")
    (tmp_path / "policy.yaml").write_text("version: 1\nrules:\n  - id: no-ssn\n    match: {entities: [US_SSN]}\n"
                                          "    action: delete\n")
    (tmp_path / "holds.yaml").write_text(f"holds:\n  - id: LH-7\n    matter: m\n    scope:\n      subjects: "
                                         f"[{{email: '{held['email']}'}}]\n")
    swept = run_cli("sweep", uri, "--policy", tmp_path / "policy.yaml", "--holds", tmp_path / "holds.yaml",
                    "--entities", IDENTIFIERS, "--out", tmp_path / "sweep")
    assert swept.exit_code == EXIT_OK, swept.output
    worklist = tmp_path / "sweep" / "deletion_worklist.jsonl"
    refused = run_cli("apply", worklist, "--holds", tmp_path / "holds.yaml", "--execute", "--yes", "--vacuum", "--json")
    outcome = json.loads(refused.output)
    assert refused.exit_code == EXIT_FINDINGS and outcome["vacuum"][0]["done"] is False
    assert outcome["outcomes"]["deleted"] == sum(r["has"] for r in rows) - 1
    assert "not done" in outcome["vacuum"][0]["summary"] and "LH-7" in outcome["vacuum"][0]["summary"]
    assert raw_in(folder, held["email"]) and outcome["residue"]  # the held row's old copy is still there
    unheld = run_cli("apply", worklist, "--no-holds", "--execute", "--yes", "--vacuum", "--json")
    assert unheld.exit_code == EXIT_OK and "removed" in json.loads(unheld.output)["vacuum"][0]["summary"]
    assert raw_in(folder, held["email"]) == []


@pytest.mark.parametrize("kind", ["lancedb", "milvus"])
def test_string_keys_with_slashes_and_leading_zeros_are_found_again_and_deleted(kind, tmp_path):
    """Every table or collection read (record ids TABLE/KEY), keys that look like paths or numbers."""
    from faker import Faker

    fake = Faker("en_GB")
    fake.seed_instance(5)
    keys = ["doc/1", "007", "a/b/c", "42"]
    emails = {k: fake.unique.email() for k in keys}
    if kind == "lancedb":
        import lancedb

        lancedb.connect(str(tmp_path / "lance")).create_table("notes", data=[
            {"id": k, "text": f"write to {emails[k]}", "vector": VECTOR} for k in keys])
        uri = f"lancedb:{tmp_path / 'lance'}?name=all"
    else:
        from pymilvus import DataType, MilvusClient
        from milvus_lite.server_manager import server_manager_instance

        client = MilvusClient(str(tmp_path / "m.db"))
        schema = client.create_schema(auto_id=False, enable_dynamic_field=True)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=3)
        index = client.prepare_index_params()
        index.add_index("vector", index_type="FLAT", metric_type="L2")
        client.create_collection("notes", schema=schema, index_params=index)
        client.insert("notes", [{"id": k, "vector": VECTOR, "text": f"write to {emails[k]}"} for k in keys])
        client.close()
        server_manager_instance.release_server(str(tmp_path / "m.db"))
        uri = f"milvus:{tmp_path / 'm.db'}?name=all"
    (tmp_path / "policy.yaml").write_text("version: 1\nrules:\n  - id: mail\n    match: {entities: [EMAIL_ADDRESS]}\n"
                                          "    action: delete\n")
    swept = run_cli("sweep", uri, "--policy", tmp_path / "policy.yaml", "--entities", "EMAIL_ADDRESS",
                    "--out", tmp_path / "sweep")
    assert swept.exit_code == EXIT_OK, swept.output
    listed = read_jsonl(tmp_path / "sweep" / "deletion_worklist.jsonl")
    assert sorted(r["record_id"] for r in listed) == sorted(f"notes/{k}" for k in keys)
    applied = run_cli("apply", tmp_path / "sweep" / "deletion_worklist.jsonl", "--execute", "--yes", "--json")
    assert json.loads(applied.output)["outcomes"] == {"deleted": len(keys)}, applied.output
    from scanner.connectors import connector_for
    from scanner.core.uri import parse_source_uri

    assert connector_for(parse_source_uri(uri))(parse_source_uri(uri)).record_ids() == []


@pytest.mark.slow
def test_a_redacted_copy_of_a_store_leaves_the_store_as_it_was(store, tmp_path):
    uri, rows, folder = store
    name = name_of(uri)
    before = stored_rows(uri, folder)
    result = run_cli("redact", uri, "--entities", IDENTIFIERS, "--out", tmp_path / "r", "--json")
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(result.output)["sources"][name]["findings_after"] == {}
    assert stored_rows(uri, folder) == before  # the source itself is untouched
    copy = tmp_path / "r" / "redacted" / name
    copy = copy / folder.name if uri.startswith("milvus:") else copy
    assert stored_rows(uri, copy) == {r["id"]: ("Customer <EMAIL_ADDRESS> asked about SSN <US_SSN>."
                                                if r["has"] else body(r)) for r in rows}


def test_a_store_error_on_a_call_that_carries_keys_says_only_its_type(tmp_path):
    """A client's message can quote the filter or ids it was given (record ids can be personal)."""
    from scanner.connectors.vectors import guarded
    from scanner.core.errors import SourceError

    def failing():
        raise ValueError("Invalid filter: `id` IN ('ann@example.com')")

    with pytest.raises(SourceError) as quoted:
        guarded("s", "read", failing)
    with pytest.raises(SourceError) as said:
        guarded("s", "delete", failing, names_keys=True)
    assert "ann@example.com" in str(quoted.value) and str(said.value).endswith("delete: ValueError")
