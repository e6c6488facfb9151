"""dhscan apply and dhscan erase against real files and stores: exactly the listed records go."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import TEST_KEY, read_jsonl, run_cli
from fixtures.generate import generate
from fixtures.traces import generate_traces
from fixtures.vectors import generate_vectors
from scanner.connectors import open_source
from scanner.connectors.base import ReadReport
from scanner.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from scanner.core.sampling import SamplePlan

POLICY = "version: 1\nrules:\n  - id: no-emails\n    match: {entities: [EMAIL_ADDRESS]}\n    action: delete\n"


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    root = tmp_path_factory.mktemp("apply-originals")
    generate(root / "evals", records=60, seed=21)
    generate_traces(root / "traces", spans=30, seed=21)
    generate_vectors(root / "vectors", n=150, seed=21)
    return root


def sources(root: Path) -> list[str]:
    return [str(root / "evals" / "support_eval.jsonl"), str(root / "evals" / "qa_eval.csv"),
            str(root / "evals" / "chat_eval.parquet"), f"otlp:{root / 'traces' / 'traces.jsonl'}",
            f"qdrant:{root / 'vectors' / 'qdrant_data'}?collection=support_kb&name=kb-qdrant",
            f"chroma:{root / 'vectors' / 'chroma_db'}?collection=support_kb&name=kb-chroma"]


@pytest.fixture
def swept(originals, tmp_path):
    """A fresh copy of every source, swept: the worklist lists the records holding an email."""
    root = tmp_path / "data"
    shutil.copytree(originals, root)
    (root / "policy.yaml").write_text(POLICY)
    result = run_cli("sweep", *sources(root), "--policy", root / "policy.yaml", "--out", root / "sweep")
    assert result.exit_code == EXIT_OK, result.output
    return root


def contents(root: Path) -> dict[str, Counter]:
    """Every source's records as a multiset of their texts (ids of CSV rows are positions and move)."""
    found = {}
    for uri in sources(root):
        connector = open_source(uri)
        found[connector.source] = Counter(json.dumps(r.texts, sort_keys=True)
                                          for r in connector.records(SamplePlan("full"), ReadReport()))
    return found


def texts_by_id(root: Path) -> dict[tuple[str, str], str]:
    found = {}
    for uri in sources(root):
        for r in open_source(uri).records(SamplePlan("full"), ReadReport()):
            found[(r.source, r.record_id)] = json.dumps(r.texts, sort_keys=True)
    return found


def expected_after(root: Path, listed: list[dict]) -> dict[str, Counter]:
    before, by_id = contents(root), texts_by_id(root)
    for row in listed:
        before[row["source"]][by_id[(row["source"], row["record_id"])]] -= 1
    return {source: +counts for source, counts in before.items()}


def test_apply_deletes_exactly_the_listed_records_and_is_idempotent(swept):
    rows = read_jsonl(swept / "sweep" / "deletion_worklist.jsonl")
    assert {r["source"] for r in rows} == {"support_eval", "qa_eval", "chat_eval", "traces", "kb-qdrant", "kb-chroma"}
    want = expected_after(swept, rows)
    dry = run_cli("apply", swept / "sweep" / "deletion_worklist.jsonl")
    assert dry.exit_code == EXIT_OK and "dry run" in dry.output
    assert contents(swept) != want  # the dry run changed nothing
    log = swept / "apply.jsonl"
    result = run_cli("apply", swept / "sweep" / "deletion_worklist.jsonl", "--execute", "--yes", "--log", log)
    assert result.exit_code == EXIT_OK, result.output
    assert contents(swept) == want
    outcomes = Counter(e["outcome"] for e in read_jsonl(log) if e["event"] == "row")
    assert outcomes == {"deleted": len(rows)}
    files = {p: p.read_bytes() for p in (swept / "evals").iterdir() if p.is_file()}
    again = run_cli("apply", swept / "sweep" / "deletion_worklist.jsonl", "--execute", "--yes", "--log", log, "--json")
    assert again.exit_code == EXIT_OK
    assert json.loads(again.output)["outcomes"] == {"already_absent": len(rows)}
    assert {p: p.read_bytes() for p in (swept / "evals").iterdir() if p.is_file()} == files
    assert not list(swept.rglob("*.dhscan-apply.*.tmp"))
    assert os.stat(swept / "evals" / "qa_eval.csv").st_mode & 0o777 == 0o644


def test_chroma_residue_is_reported_with_advice(swept):
    log = swept / "apply.jsonl"
    run_cli("apply", swept / "sweep" / "deletion_worklist.jsonl", "--execute", "--yes", "--log", log)
    residue = [e for e in read_jsonl(log) if e["event"] == "residue"]
    assert residue and residue[0]["source"] == "kb-chroma" and "chroma.sqlite3" in residue[0]["files"]
    assert "rebuild the collection" in residue[0]["advice"]


def test_held_records_are_skipped_and_in_a_changed_file_only_changed_records_are_stale(swept):
    rows = read_jsonl(swept / "sweep" / "deletion_worklist.jsonl")
    held = next(r for r in rows if r["source"] == "support_eval")
    held_texts = texts_by_id(swept)[("support_eval", held["record_id"])]
    # A hold filed after the sweep, on the email found in that record.
    email = next(t["value"] for t in read_jsonl(swept / "evals" / "ground_truth.jsonl")
                 if t["record_id"] == held["record_id"] and t["entity_type"] == "EMAIL_ADDRESS")
    (swept / "holds.yaml").write_text(f"holds:\n  - id: LH-9\n    matter: New matter\n    scope:\n"
                                      f"      subjects: [{{email: {email}}}]\n")
    csv_path = swept / "evals" / "qa_eval.csv"
    listed_qa = [r for r in rows if r["source"] == "qa_eval"]
    edited = listed_qa[0]["locator"]["record"]  # someone edited one listed row, then appended one
    lines = csv_path.read_text().splitlines(keepends=True)
    lines[edited] = lines[edited].replace("@", "@edited.", 1)
    csv_path.write_text("".join(lines) + "a new question,a new answer,,1767225600\n")
    kept = [line for i, line in enumerate(lines + ["a new question,a new answer,,1767225600\n"])
            if i not in {r["locator"]["record"] for r in listed_qa[1:]}]
    log = swept / "apply.jsonl"
    result = run_cli("apply", swept / "sweep" / "deletion_worklist.jsonl", "--holds", swept / "holds.yaml",
                     "--execute", "--yes", "--log", log)
    assert result.exit_code == EXIT_FINDINGS
    entries = {(e["source"], e["record_id"]): e for e in read_jsonl(log) if e["event"] == "row"}
    assert entries[("support_eval", held["record_id"])]["outcome"] == "skipped_hold"
    assert texts_by_id(swept)[("support_eval", held["record_id"])] == held_texts
    outcomes = {k[1]: e["outcome"] for k, e in entries.items() if k[0] == "qa_eval"}
    assert outcomes == {r["record_id"]: "stale" if r is listed_qa[0] else "deleted" for r in listed_qa}
    assert csv_path.read_text() == "".join(kept)
    assert email not in log.read_text()


def test_execute_without_yes_needs_a_terminal(swept):
    result = run_cli("apply", swept / "sweep" / "deletion_worklist.jsonl", "--execute")
    assert result.exit_code == EXIT_USAGE and "--yes" in result.output


@pytest.mark.slow
def test_killed_at_random_points_a_rerun_ends_where_an_uninterrupted_run_does(swept, tmp_path):
    rows = read_jsonl(swept / "sweep" / "deletion_worklist.jsonl")
    want = expected_after(swept, rows)
    dhscan = shutil.which("dhscan") or os.path.join(os.path.dirname(sys.executable), "dhscan")
    command = [dhscan, "apply", str(swept / "sweep" / "deletion_worklist.jsonl"), "--execute", "--yes",
               "--batch-size", "3", "--log", str(swept / "apply.jsonl")]
    env = dict(os.environ, DHSCAN_KEY=TEST_KEY)
    rng = random.Random(7)
    kills = 0
    for _ in range(6):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == EXIT_OK, final.stdout + final.stderr
    assert kills >= 1
    assert contents(swept) == want
    assert not list(swept.rglob("*.dhscan-apply.*.tmp"))
    summary = [e for e in read_jsonl(swept / "apply.jsonl") if e["event"] == "summary"][-1]
    assert set(summary["outcomes"]) <= {"deleted", "already_absent"}


def test_erase_from_identifiers_to_records_gone(originals, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(originals, root)
    truth = read_jsonl(root / "evals" / "ground_truth.jsonl")
    email = next(t for t in truth if t["entity_type"] == "EMAIL_ADDRESS" and t["source"] == "support_eval")
    phone = next(t for t in truth if t["entity_type"] == "PHONE_NUMBER" and t["source"] == "qa_eval")
    (root / "request.yaml").write_text(f"id: DSR-2026-0042\nreceived: 2026-11-30\nsubjects:\n"
                                       f"  - email: '{email['value'].upper()}'\n  - phone: '{phone['value']}'\n")
    out = root / "erase"
    result = run_cli("erase", "--request", root / "request.yaml", *sources(root)[:3], "--out", out)
    assert result.exit_code == EXIT_OK, result.output
    rows = read_jsonl(out / "deletion_worklist.jsonl")
    assert {(r["source"], r["record_id"]) for r in rows} == {(email["source"], email["record_id"]),
                                                            (phone["source"], phone["record_id"])}
    assert {r["rule_id"] for r in rows} == {"DSR-2026-0042"}
    assert "dhscan erase (now" in result.output and "sweep" not in result.output.splitlines()[0]
    assert "<h1>dhscan erase report</h1>" in (out / "report.html").read_text()
    before = texts_by_id(root)
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--execute", "--yes", "--log", out / "apply.jsonl")
    assert result.exit_code == EXIT_OK
    after = contents(root)
    assert after["support_eval"][before[("support_eval", email["record_id"])]] == 0
    assert sum(after["qa_eval"].values()) == sum(contents(Path(originals))["qa_eval"].values()) - 1
    for path in out.iterdir():
        text = path.read_text()
        assert email["value"] not in text and email["value"].upper() not in text and phone["value"] not in text
    cli = run_cli("erase", "--subject", f"email={email['value']}", "--id", "DSR-cli", sources(root)[0],
                  "--out", root / "erase2")
    assert cli.exit_code == EXIT_OK
    assert read_jsonl(root / "erase2" / "deletion_worklist.jsonl") == []  # already gone
    assert email["value"] not in (root / "erase2" / "evidence.json").read_text()


@pytest.mark.slow
def test_apply_through_a_chroma_server(originals, tmp_path):
    from conftest import start_chroma, stop

    store = tmp_path / "chroma_db"
    shutil.copytree(originals / "vectors" / "chroma_db", store)
    process, port = start_chroma(store)
    try:
        uri = f"chroma+http://127.0.0.1:{port}?collection=support_kb&name=kb-server"
        (tmp_path / "policy.yaml").write_text(POLICY)
        assert run_cli("sweep", uri, "--policy", tmp_path / "policy.yaml", "--out", tmp_path / "sweep").exit_code == 0
        rows = read_jsonl(tmp_path / "sweep" / "deletion_worklist.jsonl")
        before = [r.record_id for r in open_source(uri).records(SamplePlan("full"), ReadReport())]
        result = run_cli("apply", tmp_path / "sweep" / "deletion_worklist.jsonl", "--execute", "--yes")
        assert result.exit_code == EXIT_OK, result.output
        after = [r.record_id for r in open_source(uri).records(SamplePlan("full"), ReadReport())]
        listed = {r["record_id"] for r in rows}
        assert rows and after == [i for i in before if i not in listed]
    finally:
        stop(process)


def test_apply_finds_sources_swept_with_relative_paths(originals, tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(originals / "evals", root)
    (tmp_path / "policy.yaml").write_text(POLICY)
    monkeypatch.chdir(root)
    assert run_cli("sweep", "support_eval.jsonl", "--policy", tmp_path / "policy.yaml",
                   "--out", tmp_path / "sweep").exit_code == EXIT_OK
    monkeypatch.chdir(tmp_path)  # apply runs somewhere else
    result = run_cli("apply", tmp_path / "sweep" / "deletion_worklist.jsonl", "--execute", "--yes", "--json")
    assert result.exit_code == EXIT_OK, result.output
    listed = len(read_jsonl(tmp_path / "sweep" / "deletion_worklist.jsonl"))
    assert listed and json.loads(result.output)["outcomes"] == {"deleted": listed}


def test_a_worklist_from_a_sampled_sweep_says_what_it_leaves_out(originals, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(originals / "evals", root)
    (tmp_path / "policy.yaml").write_text(POLICY)
    source = root / "support_eval.jsonl"
    # a sample larger than the source reads every record: a census, like --full
    for how, options in (("sampled", ["--sample", "25", "--seed", "3"]), ("full", []),
                         ("whole", ["--sample", "100000"])):
        out = tmp_path / how
        assert run_cli("sweep", source, "--policy", tmp_path / "policy.yaml", *options,
                       "--out", out).exit_code == EXIT_OK
        log = tmp_path / f"{how}-log.jsonl"
        result = run_cli("apply", out / "deletion_worklist.jsonl", "--json", "--log", log)
        assert result.exit_code == EXIT_OK
        warning = ("the sweep behind this worklist read a sample (25 records a source, seed 3): records outside it "
                   "were not checked and are not on the worklist; sweep with --full before relying on it")
        lines = result.output.splitlines()
        coverage = [e for e in read_jsonl(log) if e["event"] == "coverage"]
        if how == "sampled":
            assert lines[0] == f"dhscan: warning: {warning}"
            assert json.loads("\n".join(lines[1:]))["sample_warning"] == warning
            assert [(e["sampling"]["count"], e["warning"]) for e in coverage] == [(25, warning)]
        else:
            assert json.loads(result.output)["sample_warning"] is None and coverage == []
            assert json.loads((out / "summary.json").read_text())["covers_sample"] is False


def test_apply_rewrites_hugging_face_data_files_and_their_fingerprints(originals, tmp_path):
    """A save_to_disk folder: each split's Arrow data file is rewritten without the records (schema and its
    metadata kept), the split's state.json gets a new fingerprint so `datasets` cannot reuse a cache made
    before the deletion, and cache files already there are reported; a re-run changes nothing."""
    import pyarrow as pa

    folder = tmp_path / "hf_eval"
    shutil.copytree(originals / "evals" / "hf_eval", folder)
    data = folder / "train" / "data-00000-of-00001.arrow"
    table = pa.ipc.open_stream(data.read_bytes()).read_all()
    schema = table.schema.with_metadata({"huggingface": '{"info": {"features": {}}}'})
    with pa.OSFile(str(data), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(table.cast(schema))
    shutil.copy(data, folder / "train" / "cache-0123456789abcdef.arrow")  # as datasets' map() leaves them
    (tmp_path / "policy.yaml").write_text(POLICY)
    uri = f"hf:{folder}"
    assert run_cli("sweep", uri, "--policy", tmp_path / "policy.yaml", "--out", tmp_path / "sweep").exit_code == EXIT_OK
    rows = read_jsonl(tmp_path / "sweep" / "deletion_worklist.jsonl")
    assert {r["locator"]["file"].split("/")[0] for r in rows} == {"train"}  # no email in the test split
    texts = {r.record_id: json.dumps(r.texts, sort_keys=True)
             for r in open_source(uri).records(SamplePlan("full"), ReadReport())}
    want = Counter(texts.values()) - Counter(texts[r["record_id"]] for r in rows)
    states = {s: json.loads((folder / s / "state.json").read_text()) for s in ("train", "test")}

    log = tmp_path / "apply.jsonl"
    result = run_cli("apply", tmp_path / "sweep" / "deletion_worklist.jsonl", "--execute", "--yes", "--log", log,
                     "--json")
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(result.output)["outcomes"] == {"deleted": len(rows)}
    assert Counter(json.dumps(r.texts, sort_keys=True)
                   for r in open_source(uri).records(SamplePlan("full"), ReadReport())) == want
    assert pa.ipc.open_stream(data.read_bytes()).schema.metadata == schema.metadata
    now = {s: json.loads((folder / s / "state.json").read_text()) for s in ("train", "test")}
    assert now["train"]["_fingerprint"] != states["train"]["_fingerprint"]
    assert {**now["train"], "_fingerprint": None} == {**states["train"], "_fingerprint": None}
    assert now["test"] == states["test"]  # its data did not change
    [residue] = json.loads(result.output)["residue"]
    assert residue["files"] == [str(folder / "train" / "cache-0123456789abcdef.arrow")]
    assert "cleanup_cache_files" in residue["advice"]

    files = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    again = run_cli("apply", tmp_path / "sweep" / "deletion_worklist.jsonl", "--execute", "--yes", "--log", log,
                    "--json")
    assert json.loads(again.output)["outcomes"] == {"already_absent": len(rows)}
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == files


def _records(uri: str) -> dict[str, str]:
    return {r.record_id: json.dumps(r.texts, sort_keys=True)
            for r in open_source(uri).records(SamplePlan("full"), ReadReport())}


def _sweep_and_apply(root: Path, uri: str) -> tuple[dict[str, str], list[dict], dict[str, str]]:
    """(records before, worklist rows, records after) of sweeping `uri` for emails and applying the worklist."""
    (root / "policy.yaml").write_text(POLICY)
    before = _records(uri)
    result = run_cli("sweep", uri, "--full", "--policy", root / "policy.yaml", "--out", root / "sweep")
    assert result.exit_code == EXIT_OK, result.output
    rows = read_jsonl(root / "sweep" / "deletion_worklist.jsonl")
    result = run_cli("apply", root / "sweep" / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes")
    assert result.exit_code == EXIT_OK, result.output
    return before, rows, _records(uri)


def test_a_tab_separated_file_is_rewritten_with_its_own_delimiter(tmp_path):
    from faker import Faker

    fake = Faker("en_GB")
    fake.seed_instance(808)
    lines = ["id\tnote\tcity"]
    for n in range(30):
        note = f"call back {fake.email()} tomorrow" if n % 4 == 1 else f"printer {fake.word()} jammed, again"
        lines.append(f"T-{n:04d}\t\"{note}, thanks\"\t{fake.city()}")
    path = tmp_path / "tickets.tsv"
    path.write_text("\n".join(lines) + "\n")
    before, rows, after = _sweep_and_apply(tmp_path, str(path))
    listed = {r["record_id"] for r in rows}
    assert listed == {f"T-{n:04d}" for n in range(30) if n % 4 == 1}
    assert after == {i: t for i, t in before.items() if i not in listed}
    assert path.read_text().splitlines() == [line for n, line in enumerate(lines) if n == 0 or (n - 1) % 4 != 1]


def test_an_otlp_document_holding_an_array_of_requests_is_rewritten(originals, tmp_path):
    requests = [json.loads(line) for line in (originals / "traces" / "traces.jsonl").read_text().splitlines()]
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(requests, indent=1))
    before, rows, after = _sweep_and_apply(tmp_path, f"otlp:{path}")
    listed = {r["record_id"] for r in rows}
    assert listed and len(listed) < len(before)
    assert after == {i: t for i, t in before.items() if i not in listed}
    assert isinstance(json.loads(path.read_text()), list)


def test_nanosecond_timestamps_date_records_in_parquet_hf_and_langsmith_files(tmp_path):
    """pandas writes `timestamp[ns]`: such files are dated to the microsecond and swept like any other."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(2024)
    now_ns = 1_764_547_200 * 10**9  # 2025-12-01T00:00:00Z
    ages = [3, 45, 10, 90, 31, 1]  # days
    stamps = [now_ns - age * 86_400 * 10**9 + 123_456_789 for age in ages]
    texts = [fake.sentence() for _ in ages]
    table = pa.table({"id": [f"e{i}" for i in range(len(ages))], "text": texts,
                      "created_at": pa.array(stamps, pa.timestamp("ns", tz="UTC")),
                      "meta": pa.array([{"seen": s} for s in stamps], pa.struct([("seen", pa.timestamp("ns"))]))})
    pq.write_table(table, tmp_path / "evals.parquet")
    split = tmp_path / "hf" / "train"
    split.mkdir(parents=True)
    with pa.OSFile(str(split / "data-00000-of-00001.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    (split / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}],
                                                  "_fingerprint": "0" * 16, "_split": "train"}))
    (tmp_path / "hf" / "dataset_dict.json").write_text(json.dumps({"splits": ["train"]}))
    runs = pa.table({"id": [f"run-{i}" for i in range(len(ages))], "trace_id": [f"t{i}" for i in range(len(ages))],
                     "start_time": pa.array(stamps, pa.timestamp("ns")), "inputs": [json.dumps({"q": t}) for t in texts]})
    pq.write_table(runs, tmp_path / "runs.parquet")
    (tmp_path / "policy.yaml").write_text("version: 1\nrules:\n  - id: month\n    max_age: 30d\n    action: delete\n")
    sources = [str(tmp_path / "evals.parquet"), f"hf:{tmp_path / 'hf'}?name=hf", f"langsmith:{tmp_path / 'runs.parquet'}"]
    result = run_cli("sweep", *sources, "--policy", tmp_path / "policy.yaml", "--now", "2025-12-01T00:00:00Z",
                     "--out", tmp_path / "sweep")
    assert result.exit_code == EXIT_OK, result.output
    rows = read_jsonl(tmp_path / "sweep" / "deletion_worklist.jsonl")
    old = {i for i, age in enumerate(ages) if age > 30}
    assert sorted((r["source"], r["record_id"]) for r in rows) == sorted(
        [("evals", f"e{i}") for i in old] + [("hf", f"e{i}") for i in old] + [("runs", f"run-{i}") for i in old])
    assert {r["record_timestamp"] for r in rows if r["record_id"] == "e1"} == {"2025-10-17T00:00:00.123456+00:00"}
    result = run_cli("apply", tmp_path / "sweep" / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes")
    assert result.exit_code == EXIT_OK, result.output
    assert pq.read_table(tmp_path / "evals.parquet").column("id").to_pylist() == \
        [f"e{i}" for i in range(len(ages)) if i not in old]
    assert pq.read_table(tmp_path / "evals.parquet").schema.field("created_at").type == pa.timestamp("ns", tz="UTC")
    assert pq.read_table(tmp_path / "runs.parquet").num_rows == len(ages) - len(old)


def test_langfuse_trace_downloads_are_dated_swept_and_erased_by_user_email_and_phone(tmp_path):
    from datetime import datetime, timedelta

    paths = generate_traces(tmp_path / "t", spans=60, seed=33)
    folder = paths["langfuse_downloads"]
    uri = f"langfuse:{folder}"
    expected = [r for r in read_jsonl(tmp_path / "t" / "records.jsonl") if r["source"] == "langfuse_downloads"]
    assert len(expected) == 10 and all(r["timestamp"] and r["attributes"]["user"] for r in expected)
    times = sorted(datetime.fromisoformat(r["timestamp"]) for r in expected)
    now = times[4] + timedelta(days=30, seconds=1)  # the first five are older than 30 days
    (tmp_path / "policy.yaml").write_text("version: 1\nrules:\n  - id: traces-30d\n    match: {kinds: [trace_log]}\n"
                                          "    max_age: 30d\n    action: delete\n")
    result = run_cli("sweep", uri, "--policy", tmp_path / "policy.yaml", "--now", now.isoformat(), "--out",
                     tmp_path / "sweep")
    assert result.exit_code == EXIT_OK, result.output
    due = {r["record_id"] for r in expected if datetime.fromisoformat(r["timestamp"]) < now - timedelta(days=30)}
    assert {r["record_id"] for r in read_jsonl(tmp_path / "sweep" / "deletion_worklist.jsonl")} == due and len(due) == 5

    truth = [t for t in read_jsonl(tmp_path / "t" / "ground_truth.jsonl") if t["source"] == "langfuse_downloads"]
    email = next(t for t in truth if t["entity_type"] == "EMAIL_ADDRESS")
    phone = next(t for t in truth if t["entity_type"] == "PHONE_NUMBER" and t["record_id"] != email["record_id"])
    user = next(r["attributes"]["user"] for r in expected if r["record_id"] not in (email["record_id"], phone["record_id"]))
    subject = {email["record_id"], phone["record_id"]} | {r["record_id"] for r in expected if r["attributes"]["user"] == user}
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = run_cli("erase", uri, "--subject", f"user={user}", "--subject", f"email={email['value']}",
                     "--subject", f"phone={phone['value']}", "--id", "DSR-7", "--out", tmp_path / "erase")
    assert result.exit_code == EXIT_OK, result.output
    assert {r["record_id"] for r in read_jsonl(tmp_path / "erase" / "deletion_worklist.jsonl")} == subject
    result = run_cli("apply", tmp_path / "erase" / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes")
    assert result.exit_code == EXIT_OK, result.output
    for name, data in before.items():
        trace_id = name[len("trace-"):-len(".json")]
        after = (folder / name).read_bytes()
        assert after == (b"" if trace_id in subject else data), name  # an erased trace's file stays, emptied
    left = {r.record_id for r in open_source(uri).records(SamplePlan("full"), ReadReport())}
    assert left == {r["record_id"] for r in expected} - subject


def test_records_inside_a_wrapped_json_document_are_read_and_deleted_in_place(tmp_path):
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(71)
    items = [{"id": f"q{i}", "question": f"Reply to {fake.email()} please" if i % 3 == 0 else fake.sentence()}
             for i in range(12)]
    path = tmp_path / "dev.json"
    path.write_text(json.dumps({"version": "1.1", "meta": {"split": "dev"}, "result": {"data": items}}, indent=2))
    uri = f"jsonl:{path}?records=result.data"
    assert [r.record_id for r in open_source(uri).records(SamplePlan("full"), ReadReport())] == [i["id"] for i in items]
    before, rows, after = _sweep_and_apply(tmp_path, uri)
    listed = {r["record_id"] for r in rows}
    assert listed == {f"q{i}" for i in range(0, 12, 3)}
    document = json.loads(path.read_text())
    assert document["version"] == "1.1" and document["meta"] == {"split": "dev"}
    assert document["result"]["data"] == [i for i in items if i["id"] not in listed]
    result = run_cli("scan", f"jsonl:{path}?records=rows", "--out", tmp_path / "bad")
    assert result.exit_code == 3 and "dev.json:1: no list at 'rows' (records=)" in result.output


def test_chroma_residue_is_counted_exactly_once_per_store_and_again_on_a_rerun(tmp_path):
    import sqlite3

    chromadb = pytest.importorskip("chromadb")
    from chromadb.config import Settings
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(5150)
    store = tmp_path / "chroma"
    client = chromadb.PersistentClient(path=str(store), settings=Settings(anonymized_telemetry=False))
    planted = set()
    for name in ("kb-billing", "kb-support"):
        collection = client.create_collection(name)
        ids = [f"{name[3:]}-{i:03d}" for i in range(24)]
        docs = [f"Escalated by {fake.email()} today." if i % 3 == 0 else fake.paragraph() for i in range(24)]
        planted |= {f"{name}/{ids[i]}" for i in range(0, 24, 3)}
        collection.add(ids=ids, documents=docs, embeddings=[[float(i), 1.0, 0.5] for i in range(24)])
    del client
    (tmp_path / "policy.yaml").write_text(POLICY)
    result = run_cli("sweep", f"chroma:{store}?name=kb", "--policy", tmp_path / "policy.yaml", "--out", tmp_path / "s")
    assert result.exit_code == EXIT_OK, result.output
    assert {r["record_id"] for r in read_jsonl(tmp_path / "s" / "deletion_worklist.jsonl")} == planted

    def apply() -> list[dict]:
        result = run_cli("apply", tmp_path / "s" / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes",
                         "--batch-size", "5", "--json")
        assert result.exit_code == EXIT_OK, result.output
        return json.loads(result.output[result.output.index("{"):])["residue"]

    with sqlite3.connect(store / "chroma.sqlite3") as db:  # what the write-ahead log still holds of them
        names = dict(db.execute("SELECT id, name FROM collections"))
        added = {f"{names[topic.rsplit('/', 1)[1]]}/{item}" for topic, item in
                 db.execute("SELECT topic, id FROM embeddings_queue WHERE operation = 0")}
    first = apply()
    assert len(first) == 1 and first[0]["records"] == len(planted & added) == len(planted) and \
        first[0]["of"] == len(planted)
    again = apply()  # run again "to check", as the advice says: the residue is still there, and said so
    assert again == first


def test_erasure_from_an_mlflow_file_store_removes_every_file_of_the_trace(tmp_path):
    paths = generate_traces(tmp_path / "t", spans=60, seed=44)
    store = paths["mlflow_store"]
    uri = f"mlflow:{store}"
    expected = [r for r in read_jsonl(tmp_path / "t" / "records.jsonl") if r["source"] == "mlflow_store"]
    truth = [t for t in read_jsonl(tmp_path / "t" / "ground_truth.jsonl")
             if t["source"] == "mlflow_store" and t["entity_type"] == "EMAIL_ADDRESS"]
    assert truth, "the fixture plants an email in some trace"
    email = truth[0]
    user = next(r["attributes"]["user"] for r in expected if r["record_id"] != email["record_id"])
    subject = {email["record_id"]} | {r["record_id"] for r in expected if r["attributes"]["user"] == user}
    result = run_cli("erase", uri, "--subject", f"email={email['value']}", "--subject", f"user={user}",
                     "--id", "DSR-9", "--out", tmp_path / "erase")
    assert result.exit_code == EXIT_OK, result.output
    assert {r["record_id"] for r in read_jsonl(tmp_path / "erase" / "deletion_worklist.jsonl")} == subject
    result = run_cli("apply", tmp_path / "erase" / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes")
    assert result.exit_code == EXIT_OK, result.output
    traces = {p.name for p in store.glob("*/traces/*")}
    assert traces == {r["record_id"] for r in expected} - subject  # nothing of the erased traces is left
    assert not any(email["value"] in p.read_text() for p in store.rglob("*") if p.is_file())
    log = read_jsonl(tmp_path / "erase" / "deletion_worklist.apply-log.jsonl")
    assert {e["trace_folder"] for e in log if e["event"] == "mlflow_trace_removed"} == subject
    leftover = store / next(iter({p.parent.name for p in store.glob("*/traces")})) / "traces" / ".tr-0.dhscan-deleting"
    (leftover / "request_metadata").mkdir(parents=True)  # as a kill between the rename and the removal leaves it
    (leftover / "request_metadata" / "mlflow.trace.user").write_text(email["value"])
    result = run_cli("apply", tmp_path / "erase" / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes",
                     "--json")
    assert result.exit_code == EXIT_OK and json.loads(result.output)["outcomes"] == {"already_absent": len(subject)}
    assert not leftover.exists()


def test_a_page_too_long_to_read_is_numbered_as_the_reader_numbers_it(tmp_path, monkeypatch):
    """The reader skips an over-long line as one record; the rewriter must number it the same, or it would
    take out the wrong element of the pages after it."""
    monkeypatch.setenv("DHSCAN_MAX_RECORD_BYTES", "1024")
    pages = [{"data": [{"id": "a1", "q": "fine"}, {"id": "a2", "q": "write to ann.lee@example.com"}], "meta": {}},
             {"data": [{"id": f"b{i}", "q": "x" * 40} for i in range(40)], "meta": {}},  # longer than 1024 bytes
             {"data": [{"id": "c1", "q": "mail bo.kim@example.org"}, {"id": "c2", "q": "fine"}], "meta": {}}]
    path = tmp_path / "pages.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pages))
    uri = f"jsonl:{path}?records=data"
    before, rows, after = _sweep_and_apply(tmp_path, uri)
    assert sorted(r["record_id"] for r in rows) == ["a2", "c1"]
    assert [json.loads(line)["data"] for line in path.read_text().splitlines()] == \
        [[pages[0]["data"][0]], pages[1]["data"], [pages[2]["data"][1]]]
