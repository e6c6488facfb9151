"""The promises, tried the way an attacker or a careless user would: a record under an active legal
hold is never deleted nor altered by a redaction, by any path. Data here is made with Faker directly, not by the fixtures."""

import json
import os
from pathlib import Path

import pytest
from faker import Faker

from conftest import TEST_KEY, read_jsonl, run_cli
from scanner.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE

POLICY = "version: 1\nrules:\n  - id: no-emails\n    match: {entities: [EMAIL_ADDRESS]}\n    action: delete\n"
RECORDS = 12
HELD = 4  # the record whose email a hold names


def make_dataset(root: Path, seed: int = 5) -> list[dict]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rows = [{"id": f"t-{i:03d}", "created_at": "2026-01-0%dT10:00:00Z" % (1 + i % 9),
             "prompt": f"Please update the account: my address is {fake.email()} and my SSN is {fake.ssn()}.",
             "answer": "Done."} for i in range(RECORDS)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "evals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "policy.yaml").write_text(POLICY)
    return rows


def email_of(row: dict) -> str:
    return row["prompt"].split("my address is ")[1].split(" ")[0]


def holds_file(root: Path, email: str, name: str = "holds.yaml") -> Path:
    path = root / name
    path.write_text(f"holds:\n  - id: LH-1\n    matter: Litigation\n    scope:\n      subjects: [{{email: '{email}'}}]\n")
    return path


def sweep(root: Path, *extra) -> Path:
    out = root / "out"
    result = run_cli("sweep", root / "evals.jsonl", "--policy", root / "policy.yaml", "--out", out, "--full", *extra)
    assert result.exit_code == EXIT_OK, result.output
    return out


def ids_in(root: Path) -> list[str]:
    return [r["id"] for r in read_jsonl(root / "evals.jsonl")]


@pytest.fixture
def data(tmp_path):
    rows = make_dataset(tmp_path / "d")
    return tmp_path / "d", rows


def test_a_swept_hold_keeps_its_record_off_the_worklist_and_apply_deletes_the_rest(data):
    root, rows = data
    out = sweep(root, "--holds", holds_file(root, email_of(rows[HELD])))
    listed = [r["record_id"] for r in read_jsonl(out / "deletion_worklist.jsonl")]
    assert listed == [r["id"] for i, r in enumerate(rows) if i != HELD]
    assert [r["record_id"] for r in read_jsonl(out / "legal_hold_worklist.jsonl")] == [rows[HELD]["id"]]
    run_id = json.loads((out / "evidence.json").read_text())["run_id"]  # one run id in every file of the set
    assert json.loads((out / "summary.json").read_text())["run_id"] == run_id and run_id in (out / "report.html").read_text()
    assert {r["run_id"] for r in read_jsonl(out / "deletion_worklist.jsonl")} == {run_id}
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--holds", root / "holds.yaml", "--execute", "--yes")
    assert result.exit_code == EXIT_OK, result.output
    assert ids_in(root) == [rows[HELD]["id"]]


def test_apply_refuses_a_key_other_than_the_sweeps(data, monkeypatch):
    root, rows = data
    out = sweep(root, "--holds", holds_file(root, email_of(rows[HELD])))
    monkeypatch.setenv("DHSCAN_KEY", "another-key-of-enough-length-0000")
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--holds", root / "holds.yaml", "--execute", "--yes")
    assert result.exit_code == EXIT_USAGE
    assert "this run's key is" in result.output and result.output.count("\n") == 1
    assert len(ids_in(root)) == RECORDS


def test_apply_never_makes_a_key_of_its_own(data, monkeypatch, tmp_path):
    root, rows = data
    out = sweep(root, "--holds", holds_file(root, email_of(rows[HELD])))
    monkeypatch.delenv("DHSCAN_KEY")
    key_file = tmp_path / "no-such-key"
    monkeypatch.setenv("DHSCAN_KEY_FILE", str(key_file))
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--holds", root / "holds.yaml", "--execute", "--yes")
    assert result.exit_code == EXIT_USAGE and "no key" in result.output
    assert not key_file.exists() and len(ids_in(root)) == RECORDS


def test_no_key_is_made_where_key_creation_is_turned_off(data, monkeypatch, tmp_path):
    root, _ = data
    monkeypatch.delenv("DHSCAN_KEY")
    monkeypatch.setenv("DHSCAN_KEY_FILE", str(tmp_path / "k"))
    monkeypatch.setenv("DHSCAN_KEY_CREATE", "never")
    result = run_cli("scan", root / "evals.jsonl", "--out", tmp_path / "o")
    assert result.exit_code == EXIT_USAGE and not (tmp_path / "k").exists()


def test_a_subject_hold_holds_whatever_entities_reports(data):
    root, rows = data
    (root / "policy.yaml").write_text(
        "version: 1\nrules:\n  - id: no-ssn\n    match: {entities: [US_SSN]}\n    action: delete\n")
    out = sweep(root, "--holds", holds_file(root, email_of(rows[HELD])), "--entities", "US_SSN")
    listed = [r["record_id"] for r in read_jsonl(out / "deletion_worklist.jsonl")]
    assert rows[HELD]["id"] not in listed and len(listed) == RECORDS - 1
    assert [r["record_id"] for r in read_jsonl(out / "legal_hold_worklist.jsonl")] == [rows[HELD]["id"]]
    # detected for the hold only: never reported
    assert {f["entity_type"] for f in read_jsonl(out / "findings.jsonl")} == {"US_SSN"}
    run_cli("apply", out / "deletion_worklist.jsonl", "--holds", root / "holds.yaml", "--execute", "--yes")
    assert ids_in(root) == [rows[HELD]["id"]]


def edit_rows(path: Path, edit) -> None:
    rows = read_jsonl(path)
    path.write_text("".join(json.dumps(edit(dict(r))) + "\n" for r in rows))


def test_an_edited_locator_pointing_at_a_held_record_deletes_nothing_held(data):
    root, rows = data
    out = sweep(root, "--holds", holds_file(root, email_of(rows[HELD])))
    held = read_jsonl(out / "legal_hold_worklist.jsonl")[0]
    listed = read_jsonl(out / "deletion_worklist.jsonl")
    # the first row now names the held record: its id and where it is
    listed[0] = {**listed[0], "locator": dict(held["locator"]), "record_id": held["record_id"]}
    (out / "deletion_worklist.jsonl").write_text("".join(json.dumps(r) + "\n" for r in listed))
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--holds", root / "holds.yaml", "--execute", "--yes",
                     "--json")
    assert result.exit_code == EXIT_FINDINGS
    assert json.loads(result.output)["outcomes"] == {"stale": 1, "deleted": RECORDS - 2}
    assert ids_in(root) == [rows[0]["id"], rows[HELD]["id"]]


def test_a_hold_given_only_at_apply_matches_the_record_as_it_is_now(data):
    root, rows = data
    out = sweep(root)  # no holds at sweep time
    # the digests a worklist carries cannot help or hurt: stripped here, the hold still matches
    edit_rows(out / "deletion_worklist.jsonl", lambda r: {**r, "finding_digests": [], "attribute_digests": {}})
    holds = holds_file(root, email_of(rows[HELD]))
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--holds", holds, "--execute", "--yes", "--json")
    assert result.exit_code == EXIT_FINDINGS
    assert json.loads(result.output)["outcomes"] == {"deleted": RECORDS - 1, "skipped_hold": 1}
    assert ids_in(root) == [rows[HELD]["id"]]


REDACT_POLICY = "version: 1\nrules:\n  - id: scrub\n    match: {entities: [EMAIL_ADDRESS]}\n    action: redact\n"


def test_no_redaction_path_alters_a_held_record(data, tmp_path):
    root, rows = data
    held_line = (root / "evals.jsonl").read_text().splitlines()[HELD]
    holds = holds_file(root, email_of(rows[HELD]))
    original = (root / "evals.jsonl").read_bytes()

    def held_as_it_was() -> bool:
        return (root / "evals.jsonl").read_text().splitlines()[HELD] == held_line

    # a copy never changes the source, held or not
    copied = run_cli("redact", root / "evals.jsonl", "--out", tmp_path / "copy")
    assert copied.exit_code == EXIT_OK, copied.output
    assert (root / "evals.jsonl").read_bytes() == original
    # a redaction worklist swept without holds, the hold given only at apply time
    (root / "redact.yaml").write_text(REDACT_POLICY)
    swept = run_cli("sweep", root / "evals.jsonl", "--policy", root / "redact.yaml", "--out", tmp_path / "s")
    assert swept.exit_code == EXIT_OK, swept.output
    worklist = tmp_path / "s" / "redaction_worklist.jsonl"
    listed = read_jsonl(worklist)
    # ... and edited: the held record's row left out, the first row's locator and id now naming it
    held_row = next(r for r in listed if r["record_id"] == rows[HELD]["id"])
    edited = tmp_path / "s" / "edited.jsonl"
    edited.write_text("".join(json.dumps(r) + "\n" for r in [
        {**listed[0], "locator": held_row["locator"], "record_id": held_row["record_id"]},
        *(r for r in listed[1:] if r is not held_row)]))
    attack = run_cli("apply", edited, "--holds", holds, "--execute", "--yes", "--json", "--log", tmp_path / "a.log")
    assert attack.exit_code == EXIT_FINDINGS, attack.output
    assert json.loads(attack.output)["outcomes"] == {"stale": 1, "redacted": RECORDS - 2}
    assert held_as_it_was()
    make_dataset(root)  # the records as they were, for the worklist as the sweep wrote it
    applied = run_cli("apply", worklist, "--holds", holds, "--execute", "--yes", "--json", "--log", tmp_path / "b.log")
    assert applied.exit_code == EXIT_FINDINGS, applied.output
    assert json.loads(applied.output)["outcomes"] == {"skipped_hold": 1, "redacted": RECORDS - 1}
    assert held_as_it_was()
    # in place, with the hold swept
    in_place = run_cli("redact", root / "evals.jsonl", "--in-place", "--holds", holds, "--out", tmp_path / "in")
    assert in_place.exit_code == EXIT_OK, in_place.output
    assert held_as_it_was()
    assert sum(email_of(r) in (root / "evals.jsonl").read_text() for r in rows) == 1


def name_hold(root: Path, name: str) -> Path:
    path = root / "name-holds.yaml"
    path.write_text(f"holds:\n  - id: LH-N\n    matter: Dispute\n    scope:\n      subjects: [{{name: '{name}'}}]\n")
    return path


@pytest.mark.parametrize("cluster", [False, True])
def test_a_held_name_the_model_does_not_find_still_keeps_its_record(tmp_path, cluster):
    fake = Faker("de_DE")
    fake.seed_instance(11)
    name = f"{fake.first_name()} {fake.last_name()}"
    root = tmp_path / "d"
    rows = make_dataset(root)
    # German, lower-cased, possessive: the English model reads none of them as a PERSON
    mentions = {2: f"Rückruf erbeten, {name} hat wegen der Rechnung angerufen.",
                HELD: f"escalated by {name.lower()} on monday", 9: f"forwarded to {name.upper()}'s desk"}
    for i, text in mentions.items():
        rows[i]["answer"] = text
    (root / "evals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    scanned = run_cli("scan", root / "evals.jsonl", "--full", "--entities", "PERSON", "--out", tmp_path / "scan")
    assert scanned.exit_code in (EXIT_OK, EXIT_FINDINGS), scanned.output
    persons = {f["record_id"] for f in read_jsonl(tmp_path / "scan" / "findings.jsonl")}
    assert not persons & {rows[i]["id"] for i in mentions}  # the model misses each: the text itself is matched
    extra = ("--cluster", "local:1") if cluster else ()
    out = sweep(root, "--holds", name_hold(root, name), *extra)
    held = sorted(r["record_id"] for r in read_jsonl(out / "legal_hold_worklist.jsonl"))
    assert held == sorted(rows[i]["id"] for i in mentions)
    assert {r["record_id"] for r in read_jsonl(out / "deletion_worklist.jsonl")}.isdisjoint(held)
    assert name.lower() not in (out / "legal_hold_worklist.jsonl").read_text().lower()


def test_a_name_hold_given_only_at_apply_is_matched_in_the_text_and_an_erasure_by_name_is_not(data):
    root, rows = data
    rows[HELD]["answer"] = "Rückruf erbeten, grete weiß hat angerufen."
    (root / "evals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = sweep(root)
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--holds", name_hold(root, "Grete Weiß"),
                     "--execute", "--yes", "--json")
    assert result.exit_code == EXIT_FINDINGS
    assert json.loads(result.output)["outcomes"] == {"deleted": RECORDS - 1, "skipped_hold": 1}
    assert ids_in(root) == [rows[HELD]["id"]]
    # an erasure deletes what detection found: a name the model does not find is not matched in the text
    erased = run_cli("erase", root / "evals.jsonl", "--subject", "name=Grete Weiß", "--out", root / "erase")
    assert erased.exit_code == EXIT_OK, erased.output
    assert read_jsonl(root / "erase" / "deletion_worklist.jsonl") == []


def test_a_record_rewritten_since_the_sweep_with_size_and_time_kept_is_stale(data):
    root, rows = data
    out = sweep(root)
    path = root / "evals.jsonl"
    before = os.stat(path)
    text = path.read_text()
    victim = rows[1]["prompt"]
    changed = victim.replace("Please update", "Please UPDATE")
    assert len(changed) == len(victim) and changed != victim
    path.write_text(text.replace(victim, changed))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and time as the sweep saw them
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes", "--json")
    assert json.loads(result.output)["outcomes"] == {"deleted": RECORDS - 1, "stale": 1}
    assert ids_in(root) == [rows[1]["id"]]


def test_holds_checked_at_sweep_must_be_given_again_or_declined(data):
    root, rows = data
    out = sweep(root, "--holds", holds_file(root, email_of(rows[HELD])))
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--execute", "--yes")
    assert result.exit_code == EXIT_USAGE and "--no-holds" in result.output
    assert len(ids_in(root)) == RECORDS
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes")
    assert result.exit_code == EXIT_OK and ids_in(root) == [rows[HELD]["id"]]


def test_apply_refuses_a_worklist_from_another_run_than_its_evidence(data, tmp_path):
    root, rows = data
    out = sweep(root)
    worklist = (out / "deletion_worklist.jsonl").read_text()
    sweep(root)  # a later run replaces the set; an old worklist copied back beside its evidence
    (out / "deletion_worklist.jsonl").write_text(worklist)
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes")
    assert result.exit_code == EXIT_USAGE and "another sweep" in result.output
    assert len(ids_in(root)) == RECORDS


@pytest.mark.parametrize("edit, message", [
    (lambda r: {**r, "format_version": 1}, "worklist format 1"),
    (lambda r: {k: v for k, v in r.items() if k != "content_digest"}, "worklist format"),
    (lambda r: {**r, "locator": "evals.jsonl:3"}, "locator is not an object"),
    (lambda r: {**r, "locator": {**r["locator"], "record": "3"}}, "not a record number"),
    (lambda r: {**r, "entity_types": "EMAIL_ADDRESS"}, "entity_types: Input should be a valid list"),
    (lambda r: {**r, "content_digest": ""}, "content_digest: String should have at least 1 character"),
    (lambda r: {**r, "jane.doe@example.com": 1}, "a field the format does not have"),
])
def test_a_malformed_worklist_row_is_refused_with_one_line(data, edit, message):
    root, _ = data
    out = sweep(root)
    edit_rows(out / "deletion_worklist.jsonl", edit)
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes")
    assert result.exit_code == EXIT_USAGE and message in result.output and result.output.count("\n") == 1
    assert "@" not in result.output and "EMAIL_ADDRESS\"" not in result.output  # names, never values
    assert len(ids_in(root)) == RECORDS


def test_a_worklist_listing_one_record_twice_is_refused(data):
    root, _ = data
    out = sweep(root)
    path = out / "deletion_worklist.jsonl"
    path.write_text(path.read_text() + path.read_text().splitlines(keepends=True)[0])
    result = run_cli("apply", path, "--no-holds", "--execute", "--yes")
    assert result.exit_code == EXIT_USAGE and f"row {RECORDS + 1} lists the record row 1 lists" in result.output
    assert len(ids_in(root)) == RECORDS


def test_a_vector_point_re_upserted_since_the_sweep_is_stale_not_deleted(tmp_path):
    chromadb = pytest.importorskip("chromadb")
    from chromadb.config import Settings

    fake = Faker("en_US")
    fake.seed_instance(11)
    store = tmp_path / "chroma"
    client = chromadb.PersistentClient(path=str(store), settings=Settings(anonymized_telemetry=False))
    collection = client.create_collection("notes", embedding_function=None)
    ids = [f"p{i}" for i in range(6)]
    collection.add(ids=ids, documents=[f"Contact {fake.email()} about the refund." for _ in ids],
                   embeddings=[[float(i), 1.0] for i in range(6)])
    held_email = fake.email()
    (tmp_path / "policy.yaml").write_text(POLICY)
    out = tmp_path / "out"
    result = run_cli("sweep", f"chroma:{store}?collection=notes", "--policy", tmp_path / "policy.yaml", "--out", out)
    assert result.exit_code == EXIT_OK, result.output
    # p2 now holds text about a person under a hold the sweep never saw it match
    collection.upsert(ids=["p2"], documents=[f"Please keep: {held_email} wrote in."], embeddings=[[2.0, 1.0]])
    del client
    holds = holds_file(tmp_path, held_email)
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--holds", holds, "--execute", "--yes", "--json")
    assert json.loads(result.output)["outcomes"] == {"deleted": 5, "stale": 1}
    client = chromadb.PersistentClient(path=str(store), settings=Settings(anonymized_telemetry=False))
    assert client.get_collection("notes", embedding_function=None).get()["ids"] == ["p2"]


def test_attribute_holds_match_on_fields_a_source_names_and_a_criterion_no_record_has_is_said(data):
    root, rows = data
    lines = [json.loads(line) for line in (root / "evals.jsonl").read_text().splitlines()]
    for i, line in enumerate(lines):
        line["account"] = {"tenant": "acme" if i % 3 == 0 else "globex"}
    (root / "evals.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (root / "holds.yaml").write_text("holds:\n  - id: LH-T\n    matter: Audit\n    scope:\n"
                                     "      attributes: {tenant: acme}\n")
    out = root / "out"
    plain = run_cli("sweep", root / "evals.jsonl", "--policy", root / "policy.yaml", "--holds", root / "holds.yaml",
                    "--out", out, "--strict")
    assert plain.exit_code == EXIT_USAGE
    assert "legal hold LH-T: no scanned record has a 'tenant' attribute" in plain.output
    assert json.loads((out / "summary.json").read_text())["sweep"]["hold_warnings"]
    named = run_cli("sweep", f"{root / 'evals.jsonl'}?attributes=tenant:account.tenant", "--policy",
                    root / "policy.yaml", "--holds", root / "holds.yaml", "--out", out, "--strict")
    assert named.exit_code == EXIT_OK, named.output
    held = [r["record_id"] for r in read_jsonl(out / "legal_hold_worklist.jsonl")]
    assert held == [r["id"] for i, r in enumerate(rows) if i % 3 == 0]
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--holds", root / "holds.yaml", "--execute", "--yes")
    assert result.exit_code == EXIT_OK
    assert ids_in(root) == held


# -- no raw secret or forged line in what dhscan prints ----------------------------------------------

def everything_written(*folders: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for folder in folders for p in folder.rglob("*") if p.is_file())


def test_uri_secrets_are_hidden_in_errors_summary_and_evidence(data, tmp_path):
    root, _ = data
    out = tmp_path / "o"
    result = run_cli("scan", f"jsonl:{root / 'missing.jsonl'}?secret_key=SEKRET-VALUE&session_token=TOKEN-VALUE",
                     "chroma+http://bob:hunter2-pw@127.0.0.1:9?collection=notes", root / "evals.jsonl", "--out", out)
    assert result.exit_code == 3
    written = result.output + everything_written(out)
    for secret in ("SEKRET-VALUE", "TOKEN-VALUE", "hunter2-pw"):
        assert secret not in written
    assert "secret_key=***" in written and "//***@127.0.0.1:9" in written


def test_a_file_name_with_a_newline_cannot_forge_an_error_line(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.jsonl").write_text(json.dumps({"id": "a", "text": "hello"}) + "\n")
    (folder / "x\ndhscan: error: forged.jsonl").write_text("not json\n" + json.dumps({"id": "b", "text": "x"}) + "\n")
    result = run_cli("scan", folder, "--out", tmp_path / "o", "--full")
    assert result.exit_code == EXIT_OK
    assert not [line for line in result.output.splitlines() if line.startswith("dhscan: error: forged")]
    assert "x\\x0adhscan: error: forged.jsonl" in result.output


def test_rich_markup_and_newlines_in_a_source_name_print_as_written(tmp_path):
    data = tmp_path / "evals.jsonl"
    data.write_text(json.dumps({"id": "a", "text": "mail ann@example.com"}) + "\n")
    result = run_cli("scan", f"{data}?name=[bold]x%0Ay", "--out", tmp_path / "o", "--full")
    assert result.exit_code == EXIT_OK
    assert any(line.startswith("│ [bold]x\\x0ay") for line in result.output.splitlines())  # the table row
    assert "[bold]x\\x0ay: 1 of 1" in result.output


def test_outputs_follow_the_umask_and_are_never_more_open_than_their_folder(data, tmp_path):
    root, _ = data
    previous = os.umask(0o027)
    try:
        run_cli("scan", root / "evals.jsonl", "--out", tmp_path / "a")
        private = tmp_path / "b"
        private.mkdir(mode=0o700)
        os.umask(0o002)
        run_cli("scan", root / "evals.jsonl", "--out", private)
    finally:
        os.umask(previous)
    assert {oct(p.stat().st_mode & 0o777) for p in (tmp_path / "a").iterdir()} == {oct(0o640)}
    assert {oct(p.stat().st_mode & 0o777) for p in private.iterdir()} == {oct(0o600)}


def test_worklist_csv_cells_never_start_a_formula_and_the_jsonl_stays_exact(tmp_path):
    root = tmp_path / "d"
    make_dataset(root)
    ids = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(1)", "\tTAB", "plain"]
    lines = [json.loads(line) for line in (root / "evals.jsonl").read_text().splitlines()][:len(ids)]
    (root / "evals.jsonl").write_text("".join(json.dumps({**line, "id": i}) + "\n" for line, i in zip(lines, ids)))
    out = sweep(root)
    import csv

    with open(out / "deletion_worklist.csv", newline="", encoding="utf-8") as handle:
        cells = [row["record_id"] for row in csv.DictReader(handle)]
    assert cells == ["'" + i for i in ids[:-1]] + ["plain"]
    assert [r["record_id"] for r in read_jsonl(out / "deletion_worklist.jsonl")] == ids
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes")
    assert result.exit_code == EXIT_OK and ids_in(root) == []


def test_a_rewritten_file_keeps_its_owner_group_and_mode(data):
    root, rows = data
    path = root / "evals.jsonl"
    if os.geteuid() != 0:
        pytest.skip("only root can hand a file to another owner")
    os.chown(path, 4321, 4322)
    os.chmod(path, 0o640)
    out = sweep(root, "--holds", holds_file(root, email_of(rows[HELD])))
    run_cli("apply", out / "deletion_worklist.jsonl", "--holds", root / "holds.yaml", "--execute", "--yes")
    info = os.stat(path)
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (4321, 4322, 0o640) and len(ids_in(root)) == 1


def test_identifiers_in_record_ids_and_field_names_reach_no_output_and_apply_still_deletes(tmp_path):
    """A planted email, SSN and phone number as record ids (files and a Chroma store) and an email as a
    JSON key: grepped in every file sweep and apply write, and in what they print."""
    chromadb = pytest.importorskip("chromadb")
    from chromadb.config import Settings

    fake = Faker("en_US")
    fake.seed_instance(23)
    planted = [fake.email(), fake.ssn(), "+1 415 555 0143", fake.email()]
    root = tmp_path / "d"
    root.mkdir()
    rows = [{"user_email": planted[0], "text": f"mail {fake.email()}"},
            {"user_email": planted[1], "text": f"mail {fake.email()}"},
            {"user_email": planted[2], "text": f"mail {fake.email()}", planted[3]: f"write to {fake.email()}"}]
    (root / "users.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "users.csv").write_text("user_email,text\n" + "".join(f"{r['user_email']},{r['text']}\n" for r in rows))
    store = tmp_path / "chroma"
    client = chromadb.PersistentClient(path=str(store), settings=Settings(anonymized_telemetry=False))
    client.create_collection("people", embedding_function=None).add(
        ids=[planted[0], planted[1], "plain-id"], embeddings=[[1.0, float(i)] for i in range(3)],
        documents=[f"reach me at {fake.email()}" for _ in range(3)])
    del client
    (root / "policy.yaml").write_text(POLICY)
    out = tmp_path / "out"
    sources = [f"{root / 'users.jsonl'}?id=user_email", f"csv:{root / 'users.csv'}?id=user_email&name=users-csv",
               f"chroma:{store}?collection=people"]
    swept = run_cli("sweep", *sources, "--policy", root / "policy.yaml", "--out", out, "--format", "parquet")
    assert swept.exit_code == EXIT_OK, swept.output
    listed = read_jsonl(out / "deletion_worklist.jsonl")
    assert len(listed) == 9 and sum("~" in r["record_id"] for r in listed) == 8
    assert any("~" in f["field"] for f in read_jsonl(out / "findings.jsonl"))
    log = tmp_path / "apply-log.jsonl"
    applied = run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes", "--log", log)
    assert applied.exit_code == EXIT_OK, applied.output
    assert read_jsonl(root / "users.jsonl") == [] and (root / "users.csv").read_text() == "user_email,text\n"
    client = chromadb.PersistentClient(path=str(store), settings=Settings(anonymized_telemetry=False))
    assert client.get_collection("people", embedding_function=None).count() == 0
    written = swept.output + applied.output + everything_written(out) + log.read_text()
    import pyarrow.parquet as pq

    written += str(pq.read_table(out / "deletion_worklist.parquet").to_pylist())
    for value in planted:
        assert value not in written, value


def test_identifiers_in_record_ids_reach_no_redaction_output_and_leave_the_copy(tmp_path):
    """A planted email and phone as record ids, an email as a JSON key: redact's worklist, log, evidence,
    re-scan and what it prints never hold them; the copy holds no value that was found."""
    fake = Faker("en_US")
    fake.seed_instance(29)
    planted = [fake.email(), "+1 415 555 0143", fake.email()]
    root = tmp_path / "d"
    root.mkdir()
    rows = [{"user_email": planted[0], "text": f"mail {fake.email()}"},
            {"user_email": planted[1], "text": f"call {fake.email()}", planted[2]: "a key, not a value"}]
    (root / "users.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    result = run_cli("redact", f"{root / 'users.jsonl'}?id=user_email", "--out", out)
    assert result.exit_code == EXIT_OK, result.output
    copy = (out / "redacted" / "users" / "users.jsonl").read_text()
    assert planted[0] not in copy and planted[1] not in copy  # ids found as identifiers are replaced too
    outputs = "\n".join(p.read_text(errors="replace") for p in out.rglob("*")
                        if p.is_file() and "redacted" not in p.relative_to(out).parts)
    for value in planted:
        assert value not in result.output + outputs, value


# -- no lost update: applies at once ----------------------------------------------------------------

def parquet_dataset(root: Path, n: int = 400) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fake = Faker("en_US")
    fake.seed_instance(31)
    root.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": [f"r{i}" for i in range(n)],
                             "text": [f"Reach {fake.email()} today" if i % 4 else "nothing here" for i in range(n)]}),
                   root / "evals.parquet", row_group_size=50)
    (root / "policy.yaml").write_text(POLICY)


def test_two_applies_on_one_file_at_once_lose_no_deletion(tmp_path):
    import subprocess
    import sys

    import pyarrow.parquet as pq

    for trial in range(4):
        root = tmp_path / f"t{trial}"
        parquet_dataset(root)
        out = root / "out"
        assert run_cli("sweep", root / "evals.parquet", "--policy", root / "policy.yaml", "--out", out).exit_code == 0
        rows = read_jsonl(out / "deletion_worklist.jsonl")
        for half, name in ((rows[0::2], "even.jsonl"), (rows[1::2], "odd.jsonl")):
            (out / name).write_text("".join(json.dumps(r) + "\n" for r in half))
        env = {**os.environ, "DHSCAN_KEY": TEST_KEY}
        procs = [subprocess.Popen([sys.executable, "-m", "scanner.cli", "apply", str(out / name), "--no-holds",
                                   "--execute", "--yes", "--json"], stdout=subprocess.PIPE, env=env)
                 for name in ("even.jsonl", "odd.jsonl")]
        results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
        assert [p.returncode for p in procs] == [EXIT_OK, EXIT_OK]
        assert sum(r["outcomes"].get("deleted", 0) for r in results) == len(rows)
        left = pq.read_table(root / "evals.parquet").column("id").to_pylist()
        assert left == [f"r{i}" for i in range(400) if i % 4 == 0]


def test_a_second_apply_on_the_same_log_fails_with_one_line(data):
    import fcntl

    root, _ = data
    out = sweep(root)
    log = root / "apply-log.jsonl"
    with open(log, "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # another apply holds it
        result = run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes", "--log", log)
    assert result.exit_code == EXIT_USAGE and "in use by another dhscan process" in result.output
    assert len(ids_in(root)) == RECORDS


def test_a_re_run_without_a_log_after_an_apply_says_already_absent(data):
    root, _ = data
    out = sweep(root)
    first = run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes", "--json")
    assert json.loads(first.output)["outcomes"] == {"deleted": RECORDS}
    (root / "evals.jsonl").write_text((root / "evals.jsonl").read_text() + '{"id": "new", "prompt": "hi"}\n')
    again = run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes", "--json")
    assert again.exit_code == EXIT_OK and json.loads(again.output)["outcomes"] == {"already_absent": RECORDS}
    assert (out / "deletion_worklist.apply-log.jsonl").exists() and ids_in(root) == ["new"]


def test_a_sigterm_landing_in_a_finalizer_still_ends_the_run_with_143(data, monkeypatch):
    """Python drops an exception raised in `__del__`: a SIGTERM arriving there must not be lost."""
    import signal

    import scanner.runs.scan

    root, _ = data
    real = scanner.runs.scan.run_scan
    reached = []

    class SignalledOnCollection:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs here, inside the finalizer
                pass

    def run_scan(*args, **kwargs):
        SignalledOnCollection()
        reached.append("after the finalizer")
        return real(*args, **kwargs)

    monkeypatch.setattr(scanner.runs.scan, "run_scan", run_scan)
    result = run_cli("scan", root / "evals.jsonl", "--out", root / "o")
    assert result.exit_code == 143 and "terminated (SIGTERM)" in result.output


def test_one_run_at_a_time_writes_an_output_folder_and_a_killed_runs_leftovers_go(data, tmp_path):
    import fcntl

    root, _ = data
    out = tmp_path / "o"
    out.mkdir()
    (out / ".findings.jsonl.abc123.tmp").write_text("half a file a killed run left")
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another run is writing here
        busy = run_cli("scan", root / "evals.jsonl", "--out", out)
    finally:
        os.close(fd)
    assert busy.exit_code == EXIT_USAGE and "in use by another dhscan run" in busy.output
    assert run_cli("scan", root / "evals.jsonl", "--out", out).exit_code == EXIT_OK
    assert sorted(p.name for p in out.iterdir()) == ["evidence.json", "findings.jsonl", "report.html", "summary.json"]


# -- bad input costs only itself ----------------------------------------------------------------------

@pytest.mark.parametrize("name, text, message", [
    ("policy.yaml", "version: 1\nrules:\n  - id: r\n    max_age: 0d\n    action: delete\n", None),
    ("policy.yaml", "version: 1\nrules:\n  - id: r\n    max_age: 99999999999y\n    action: delete\n",
     "longer than 1000 years"),
    ("policy.yaml", "version: 1\nrules:\n  - id: r\n    match: {entities: [EMAIL]}\n    action: delete\n",
     "unknown entity type(s) EMAIL"),
    ("policy.yaml", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                    "version: 1\nrules: []\n", "expands to more than 100,000 values"),
    ("holds.yaml", "holds:\n  - id: H\n    matter: M\n    scope: {time_range: {from: 2026-13-45}}\n",
     "holds.yaml:4: month must be in 1..12"),
    ("holds.yaml", "holds:\n  - id: H\n    matter: M\n    scope: {time_range: {from: 2026-05-01, to: 2026-01-01}}\n",
     "'from' is after 'to'"),
    ("holds.yaml", "holds:\n  - id: H\n    matter: M\n    scope: {subjects: [{email: ''}]}\n", "empty value"),
])
def test_bad_policy_and_holds_files_fail_with_one_line(data, name, text, message):
    root, _ = data
    (root / name).write_text(text)
    holds = ["--holds", root / "holds.yaml"] if name == "holds.yaml" else []
    result = run_cli("sweep", root / "evals.jsonl", "--policy", root / "policy.yaml", *holds, "--out", root / "o")
    if message is None:  # valid: a zero max age is due at once for a dated record
        assert result.exit_code == EXIT_OK, result.output
        assert len(read_jsonl(root / "o" / "deletion_worklist.jsonl")) == RECORDS
        return
    assert result.exit_code == EXIT_USAGE and message in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["--now", ""], "--now is empty"),
    (["s3://"], "no bucket"),
])
def test_bad_options_fail_with_one_line(data, args, message):
    root, _ = data
    sources = [] if args[0].startswith("s3") else [root / "evals.jsonl"]
    result = run_cli("sweep", *sources, *args, "--policy", root / "policy.yaml", "--out", root / "o")
    assert result.exit_code == EXIT_USAGE and message in result.output and result.output.count("\n") == 1


def test_one_odd_record_is_skipped_with_a_reason_and_the_rest_scanned(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setenv("DHSCAN_MAX_RECORD_BYTES", str(64 << 10))
    root = tmp_path / "d"
    root.mkdir()
    deep = "[" * 20_000 + "]" * 20_000  # under the 64 KiB record limit, too deep to read
    (root / "odd.jsonl").write_text(
        json.dumps({"id": "a", "created_at": "9999-12-31T00:00:00Z", "t": "mail ann@example.com"}) + "\n"
        + '{"id": "b", "t": ' + deep + "}\n"
        + json.dumps({"id": "c", "t": "x" * (200 << 10)}) + "\n"
        + json.dumps({"id": "d", "t": "mail dan@example.com"}) + "\n")
    pq.write_table(pa.table({"id": ["m1", "m2"], "tags": pa.array(
        [[("owner", "eve@example.com")], None], type=pa.map_(pa.string(), pa.string()))}), root / "maps.parquet")
    (root / "policy.yaml").write_text("version: 1\nrules:\n  - id: r\n    max_age: 30d\n    action: delete\n")
    result = run_cli("sweep", root / "odd.jsonl", root / "maps.parquet", "--policy", root / "policy.yaml",
                     "--out", root / "o", "--json")
    assert result.exit_code == EXIT_OK, result.output
    summary = json.loads(result.output[result.output.index("{"):])
    odd = summary["sources"]["odd"]
    assert odd["records_sampled"] == 2 and odd["skipped_reasons"] == {"record_too_large": 1, "too_deep": 1}
    assert summary["sources"]["maps"]["entity_counts"] == {"EMAIL_ADDRESS": 1}
    findings = read_jsonl(root / "o" / "findings.jsonl")
    assert {(f["record_id"], f["field"]) for f in findings if f["source"] == "maps"} == {("m1", "tags[0].value")}


def test_a_symlink_loop_reads_each_file_once(tmp_path):
    folder = tmp_path / "loop" / "sub"
    folder.mkdir(parents=True)
    (folder / "a.jsonl").write_text(json.dumps({"id": "q", "t": "mail q@example.com"}) + "\n")
    (folder / "up").symlink_to("..")
    result = run_cli("scan", tmp_path / "loop", "--out", tmp_path / "o", "--full", "--json")
    assert json.loads(result.output[result.output.index("{"):])["sources"]["loop"]["records_total"] == 1


def test_a_file_that_changes_while_it_is_read_fails_its_source(data, monkeypatch):
    from scanner.connectors.jsonl import JsonlConnector

    root, _ = data
    original = JsonlConnector.file_candidates

    def growing(self, stream, file, report):
        for n, candidate in enumerate(original(self, stream, file, report)):
            if n == 0:
                with open(root / "evals.jsonl", "a") as handle:  # a writer appends mid-read
                    handle.write(json.dumps({"id": "late", "prompt": "hi"}) + "\n")
            yield candidate

    monkeypatch.setattr(JsonlConnector, "file_candidates", growing)
    result = run_cli("scan", root / "evals.jsonl", "--out", root / "o", "--full")
    assert result.exit_code == 3 and "changed while it was read" in result.output


@pytest.fixture
def tiny_disk(tmp_path):
    import subprocess

    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root and mount rights)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk: Path) -> None:
    with open(disk / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"x" * 1024)
        except OSError:
            pass


def test_a_full_disk_fails_with_one_line_and_keeps_earlier_outputs(data, tiny_disk):
    root, _ = data
    out = tiny_disk / "out"
    first = run_cli("scan", root / "evals.jsonl", "--out", out, "--sample", "1")
    assert first.exit_code == EXIT_OK, first.output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    fill(tiny_disk)
    result = run_cli("scan", root / "evals.jsonl", "--out", out, "--full")
    assert result.exit_code == EXIT_USAGE and "cannot write to output folder" in result.output
    assert result.output.count("\n") == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_full_disk_under_the_apply_log_stops_apply_before_any_change(data, tiny_disk):
    root, _ = data
    out = sweep(root)
    log = tiny_disk / "apply-log.jsonl"
    fill(tiny_disk)
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes", "--log", log)
    assert result.exit_code == EXIT_USAGE and "cannot write the apply log" in result.output
    assert len(ids_in(root)) == RECORDS


def out_state(out: Path) -> tuple:
    """The names and inodes in an output folder: changes when a temporary file appears or one is renamed."""
    try:
        return tuple(sorted((p.name, p.stat().st_ino) for p in out.iterdir()))
    except FileNotFoundError:  # a temporary file renamed while listed
        return ()


def whole(out: Path) -> None:
    """Every output file there parses whole: nothing half-written."""
    import csv

    for path in out.iterdir():
        if path.name.endswith(".tmp"):
            continue
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".jsonl":
            read_jsonl(path)
        elif path.suffix == ".csv":
            with open(path, newline="", encoding="utf-8") as handle:
                list(csv.reader(handle))


@pytest.mark.slow
def test_a_sweep_killed_at_any_point_leaves_whole_files_and_a_set_apply_takes_whole_or_refuses(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    root = tmp_path / "d"
    fake = Faker("en_US")
    fake.seed_instance(41)
    root.mkdir()
    (root / "evals.jsonl").write_text("".join(json.dumps({"id": f"r{i}", "prompt": f"mail {fake.email()}"}) + "\n"
                                              for i in range(3000)))
    (root / "policy.yaml").write_text(POLICY)
    out = root / "out"
    command = [sys.executable, "-m", "scanner.cli", "sweep", str(root / "evals.jsonl"), "--policy",
               str(root / "policy.yaml"), "--out", str(out), "--workers", "1"]
    env = {**os.environ, "DHSCAN_KEY": TEST_KEY}
    assert subprocess.run(command, env=env, capture_output=True).returncode == EXIT_OK
    for events in (1, 2, 4, 6, 8, 10, 12):  # kill after this many changes to the folder
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen, last = 0, out_state(out)
        while process.poll() is None and seen < events:
            state = out_state(out)
            if state != last:
                seen, last = seen + 1, state
            time.sleep(0.0005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        whole(out)
        result = run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds")  # a dry run
        assert result.exit_code in (EXIT_OK, EXIT_USAGE), result.output
        if result.exit_code == EXIT_USAGE:  # killed between the worklists and evidence.json: refused whole
            assert "another sweep" in result.output
    assert subprocess.run(command, env=env, capture_output=True).returncode == EXIT_OK
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds").exit_code == EXIT_OK


def test_an_apply_log_that_cannot_be_opened_is_one_line(data):
    root, _ = data
    out = sweep(root)
    result = run_cli("apply", out / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes",
                     "--log", root / "no-such-folder" / "log.jsonl")
    assert result.exit_code == EXIT_USAGE and "cannot open apply log" in result.output
    assert result.output.count("\n") == 1 and len(ids_in(root)) == RECORDS
