"""What a sweep counts as it decides: per source, rule and hold, with short lists for summary.json."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from retention.evaluate import Decision
from retention.holds import Hold
from retention.policy import Policy
from detectors.masking import shown

LISTED = 100  # undated and suppressed records listed one by one in summary.json
AGE_BUCKETS_DAYS = (7, 30, 90, 180, 365, 730)



@dataclass
class RuleTally:
    matched: int = 0
    deleted: int = 0
    redacted: int = 0
    suppressed_by_hold: int = 0
    retained: int = 0
    undated: int = 0
    upcoming: int = 0
    next_due: datetime | None = None
    last_due: datetime | None = None
    ages: Counter = field(default_factory=Counter)  # age bucket -> records the rule matched

    def summary(self) -> dict[str, Any]:
        return {"matched": self.matched, "deleted": self.deleted, "redacted": self.redacted,
                "suppressed_by_hold": self.suppressed_by_hold,
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
            elif decision.suppressed_rule_id == decision.rule.id:
                tally.suppressed_by_hold += 1
            elif decision.retained_by:
                tally.retained += 1
        if decision.redact_rule is not None:
            tally = self.rules[decision.redact_rule.id]
            if decision.action == "redact":
                tally.redacted += 1
            elif decision.suppressed_rule_id == decision.redact_rule.id:
                tally.suppressed_by_hold += 1
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
