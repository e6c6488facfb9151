"""`dhscan sweep`: every record of every source against the retention policy and the legal holds."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from detectors.config import ScanConfig
from retention.evaluate import Decision, Evaluator
from detectors.masking import shown
from detectors.normalize import record_digest
from retention.holds import SUBJECT_ATTRIBUTES, SUBJECT_ENTITIES, Hold
from retention.policy import Policy
from retention.worklists import DELETION_COLUMNS, LEGAL_HOLD_COLUMNS, WORKLIST_FORMAT, Worklist
from scanner.errors import EXIT_FINDINGS, EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE, UsageError
from scanner.outputs import atomic_write, write_json
from scanner.records import Finding, Record
from scanner.sampling import SamplePlan
from scanner.uri import redact_uri_text
from scanner.scan import (SourceResult, build_engine, build_evidence, build_lineage, build_summary, claimed_output,
                          open_sources, open_workers, scan_source)

LISTED = 100  # undated and suppressed records listed one by one in summary.json
AGE_BUCKETS_DAYS = (7, 30, 90, 180, 365, 730)


@dataclass
class RuleTally:
    matched: int = 0
    deleted: int = 0
    suppressed_by_hold: int = 0
    retained: int = 0
    undated: int = 0
    upcoming: int = 0
    next_due: datetime | None = None
    last_due: datetime | None = None
    ages: Counter = field(default_factory=Counter)  # age bucket -> records the rule matched

    def summary(self) -> dict[str, Any]:
        return {"matched": self.matched, "deleted": self.deleted, "suppressed_by_hold": self.suppressed_by_hold,
                "blocked_by_retention": self.retained, "undated": self.undated,
                "upcoming": {"records": self.upcoming,
                             "next_due": self.next_due.isoformat() if self.next_due else None,
                             "last_due": self.last_due.isoformat() if self.last_due else None}}


@dataclass
class SweepTally:
    """Counts and short lists gathered as decisions are made, for summary.json and the report."""

    policy: Policy
    holds: list[Hold]
    now: datetime
    key: bytes  # record ids in the lists are shown with it (identifiers masked and digested)
    by_source: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    rules: dict[str, RuleTally] = field(default_factory=dict)
    holds_count: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    undated: list[dict] = field(default_factory=list)
    undated_total: int = 0
    suppressed: list[dict] = field(default_factory=list)
    suppressed_total: int = 0
    ages: Counter = field(default_factory=Counter)  # age bucket -> records
    attributes_seen: set[str] = field(default_factory=set)  # attribute names any scanned record has

    def __post_init__(self):
        self.rules = {rule.id: RuleTally() for rule in self.policy.rules}

    def add(self, decision: Decision) -> None:
        record = decision.record
        self.attributes_seen.update(record.attributes)
        self.by_source[record.source][decision.action] += 1
        bucket = age_bucket(record.timestamp, self.now)
        self.ages[bucket] += 1
        for rule_id in decision.matched_rules:
            tally = self.rules[rule_id]
            tally.matched += 1
            tally.ages[bucket] += 1
        if record.timestamp is None:
            self.by_source[record.source]["undated"] += 1
            self.undated_total += 1
            if len(self.undated) < LISTED:
                self.undated.append({"source": record.source, "record_id": shown(self.key, record.record_id),
                                     "rules": decision.undated_rules})
        for rule_id in decision.undated_rules:
            self.rules[rule_id].undated += 1
        for rule_id, when in decision.upcoming:
            tally = self.rules[rule_id]
            tally.upcoming += 1
            tally.next_due = min(filter(None, (tally.next_due, when)))
            tally.last_due = max(filter(None, (tally.last_due, when)))
        if decision.rule is not None:
            tally = self.rules[decision.rule.id]
            if decision.action == "delete":
                tally.deleted += 1
            elif decision.suppressed_rule_id:
                tally.suppressed_by_hold += 1
            elif decision.retained_by:
                tally.retained += 1
        for match in decision.holds:
            self.holds_count[match.hold.id][record.source] += 1
        if decision.suppressed_rule_id:
            self.suppressed_total += 1
            if len(self.suppressed) < LISTED:
                self.suppressed.append({"source": record.source, "record_id": shown(self.key, record.record_id),
                                        "rule_id": decision.suppressed_rule_id,
                                        "hold_ids": [m.hold.id for m in decision.holds]})

    def summary(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "decisions_by_source": {s: dict(sorted(c.items())) for s, c in self.by_source.items()},
            "rules": {rule_id: tally.summary() for rule_id, tally in self.rules.items()},
            "holds": {hold.id: {"matter": hold.matter, "status": hold.status,
                                "records": sum(self.holds_count[hold.id].values()),
                                "by_source": dict(sorted(self.holds_count[hold.id].items()))}
                      for hold in self.holds},
            "undated": {"records": self.undated_total, "listed": self.undated},
            "deletions_suppressed_by_holds": {"records": self.suppressed_total, "listed": self.suppressed},
        }


def age_bucket(timestamp: datetime | None, now: datetime) -> str:
    if timestamp is None:
        return "undated"
    days = (now - timestamp).total_seconds() / 86400
    for limit in AGE_BUCKETS_DAYS:
        if days <= limit:
            return f"<= {limit}d"
    return f"> {AGE_BUCKETS_DAYS[-1]}d"


# Locator values that can hold an identifier (an email as point id or file name); shown as outputs show
# record ids, and matched back by apply (see scanner.apply).
SHOWN_LOCATOR_KEYS = ("file", "id", "point_id", "id_field", "store")


def shown_locator(key: bytes, locator: dict) -> dict:
    result = {k: shown(key, v) if k in SHOWN_LOCATOR_KEYS else v for k, v in locator.items()}
    if result != locator:
        result["pseudonymous"] = True  # apply finds the record by matching what it lists against these
    return result


def shown_copy(key: bytes, copied: dict | None) -> dict | None:
    return {**copied, "record_id": shown(key, copied["record_id"])} if copied else copied


def deletion_row(decision: Decision, now: datetime, run: "RunIdentity") -> dict[str, Any]:
    record = decision.record
    age = (now - record.timestamp).total_seconds() / 86400 if record.timestamp else None
    return {"format_version": WORKLIST_FORMAT, "run_id": run.run_id, "key_id": run.key_id,
            "content_digest": record.content_digest or record_digest(run.key, record),
            "source": record.source, "kind": record.kind, "record_id": shown(run.key, record.record_id),
            "locator": shown_locator(run.key, record.locator),
            "rule_id": decision.rule.id, "reason": decision.reason, "entity_types": decision.entity_types,
            "production_match": decision.production_match,
            "record_timestamp": record.timestamp.isoformat() if record.timestamp else None,
            "age_days": round(age, 2) if age is not None else None,
            "due_since": decision.due_since.isoformat() if decision.due_since else None,
            "copied_from": shown_copy(run.key, record.copied_from),
            # digests only: apply re-checks holds added after the sweep against these
            "attribute_digests": decision.facts.attribute_digests,
            "finding_digests": sorted(decision.facts.finding_digests)}


def hold_rows(decision: Decision, key: bytes) -> list[dict[str, Any]]:
    record = decision.record
    return [{"hold_id": m.hold.id, "matter": m.hold.matter, "source": record.source, "kind": record.kind,
             "record_id": shown(key, record.record_id), "locator": shown_locator(key, record.locator),
             "matched_on": m.matched_on, "suppressed_rule_id": decision.suppressed_rule_id,
             "copied_from": shown_copy(key, record.copied_from)}
            for m in decision.holds]


@dataclass(frozen=True)
class RunIdentity:
    """What ties a worklist row to its run: the run id every output file carries, and the key its digests
    were made with (apply refuses another key: a hold's digests would match nothing)."""

    run_id: str
    key_id: str
    key: bytes


def check_rule_entities(policy: Policy, engine) -> None:
    """A rule naming an entity type no recognizer finds (`EMAIL` for EMAIL_ADDRESS) could never match."""
    known = set(engine.analyzer.get_supported_entities(engine.config.language)) | set(engine.entities)
    for rule in policy.rules:
        unknown = sorted(set(rule.match.entities or []) - known)
        if unknown:
            raise UsageError(f"policy rule {rule.id}: unknown entity type(s) {', '.join(unknown)} "
                             f"(supported: {', '.join(sorted(known))})")


def hold_entity_types(holds: list[Hold]) -> set[str]:
    """The entity types active holds name subjects by: detected whatever `--entities` reports."""
    return {SUBJECT_ENTITIES[kind] for hold in holds if hold.status == "active"
            for subject in hold.scope.subjects or [] for kind in subject if kind in SUBJECT_ENTITIES}


def with_entities(config: ScanConfig, needed: set[str]) -> tuple[ScanConfig, frozenset[str]]:
    """The config detecting `needed` too, and the types it detects only for holds (never reported)."""
    entities = config.detection.entities
    if not entities or entities == ["all"] or needed <= set(entities):
        return config, frozenset()
    hidden = frozenset(needed - set(entities))
    detection = config.detection.model_copy(update={"entities": sorted(set(entities) | hidden)})
    return config.model_copy(update={"detection": detection}), hidden


def unmatchable_hold_criteria(holds: list[Hold], attributes_seen: set[str]) -> list[str]:
    """A warning for each attribute an active hold's scope needs that no scanned record has: such a
    criterion can never match, and the records it was meant to keep are not kept by it."""
    warnings = []
    for hold in holds:
        if hold.status != "active":
            continue
        scope = hold.scope
        needed = [*(scope.attributes or {}), *(kind for subject in scope.subjects or [] for kind in subject
                                               if kind in SUBJECT_ATTRIBUTES)]
        for name in dict.fromkeys(needed):
            if name not in attributes_seen:
                warnings.append(f"legal hold {hold.id}: no scanned record has a {name!r} attribute, so its {name} "
                                f"criterion can never match; name the field with ?attributes={name}:FIELD")
    return warnings


@dataclass
class SweepRun:
    results: list[SourceResult]
    summary: dict
    evidence: dict
    exit_code: int
    deletion_rows: list[dict]
    hold_rows: list[dict]
    warnings: list[str] = field(default_factory=list)


def file_digest(path: str | Path | None) -> str | None:
    if path is None:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_sweep(sources: list[str], plan: SamplePlan, config: ScanConfig, policy: Policy, holds: list[Hold],
              out_dir: Path, *args, **kwargs) -> SweepRun:
    with claimed_output(out_dir):
        return _run_sweep(sources, plan, config, policy, holds, out_dir, *args, **kwargs)


def _run_sweep(sources: list[str], plan: SamplePlan, config: ScanConfig, policy: Policy, holds: list[Hold],
              out_dir: Path, now: datetime | None, command_line: list[str], *, parquet: bool = False,
              fail_on: str | None = None, policy_path: str | None = None, holds_path: str | None = None,
              progress: Callable[[str, int, int | None], None] = lambda name, done, total: None,
              evaluator_factory: Callable[..., Evaluator] | None = None,
              subject_entities: set[str] = frozenset(), strict: bool = False) -> SweepRun:
    from retention.report import write_report

    started = datetime.now(timezone.utc)
    now = now or started
    built = open_sources(sources)
    config, hidden = with_entities(config, hold_entity_types(holds) | set(subject_entities))
    engine = build_engine(config)
    check_rule_entities(policy, engine)
    run = RunIdentity(uuid.uuid4().hex, engine.key.key_id, engine.key.secret)
    lineage = build_lineage(config, progress)
    for hold in holds:
        hold.seal(engine.key.secret)
    evaluator = (evaluator_factory or Evaluator)(policy, holds, now, engine.key.secret)
    tally = SweepTally(policy, holds, now, engine.key.secret)
    first_rows: dict[str, list[dict]] = {"deletion": [], "hold": []}
    results: list[SourceResult] = []
    with ExitStack() as stack:
        cluster, pool = open_workers(config, engine, lineage, stack)
        findings_file = stack.enter_context(atomic_write(out_dir / "findings.jsonl"))
        copies_file = stack.enter_context(atomic_write(out_dir / "copied_from_production.jsonl")) if lineage else None
        deletions = Worklist(stack, out_dir, "deletion_worklist", DELETION_COLUMNS, parquet)
        held = Worklist(stack, out_dir, "legal_hold_worklist", LEGAL_HOLD_COLUMNS, parquet)

        def on_record(record: Record, findings: list[Finding]) -> None:
            reported = [f for f in findings if f.entity_type not in hidden] if hidden else findings
            decision = evaluator.decide(record, reported, findings)
            tally.add(decision)
            if decision.action == "delete":
                row = deletion_row(decision, now, run)
                deletions.add(row)
                if len(first_rows["deletion"]) < 20:
                    first_rows["deletion"].append(row)
            for row in hold_rows(decision, run.key):
                held.add(row)
                if len(first_rows["hold"]) < 20:
                    first_rows["hold"].append(row)

        for text, connector, error in built:
            if connector is None:
                results.append(SourceResult(name=error.source, uri=redact_uri_text(text), kind="?", connector="?",
                                            status="failed",
                                            error=error.problem))
                continue
            results.append(scan_source(connector, engine, plan, findings_file.write, progress,
                                       batch_size=max(64, config.detection.batch_size * 4), on_record=on_record,
                                       hidden_types=hidden,
                                       lineage=lineage, pool=pool, cluster=cluster, config=config,
                                       write_copy=copies_file.write if copies_file else (lambda line: None)))
        cluster_description = cluster.describe() if cluster is not None else None
    finished = datetime.now(timezone.utc)
    summary = build_summary(results, plan, started, finished)
    summary["command"] = "sweep"
    summary["run_id"] = run.run_id
    summary["sweep"] = tally.summary()
    warnings = unmatchable_hold_criteria(holds, tally.attributes_seen)
    summary["sweep"]["hold_warnings"] = warnings
    summary["sweep"]["deletion_worklist_rows"] = deletions.rows
    summary["sweep"]["legal_hold_worklist_rows"] = held.rows
    evidence = build_evidence(results, plan, config, engine, started, finished, command_line, lineage)
    evidence["cluster"] = cluster_description
    evidence["run_id"] = run.run_id
    evidence["sweep"] = {"detected_for_holds_only": sorted(hidden), "now": now.isoformat(),
                         "policy_sha256": file_digest(policy_path),
                         "holds_sha256": file_digest(holds_path), "rules": [r.id for r in policy.rules],
                         "holds": [{"id": h.id, "status": h.status} for h in holds]}
    write_json(out_dir / "summary.json", summary)
    write_json(out_dir / "evidence.json", evidence)
    write_report(out_dir / "report.html", summary, evidence, first_rows, policy, tally)
    failed = any(r.status == "failed" for r in results)
    wanted = {"deletions": deletions.rows, "holds": held.rows, "findings": sum(r.findings for r in results)}
    code = EXIT_SOURCE_FAILED if failed else EXIT_FINDINGS if fail_on and wanted[fail_on] else EXIT_OK
    if strict and warnings:
        code = EXIT_USAGE
    return SweepRun(results, summary, evidence, code, first_rows["deletion"], first_rows["hold"], warnings)
