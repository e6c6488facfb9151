"""The output contracts: each file dhscan writes for machines, defined once, with its format version.

Tools that read dhscan's outputs rely on these; `docs/schemas/` publishes them as JSON Schemas. A format
version is bumped when a field a reader relies on changes; `dhscan apply` refuses worklist rows of a
format it does not apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

FINDINGS_FORMAT = 1
# 2: rows carry run_id, key_id and content_digest, which apply checks every record against
WORKLIST_FORMAT = 2
LEGAL_HOLD_FORMAT = 1
SUMMARY_FORMAT = 1
EVIDENCE_FORMAT = 1


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


def contract_problem(exc: ValidationError) -> str:
    """The first problem pydantic found, by field name and kind: never the value (it may be personal),
    nor the name of a field the contract does not have (it comes from the file)."""
    error = exc.errors()[0]
    if error["type"] == "extra_forbidden":
        return "a field the format does not have"
    where = ".".join(str(part) for part in error["loc"]) or "the row"
    return f"{where}: {error['msg']}"


class FindingLine(Contract):
    """A line of findings.jsonl: one entity found in one field of one record. Never the value itself."""

    format_version: Literal[1] = FINDINGS_FORMAT
    source: str
    kind: Literal["eval_dataset", "trace_log", "vector_index"]
    record_id: str = Field(description="the record's id; identifiers in it masked and digested")
    field: str = Field(description="the field path, e.g. messages[2].content")
    entity_type: str
    score: float
    start: int
    end: int
    recognizer: str
    digest: str = Field(description="keyed HMAC-SHA256 of the normalized value")
    preview: str = Field(description="masked, e.g. j***@acme.com")
    production_match: bool


class DeletionRow(Contract):
    """A row of deletion_worklist.jsonl (and .csv, .parquet): a record a rule or an erasure request deletes."""

    format_version: Literal[2] = WORKLIST_FORMAT
    run_id: str = Field(description="the sweep's run id, as in its evidence.json")
    key_id: str = Field(description="names the key the digests were made with")
    content_digest: str = Field(min_length=1,
                                description="keyed digest of the record as swept; apply re-reads and compares")
    source: str
    kind: str
    record_id: str
    locator: dict[str, Any] = Field(description="how the connector finds the record again (file and record "
                                                "number, or point id); identifiers shown masked")
    rule_id: str
    reason: str
    entity_types: list[str]
    production_match: bool
    record_timestamp: str | None
    age_days: float | None
    due_since: str | None
    copied_from: dict[str, Any] | None
    attribute_digests: dict[str, str] = Field(description="keyed digests apply matches holds added later on")
    finding_digests: list[str]


class LegalHoldRow(Contract):
    """A row of legal_hold_worklist.jsonl: a record a legal hold keeps, and the deletion it suppressed."""

    format_version: Literal[1] = LEGAL_HOLD_FORMAT
    hold_id: str
    matter: str
    source: str
    kind: str
    record_id: str
    locator: dict[str, Any]
    matched_on: list[str]
    suppressed_rule_id: str | None
    copied_from: dict[str, Any] | None


class SourceSummary(Contract):
    uri: str
    kind: str
    connector: str
    status: Literal["ok", "failed"]
    error: str | None
    records_total: int | None
    records_sampled: int
    records_with_findings: int
    records_no_content: int
    records_with_production_match: int
    records_copied_from_production: int
    findings: int
    entity_counts: dict[str, int]
    prevalence: dict[str, Any]
    records_skipped: int
    skipped_reasons: dict[str, int]
    skipped: list[dict[str, Any]]


class Summary(Contract):
    """summary.json: what a run found, per source; a sweep's and an erasure's decisions under `sweep`."""

    format_version: Literal[1] = SUMMARY_FORMAT
    tool: dict[str, str]
    command: Literal["scan", "sweep", "erase"]
    started: str
    finished: str
    sampling: dict[str, Any]
    covers_sample: bool
    sources: dict[str, SourceSummary]
    run_id: str
    sweep: dict[str, Any] | None = None


class EvidenceSource(Contract):
    name: str
    uri: str
    connector: str
    status: Literal["ok", "failed"]
    records_total: int | None
    records_sampled: int
    seed: int
    size: dict[str, Any]
    seconds: float


class Evidence(Contract):
    """evidence.json: what an auditor needs to trust a run: versions, model digest, config, sources, timings."""

    format_version: Literal[1] = EVIDENCE_FORMAT
    tool: dict[str, str]
    python: str
    platform: str
    detection: dict[str, Any]
    config_digest: str
    command_line: list[str]
    started: str
    finished: str
    seconds: float
    sampling: dict[str, Any]
    production_traces: dict[str, Any] | None
    sources: list[EvidenceSource]
    cluster: dict[str, Any] | None
    run_id: str
    sweep: dict[str, Any] | None = None


# The published contracts: docs/schemas/NAME.schema.json each
CONTRACTS = {"finding": FindingLine, "deletion-row": DeletionRow, "legal-hold-row": LegalHoldRow,
             "summary": Summary, "evidence": Evidence}


def schema_files() -> dict[str, str]:
    """docs/schemas: each contract's JSON Schema, by file name."""
    import json

    return {f"{name}.schema.json": json.dumps(model.model_json_schema(), indent=2) + "\n"
            for name, model in CONTRACTS.items()}


if __name__ == "__main__":  # python -m scanner.core.formats docs/schemas
    import sys

    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.schema.json"):
        stale.unlink()
    for name, text in schema_files().items():
        (folder / name).write_text(text, encoding="utf-8")
