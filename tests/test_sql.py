"""SQL tables (SQLite, DuckDB, a real PostgreSQL with pgvector on 127.0.0.1): exact findings, a seeded
sample, the sweep's worklist, apply by key with the rows each database keeps stated, bad input. Data is
made with Faker here."""

import json
import sqlite3
from pathlib import Path

import pytest
from faker import Faker

from conftest import TEST_KEY, read_jsonl, run_cli, start_postgres
from detectors.normalize import digest
from scanner.core.errors import EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE

N = 24
IDENTIFIERS = "EMAIL_ADDRESS,US_SSN"


def planted(seed: int = 13) -> list[dict]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return [{"id": i + 1, "email": fake.unique.email(), "ssn": fake.ssn(), "has": i % 3 != 0,
             "created_at": f"2026-0{1 + i % 9}-01T00:00:00+00:00"} for i in range(N)]


def body(row: dict) -> str:
    return f"Customer {row['email']} asked about SSN {row['ssn']}." if row["has"] else "How do I reset my router?"


def make_sqlite(path: Path, rows: list[dict]) -> str:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY, body TEXT, score INTEGER, created_at TEXT)")
    db.executemany("INSERT INTO tickets VALUES (?, ?, ?, ?)", [(r["id"], body(r), 3, r["created_at"]) for r in rows])
    db.commit()
    db.close()
    return f"sqlite:{path}?table=tickets&name=t-sqlite"


def make_duckdb(path: Path, rows: list[dict]) -> str:
    import duckdb

    db = duckdb.connect(str(path))
    db.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY, body VARCHAR, emb FLOAT[3], created_at TIMESTAMPTZ)")
    for r in rows:
        db.execute("INSERT INTO tickets VALUES (?, ?, ?, ?)", [r["id"], body(r), [0.1, 0.2, 0.3], r["created_at"]])
    db.close()
    return f"duckdb:{path}?table=tickets&name=t-duckdb"


@pytest.fixture(scope="module")
def postgres():
    stop, port = start_postgres()
    yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    stop()


def make_postgres(url: str, rows: list[dict], table: str) -> str:
    import psycopg

    with psycopg.connect(url) as db:
        db.execute("CREATE EXTENSION IF NOT EXISTS vector")
        db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, body text, meta jsonb, embedding vector(3), "
                   "created_at timestamptz)")
        for r in rows:
            db.execute(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s)",
                       (r["id"], body(r), json.dumps({"channel": "email"}), "[1,2,3]", r["created_at"]))
    return f"{url}?table={table}&name=t-pg"


@pytest.fixture(params=["sqlite", "duckdb", "postgresql"])
def table(request, tmp_path):
    rows = planted()
    if request.param == "sqlite":
        return make_sqlite(tmp_path / "t.db", rows), rows
    if request.param == "duckdb":
        return make_duckdb(tmp_path / "t.duckdb", rows), rows
    url = request.getfixturevalue("postgres")
    return make_postgres(url, rows, f"tickets_{abs(hash(str(tmp_path))) % 10**8}"), rows


def expected_findings(rows: list[dict]) -> set[tuple]:
    key = TEST_KEY.encode()
    return {(str(r["id"]), t, digest(key, t, v)) for r in rows if r["has"]
            for t, v in (("EMAIL_ADDRESS", r["email"]), ("US_SSN", r["ssn"]))}


@pytest.mark.slow
def test_a_table_scans_to_exactly_the_planted_findings_and_samples_by_seed(table, tmp_path):
    uri, rows = table
    result = run_cli("scan", uri, "--full", "--entities", IDENTIFIERS, "--out", tmp_path / "full")
    assert result.exit_code == EXIT_OK, result.output
    found = {(f["record_id"], f["entity_type"], f["digest"]) for f in read_jsonl(tmp_path / "full" / "findings.jsonl")}
    assert found == expected_findings(rows)
    assert all(f["field"] == "body" for f in read_jsonl(tmp_path / "full" / "findings.jsonl"))
    samples = []
    for run in ("a", "b"):
        sampled = run_cli("scan", uri, "--sample", "7", "--seed", "4", "--entities", IDENTIFIERS, "--out",
                          tmp_path / run, "--json")
        summary = json.loads(sampled.output)["sources"][uri.rsplit("name=", 1)[1]]
        assert summary["records_sampled"] == 7 and summary["records_total"] == N
        samples.append(sorted({f["record_id"] for f in read_jsonl(tmp_path / run / "findings.jsonl")}))
    assert samples[0] == samples[1]


def sweep_with_a_hold(uri: str, rows: list[dict], tmp_path: Path) -> dict:
    """A sweep of `uri` into tmp_path/sweep deleting rows with an SSN, the first such row's email under
    hold LH (tmp_path/holds.yaml); the held row."""
    (tmp_path / "policy.yaml").write_text("version: 1\nrules:\n  - id: no-ssn\n    match: {entities: [US_SSN]}\n"
                                          "    action: delete\n")
    held = next(r for r in rows if r["has"])
    (tmp_path / "holds.yaml").write_text(f"holds:\n  - id: LH\n    matter: m\n    scope:\n      subjects: "
                                         f"[{{email: '{held['email']}'}}]\n")
    swept = run_cli("sweep", uri, "--policy", tmp_path / "policy.yaml", "--holds", tmp_path / "holds.yaml",
                    "--entities", IDENTIFIERS, "--out", tmp_path / "sweep")
    assert swept.exit_code == EXIT_OK, swept.output
    return held


@pytest.mark.slow
def test_a_sweep_lists_the_rows_and_apply_deletes_them_by_key_and_states_what_the_database_keeps(table, tmp_path):
    uri, rows = table
    name = uri.rsplit("name=", 1)[1]
    held = sweep_with_a_hold(uri, rows, tmp_path)
    listed = read_jsonl(tmp_path / "sweep" / "deletion_worklist.jsonl")
    want = {str(r["id"]) for r in rows if r["has"] and r is not held}
    assert {r["record_id"] for r in listed} == want
    assert [r["record_id"] for r in read_jsonl(tmp_path / "sweep" / "legal_hold_worklist.jsonl")] == [str(held["id"])]
    applied = run_cli("apply", tmp_path / "sweep" / "deletion_worklist.jsonl", "--holds", tmp_path / "holds.yaml",
                      "--execute", "--yes", "--json", "--source", f"{name}={uri}")
    assert applied.exit_code == EXIT_OK, applied.output
    outcome = json.loads(applied.output)
    assert outcome["outcomes"] == {"deleted": len(want)}
    if not uri.startswith("sqlite:"):  # SQLite here zeroes deleted content (secure_delete): nothing to state
        assert outcome["residue"] and outcome["residue"][0]["records"] == len(want)
    after = run_cli("scan", uri, "--full", "--entities", IDENTIFIERS, "--out", tmp_path / "after", "--json")
    assert json.loads(after.output)["sources"][name]["records_total"] == N - len(want)
    again = run_cli("apply", tmp_path / "sweep" / "deletion_worklist.jsonl", "--holds", tmp_path / "holds.yaml",
                    "--execute", "--yes", "--json", "--source", f"{name}={uri}")
    assert json.loads(again.output)["outcomes"] == {"already_absent": len(want)}


@pytest.mark.slow
def test_a_table_is_redacted_in_place_by_key(table, tmp_path):
    uri, rows = table
    name = uri.rsplit("name=", 1)[1]
    result = run_cli("redact", uri, "--in-place", "--no-holds", "--entities", IDENTIFIERS, "--out", tmp_path, "--json")
    assert result.exit_code == EXIT_OK, result.output
    section = json.loads(result.output)["sources"][name]
    assert section["records_changed"] == sum(r["has"] for r in rows) and section["findings_after"] == {}
    rescan = run_cli("scan", uri, "--full", "--entities", IDENTIFIERS, "--out", tmp_path / "again", "--json")
    assert json.loads(rescan.output)["sources"][name]["findings"] == 0
    residue = json.loads(result.output)["residue"]
    if uri.startswith("postgresql:"):
        assert any("embedding still derived from the original text" in r["summary"] for r in residue)
        assert any("dead tuples until VACUUM" in r["summary"] for r in residue)


def test_bad_sql_sources_are_one_line_and_the_others_finish(tmp_path):
    good = make_sqlite(tmp_path / "t.db", planted())
    missing_option = run_cli("scan", f"sqlite:{tmp_path / 't.db'}", "--out", tmp_path / "o1")
    assert missing_option.exit_code == EXIT_USAGE and "?table=" in missing_option.output
    result = run_cli("scan", good, f"sqlite:{tmp_path / 'gone.db'}?table=x&name=gone",
                     f"sqlite:{tmp_path / 't.db'}?table=nope&name=nope",
                     "postgresql://postgres@127.0.0.1:9/db?table=x&name=down&connect_timeout=2",
                     "--full", "--out", tmp_path / "o2", "--json")
    assert result.exit_code == EXIT_SOURCE_FAILED
    sources = json.loads((tmp_path / "o2" / "summary.json").read_text())["sources"]
    assert sources["t-sqlite"]["status"] == "ok"
    assert "no such database file" in sources["gone"]["error"] and "no table 'nope'" in sources["nope"]["error"]
    assert "127.0.0.1:9" in sources["down"]["error"] and "\n" not in sources["down"]["error"]
    db = sqlite3.connect(tmp_path / "nokey.db")
    db.execute("CREATE TABLE notes (body TEXT)")
    db.execute("INSERT INTO notes VALUES ('x')")
    db.commit()
    nokey = run_cli("scan", f"sqlite:{tmp_path / 'nokey.db'}?table=notes", "--out", tmp_path / "o3")
    assert nokey.exit_code == EXIT_SOURCE_FAILED and "no primary key and no id column: give ?id=COLUMN" in nokey.output


@pytest.mark.slow
def test_a_postgresql_table_is_read_in_key_ranges_that_cover_every_row_once(postgres, tmp_path, monkeypatch):
    import scanner.connectors.sqltables as sqltables
    from scanner.connectors.base import ReadReport
    from scanner.connectors.postgres import PostgresConnector
    from scanner.core.sampling import SamplePlan
    from scanner.core.uri import parse_source_uri

    monkeypatch.setattr(sqltables, "SHARD_ROWS", 10)
    uri = parse_source_uri(make_postgres(postgres, planted(), "tickets_sharded"))
    shards = PostgresConnector(uri).shards()
    assert shards == [f"tickets_sharded::offset={a}-{b}" for a, b in ((0, 10), (10, 20), (20, 24))]
    seen = []
    for shard in shards:
        reader = PostgresConnector(uri)
        reader.shard = shard
        report = ReadReport()
        ids = [r.record_id for r in reader.records(SamplePlan("full"), report)]
        assert report.records_total == len(ids)
        seen += ids
    assert seen == [str(i) for i in range(1, N + 1)]  # in key order, none twice
