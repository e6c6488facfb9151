"""dhscan sweep: retention rules and legal holds over several sources, worklists, report, validation."""

import json
import os
import re
import shutil
from datetime import datetime, timezone

import pyarrow.parquet as pq
import pytest

from conftest import read_jsonl, render_in_chromium, run_cli
from fixtures.traces import _kv
from scanner.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE

NOW = "2026-11-25T00:00:00Z"
HELD_EMAIL = "held.person@example.com"
HELD_USER = "user-held-7"

POLICY = """\
version: 1
rules:
  - id: eval-pii
    description: Eval data must not keep customer identifiers
    match: {kinds: [eval_dataset], entities: [EMAIL_ADDRESS, PHONE_NUMBER]}
    action: delete
  - id: eval-prod
    match: {kinds: [eval_dataset], production_match: true}
    action: delete
  - id: traces-30d
    match: {kinds: [trace_log]}
    max_age: 30d
    action: delete
  - id: sec-keep-1y
    match: {sources: ["sec-*"]}
    min_age: 365d
    action: retain
  - id: kb-offboarded
    match: {sources: ["kb-*"], attributes: {tenant: [globex]}}
    action: delete
  - id: kb-phones-review
    match: {kinds: [vector_index], entities: [PHONE_NUMBER]}
    action: review
"""

HOLDS = f"""\
holds:
  - id: LH-1
    matter: Doe v. Example Corp
    status: active
    scope:
      sources: ["traces-*"]
      attributes: {{tenant: [acme]}}
      time_range: {{from: 2026-09-01, to: 2026-09-30}}
  - id: LH-2
    matter: Roe inquiry
    scope:
      subjects: [{{email: Held.Person@Example.com}}, {{user: {HELD_USER}}}]
  - id: LH-3
    matter: Settled matter
    status: released
    scope: {{sources: ["*"]}}
"""


def ns(iso: str | None) -> str:
    if iso is None:
        return "0"
    return str(int(datetime.fromisoformat(iso).replace(tzinfo=timezone.utc).timestamp()) * 10**9)


def span(trace: str, tenant: str, user: str | None, start: str | None, prompt: str) -> dict:
    attributes = [_kv("gen_ai.prompt.0.content", prompt), _kv("tenant.id", tenant)]
    if user:
        attributes.append(_kv("user.id", user))
    return {"resourceSpans": [{"resource": {"attributes": [_kv("service.name", "bot")]}, "scopeSpans": [{"spans": [
        {"traceId": trace * 32, "spanId": trace * 16, "name": "chat", "startTimeUnixNano": ns(start),
         "attributes": attributes}]}]}]}


@pytest.fixture
def scenario(tmp_path):
    from qdrant_client import QdrantClient, models

    root = tmp_path / "scenario"
    root.mkdir()
    evals = [
        {"id": "e1", "created_at": "2026-11-01", "q": "mail ann@example.com please"},
        {"id": "e2", "created_at": "2026-11-01", "q": "What is two plus two?"},
        {"id": "e3", "q": "call 212-555-0147 tomorrow"},  # undated
        {"id": "e4", "created_at": "2026-10-01", "q": f"write to {HELD_EMAIL} today"},
    ]
    (root / "eval-support.jsonl").write_text("".join(json.dumps(r) + "\n" for r in evals))
    traces = [
        span("1", "acme", "u-1", "2026-09-10", "hello there"),
        span("2", "acme", "u-2", "2026-11-20", "hello again"),
        span("3", "globex", HELD_USER, "2026-08-01", "hi"),
        span("4", "globex", "u-3", "2026-10-01", "hey"),
        span("5", "acme", HELD_USER, "2026-09-15", "hello"),
        span("6", "globex", None, None, "no time"),
        span("7", "globex", "u-4", "2026-07-01", "old"),
    ]
    (root / "traces.jsonl").write_text("".join(json.dumps(t) + "\n" for t in traces))
    audit = [{"id": "s1", "created_at": "2025-10-01", "q": "login"}, {"id": "s2", "created_at": "2026-06-01", "q": "x"}]
    (root / "sec-audit.jsonl").write_text("".join(json.dumps(r) + "\n" for r in audit))
    client = QdrantClient(path=str(root / "kb"))
    client.create_collection("support_kb", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    client.upsert("support_kb", points=[
        models.PointStruct(id=1, vector=[0, 1], payload={"text": "Reset steps.", "tenant": "globex"}),
        models.PointStruct(id=2, vector=[1, 0], payload={"text": "Call 212-555-0199 for help.", "tenant": "acme"}),
        models.PointStruct(id=3, vector=[1, 1], payload={"text": "Refunds.", "tenant": "globex",
                                                         "created_at": "2026-09-05T00:00:00Z"}),
    ])
    client.close()
    (root / "retention.yaml").write_text(POLICY)
    (root / "holds.yaml").write_text(HOLDS)
    sources = [str(root / "eval-support.jsonl"), f"otlp:{root / 'traces.jsonl'}?name=traces-prod",
               f"jsonl:{root / 'sec-audit.jsonl'}?kind=trace_log", f"qdrant:{root / 'kb'}?collection=support_kb&name=kb-support"]
    return root, sources


EXPECTED_DELETIONS = [
    ("eval-support", "e1", "eval-pii"), ("eval-support", "e3", "eval-pii"),
    ("traces-prod", "4" * 32 + ":" + "4" * 16, "traces-30d"), ("traces-prod", "7" * 32 + ":" + "7" * 16, "traces-30d"),
    ("sec-audit", "s1", "traces-30d"),
    ("kb-support", "1", "kb-offboarded"), ("kb-support", "3", "kb-offboarded"),
]
EXPECTED_HOLDS = [
    ("LH-2", "eval-support", "e4", "eval-pii"),
    ("LH-1", "traces-prod", "1" * 32 + ":" + "1" * 16, "traces-30d"),
    ("LH-2", "traces-prod", "3" * 32 + ":" + "3" * 16, "traces-30d"),
    ("LH-1", "traces-prod", "5" * 32 + ":" + "5" * 16, "traces-30d"),
    ("LH-2", "traces-prod", "5" * 32 + ":" + "5" * 16, "traces-30d"),
]


def run_scenario(root, sources, out, *extra):
    return run_cli("sweep", *sources, "--policy", root / "retention.yaml", "--holds", root / "holds.yaml",
                   "--now", NOW, "--out", out, *extra)


def test_worklists_are_exactly_what_the_policy_and_holds_say(scenario, tmp_path):
    root, sources = scenario
    out = tmp_path / "out"
    result = run_scenario(root, sources, out, "--format", "parquet")
    assert result.exit_code == EXIT_OK, result.output
    deletions = read_jsonl(out / "deletion_worklist.jsonl")
    assert [(d["source"], d["record_id"], d["rule_id"]) for d in deletions] == EXPECTED_DELETIONS
    holds = read_jsonl(out / "legal_hold_worklist.jsonl")
    assert [(h["hold_id"], h["source"], h["record_id"], h["suppressed_rule_id"]) for h in holds] == EXPECTED_HOLDS
    e1 = deletions[0]
    assert e1["entity_types"] == ["EMAIL_ADDRESS"] and e1["production_match"] is False
    assert e1["record_timestamp"] == "2026-11-01T00:00:00+00:00" and e1["age_days"] == 24.0
    assert e1["locator"]["file"] == "eval-support.jsonl" and e1["locator"]["record"] == 1
    assert deletions[1]["record_timestamp"] is None and deletions[1]["age_days"] is None  # undated, due at once
    assert deletions[2]["due_since"] == "2026-10-31T00:00:00+00:00"  # 2026-10-01 + 30d
    assert holds[0]["matter"] == "Roe inquiry" and holds[0]["matched_on"] == ["subject[0]:email"]
    assert holds[1]["matched_on"] == ["source", "attribute:tenant", "time_range"]
    assert holds[4]["matched_on"] == ["subject[1]:user"]
    # the CSV and Parquet worklists hold the same rows
    with open(out / "deletion_worklist.csv") as handle:
        assert len(handle.read().splitlines()) == len(EXPECTED_DELETIONS) + 1
    table = pq.read_table(out / "deletion_worklist.parquet").to_pylist()
    assert [(r["source"], r["record_id"], r["rule_id"]) for r in table] == EXPECTED_DELETIONS
    assert pq.read_table(out / "legal_hold_worklist.parquet").num_rows == len(EXPECTED_HOLDS)


def test_summary_counts_rules_holds_undated_and_upcoming(scenario, tmp_path):
    root, sources = scenario
    run_scenario(root, sources, tmp_path / "out")
    sweep = json.loads((tmp_path / "out" / "summary.json").read_text())["sweep"]
    rules = sweep["rules"]
    assert rules["traces-30d"] == {"matched": 9, "deleted": 3, "redacted": 0, "suppressed_by_hold": 3, "blocked_by_retention": 1,
                                   "undated": 1, "upcoming": {"records": 1, "next_due": "2026-12-20T00:00:00+00:00",
                                                              "last_due": "2026-12-20T00:00:00+00:00"}}
    assert rules["eval-pii"]["deleted"] == 2 and rules["eval-pii"]["suppressed_by_hold"] == 1
    assert rules["eval-prod"]["matched"] == 0  # no production fingerprints yet: production_match is false
    assert rules["kb-offboarded"]["deleted"] == 2
    assert rules["sec-keep-1y"]["matched"] == 2
    assert sweep["holds"]["LH-1"]["records"] == 2 and sweep["holds"]["LH-2"]["records"] == 3
    assert sweep["holds"]["LH-3"]["records"] == 0 and sweep["holds"]["LH-3"]["status"] == "released"
    assert sweep["undated"]["records"] == 4
    assert {(u["source"], u["record_id"]) for u in sweep["undated"]["listed"]} == {
        ("eval-support", "e3"), ("traces-prod", "6" * 32 + ":" + "6" * 16), ("kb-support", "1"), ("kb-support", "2")}
    assert sweep["deletions_suppressed_by_holds"]["records"] == 4
    assert sweep["decisions_by_source"]["kb-support"] == {"delete": 2, "review": 1, "undated": 2}
    assert sweep["decisions_by_source"]["sec-audit"] == {"delete": 1, "keep": 1}


def test_no_raw_pii_or_hold_identifier_in_any_output(scenario, tmp_path):
    root, sources = scenario
    result = run_scenario(root, sources, tmp_path / "out", "--format", "parquet")
    texts = [result.output] + [p.read_bytes().decode("utf-8", "replace") for p in (tmp_path / "out").iterdir()]
    for raw in (HELD_EMAIL, "Held.Person", HELD_USER, "ann@example.com", "212-555-0147", "212-555-0199"):
        assert not any(raw in text for text in texts), raw


def test_sweep_config_file_gives_the_same_worklists(scenario, tmp_path):
    root, sources = scenario
    policy = "\n".join("  " + line for line in POLICY.splitlines())
    config = tmp_path / "sweep.yaml"
    config.write_text("sources:\n" + "".join(f"  - '{s}'\n" for s in sources)
                      + f"policy:\n{policy}\nholds: {root / 'holds.yaml'}\nout: {tmp_path / 'cfg-out'}\n"
                      + f"now: {NOW}\nformat: [parquet]\nsampling: {{full: true}}\n")
    result = run_cli("sweep", "--config", config)
    assert result.exit_code == EXIT_OK, result.output
    deletions = read_jsonl(tmp_path / "cfg-out" / "deletion_worklist.jsonl")
    assert [(d["source"], d["record_id"], d["rule_id"]) for d in deletions] == EXPECTED_DELETIONS
    assert (tmp_path / "cfg-out" / "legal_hold_worklist.parquet").exists()
    evidence = json.loads((tmp_path / "cfg-out" / "evidence.json").read_text())
    assert len(evidence["sweep"]["policy_sha256"]) == 64 and len(evidence["sweep"]["holds_sha256"]) == 64


def test_paths_in_a_sweep_file_are_the_files_not_the_working_directorys(scenario, tmp_path, monkeypatch):
    root, sources = scenario
    job = tmp_path / "job"
    job.mkdir()
    relative = os.path.relpath(root, job)
    assert all(str(root) in s for s in sources)
    (job / "retention.yaml").write_text(POLICY)
    (job / "sweep.yaml").write_text("sources:\n" + "".join(f"  - '{s.replace(str(root), relative)}'\n" for s in sources)
                                    + f"policy: retention.yaml\nholds: {relative}/holds.yaml\nout: sweep-out\n"
                                    + f"now: {NOW}\n")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "sweep-out").mkdir(parents=True)
    (elsewhere / "sweep-out" / "keep.txt").write_text("not the sweep's")
    monkeypatch.chdir(elsewhere)
    result = run_cli("sweep", "--config", job / "sweep.yaml")
    assert result.exit_code == EXIT_OK, result.output
    deletions = read_jsonl(job / "sweep-out" / "deletion_worklist.jsonl")
    assert [(d["source"], d["record_id"], d["rule_id"]) for d in deletions] == EXPECTED_DELETIONS
    assert [p.name for p in (elsewhere / "sweep-out").iterdir()] == ["keep.txt"]


def test_fail_on_and_sampled_sweeps(scenario, tmp_path):
    root, sources = scenario
    assert run_scenario(root, sources, tmp_path / "a", "--fail-on", "deletions").exit_code == EXIT_FINDINGS
    assert run_scenario(root, sources, tmp_path / "b", "--fail-on", "holds").exit_code == EXIT_FINDINGS
    result = run_cli("sweep", sources[2], "--policy", root / "retention.yaml", "--now", "2025-10-02T00:00:00Z",
                     "--fail-on", "deletions", "--out", tmp_path / "c")
    assert result.exit_code == EXIT_OK  # a day after s1 was written nothing is due
    result = run_scenario(root, sources, tmp_path / "d", "--sample", "2")
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert summary["covers_sample"] is True and "cover a sample" in result.output
    assert "cover a sample" in (tmp_path / "d" / "report.html").read_text()


@pytest.mark.parametrize("text,problem", [
    ("version: 1\nrules:\n  - id: a\n    action: delete\n    colour: red\n", "retention.yaml:5: rules.0.colour: unknown key"),
    ("version: 1\nrules:\n  - id: a\n    action: delete\n    max_age: 30 days\n", "retention.yaml:5: rules.0.max_age: bad duration"),
    ("version: 1\nrules:\n  - action: delete\n", "retention.yaml:3: rules.0.id: Field required"),
    ("version: 1\nrules:\n  - {id: a, action: delete}\n  - {id: a, action: delete}\n", "rule id 'a' is used twice"),
    ("version: 2\nrules: []\n", "retention.yaml:1: version:"),
    ("version: 1\nrules:\n  - {id: a, action: delete, min_age: 1y}\n", "min_age belongs to retain rules"),
])
def test_policy_validation_names_file_line_and_problem(scenario, tmp_path, text, problem):
    root, sources = scenario
    (root / "retention.yaml").write_text(text)
    result = run_scenario(root, sources[:1], tmp_path / "out")
    assert result.exit_code == EXIT_USAGE
    [line] = [l for l in result.output.splitlines() if l.startswith("dhscan: error:")]
    assert problem in line


@pytest.mark.parametrize("text,problem", [
    ("holds:\n  - id: H\n    scope: {sources: ['*']}\n", "holds.yaml:2: holds.0.matter: Field required"),
    ("holds:\n  - id: H\n    matter: M\n    scope: {subjects: [{passport: X1}]}\n", "unknown subject key 'passport'"),
    ("holds:\n  - id: H\n    matter: M\n    status: paused\n", "holds.yaml:4: holds.0.status:"),
])
def test_holds_validation_names_file_line_and_problem(scenario, tmp_path, text, problem):
    root, sources = scenario
    (root / "holds.yaml").write_text(text)
    result = run_scenario(root, sources[:1], tmp_path / "out")
    assert result.exit_code == EXIT_USAGE
    assert problem in result.output
    assert "X1" not in result.output


@pytest.mark.slow
def test_report_is_self_contained_and_renders_in_chromium(scenario, tmp_path):
    root, sources = scenario
    run_scenario(root, sources, tmp_path / "out")
    report = tmp_path / "out" / "report.html"
    html = report.read_text()
    assert "<script" not in html and not re.search(r"(src|href)=\"(https?:)?//", html)
    dom, screenshot = render_in_chromium(report, tmp_path)
    for section in ("run", "sources", "rules", "holds", "findings-chart", "ages-chart", "deletion-worklist",
                    "legal-hold-worklist", "undated"):
        assert f'id="{section}"' in dom, section
    assert "LH-1" in dom and "traces-30d" in dom and "<svg" in dom
    assert screenshot.stat().st_size > 20_000
    shutil.copy(screenshot, tmp_path / "out" / "report.png")
