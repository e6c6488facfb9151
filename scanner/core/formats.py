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
    source: str = Field(description="the source's name (`name=`, else the file or folder name)")
    kind: Literal["eval_dataset", "trace_log", "vector_index"]
    record_id: str = Field(description="the record's id; an email, SSN or phone number in it is shown masked "
                                       "with a keyed digest, `j***@acme.com~3f2a9c1b0d4e`, in every output")
    field: str = Field(description="the field path, e.g. `messages[2].content` (identifiers masked likewise)")
    entity_type: str = Field(description="Presidio's entity type (`EMAIL_ADDRESS`, `PERSON`, ...; `DENY_LIST`)")
    score: float = Field(description="the analyzer's score")
    start: int = Field(description="character offset in the field's text")
    end: int = Field(description="character offset in the field's text")
    recognizer: str = Field(description="the Presidio recognizer that found it")
    digest: str = Field(description="keyed HMAC-SHA256 of the normalized value (hex)")
    preview: str = Field(description="masked value: `j***@example.com`, `***-***-0199`, `J*** D***`")
    production_match: bool = Field(description="the digest is in the production fingerprints given")


class DeletionRow(Contract):
    """A row of deletion_worklist.jsonl (and .csv, .parquet): a record a rule or an erasure request deletes."""

    format_version: Literal[2] = WORKLIST_FORMAT
    run_id: str = Field(description="the sweep's run id, as in its evidence.json")
    key_id: str = Field(description="names the key the digests were made with")
    content_digest: str = Field(min_length=1,
                                description="keyed digest of the record as swept; apply re-reads and compares")
    source: str
    kind: str
    record_id: str = Field(description="as in findings.jsonl")
    locator: dict[str, Any] = Field(description="how the connector finds the record again: file, record "
                                                "number, line, the file's size and modification time; "
                                                "collection and point id; trace and span id")
    rule_id: str = Field(description="the policy rule (or the erasure request id) that deletes it")
    reason: str = Field(description="why, in words: the rule matched and is due")
    entity_types: list[str] = Field(description="the entity types found in the record")
    production_match: bool = Field(description="a finding's digest is in the production fingerprints")
    record_timestamp: str | None = Field(description="the record's time, ISO 8601; null: undated")
    age_days: float | None = Field(description="its age at the sweep's `now`")
    due_since: str | None = Field(description="when the rule's max_age passed")
    copied_from: dict[str, Any] | None = Field(description="the production record it copies "
                                                           "(with --production-traces)")
    attribute_digests: dict[str, str] = Field(description="keyed digests of its attributes, so apply can "
                                                          "check holds filed after the sweep")
    finding_digests: list[str] = Field(description="keyed digests of its findings, likewise")


class Redaction(Contract):
    """One value a redaction replaces: where it is in the record as swept, and its digest (never the value)."""

    field: str = Field(description="the field path, as in findings.jsonl")
    start: int = Field(ge=0, description="character offset in the field's text")
    end: int = Field(ge=0, description="character offset in the field's text")
    entity_type: str
    digest: str = Field(description="keyed digest of the normalized value, as in findings.jsonl; apply checks "
                                    "the text at start-end against it")


class RedactionRow(DeletionRow):
    """A row of redaction_worklist.jsonl (and .csv, .parquet): a record a redact rule keeps, with the
    values it replaces. `rule_id`, `reason` and `due_since` are the redact rule's."""

    action: Literal["redact"] = "redact"
    redactions: list[Redaction] = Field(min_length=1, description="the values replaced")
    phone_region: str = Field(description="the region the sweep's phone digests were normalized for")
    operators: dict[str, dict[str, Any]] = Field(
        description="per entity type, presidio-anonymizer's operator and its parameters "
                    "(`{type: pseudonym}`, `{type: mask, masking_char: '*', chars_to_mask: 4}`)")


class LegalHoldRow(Contract):
    """A row of legal_hold_worklist.jsonl: a record a legal hold keeps, and the deletion it suppressed."""

    format_version: Literal[1] = LEGAL_HOLD_FORMAT
    hold_id: str = Field(description="the hold's id in the holds file")
    matter: str = Field(description="the hold's matter")
    source: str
    kind: str
    record_id: str = Field(description="as in findings.jsonl")
    locator: dict[str, Any] = Field(description="as in the deletion worklist")
    matched_on: list[str] = Field(description="what matched, never the value: `subject[0]:email`, "
                                              "`attributes.tenant`, `sources`")
    suppressed_rule_id: str | None = Field(description="the rule that would have deleted the record")
    copied_from: dict[str, Any] | None


class SourceSummary(Contract):
    uri: str = Field(description="the source URI, secrets shown as ***")
    kind: str
    connector: str = Field(description="the connector's scheme")
    status: Literal["ok", "failed"] = Field(description="`failed`: see `error`; the other sources finished")
    error: str | None = Field(description="the one-line error of a failed source")
    records_total: int | None = Field(description="records in the source; null when unknown")
    records_sampled: int
    records_with_findings: int = Field(description="sampled records with at least one finding")
    records_no_content: int = Field(
        description="records with no text, or trace spans whose prompts were not captured: unknown, never clean")
    records_with_production_match: int = Field(description="records with a finding in the production fingerprints")
    records_copied_from_production: int = Field(description="near-copies of a production record (--production-traces)")
    findings: int
    entity_counts: dict[str, int] = Field(description="findings per entity type")
    languages: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="distinct texts the NER model would read, per language identified: "
        "`texts`, `names_checked` (false: no spaCy pipeline of that language is installed, so only the "
        "language-independent recognizers read them)")
    names_not_checked: list[str] = Field(
        default_factory=list, description="one line per language whose names and places no model read, e.g. `names and "
        "places not read by a model in 12 texts: no de model (names after a title are still found)`")
    prevalence: dict[str, Any] = Field(
        description="share of records with findings: `estimate`, `low`, `high`, `confidence`, `method`")
    records_skipped: int
    skipped_reasons: dict[str, int] = Field(description="skipped records per reason")
    skipped: list[dict[str, Any]] = Field(description="the first 100 skipped records' locations and reasons")


class Summary(Contract):
    """summary.json: what a run found, per source; a sweep's and an erasure's decisions under `sweep`."""

    format_version: Literal[1] = SUMMARY_FORMAT
    tool: dict[str, str] = Field(description="name and version")
    command: Literal["scan", "sweep", "erase", "redact"]
    started: str
    finished: str
    sampling: dict[str, Any] = Field(
        description="the sampling plan: `mode` (`full`, `count`, `rate`), `count`, `rate`, `seed`")
    covers_sample: bool = Field(description="true unless every record of every source was read (by --full, "
                                "or by a sample as large as each source)")
    sources: dict[str, SourceSummary] = Field(description="per source name: a SourceSummary")
    run_id: str = Field(description="the run's id, in every file of its output set")
    sweep: dict[str, Any] | None = Field(
        default=None, description="sweep, erase and redact: decisions per source, per rule and per hold")
    redaction: dict[str, Any] | None = Field(
        default=None, description="redact: as in evidence.json")


class EvidenceSource(Contract):
    name: str
    uri: str
    connector: str
    status: Literal["ok", "failed"]
    records_total: int | None
    records_sampled: int
    seed: int
    languages: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="as in summary.json: texts the NER model would read, per language")
    size: dict[str, Any]
    seconds: float


class Evidence(Contract):
    """evidence.json: what an auditor needs to trust a run: versions, model digest, config, sources, timings."""

    format_version: Literal[1] = EVIDENCE_FORMAT
    tool: dict[str, str]
    python: str
    platform: str
    detection: dict[str, Any] = Field(
        description="Presidio, spaCy and model versions, the model files' SHA-256, entities, recognizers, "
                    "filters, normalization version and key id (never the key)")
    config_digest: str = Field(description="SHA-256 of the effective configuration")
    command_line: list[str] = Field(
        description="the command line, secrets and values of --allow-list, --deny-list and --subject as ***")
    started: str
    finished: str
    seconds: float
    sampling: dict[str, Any]
    production_traces: dict[str, Any] | None
    sources: list[EvidenceSource] = Field(
        description="per source: URI (redacted), connector, status, size, records, seed and seconds")
    cluster: dict[str, Any] | None = Field(description="with --cluster: address, workers and per-shard timings")
    run_id: str
    sweep: dict[str, Any] | None = Field(
        default=None, description="sweep and erase: `now`, SHA-256 digests of the policy and holds files, the holds")
    redaction: dict[str, Any] | None = Field(
        default=None, description="redact: per source, findings before and after by type, records changed, "
                                  "the operator per type and the pseudonym scheme; what the re-scan found")


# The published contracts: docs/schemas/NAME.schema.json each
CONTRACTS = {"finding": FindingLine, "deletion-row": DeletionRow, "redaction-row": RedactionRow,
             "legal-hold-row": LegalHoldRow,
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
