"""dhscan redact and redact rules, on data generated here with Faker (not the project's fixtures): the
exact redacted texts, formats kept, pseudonyms consistent and valid, holds respected, a re-scan clean."""

import csv
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from faker import Faker
from stdnum import iban, luhn

from conftest import TEST_KEY, read_jsonl, run_cli
from detectors.pseudonyms import pseudonym
from scanner.connectors import open_source
from scanner.connectors.base import ReadReport
from scanner.connectors.replacing import Replacements
from scanner.core.digests import sha256_file
from scanner.core.errors import EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE
from scanner.core.sampling import SamplePlan

IDENTIFIERS = "EMAIL_ADDRESS,PHONE_NUMBER,CREDIT_CARD,IBAN_CODE"
TEMPLATE = "Customer wrote from {email}; call back on {phone}. Card {card}, refunds to {iban}."
PLACEHOLDERS = {"email": "<EMAIL_ADDRESS>", "phone": "<PHONE_NUMBER>", "card": "<CREDIT_CARD>", "iban": "<IBAN_CODE>"}
CLEAN = "How do I reset the router to its factory settings?"


def planted(seed: int, n: int) -> list[dict]:
    """Records with their planted values; every third record holds none."""
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    rows = []
    for i in range(n):
        values = {"email": fake.unique.email(), "phone": fake.numerify("+44 20 7### ####"),
                  "card": fake.credit_card_number(card_type="visa16"), "iban": fake.iban()}
        rows.append({"id": f"case-{seed}-{i}", "values": values if i % 3 else None,
                     "text": TEMPLATE.format(**values) if i % 3 else CLEAN})
    return rows


def write_sources(root: Path, rows: list[dict]) -> list[str]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "tickets.jsonl", "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({"id": row["id"], "prompt": row["text"], "score": 3}) + "\n")
    with open(root / "tickets.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "question", "score"])
        writer.writerows([row["id"], row["text"], 3] for row in rows)
    schema = pa.schema([("id", pa.string()), ("question", pa.string()), ("score", pa.int64()),
                        ("at", pa.timestamp("ms", tz="UTC"))], metadata={b"origin": b"support-export"})
    table = pa.table({"id": [r["id"] for r in rows], "question": [r["text"] for r in rows],
                      "score": [3] * len(rows), "at": [1_700_000_000_000 + i for i in range(len(rows))]}, schema=schema)
    pq.write_table(table, root / "tickets.parquet", row_group_size=4)
    import datasets

    datasets.Dataset.from_dict({"id": [r["id"] for r in rows], "question": [r["text"] for r in rows]}) \
        .save_to_disk(str(root / "tickets_hf"))
    return [f"{root / 'tickets.jsonl'}?name=t-jsonl", f"{root / 'tickets.csv'}?name=t-csv",
            f"{root / 'tickets.parquet'}?name=t-parquet", f"hf:{root / 'tickets_hf'}?name=t-hf"]


def expected(row: dict) -> str:
    return TEMPLATE.format(**PLACEHOLDERS) if row["values"] else CLEAN


def texts_of(uri: str) -> dict[str, str]:
    connector = open_source(uri)
    return {r.record_id: next(t for f, t in r.texts.items() if f in ("prompt", "question"))
            for r in connector.records(SamplePlan("full"), ReadReport())}


@pytest.fixture(scope="module")
def rows():
    return planted(seed=41, n=12)


def test_a_redacted_copy_has_exactly_the_placeholders_and_keeps_each_format(rows, tmp_path):
    uris = write_sources(tmp_path / "data", rows)
    before = {p.name: sha256_file(p) for p in (tmp_path / "data").iterdir() if p.is_file()}
    result = run_cli("redact", *uris, "--out", tmp_path / "out", "--entities", IDENTIFIERS, "--json")
    assert result.exit_code == EXIT_OK, result.output
    assert {p.name: sha256_file(p) for p in (tmp_path / "data").iterdir() if p.is_file()} == before
    copies = tmp_path / "out" / "redacted"
    assert sorted(p.name for p in copies.iterdir()) == ["t-csv", "t-hf", "t-jsonl", "t-parquet"]
    want = {row["id"]: expected(row) for row in rows}
    for uri in (copies / "t-jsonl" / "tickets.jsonl", copies / "t-csv" / "tickets.csv",
                copies / "t-parquet" / "tickets.parquet", f"hf:{copies / 't-hf'}"):
        assert texts_of(str(uri)) == want, uri
    # formats kept: the Parquet schema (metadata, timestamp and int columns) and row groups, the HF dataset
    original, copy = pq.ParquetFile(tmp_path / "data" / "tickets.parquet"), pq.ParquetFile(
        copies / "t-parquet" / "tickets.parquet")
    assert copy.schema_arrow == original.schema_arrow and copy.schema_arrow.metadata == {b"origin": b"support-export"}
    assert copy.read().select(["id", "score", "at"]) == original.read().select(["id", "score", "at"])
    assert copy.metadata.num_row_groups == original.metadata.num_row_groups
    import datasets

    loaded = datasets.load_from_disk(str(copies / "t-hf"))
    assert dict(zip(loaded["id"], loaded["question"])) == want
    assert (copies / "t-csv" / "tickets.csv").read_text().splitlines()[0] == "id,question,score"
    section = json.loads(result.output)
    assert section["mode"] == "copy"
    for name, source in section["sources"].items():
        assert source["findings_after"] == {} and source["original_values_found_again"] == 0, name
        assert source["records_changed"] == sum(1 for r in rows if r["values"]), name
        assert source["findings_before"] == {t: 8 for t in IDENTIFIERS.split(",")}, name
    evidence = json.loads((tmp_path / "out" / "evidence.json").read_text())
    assert evidence["redaction"] == section and evidence["command_line"][1] == "redact"


PSEUDONYMS = """redact:
  operators:
    EMAIL_ADDRESS: {type: pseudonym}
    PHONE_NUMBER: {type: pseudonym}
    CREDIT_CARD: {type: pseudonym}
    IBAN_CODE: {type: pseudonym}
"""


def redacted_values(text: str) -> dict[str, str]:
    match = re.fullmatch(r"Customer wrote from (.+); call back on (.+)\. Card (\d+), refunds to (\w+)\.", text)
    assert match, text
    return dict(zip(("email", "phone", "card", "iban"), match.groups()))


def test_pseudonyms_are_consistent_across_files_and_runs_and_keep_formats(rows, tmp_path):
    uris = write_sources(tmp_path / "data", rows)
    (tmp_path / "redact.yaml").write_text(PSEUDONYMS)
    outputs = []
    for run in ("a", "b"):
        result = run_cli("redact", *uris[:2], "--out", tmp_path / run, "--entities", IDENTIFIERS,
                         "--config", tmp_path / "redact.yaml")
        assert result.exit_code == EXIT_OK, result.output
        outputs.append((tmp_path / run / "redacted" / "t-jsonl" / "tickets.jsonl").read_bytes())
    assert outputs[0] == outputs[1]  # the same key: the same pseudonyms in every run
    jsonl = texts_of(str(tmp_path / "a" / "redacted" / "t-jsonl" / "tickets.jsonl"))
    assert texts_of(str(tmp_path / "a" / "redacted" / "t-csv" / "tickets.csv")) == jsonl  # and in every file
    for row in rows:
        if not row["values"]:
            assert jsonl[row["id"]] == CLEAN
            continue
        fake = redacted_values(jsonl[row["id"]])
        for kind, value in row["values"].items():
            assert fake[kind] != value
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d*@example\.(com|net|org)", fake["email"])
        assert re.fullmatch(r"\+44 [2-9]\d \d{4} \d{4}", fake["phone"])  # country code and separators kept
        assert fake["card"][0] == "4" and len(fake["card"]) == 16 and luhn.is_valid(fake["card"])
        assert fake["iban"][:2] == row["values"]["iban"][:2] and iban.is_valid(fake["iban"])
        assert fake["email"] == pseudonym(TEST_KEY.encode(), "EMAIL_ADDRESS", row["values"]["email"])
    # another key, other pseudonyms
    assert pseudonym(b"another-key-of-32-bytes-or-more!", "EMAIL_ADDRESS", rows[1]["values"]["email"]) != \
        pseudonym(TEST_KEY.encode(), "EMAIL_ADDRESS", rows[1]["values"]["email"])
    evidence = json.loads((tmp_path / "a" / "evidence.json").read_text())["redaction"]
    assert evidence["pseudonym_scheme"] == "dhscan-pseudonym-1"
    assert evidence["operators"] == {t: {"type": "pseudonym"} for t in IDENTIFIERS.split(",")}
    source = evidence["sources"]["t-jsonl"]
    assert source["original_values_found_again"] == 0 and source["findings_after"] == {}
    assert source["replacements_found_again"] >= 8 * 3  # pseudonyms look like what they replace, by design


def test_in_place_leaves_held_records_alone_and_a_second_run_changes_nothing(rows, tmp_path):
    uris = write_sources(tmp_path / "data", rows)
    held = rows[1]
    (tmp_path / "holds.yaml").write_text(
        f"holds:\n  - id: LH-1\n    matter: a dispute\n    scope:\n      subjects: [{{email: {held['values']['email']}}}]\n")
    (tmp_path / "redact.yaml").write_text(PSEUDONYMS)
    refused = run_cli("redact", uris[0], "--in-place", "--out", tmp_path / "out", "--entities", IDENTIFIERS)
    assert refused.exit_code == EXIT_USAGE and "--holds" in refused.output
    result = run_cli("redact", uris[0], "--in-place", "--holds", tmp_path / "holds.yaml", "--out", tmp_path / "out",
                     "--entities", IDENTIFIERS, "--config", tmp_path / "redact.yaml", "--json")
    assert result.exit_code == EXIT_OK, result.output
    now = texts_of(uris[0])
    assert now[held["id"]] == held["text"]  # held: never altered
    for row in rows:
        if row["values"] and row is not held:
            assert not any(value in now[row["id"]] for value in row["values"].values())
    source = json.loads(result.output)["sources"]["t-jsonl"]
    assert source["records_left_as_they_were"] == 1 and source["records_changed"] == 7
    assert source["original_values_found_again"] == 0
    assert source["findings_after"] == {}  # the held record's findings are counted apart
    before = (tmp_path / "data" / "tickets.jsonl").read_bytes()
    again = run_cli("redact", uris[0], "--in-place", "--holds", tmp_path / "holds.yaml", "--out", tmp_path / "out",
                    "--entities", IDENTIFIERS, "--config", tmp_path / "redact.yaml", "--json")
    assert again.exit_code == EXIT_OK, again.output
    assert (tmp_path / "data" / "tickets.jsonl").read_bytes() == before  # pseudonyms are not redacted again
    assert json.loads(again.output)["sources"]["t-jsonl"]["records_changed"] == 0
    # a record added since, holding a real value that happens to equal a pseudonym written before: redacted
    fake_email = redacted_values(texts_of(uris[0])[rows[2]["id"]])["email"]
    with open(tmp_path / "data" / "tickets.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "new-1", "prompt": f"Write to {fake_email} please", "score": 1}) + "\n")
    third = run_cli("redact", uris[0], "--in-place", "--holds", tmp_path / "holds.yaml", "--out", tmp_path / "out",
                    "--entities", IDENTIFIERS, "--config", tmp_path / "redact.yaml", "--json")
    assert third.exit_code == EXIT_OK, third.output
    now_again = texts_of(uris[0])
    assert fake_email not in now_again["new-1"] and json.loads(third.output)["sources"]["t-jsonl"]["records_changed"] == 1
    assert {k: v for k, v in now_again.items() if k != "new-1"} == {k: v for k, v in now.items()}


POLICY = """version: 1
rules:
  - id: old-traces-lose-content
    match: {entities: [EMAIL_ADDRESS, PHONE_NUMBER]}
    action: redact
    operators:
      EMAIL_ADDRESS: {type: mask, masking_char: "#", chars_to_mask: 5}
      DEFAULT: {type: replace, new_value: "[removed]"}
"""


def test_a_redact_rule_writes_a_worklist_that_apply_carries_out(rows, tmp_path):
    uris = write_sources(tmp_path / "data", rows)
    (tmp_path / "policy.yaml").write_text(POLICY)
    swept = run_cli("sweep", uris[0], uris[2], "--policy", tmp_path / "policy.yaml", "--out", tmp_path / "sweep",
                    "--entities", IDENTIFIERS, "--json")
    assert swept.exit_code == EXIT_OK, swept.output
    summary = json.loads(swept.output)["sweep"]
    assert summary["redaction_worklist_rows"] == 16 and summary["deletion_worklist_rows"] == 0
    assert summary["rules"]["old-traces-lose-content"]["redacted"] == 16
    worklist = read_jsonl(tmp_path / "sweep" / "redaction_worklist.jsonl")
    assert {r["action"] for r in worklist} == {"redact"}
    assert all(Counter(i["entity_type"] for i in r["redactions"]) == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}
               for r in worklist)
    serialized = (tmp_path / "sweep" / "redaction_worklist.jsonl").read_text()
    assert not any(v in serialized for r in rows if r["values"] for v in r["values"].values())
    dry = run_cli("apply", tmp_path / "sweep" / "redaction_worklist.jsonl", "--no-holds", "--json")
    assert dry.exit_code == EXIT_OK and json.loads(dry.output)["outcomes"] == {"redacted": 16}
    assert texts_of(uris[0]) == {r["id"]: r["text"] for r in rows}  # a dry run changes nothing
    done = run_cli("apply", tmp_path / "sweep" / "redaction_worklist.jsonl", "--no-holds", "--execute", "--yes",
                   "--json")
    assert done.exit_code == EXIT_OK, done.output
    assert json.loads(done.output)["outcomes"] == {"redacted": 16}
    for uri in (uris[0], uris[2]):
        now = texts_of(uri)
        for row in rows:
            if row["values"]:
                email = row["values"]["email"]
                want = row["text"].replace(email, "#" * 5 + email[5:]).replace(row["values"]["phone"], "[removed]")
                assert now[row["id"]] == want
            else:
                assert now[row["id"]] == CLEAN
    again = run_cli("apply", tmp_path / "sweep" / "redaction_worklist.jsonl", "--no-holds", "--execute", "--yes",
                    "--json")
    assert again.exit_code == EXIT_OK and json.loads(again.output)["outcomes"] == {"already_redacted": 16}


def test_a_trace_export_redacted_is_read_again_by_its_connector(tmp_path):
    from fixtures.traces import generate_traces

    paths = generate_traces(tmp_path / "traces", spans=30, seed=5)
    uri = f"otlp:{paths['traces']}"
    before = {r.record_id: r for r in open_source(uri).records(SamplePlan("full"), ReadReport())}
    result = run_cli("redact", uri, "--out", tmp_path / "out", "--entities", IDENTIFIERS, "--json")
    assert result.exit_code == EXIT_OK, result.output
    source = json.loads(result.output)["sources"]["traces"]
    assert source["records_changed"] > 0 and source["findings_after"] == {}
    assert source["original_values_found_again"] == 0
    copy = f"otlp:{tmp_path / 'out' / 'redacted' / 'traces' / paths['traces'].name}"
    after = {r.record_id: r for r in open_source(copy).records(SamplePlan("full"), ReadReport())}
    assert set(after) == set(before)  # every span is still there, with its ids, times and attributes
    assert all(after[i].timestamp == before[i].timestamp and after[i].attributes == before[i].attributes
               for i in before)
    assert sum(after[i].texts != before[i].texts for i in before) == source["records_changed"]
    assert all("<EMAIL_ADDRESS>" in " ".join(r.texts.values()) or r.texts == before[i].texts
               or "<PHONE_NUMBER>" in " ".join(r.texts.values()) or "<CREDIT_CARD>" in " ".join(r.texts.values())
               or "<IBAN_CODE>" in " ".join(r.texts.values()) for i, r in after.items())


def test_values_are_replaced_as_words_and_nested_values_too():
    replaced = Replacements({"Ann": "<PERSON>", "ann@x.org": "<EMAIL_ADDRESS>"})
    assert replaced.value({"a": ["Ann wrote to ann@x.org", {"b": "Annual report by Ann."}], "n": 3}) == \
        {"a": ["<PERSON> wrote to <EMAIL_ADDRESS>", {"b": "Annual report by <PERSON>."}], "n": 3}
    assert replaced.replaced == 3 and not replaced.left_in("Annual") and replaced.left_in(["x", "Ann"])
    inside = Replacements({"4111111111111111": "<CREDIT_CARD>"}, inside_words={"4111111111111111"})
    assert inside.text("card:X4111111111111111Y") == "card:X<CREDIT_CARD>Y"


def test_bad_redaction_input_is_one_line_and_other_sources_finish(rows, tmp_path):
    uris = write_sources(tmp_path / "data", rows)
    holds = tmp_path / "holds.yaml"
    holds.write_text("holds: []\n")
    copy_with_holds = run_cli("redact", uris[0], "--holds", holds, "--out", tmp_path / "o1")
    assert copy_with_holds.exit_code == EXIT_USAGE and "--in-place" in copy_with_holds.output
    (tmp_path / "bad.yaml").write_text("redact:\n  operators:\n    EMAIL_ADDRESS: {type: scramble}\n")
    bad = run_cli("redact", uris[0], "--config", tmp_path / "bad.yaml", "--out", tmp_path / "o2")
    assert bad.exit_code == EXIT_USAGE and "bad.yaml" in bad.output and "scramble" not in bad.output.split(":")[0]
    assert len(bad.output.strip().splitlines()) == 1
    missing = run_cli("redact", uris[0], str(tmp_path / "data" / "gone.jsonl"), "--out", tmp_path / "o3",
                      "--entities", IDENTIFIERS, "--json")
    assert missing.exit_code == EXIT_SOURCE_FAILED
    assert "gone" in missing.output and "error" in missing.output
    assert texts_of(str(tmp_path / "o3" / "redacted" / "t-jsonl" / "tickets.jsonl")) == \
        {r["id"]: expected(r) for r in rows}


def write_stores(root: Path, rows: list[dict]) -> tuple[Path, Path]:
    """A Qdrant local store and a Chroma persistent store of the same records, vectors given."""
    import os

    from qdrant_client import QdrantClient, models

    vectors = [[(i + 1) / 10, 0.5, 0.25] for i in range(len(rows))]
    client = QdrantClient(path=str(root / "qdrant"))
    client.create_collection("kb", vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE))
    client.upsert("kb", points=[models.PointStruct(id=i + 1, vector=v, payload={"text": r["text"], "doc": r["id"]})
                                for i, (r, v) in enumerate(zip(rows, vectors))], wait=True)
    client.close()
    os.environ["ANONYMIZED_TELEMETRY"] = "False"
    import chromadb
    from chromadb.config import Settings

    chroma = chromadb.PersistentClient(path=str(root / "chroma"), settings=Settings(anonymized_telemetry=False))
    chroma.create_collection("tickets", embedding_function=None).add(
        ids=[r["id"] for r in rows], documents=[r["text"] for r in rows], embeddings=vectors,
        metadatas=[{"doc": r["id"], "owner": r["values"]["email"] if r["values"] else "nobody"} for r in rows])
    return root / "qdrant", root / "chroma"


@pytest.mark.slow
def test_vector_store_payloads_are_redacted_through_their_clients_with_the_embedding_residue(rows, tmp_path):
    from conftest import start_chroma, stop

    qdrant, chroma = write_stores(tmp_path, rows)
    process, port = start_chroma(chroma)
    try:
        uris = [f"qdrant:{qdrant}?collection=kb&name=kb-qdrant", f"chroma+http://127.0.0.1:{port}?collection=tickets&name=kb-chroma"]
        copied = run_cli("redact", uris[1], "--out", tmp_path / "copy")
        assert copied.exit_code == EXIT_SOURCE_FAILED and "server cannot be copied: redact it --in-place" in copied.output
        (tmp_path / "policy.yaml").write_text("version: 1\nrules:\n  - id: scrub\n    action: redact\n")
        swept = run_cli("sweep", *uris, "--policy", tmp_path / "policy.yaml", "--out", tmp_path / "sweep",
                        "--entities", IDENTIFIERS)
        assert swept.exit_code == EXIT_OK, swept.output
        done = run_cli("apply", tmp_path / "sweep" / "redaction_worklist.jsonl", "--no-holds", "--execute", "--yes",
                       "--json")
        assert done.exit_code == EXIT_OK, done.output
        outcome = json.loads(done.output)
        assert outcome["outcomes"] == {"redacted": 16}
        assert {r["source"] for r in outcome["residue"]} == {"kb-qdrant", "kb-chroma"}
        assert all("embedding still derived from the original text; re-embed" in r["summary"]
                   for r in outcome["residue"])
        from qdrant_client import QdrantClient

        client = QdrantClient(path=str(qdrant))
        points = {p.payload["doc"]: p for p in client.scroll("kb", limit=100, with_vectors=True)[0]}
        client.close()
        import chromadb

        stored = chromadb.HttpClient(host="127.0.0.1", port=port).get_collection("tickets", embedding_function=None).get(
            include=["documents", "metadatas", "embeddings"])
        documents = dict(zip(stored["ids"], stored["documents"]))
        metadatas = dict(zip(stored["ids"], stored["metadatas"]))
        for i, row in enumerate(rows):
            assert points[row["id"]].payload["text"] == expected(row) == documents[row["id"]]
            assert metadatas[row["id"]]["owner"] == ("<EMAIL_ADDRESS>" if row["values"] else "nobody")
            assert points[row["id"]].vector == pytest.approx([(i + 1) / 10, 0.5, 0.25])  # the vectors as they were
        position = {row["id"]: i for i, row in enumerate(rows)}
        for item_id, embedding in zip(stored["ids"], stored["embeddings"]):
            assert list(embedding) == pytest.approx([(position[item_id] + 1) / 10, 0.5, 0.25])
    finally:
        stop(process)


TRACE_SCHEMES = {"genai_events": "otlp", "console_spans": "otlp", "langfuse_traces": "langfuse",
                 "langfuse_observations": "langfuse", "langsmith_runs": "langsmith", "langsmith_bulk": "langsmith",
                 "mlflow_traces": "mlflow", "langfuse_downloads": "langfuse", "langfuse_api_traces": "langfuse",
                 "langsmith_query": "langsmith"}


@pytest.fixture(scope="module")
def trace_exports(tmp_path_factory):
    from fixtures.traces import generate_traces

    return generate_traces(tmp_path_factory.mktemp("trace-exports"), spans=36, seed=8)


@pytest.mark.parametrize("name", sorted(TRACE_SCHEMES))
def test_each_trace_export_redacted_is_read_again_by_its_connector(trace_exports, name, tmp_path):
    uri = f"{TRACE_SCHEMES[name]}:{trace_exports[name]}?name={name}"
    before = {r.record_id: r for r in open_source(uri).records(SamplePlan("full"), ReadReport())}
    result = run_cli("redact", uri, "--out", tmp_path, "--entities", IDENTIFIERS, "--json")
    assert result.exit_code == EXIT_OK, result.output
    section = json.loads(result.output)
    source = section["sources"][name]
    assert source["records_changed"] > 0 and source["findings_after"] == {}, source
    assert source["original_values_found_again"] == 0
    copy = open_source(section["sources"][name]["written_to"])
    after = {r.record_id: r for r in copy.records(SamplePlan("full"), ReadReport())}
    assert set(after) == set(before)
    assert sum(after[i].texts != before[i].texts for i in before) == source["records_changed"]


def test_an_mlflow_file_store_is_refused_with_one_line_and_left_as_it_is(trace_exports, tmp_path):
    store = tmp_path / "mlruns"
    shutil.copytree(trace_exports["mlflow_store"], store)
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    uri = f"mlflow:{store}?name=store"
    for args in ((), ("--in-place", "--no-holds")):
        result = run_cli("redact", uri, "--out", tmp_path / f"out{len(args)}", "--entities", IDENTIFIERS, *args)
        assert result.exit_code == EXIT_SOURCE_FAILED, result.output
        assert "file-store trace cannot be redacted" in result.output
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_in_place_redaction_killed_at_random_points_ends_where_an_uninterrupted_one_does(tmp_path):
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    def make(root: Path) -> Path:
        root.mkdir(parents=True)
        for n in range(24):
            with open(root / f"part-{n:02d}.jsonl", "w", encoding="utf-8") as handle:
                for row in planted(seed=100 + n, n=30):
                    handle.write(json.dumps({"id": row["id"], "prompt": row["text"]}) + "\n")
        return root

    (tmp_path / "redact.yaml").write_text(PSEUDONYMS)
    dhscan = shutil.which("dhscan") or os.path.join(os.path.dirname(sys.executable), "dhscan")
    env = dict(os.environ, DHSCAN_KEY=TEST_KEY)

    def command(data: Path, out: Path) -> list[str]:
        return [dhscan, "redact", f"jsonl:{data}?name=parts", "--in-place", "--no-holds", "--out", str(out),
                "--entities", IDENTIFIERS, "--config", str(tmp_path / "redact.yaml"), "--workers", "1"]

    calm = make(tmp_path / "calm")
    assert subprocess.run(command(calm, tmp_path / "calm-out"), env=env, capture_output=True, timeout=600).returncode == 0
    killed = make(tmp_path / "killed")
    rng, kills = random.Random(11), 0
    for _ in range(5):
        process = subprocess.Popen(command(killed, tmp_path / "killed-out"), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.5, 5.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    final = subprocess.run(command(killed, tmp_path / "killed-out"), env=env, capture_output=True, text=True,
                           timeout=600)
    assert final.returncode == EXIT_OK, final.stdout + final.stderr
    assert kills >= 1
    for calm_file in sorted(calm.iterdir()):
        assert (killed / calm_file.name).read_bytes() == calm_file.read_bytes(), calm_file.name
    assert not list(killed.rglob("*.tmp"))


def test_precedence_is_hold_then_delete_then_redact_and_retention_blocks_only_deletion():
    from datetime import datetime, timedelta, timezone

    from retention.evaluate import Evaluator
    from retention.holds import HoldsFile
    from retention.policy import Policy
    from scanner.core.records import Finding, Record

    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    policy = Policy.model_validate({"version": 1, "rules": [
        {"id": "scrub-after-30d", "match": {"entities": ["EMAIL_ADDRESS"]}, "max_age": "30d", "action": "redact",
         "operators": {"EMAIL_ADDRESS": {"type": "pseudonym"}}},
        {"id": "drop-secret-source", "match": {"sources": ["secret"]}, "action": "delete"},
        {"id": "keep-audit", "match": {"sources": ["audit"]}, "action": "retain"},
        {"id": "drop-audit", "match": {"sources": ["audit"]}, "action": "delete"},
        {"id": "look", "action": "review"}]})
    key = TEST_KEY.encode()
    holds = HoldsFile.model_validate({"holds": [{"id": "LH", "matter": "m", "scope": {"sources": ["held"]}}]}).holds
    for hold in holds:
        hold.seal(key)
    evaluator = Evaluator(policy, holds, now, key)

    def decide(source: str, age_days: int, types: list[str]):
        record = Record(source, "eval_dataset", "r1", {}, {"text": "x"}, timestamp=now - timedelta(days=age_days))
        findings = [Finding(source, "eval_dataset", "r1", "text", t, 0.9, 0, 1, "r", f"d{t}", "p") for t in types]
        return evaluator.decide(record, findings)

    old = decide("plain", 40, ["EMAIL_ADDRESS", "PERSON"])
    assert old.action == "redact" and old.redact_rule.id == "scrub-after-30d"
    assert [f.entity_type for f in old.redactions] == ["EMAIL_ADDRESS"]  # the rule's entities only
    assert decide("plain", 10, ["EMAIL_ADDRESS"]).action == "review"  # not due yet
    assert decide("plain", 40, ["PERSON"]).action == "review"  # nothing of its types to replace
    assert decide("secret", 40, ["EMAIL_ADDRESS"]).action == "delete"
    retained = decide("audit", 40, ["EMAIL_ADDRESS"])
    assert retained.action == "redact" and retained.retained_by == ["keep-audit"]
    held = decide("held", 40, ["EMAIL_ADDRESS"])
    assert held.action == "hold" and held.suppressed_rule_id == "scrub-after-30d"
    with pytest.raises(ValueError, match="operators belong to redact rules"):
        Policy.model_validate({"version": 1, "rules": [{"id": "x", "action": "delete",
                                                         "operators": {"EMAIL_ADDRESS": {"type": "mask"}}}]})


def test_a_chroma_source_with_an_embedding_function_gets_vectors_of_the_redacted_text(rows, tmp_path, monkeypatch):
    (tmp_path / "embedder.py").write_text(
        "def embed(texts):\n    return [[float(len(t)), float(t.count('<')), 1.0] for t in texts]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _, chroma = write_stores(tmp_path, rows)
    uri = f"chroma:{chroma}?collection=tickets&name=kb&embed=embedder:embed"
    (tmp_path / "policy.yaml").write_text("version: 1\nrules:\n  - id: scrub\n    action: redact\n")
    swept = run_cli("sweep", uri, "--policy", tmp_path / "policy.yaml", "--out", tmp_path / "sweep",
                    "--entities", IDENTIFIERS)
    assert swept.exit_code == EXIT_OK, swept.output
    done = run_cli("apply", tmp_path / "sweep" / "redaction_worklist.jsonl", "--no-holds", "--execute", "--yes",
                   "--json")
    assert done.exit_code == EXIT_OK, done.output
    residue = json.loads(done.output)["residue"]
    assert not any("re-embed" in r["summary"] for r in residue)  # the vectors were computed again
    assert any("write-ahead log" in r["summary"] for r in residue)  # the store's log keeps the original text
    import chromadb
    from chromadb.config import Settings

    stored = chromadb.PersistentClient(path=str(chroma), settings=Settings(anonymized_telemetry=False)) \
        .get_collection("tickets", embedding_function=None).get(include=["documents", "embeddings"])
    by_id = {r["id"]: r for r in rows}
    for item_id, document, embedding in zip(stored["ids"], stored["documents"], stored["embeddings"]):
        assert document == expected(by_id[item_id])
        if by_id[item_id]["values"]:
            assert list(embedding) == pytest.approx([float(len(document)), 4.0, 1.0])
    from scanner.core.errors import UsageError

    with pytest.raises(UsageError, match="embed=nowhere:embed: no such function"):
        open_source(f"chroma:{chroma}?collection=tickets&embed=nowhere:embed").redact(
            {rows[1]["id"]: lambda value: value})


def test_one_number_written_in_several_ways_gets_one_pseudonym_in_each_format():
    from detectors.operators import OperatorSpec, Redactor

    key = TEST_KEY.encode()
    redactor = Redactor({"PHONE_NUMBER": OperatorSpec(type="pseudonym")}, key, phone_region="GB")
    fakes = [redactor.replacement("PHONE_NUMBER", v) for v in ("+44 20 7946 0958", "020 7946 0958", "(020) 7946-0958")]
    assert re.fullmatch(r"\+44 [2-9]\d \d{4} \d{4}", fakes[0])
    assert fakes[1] == "0" + fakes[0][4:] and fakes[2] == f"(0{fakes[0][4:6]}) {fakes[0][7:11]}-{fakes[0][12:]}"
    hashed = Redactor({"US_SSN": OperatorSpec(type="hash")}, key).replacement("US_SSN", "123-45-6789")
    from detectors.normalize import digest

    assert hashed == f"<US_SSN:{digest(key, 'US_SSN', '123-45-6789')[:12]}>"
