"""Data-subject erasure requests: every record whose findings or attributes match the subject goes
on a deletion worklist (rule id = the request id), or on the legal-hold worklist where a hold covers it.
The subject's identifiers are digested as the request is read and appear in no output."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from retention.evaluate import Decision, Evaluator, HoldMatch
from retention.holds import Hold, RecordFacts, Scope
from retention.policy import Policy, Rule
from scanner.core.errors import UsageError
from scanner.core.records import Finding, Record
from scanner.core.yamlconfig import load_model


class ErasureRequest(BaseModel):
    """A request file: `id`, and the subject's identifiers (`subjects: [{email: ...}, {user: ...}]`)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    subjects: list[dict[str, str]] = Field(min_length=1)
    received: str | None = None
    notes: str | None = None

    @field_validator("received", mode="before")
    @classmethod
    def _date_as_text(cls, value):
        """`received: 2026-11-30` is a date to YAML, as in holds files: kept as its ISO text."""
        return value.isoformat() if isinstance(value, date) else value


def request_from(path: str | None, subject_options: list[str], request_id: str | None) -> ErasureRequest:
    if path and subject_options:
        raise UsageError("give --request or --subject, not both")
    if path:
        request = load_model(ErasureRequest, path)
        return request.model_copy(update={"id": request_id}) if request_id else request
    if not subject_options:
        raise UsageError("no subject: give --subject KIND=VALUE (repeatable) or --request FILE")
    subjects = []
    for option in subject_options:
        kind, sep, value = option.partition("=")
        if not sep or not value.strip():
            raise UsageError(f"--subject needs KIND=VALUE, e.g. email=jane@example.com (got a value for {kind!r})")
        subjects.append({kind.strip(): value.strip()})
    return ErasureRequest(id=request_id or "erasure-request", subjects=subjects)


def selector(request: ErasureRequest) -> Hold:
    """The request as a scope of subjects (sealed by the evaluator: digests only from then on)."""
    try:
        return Hold(id=request.id, matter="erasure request", scope=Scope(subjects=request.subjects))
    except ValueError as exc:
        message = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
        raise UsageError(f"erasure request {request.id}: {message}") from None


def erasure_policy(request: ErasureRequest) -> Policy:
    return Policy(version=1, rules=[Rule(id=request.id, description="data-subject erasure request",
                                         action="delete")])


class ErasureEvaluator(Evaluator):
    """Delete what matches the subject; holds still win."""

    def __init__(self, request_selector: Hold, policy: Policy, holds: list[Hold], now, key: bytes):
        super().__init__(policy, holds, now, key)
        self.selector = request_selector
        self.rule = policy.rules[0]

    def decide(self, record: Record, findings: list[Finding], hold_findings: list[Finding] | None = None) -> Decision:
        facts = RecordFacts.of(record, findings if hold_findings is None else hold_findings, self.key, self.names)
        decision = Decision(record=record, action="keep", reason="does not concern the subject",
                            entity_types=sorted({f.entity_type for f in findings}),
                            production_match=any(f.production_match for f in findings), facts=facts)
        matched = self.selector.matched_on(facts, self.key)
        if not matched:
            return decision
        decision.rule, decision.matched_rules = self.rule, [self.rule.id]
        decision.holds = [HoldMatch(h, on) for h in self.holds if (on := h.matched_on(facts, self.key))]
        if decision.holds:
            decision.action = "hold"
            decision.reason = "legal hold " + ", ".join(h.hold.id for h in decision.holds)
        else:
            decision.action = "delete"
            decision.reason = f"erasure request {self.rule.id}: matched on {', '.join(matched)}"
        return decision
