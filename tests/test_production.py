"""Copied-production detection: fingerprints of production identifiers, near-copies of production traces."""

import csv
import json
import random
from datetime import datetime, timedelta, timezone

import pytest
from faker import Faker

from conftest import TEST_KEY, read_jsonl, run_cli
from detectors.normalize import digest
from fixtures.traces import _kv
from scanner.core.errors import EXIT_OK, EXIT_USAGE


def valid_phone(rng: random.Random) -> str:
    """Ten digits libphonenumber accepts as a US number."""
    import phonenumbers

    while True:
        digits = f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(1000, 9999)}"
        if phonenumbers.is_valid_number(phonenumbers.parse(digits, "US")):
            return digits


@pytest.fixture
def production(tmp_path):
    """A customers export, and eval records mixing copied real values (reformatted) with look-alikes."""
    fake = Faker("en_US")
    fake.seed_instance(11)
    rng = random.Random(11)
    customers = []
    for i in range(200):
        customers.append({"customer_id": f"CUST-{4000 + i:06d}", "email": fake.unique.email(),
                          "phone": valid_phone(rng),
                          "name": fake.unique.name()})
    with open(tmp_path / "customers.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(customers[0]))
        writer.writeheader()
        writer.writerows(customers)
    rows, expected = [], []  # expected: (record_id, entity_type, value, production_match)
    for i, c in enumerate(customers[:30]):
        rid = f"copied-{i}"
        email = f"  {c['email'].upper()} " if i % 2 else c["email"].title()
        phone = f"({c['phone'][:3]}) {c['phone'][3:6]}-{c['phone'][6:]}" if i % 3 else f"+1 {c['phone'][:3]} {c['phone'][3:6]} {c['phone'][6:]}"
        rows.append({"id": rid, "q": f"Customer {email} called from {phone} about order {c['customer_id']}."})
        expected += [(rid, "EMAIL_ADDRESS", email, True), (rid, "PHONE_NUMBER", phone, True),
                     (rid, "PRODUCTION_ID", c["customer_id"], True)]
    for i in range(30):
        rid = f"synthetic-{i}"
        email = fake.unique.email() if i % 2 else f"user{i}@example.com"
        other = valid_phone(rng)
        phone = f"212-555-01{i:02d}" if i % 2 else f"({other[:3]}) {other[3:6]}-{other[6:]}"
        other_id = f"CUST-{900000 + i:06d}"  # the id pattern, but no such customer
        rows.append({"id": rid, "q": f"Customer {email} called from {phone} about order {other_id}."})
        expected += [(rid, "EMAIL_ADDRESS", email, False), (rid, "PHONE_NUMBER", phone, False)]
    (tmp_path / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path, customers, expected


def build(root, *extra):
    return run_cli("fingerprint", "build", f"csv:{root / 'customers.csv'}", "--field", r"customer_id:id:CUST-\d{6}",
                   "--field", "email", "--field", "phone", "--field", "name", "--out", root / "prod", *extra)


def test_production_match_is_exact_per_finding(production):
    root, _, expected = production
    result = build(root)
    assert result.exit_code == EXIT_OK, result.output
    assert "800 distinct identifiers" in result.output
    result = run_cli("scan", root / "eval.jsonl", "--full", "--fingerprints", root / "prod", "--out", root / "out")
    assert result.exit_code == EXIT_OK, result.output
    found = {(f["record_id"], f["entity_type"], f["digest"]): f["production_match"]
             for f in read_jsonl(root / "out" / "findings.jsonl")
             if f["entity_type"] in ("EMAIL_ADDRESS", "PHONE_NUMBER", "PRODUCTION_ID")}
    want = {(rid, kind, digest(TEST_KEY.encode(), kind, value)): match for rid, kind, value, match in expected}
    assert found == want  # ids that merely look like customer ids (CUST-9xxxxx) are not reported at all
    summary = json.loads((root / "out" / "summary.json").read_text())["sources"]["eval"]
    assert summary["records_with_production_match"] == 30
    evidence = json.loads((root / "out" / "evidence.json").read_text())
    assert evidence["detection"]["fingerprints"]["identifiers"] == 800
    # the report lists the production matches (the first 20), masked
    report = (root / "out" / "report.html").read_text().split('id="production"')[1]
    matched = [f for f in read_jsonl(root / "out" / "findings.jsonl") if f["production_match"]]
    assert report.count("<tr><td>eval</td>") == min(20, len(matched))
    assert all(f"<td>{f['preview']}</td>" in report for f in matched[:20])


def test_names_match_only_when_the_whole_name_is_in_the_set(production):
    root, customers, _ = production
    build(root)
    name = customers[5]["name"]
    first, last = name.split(" ")[0], name.split(" ")[-1]
    (root / "names.jsonl").write_text(json.dumps({"id": "a", "q": f"Yesterday I spoke with {name.replace(' ', '  ')} about it."}) + "\n"
                                      + json.dumps({"id": "b", "q": f"I spoke with {first} Zyxwvut yesterday."}) + "\n"
                                      + json.dumps({"id": "c", "q": f"I spoke with Mr {last} yesterday."}) + "\n")
    run_cli("scan", root / "names.jsonl", "--full", "--entities", "PERSON", "--fingerprints", root / "prod",
            "--out", root / "n")
    matches = {f["record_id"]: f["production_match"] for f in read_jsonl(root / "n" / "findings.jsonl")}
    assert matches.get("a") is True
    assert not matches.get("b") and not matches.get("c")


def test_the_fingerprint_file_holds_no_raw_value(production):
    root, customers, _ = production
    build(root)
    data = (root / "prod" / "fingerprints.fp").read_bytes()
    assert len(data) < 14 + 2000 + 800 * 8  # header plus 8 bytes an identifier
    for c in customers:
        for value in (c["email"], c["email"].lower(), c["phone"], "+1" + c["phone"], c["name"], c["name"].lower(),
                      c["customer_id"]):
            assert value.encode() not in data
    info = run_cli("fingerprint", "info", root / "prod" / "fingerprints.fp")
    header = json.loads(info.output)
    assert header["identifiers"] == 800 and "key" not in header and TEST_KEY not in info.output


def test_a_different_key_is_a_clear_error(production, monkeypatch):
    root, _, _ = production
    build(root)
    monkeypatch.setenv("DHSCAN_KEY", "another-key-0123456789abcdef")
    result = run_cli("scan", root / "eval.jsonl", "--fingerprints", root / "prod", "--out", root / "out")
    assert result.exit_code == EXIT_USAGE
    assert "digests made with different keys never match" in result.output


def test_fingerprint_build_refuses_missing_fields_and_bad_types(production):
    root, _, _ = production
    result = run_cli("fingerprint", "build", f"csv:{root / 'customers.csv'}", "--field", "emial", "--out", root / "x")
    assert result.exit_code == EXIT_USAGE and "no values for field(s) emial" in result.output
    result = run_cli("fingerprint", "build", f"csv:{root / 'customers.csv'}", "--field", "email:mail",
                     "--out", root / "x")
    assert result.exit_code == EXIT_USAGE and "unknown type 'mail'" in result.output
    assert not (root / "x" / "fingerprints.fp").exists()


LONG = ("I ordered the standing desk three weeks ago and it still has not arrived, the tracking page says it is stuck "
        "in the regional depot since Monday and nobody answers the phone there, can you tell me what happened and "
        "whether I can get a refund for the express shipping that I paid for")
SYSTEM = "You are a helpful support agent for Acme; answer briefly and politely to every customer question."


@pytest.fixture
def traces(tmp_path):
    """Production traces with long prompts (and one shared system prompt), and eval rows copied from some."""
    fake = Faker("en_US")
    fake.seed_instance(5)
    now = datetime(2026, 11, 25, tzinfo=timezone.utc)
    lines, prompts = [], []
    for i in range(40):
        prompt = f"{fake.paragraph(nb_sentences=5)} {fake.paragraph(nb_sentences=4)}" if i else LONG
        prompts.append(prompt)
        when = now - timedelta(days=10 + i * 2)
        span = {"traceId": f"{i + 1:032x}", "spanId": f"{i + 1:016x}", "name": "chat",
                "startTimeUnixNano": str(int(when.timestamp()) * 10**9),
                "attributes": [_kv("gen_ai.input.messages", json.dumps(
                    [{"role": "system", "parts": [{"type": "text", "content": SYSTEM}]},
                     {"role": "user", "parts": [{"type": "text", "content": prompt}]}]))]}
        lines.append(json.dumps({"resourceSpans": [{"resource": {"attributes": [_kv("service.name", "bot")]},
                                                    "scopeSpans": [{"spans": [span]}]}]}))
    (tmp_path / "prod_traces.jsonl").write_text("\n".join(lines) + "\n")
    rows = [
        {"id": "copy-exact", "created_at": "2026-11-24", "input": prompts[3]},
        {"id": "copy-edited", "created_at": "2026-11-24",  # case, punctuation and one word changed
         "input": LONG.replace("three weeks", "four weeks").upper().replace(",", ";")},
        {"id": "copy-in-chat", "created_at": "2026-11-24", "messages": [
            {"role": "system", "content": "Grade the answer."}, {"role": "user", "content": prompts[17] + " Thanks!"}]},
        {"id": "system-only", "created_at": "2026-11-24", "input": SYSTEM},
        {"id": "fresh", "created_at": "2026-11-24", "input": fake.paragraph(nb_sentences=6)},
        {"id": "short", "created_at": "2026-11-24", "input": "Where is my order?"},
    ]
    (tmp_path / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path, now


def test_near_copies_of_production_traces_get_copied_from(traces):
    root, _ = traces
    result = run_cli("scan", root / "eval.jsonl", "--full", "--production-traces", f"otlp:{root / 'prod_traces.jsonl'}",
                     "--out", root / "out")
    assert result.exit_code == EXIT_OK, result.output
    copies = {row["record_id"]: row["copied_from"] for row in read_jsonl(root / "out" / "copied_from_production.jsonl")}
    assert {k: v["record_id"] for k, v in copies.items()} == {
        "copy-exact": f"{4:032x}:{4:016x}", "copy-edited": f"{1:032x}:{1:016x}", "copy-in-chat": f"{18:032x}:{18:016x}"}
    assert copies["copy-exact"]["source"] == "prod_traces" and copies["copy-exact"]["similarity"] == 1.0
    assert 0.8 <= copies["copy-edited"]["similarity"] < 1.0
    assert copies["copy-edited"]["timestamp"] == "2026-11-15T00:00:00+00:00"
    summary = json.loads((root / "out" / "summary.json").read_text())
    assert summary["sources"]["eval"]["records_copied_from_production"] == 3
    evidence = json.loads((root / "out" / "evidence.json").read_text())
    assert evidence["production_traces"]["records"] == 40


def test_a_copy_inherits_the_age_of_its_trace_for_retention(traces):
    root, now = traces
    (root / "policy.yaml").write_text("version: 1\nrules:\n  - id: copies-30d\n    match: {kinds: [eval_dataset]}\n"
                                      "    max_age: 30d\n    inherit_age: true\n    action: delete\n")
    result = run_cli("sweep", root / "eval.jsonl", "--policy", root / "policy.yaml", "--now", now.isoformat(),
                     "--production-traces", f"otlp:{root / 'prod_traces.jsonl'}", "--out", root / "sweep")
    assert result.exit_code == EXIT_OK, result.output
    rows = read_jsonl(root / "sweep" / "deletion_worklist.jsonl")
    # copy-in-chat copies trace 18, written 44 days ago; the others copy younger traces or nothing
    assert [(r["record_id"], r["copied_from"]["record_id"]) for r in rows] == [("copy-in-chat", f"{18:032x}:{18:016x}")]
    assert rows[0]["due_since"] == "2026-11-11T00:00:00+00:00"
    assert "age inherited from the production record" in rows[0]["reason"]
