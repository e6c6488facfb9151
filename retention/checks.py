"""Checks of a policy and holds against what a run can see: a rule or a hold criterion that could never
match is said, not silently ignored."""

from __future__ import annotations

from retention.holds import SUBJECT_ATTRIBUTES, Hold
from retention.policy import Policy
from scanner.core.errors import UsageError


def check_rule_entities(policy: Policy, engine) -> None:
    """A rule naming an entity type no recognizer finds (`EMAIL` for EMAIL_ADDRESS) could never match."""
    known = set(engine.analyzer.get_supported_entities(engine.config.language)) | set(engine.entities)
    for rule in policy.rules:
        unknown = sorted(set(rule.match.entities or []) - known)
        if unknown:
            raise UsageError(f"policy rule {rule.id}: unknown entity type(s) {', '.join(unknown)} "
                             f"(supported: {', '.join(sorted(known))})")


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
