"""Every file a run writes for machines matches its published contract, and the JSON Schemas in
docs/schemas are those contracts as they are now."""

import json
from pathlib import Path

import pytest

from conftest import read_jsonl, run_cli
from fixtures.generate import generate
from scanner.core.errors import EXIT_OK
from scanner.core.formats import CONTRACTS, DeletionRow, Evidence, FindingLine, LegalHoldRow, Summary

ROOT = Path(__file__).resolve().parent.parent
POLICY = ("version: 1\nrules:\n  - id: no-emails\n    match: {entities: [EMAIL_ADDRESS]}\n    action: delete\n"
          "  - id: evals-30d\n    match: {kinds: [eval_dataset]}\n    max_age: 30d\n    action: delete\n")
HOLDS = "holds:\n  - id: LH-7\n    matter: Vendor audit\n    scope: {sources: [qa_eval]}\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("formats")
    generate(root / "data", records=40, seed=515)
    (root / "policy.yaml").write_text(POLICY)
    (root / "holds.yaml").write_text(HOLDS)
    sources = [root / "data" / "support_eval.jsonl", root / "data" / "qa_eval.csv", root / "data" / "chat_eval.parquet"]
    scan = run_cli("scan", *sources, "--full", "--out", root / "scan")
    sweep = run_cli("sweep", *sources, "--full", "--policy", root / "policy.yaml", "--holds", root / "holds.yaml",
                    "--now", "2026-11-25T00:00:00Z", "--format", "parquet", "--out", root / "sweep")
    assert scan.exit_code == EXIT_OK and sweep.exit_code == EXIT_OK, scan.output + sweep.output
    return root


@pytest.mark.parametrize("run", ["scan", "sweep"])
def test_every_output_matches_its_contract(runs, run):
    out = runs / run
    findings = read_jsonl(out / "findings.jsonl")
    assert findings and all(FindingLine.model_validate(line) for line in findings)
    assert list(findings[0]) == list(FindingLine.model_fields)  # the documented order
    summary = Summary.model_validate_json((out / "summary.json").read_text())
    evidence = Evidence.model_validate_json((out / "evidence.json").read_text())
    assert summary.command == run and summary.run_id == evidence.run_id
    if run == "sweep":
        rows = read_jsonl(out / "deletion_worklist.jsonl")
        held = read_jsonl(out / "legal_hold_worklist.jsonl")
        assert rows and held and {r["source"] for r in held} == {"qa_eval"}
        assert all(DeletionRow.model_validate(r) for r in rows) and all(LegalHoldRow.model_validate(r) for r in held)
        assert list(rows[0]) == list(DeletionRow.model_fields)
        import pyarrow.parquet as pq
        assert pq.read_schema(out / "deletion_worklist.parquet").names == list(DeletionRow.model_fields)


def test_the_published_schemas_are_the_contracts_as_they_are():
    from scanner.core.formats import schema_files

    published = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "docs" / "schemas").glob("*.schema.json")}
    assert published == schema_files(), "regenerate: python -m scanner.core.formats docs/schemas"
    assert set(published) == {f"{name}.schema.json" for name in CONTRACTS}
    for text in published.values():
        assert json.loads(text)["properties"]["format_version"]["const"] >= 1
