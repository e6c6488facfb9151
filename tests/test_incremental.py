"""--since-state: a scan that detects only what changed gives the outputs of a full scan. Data made here
with Faker, not by the fixtures: changed, added, removed and rewritten records, a file gone, a file new."""

import json
import shutil
from pathlib import Path

import pytest
from faker import Faker

from conftest import read_jsonl, run_cli
from scanner.core.errors import EXIT_OK


def rows(fake: Faker, start: int, count: int) -> list[dict]:
    return [{"id": f"r{i}", "created_at": "2026-01-02T03:04:05Z",
             "prompt": f"Hi, I am {fake.name()}, mail me at {fake.email()} or call {fake.phone_number()}",
             "answer": "Noted."} for i in range(start, start + count)]


def write(path: Path, items: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in items))


def comparable(out: Path) -> tuple:
    summary = json.loads((out / "summary.json").read_text())
    drop = ("started", "finished", "run_id", "incremental")
    return ((out / "findings.jsonl").read_text(), {k: v for k, v in summary.items() if k not in drop})


def scan(data: Path, out: Path, *extra):
    result = run_cli("scan", data, "--full", "--out", out, "--json", *extra)
    assert result.exit_code == EXIT_OK, result.output
    return json.loads(result.output)


@pytest.fixture
def data(tmp_path):
    fake = Faker("en_US")
    fake.seed_instance(44)
    folder = tmp_path / "data"
    folder.mkdir()
    write(folder / "a.jsonl", rows(fake, 0, 30))
    write(folder / "b.jsonl", rows(fake, 30, 20))
    write(folder / "c.jsonl", rows(fake, 50, 10))
    return tmp_path, folder, fake


def test_an_incremental_scan_equals_a_full_scan_after_changes_additions_and_removals(data):
    root, folder, fake = data
    state = root / "state"
    first = scan(folder, root / "run1", "--since-state", state)
    assert first["incremental"]["records_detected"] == 60 and first["incremental"]["records_reused"] == 0
    again = scan(folder, root / "run2", "--since-state", state)
    assert again["incremental"]["records_detected"] == 0 and again["incremental"]["records_reused"] == 60
    assert comparable(root / "run2") == comparable(root / "run1")

    a = read_jsonl(folder / "a.jsonl")
    a[3]["prompt"] = f"Changed: write to {fake.email()} instead"  # changed
    a[4]["created_at"] = "2026-02-02T00:00:00Z"  # same text, another time: changed
    del a[7]  # removed
    a.append(rows(fake, 100, 1)[0])  # added
    write(folder / "a.jsonl", a)
    b = read_jsonl(folder / "b.jsonl")
    write(folder / "b.jsonl", list(reversed(b)))  # rewritten: the same records in another order
    (folder / "c.jsonl").unlink()  # a file gone
    write(folder / "d.jsonl", rows(fake, 200, 5))  # a file new
    incremental = scan(folder, root / "run3", "--since-state", state)
    assert incremental["incremental"]["records_detected"] == 2 + 1 + 5
    assert incremental["incremental"]["records_reused"] == 30 - 3 + 20
    full = scan(folder, root / "full")
    assert comparable(root / "run3") == comparable(root / "full")
    # what left the data left the state: the next run reuses exactly what is there
    last = scan(folder, root / "run4", "--since-state", state)
    assert last["incremental"]["records_detected"] == 0 and last["incremental"]["records_reused"] == 55
    assert full["sources"]["data"]["records_sampled"] == 55


def test_a_state_of_another_config_or_key_is_not_used(data, monkeypatch):
    root, folder, _ = data
    state = root / "state"
    scan(folder, root / "run1", "--since-state", state)
    other = scan(folder, root / "run2", "--since-state", state, "--entities", "EMAIL_ADDRESS")
    assert other["incremental"]["records_reused"] == 0 and "config_digest" in other["incremental"]["note"]
    scan(folder, root / "full", "--entities", "EMAIL_ADDRESS")
    assert comparable(root / "run2") == comparable(root / "full")
    monkeypatch.setenv("DHSCAN_KEY", "another-key-of-enough-length-0000")
    keyed = scan(folder, root / "run3", "--since-state", state, "--entities", "EMAIL_ADDRESS")
    assert keyed["incremental"]["records_reused"] == 0 and "key_id" in keyed["incremental"]["note"]


def test_a_damaged_state_is_one_line_and_a_state_file_holds_no_raw_value(data):
    root, folder, _ = data
    state = root / "state"
    scan(folder, root / "run1", "--since-state", state)
    text = (state / "records.jsonl").read_text()
    for row in read_jsonl(folder / "a.jsonl"):
        email = row["prompt"].split("mail me at ")[1].split(" ")[0]
        assert email not in text
    shutil.copy(state / "records.jsonl", root / "kept.jsonl")
    (state / "records.jsonl").write_text("{not json\n")
    result = run_cli("scan", folder, "--full", "--out", root / "run2", "--since-state", state)
    assert result.exit_code == 2 and "records.jsonl is not readable" in result.output
    assert result.output.count("\n") == 1
    (root / "a-file").write_text("")
    result = run_cli("scan", folder, "--full", "--out", root / "run3", "--since-state", root / "a-file" / "state")
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "--since-state" in result.output and "cannot make the state folder" in result.output


def test_one_run_at_a_time_keeps_a_state(data):
    from scanner.core.locks import exclusive

    root, folder, _ = data
    state = root / "state"
    state.mkdir()
    with exclusive(state, "state folder"):
        result = run_cli("scan", folder, "--full", "--out", root / "o", "--since-state", state)
    assert result.exit_code == 2 and "in use by another dhscan process" in result.output
    assert not (state / "records.jsonl").exists()


def test_an_incremental_sweep_decides_every_record_and_lists_what_a_full_sweep_lists(data):
    root, folder, fake = data
    policy = root / "policy.yaml"
    policy.write_text("version: 1\nrules:\n  - id: no-emails\n    match: {entities: [EMAIL_ADDRESS]}\n"
                      "    action: delete\n")
    holds = root / "holds.yaml"
    held = read_jsonl(folder / "b.jsonl")[2]["prompt"].split("I am ")[1].split(",")[0]
    holds.write_text(f"holds:\n  - id: LH\n    matter: M\n    scope: {{subjects: [{{name: '{held}'}}]}}\n")

    def sweep(out, *extra):
        result = run_cli("sweep", folder, "--policy", policy, "--holds", holds, "--out", root / out, *extra)
        assert result.exit_code == EXIT_OK, result.output
        return [(r["record_id"], r["rule_id"]) for r in read_jsonl(root / out / "deletion_worklist.jsonl")], \
            read_jsonl(root / out / "legal_hold_worklist.jsonl")

    sweep("s1", "--since-state", root / "state")
    a = read_jsonl(folder / "a.jsonl")
    a[0]["prompt"] = "nothing personal here"
    write(folder / "a.jsonl", a)
    incremental = sweep("s2", "--since-state", root / "state")
    full = sweep("s3")
    assert incremental[0] == full[0] and len(full[0]) == 60 - 2  # r0 holds no email now, r32 is held
    assert [r["record_id"] for r in incremental[1]] == [r["record_id"] for r in full[1]] == ["r32"]
    summary = json.loads((root / "s2" / "summary.json").read_text())
    assert summary["incremental"]["records_detected"] == 1 and summary["incremental"]["records_reused"] == 59
