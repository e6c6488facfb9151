"""The retention side of a run: every scanned record decided against the policy and the legal holds,
the worklists written as decisions are made, and the sweep's sections of summary, evidence and report."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime
from typing import Callable

from retention.checks import check_rule_entities, unmatchable_hold_criteria
from retention.evaluate import Evaluator
from retention.holds import Hold, hold_entity_types
from retention.policy import Policy
from retention.tally import SweepTally
from retention.worklists import (DELETION_COLUMNS, LEGAL_HOLD_COLUMNS, REDACTION_COLUMNS, RunIdentity, Worklist,
                                 deletion_row, hold_rows, redaction_row)
from scanner.core.digests import sha256_file
from scanner.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE
from scanner.core.records import Finding, Record

FIRST_ROWS = 20  # worklist rows shown in report.html


class RetentionObserver:
    """`dhscan sweep` (and, with an erasure evaluator, `dhscan erase`) as an observer of the run loop."""

    def __init__(self, policy: Policy, holds: list[Hold], now: datetime | None, *, command: str = "sweep",
                 parquet: bool = False, fail_on: str | None = None, strict: bool = False,
                 policy_path: str | None = None, holds_path: str | None = None,
                 evaluator_factory: Callable[..., Evaluator] | None = None,
                 subject_entities: set[str] = frozenset()):
        self.command, self.policy, self.holds, self.now = command, policy, holds, now
        self.parquet, self.fail_on, self.strict = parquet, fail_on, strict
        self.policy_path, self.holds_path = policy_path, holds_path
        self.evaluator_factory = evaluator_factory or Evaluator
        self.subject_entities = set(subject_entities)
        self.warnings: list[str] = []
        self.first_rows: dict[str, list[dict]] = {"deletion": [], "redaction": [], "hold": []}

    def entity_types(self) -> set[str]:
        return hold_entity_types(self.holds) | self.subject_entities

    def start(self, run, stack: ExitStack) -> None:
        self.now = self.now or run.started
        check_rule_entities(self.policy, run.engine)
        self.identity = RunIdentity(run.run_id, run.engine.key.key_id, run.key)
        for hold in self.holds:
            hold.seal(run.key)
        self.evaluator = self.evaluator_factory(self.policy, self.holds, self.now, run.key)
        self.tally = SweepTally(self.policy, self.holds, self.now, run.key)
        self.deletions = Worklist(stack, run.out_dir, "deletion_worklist", DELETION_COLUMNS, self.parquet)
        self.redactions = Worklist(stack, run.out_dir, "redaction_worklist", REDACTION_COLUMNS, self.parquet)
        self.held = Worklist(stack, run.out_dir, "legal_hold_worklist", LEGAL_HOLD_COLUMNS, self.parquet)
        self.operators = run.config.redact.operators  # for redact rules that name none
        self.phone_region = run.config.detection.phone_region

    def held_names(self):
        return self.evaluator.names

    def on_record(self, record: Record, reported: list[Finding], findings: list[Finding]) -> None:
        decision = self.evaluator.decide(record, reported, findings)
        self.tally.add(decision)
        if decision.action == "delete":
            self._add("deletion", self.deletions, deletion_row(decision, self.now, self.identity))
        elif decision.action == "redact":
            row = redaction_row(decision, self.now, self.identity, self.operators, self.phone_region)
            self._add("redaction", self.redactions, row)
        for row in hold_rows(decision, self.identity.key):
            self._add("hold", self.held, row)

    def _add(self, kind: str, worklist: Worklist, row: dict) -> None:
        worklist.add(row)
        if len(self.first_rows[kind]) < FIRST_ROWS:
            self.first_rows[kind].append(row)

    def finish(self, run, results, summary: dict, evidence: dict) -> None:
        self.warnings = unmatchable_hold_criteria(self.holds, self.tally.attributes_seen)
        summary["sweep"] = {**self.tally.summary(), "hold_warnings": self.warnings,
                            "deletion_worklist_rows": self.deletions.rows,
                            "redaction_worklist_rows": self.redactions.rows,
                            "legal_hold_worklist_rows": self.held.rows}
        evidence["sweep"] = {"detected_for_holds_only": sorted(run.hidden_types), "now": self.now.isoformat(),
                             "policy_sha256": sha256_file(self.policy_path) if self.policy_path else None,
                             "holds_sha256": sha256_file(self.holds_path) if self.holds_path else None,
                             "rules": [r.id for r in self.policy.rules],
                             "holds": [{"id": h.id, "status": h.status} for h in self.holds]}
        self.results = results

    def written(self, run, summary: dict, evidence: dict) -> None:
        from retention.report import write_report

        write_report(run.out_dir / "report.html", summary, evidence, self.first_rows, self.policy, self.tally)

    def exit_code(self, results) -> int:
        if self.strict and self.warnings:
            return EXIT_USAGE
        if any(r.status == "failed" for r in results):
            return EXIT_SOURCE_FAILED
        wanted = {"deletions": self.deletions.rows, "redactions": self.redactions.rows, "holds": self.held.rows,
                  "findings": sum(r.findings for r in results)}
        return EXIT_FINDINGS if self.fail_on and wanted[self.fail_on] else EXIT_OK
