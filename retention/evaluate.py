"""Deciding what happens to each record: hold > delete > redact > review > keep, with retention blocking
deletion (not redaction: a redacted record is kept)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from retention.holds import Hold, RecordFacts, held_names
from retention.policy import Policy, Rule
from scanner.core.fields import parse_timestamp
from scanner.core.records import Finding, Record


@dataclass
class HoldMatch:
    hold: Hold
    matched_on: list[str]


@dataclass
class Decision:
    record: Record
    action: str  # "delete" | "redact" | "hold" | "review" | "keep"
    reason: str
    entity_types: list[str]
    production_match: bool
    rule: Rule | None = None  # the delete rule that is due (also when a hold or retention stops it)
    due_since: datetime | None = None
    redact_rule: Rule | None = None  # the redact rule that is due (when no delete rule deletes it)
    redactions: list[Finding] = field(default_factory=list)  # what the redact rule replaces
    holds: list[HoldMatch] = field(default_factory=list)
    retained_by: list[str] = field(default_factory=list)
    review_rules: list[str] = field(default_factory=list)
    upcoming: list[tuple[str, datetime]] = field(default_factory=list)  # delete rules not due yet
    undated_rules: list[str] = field(default_factory=list)  # delete rules with max_age, record has no time
    matched_rules: list[str] = field(default_factory=list)
    facts: RecordFacts | None = None  # the digests a hold is matched on, written to the worklist for apply

    @property
    def suppressed_rule_id(self) -> str | None:
        """The rule that would have deleted a held record."""
        if self.action == "hold" and self.rule is not None and not self.retained_by:
            return self.rule.id
        if self.action == "hold" and self.redact_rule is not None:
            return self.redact_rule.id
        return None


class Evaluator:
    def __init__(self, policy: Policy, holds: list[Hold], now: datetime, key: bytes):
        self.policy = policy
        self.holds = [h for h in holds if h.status == "active"]
        self.now = now
        self.key = key
        self.names = held_names(self.holds, key)  # the holds are sealed: with this key

    def decide(self, record: Record, findings: list[Finding], hold_findings: list[Finding] | None = None) -> Decision:
        """`findings` are the reported ones rules match on; `hold_findings` (default: the same) also holds
        the types detected only so that holds naming subjects by them can match."""
        inherited = parse_timestamp((record.copied_from or {}).get("timestamp"))
        decision = Decision(record=record, action="keep", reason="no rule applies",
                            entity_types=sorted({f.entity_type for f in findings}),
                            production_match=any(f.production_match for f in findings))
        due: list[tuple[int, datetime | None, int, Rule]] = []
        redact_due: list[tuple[int, datetime | None, int, Rule]] = []
        for order, rule in enumerate(self.policy.rules):
            if not rule.match.matches(record, findings):
                continue
            # lineage: a copy of a production trace is as old as the trace, for rules that say so
            timestamp = inherited if rule.inherit_age and inherited else record.timestamp
            decision.matched_rules.append(rule.id)
            if rule.action == "retain":
                if rule.retains(timestamp, self.now):
                    decision.retained_by.append(rule.id)
            elif rule.action == "review":
                decision.review_rules.append(rule.id)
            elif rule.max_age is None:
                # due at once: earlier than any dated due
                (redact_due if rule.action == "redact" else due).append((0, timestamp, order, rule))
            elif timestamp is None:
                decision.undated_rules.append(rule.id)
            else:
                when = rule.due(timestamp)
                if when <= self.now:
                    (redact_due if rule.action == "redact" else due).append((1, when, order, rule))
                else:
                    decision.upcoming.append((rule.id, when))
        if due:
            _, decision.due_since, _, decision.rule = min(due, key=lambda d: (d[0], d[1] or self.now, d[2]))
        # a redact rule with nothing of its types to replace in the record has nothing to do
        redact_due = [d for d in redact_due if d[3].redacts(findings)]
        if redact_due and (decision.rule is None or decision.retained_by):
            _, when, _, decision.redact_rule = min(redact_due, key=lambda d: (d[0], d[1] or self.now, d[2]))
            decision.redactions = decision.redact_rule.redacts(findings)
            decision.due_since = decision.due_since if decision.rule is not None else when
        facts = RecordFacts.of(record, findings if hold_findings is None else hold_findings, self.key, self.names)
        decision.holds = [HoldMatch(h, on) for h in self.holds if (on := h.matched_on(facts, self.key))]
        decision.facts = facts

        if decision.holds:
            decision.action = "hold"
            decision.reason = "legal hold " + ", ".join(h.hold.id for h in decision.holds)
        elif decision.rule is not None and not decision.retained_by:
            decision.action = "delete"
            decision.reason = _delete_reason(decision.rule, decision.entity_types)
            if decision.rule.inherit_age and inherited:
                decision.reason += "; age inherited from the production record it copies"
        elif decision.redact_rule is not None:
            decision.action = "redact"
            types = sorted({f.entity_type for f in decision.redactions})
            decision.reason = f"{decision.redact_rule.id}: redact {', '.join(types)}"
            if decision.rule is not None:
                decision.reason += f" ({decision.rule.id} is due, but retained by {', '.join(decision.retained_by)})"
        elif decision.rule is not None:
            decision.reason = f"{decision.rule.id} is due, but retained by {', '.join(decision.retained_by)}"
        elif decision.review_rules:
            decision.action = "review"
            decision.reason = "review under " + ", ".join(decision.review_rules)
        elif decision.undated_rules:
            decision.reason = f"undated: {', '.join(decision.undated_rules)} cannot age it out"
        elif decision.upcoming:
            rule_id, when = min(decision.upcoming, key=lambda u: u[1])
            decision.reason = f"{rule_id} due on {when.date().isoformat()}"
        return decision


def _delete_reason(rule: Rule, entity_types: list[str]) -> str:
    found = f" ({', '.join(entity_types)})" if entity_types else ""
    if rule.max_age is None:
        return f"{rule.id}: matches{found}; no retention period"
    return f"{rule.id}: older than its retention period{found}"
