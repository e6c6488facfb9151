"""Baselines and audit: known findings left out of a scan, new ones reported, verdicts kept with who, why
and until when; asked on a real pseudo-terminal. Data made here with Faker, not by the fixtures."""

import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from faker import Faker

from conftest import TEST_KEY, read_jsonl, run_cli
from scanner.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE


def write_rows(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def data(tmp_path):
    fake = Faker("en_US")
    fake.seed_instance(33)
    emails = [fake.unique.email() for _ in range(6)]
    rows = [{"id": f"q{i}", "prompt": f"Please write to {email} about the order"} for i, email in enumerate(emails[:4])]
    write_rows(tmp_path / "evals.jsonl", rows)
    return tmp_path, rows, emails


def create(root: Path) -> dict:
    result = run_cli("baseline", "create", root / "evals.jsonl", "--entities", "EMAIL_ADDRESS",
                     "--out", root / "baseline.json")
    assert result.exit_code == EXIT_OK, result.output
    return json.loads((root / "baseline.json").read_text())


def scan(root: Path, *extra):
    result = run_cli("scan", root / "evals.jsonl", "--full", "--entities", "EMAIL_ADDRESS", "--baseline",
                     root / "baseline.json", "--fail-on", "findings", "--out", root / "out", "--json", *extra)
    return result, read_jsonl(root / "out" / "findings.jsonl")


def test_a_scan_with_a_baseline_reports_and_fails_only_on_new_findings(data):
    root, rows, emails = data
    made = create(root)
    assert made["format"] == "dhscan-baseline" and made["version"] == 1 and len(made["findings"]) == 4
    assert not any(email in (root / "baseline.json").read_text() for email in emails)  # digests and masks only
    result, findings = scan(root)
    assert result.exit_code == EXIT_OK and findings == []
    assert json.loads(result.output)["baseline"]["left_out"]["unaudited"] == 4
    write_rows(root / "evals.jsonl", rows + [{"id": "q9", "prompt": f"cc {emails[4]}"}])
    result, findings = scan(root)
    assert result.exit_code == EXIT_FINDINGS
    assert [(f["record_id"], f["entity_type"]) for f in findings] == [("q9", "EMAIL_ADDRESS")]
    assert json.loads(result.output)["baseline"]["reported"] == {"new": 1, "expired": 0, "true_positive": 0}


def test_verdicts_by_flags_decide_what_is_reported_and_expired_acceptances_come_back(data):
    root, rows, _ = data
    made = create(root)
    prints = {e["record_id"]: e["fingerprint"] for e in made["findings"]}
    later = (date.today() + timedelta(days=30)).isoformat()
    for record, verdict, extra in (("q0", "true_positive", ()), ("q1", "false_positive", ()),
                                   ("q2", "accepted", ("--until", later)), ("q3", "accepted", ("--until", later))):
        result = run_cli("audit", root / "baseline.json", "--mark", f"{prints[record][:10]}={verdict}",
                         "--by", "dpo@example.invalid", "--reason", "checked by hand", *extra)
        assert result.exit_code == EXIT_OK, result.output
    audited = {e["record_id"]: e["audit"] for e in json.loads((root / "baseline.json").read_text())["findings"]}
    assert audited["q2"]["until"] == later and audited["q0"]["by"] == "dpo@example.invalid"
    # q3's acceptance ran out yesterday
    text = (root / "baseline.json").read_text()
    baseline = json.loads(text)
    for entry in baseline["findings"]:
        if entry["record_id"] == "q3":
            entry["audit"]["until"] = (date.today() - timedelta(days=1)).isoformat()
    (root / "baseline.json").write_text(json.dumps(baseline))
    result, findings = scan(root)
    assert result.exit_code == EXIT_FINDINGS
    assert sorted(f["record_id"] for f in findings) == ["q0", "q3"]
    counts = json.loads(result.output)["baseline"]
    assert counts["reported"] == {"new": 0, "expired": 1, "true_positive": 1}
    assert counts["left_out"] == {"unaudited": 0, "false_positive": 1, "accepted": 1}
    # a new baseline over the old one keeps the verdicts of the findings still there
    write_rows(root / "evals.jsonl", rows[1:])
    made = create(root)
    assert {e["record_id"]: e.get("audit", {}).get("verdict") for e in made["findings"]} == \
        {"q1": "false_positive", "q2": "accepted", "q3": "accepted"}


@pytest.mark.parametrize("args, problem", [
    (("--mark", "abc=accepted"), "6 or more characters"),
    (("--mark", "{fp}=accepted"), "accepted needs --until"),
    (("--mark", "{fp}=accepted", "--until", "2001-01-01"), "already past"),
    (("--mark", "{fp}=wrong"), "FINGERPRINT=VERDICT"),
    (("--mark", "000000=false_positive"), "no finding of the baseline"),
])
def test_bad_audit_flags_are_one_line_and_change_nothing(data, args, problem):
    root, _, _ = data
    made = create(root)
    before = (root / "baseline.json").read_text()
    args = [a.replace("{fp}", made["findings"][0]["fingerprint"][:8]) for a in args]
    result = run_cli("audit", root / "baseline.json", *args, "--by", "me", "--reason", "r")
    assert result.exit_code == EXIT_USAGE and problem in result.output and result.output.count("\n") == 1
    assert (root / "baseline.json").read_text() == before


def test_a_baseline_of_another_key_or_a_newer_format_is_refused(data, monkeypatch):
    root, _, _ = data
    made = create(root)
    (root / "newer.json").write_text(json.dumps({**made, "version": 99}))
    result = run_cli("scan", root / "evals.jsonl", "--baseline", root / "newer.json", "--out", root / "o")
    assert result.exit_code == EXIT_USAGE and "newer than this dhscan reads" in result.output
    (root / "other.json").write_text(json.dumps({"findings": []}))
    result = run_cli("scan", root / "evals.jsonl", "--baseline", root / "other.json", "--out", root / "o")
    assert result.exit_code == EXIT_USAGE and "not a dhscan baseline" in result.output
    monkeypatch.setenv("DHSCAN_KEY", "another-key-of-enough-length-0000")
    result = run_cli("scan", root / "evals.jsonl", "--baseline", root / "baseline.json", "--out", root / "o")
    assert result.exit_code == EXIT_USAGE and "made with key" in result.output


def test_audit_asks_on_a_real_terminal_and_keeps_each_verdict(data):
    import pexpect

    root, _, _ = data
    made = create(root)
    later = (date.today() + timedelta(days=7)).isoformat()
    env = {**os.environ, "DHSCAN_KEY": TEST_KEY, "USER": ""}
    child = pexpect.spawn(sys.executable, ["-m", "scanner.cli", "audit", str(root / "baseline.json")],
                          env=env, encoding="utf-8", timeout=60)
    child.expect("Who is auditing")
    child.sendline("Dana DPO")
    child.expect(r"\[1/4\] EMAIL_ADDRESS")
    child.expect(r"\(q\)uit")
    child.sendline("t")
    child.expect("Why")
    child.sendline("a real customer address")
    child.expect(r"\[2/4\]")
    child.expect(r"\(q\)uit")
    child.sendline("x")  # not a choice: asked again
    child.expect(r"\(q\)uit")
    child.sendline("a")
    child.expect("Accepted until")
    child.sendline("2001-01-01")  # past: asked again
    child.expect("Accepted until")
    child.sendline(later)
    child.expect("Why")
    child.sendline("test account, removed next sprint")
    child.expect(r"\[3/4\]")
    child.expect(r"\(q\)uit")
    child.sendline("s")
    child.expect(r"\[4/4\]")
    child.expect(r"\(q\)uit")
    child.sendline("q")
    child.expect("2 verdict\\(s\\) recorded")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    entries = json.loads((root / "baseline.json").read_text())["findings"]
    assert [e.get("audit", {}).get("verdict") for e in entries] == ["true_positive", "accepted", None, None]
    assert entries[1]["audit"]["until"] == later and entries[1]["audit"]["by"] == "Dana DPO"
    assert entries[0]["fingerprint"] == made["findings"][0]["fingerprint"]
    # only the two not yet audited are asked about next time
    child = pexpect.spawn(sys.executable, ["-m", "scanner.cli", "audit", str(root / "baseline.json"), "--by", "D"],
                          env=env, encoding="utf-8", timeout=60)
    child.expect(r"\[1/2\]")
    child.sendline("q")
    child.expect(pexpect.EOF)
