"""Retention policy files: rules that match records and say when they are deleted or retained."""

from __future__ import annotations

import fnmatch
from datetime import datetime
from typing import Literal

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from detectors.operators import OperatorSpec
from retention.durations import parse_duration
from scanner.core.records import Finding, Record


def values_as_lists(value):
    """`attributes: {tenant: acme}` or `{tenant: [acme, 7]}`: allowed values as lists of strings."""
    if isinstance(value, dict):
        return {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in value.items()}
    return value


class Match(BaseModel):
    """Every criterion given must hold; lists are 'any of'."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[str] | None = None  # globs on the source name
    kinds: list[Literal["eval_dataset", "trace_log", "vector_index"]] | None = None
    entities: list[str] | None = None
    production_match: bool | None = None
    attributes: dict[str, list[str]] | None = None
    min_score: float | None = Field(None, ge=0, le=1)

    _values_as_lists = field_validator("attributes", mode="before")(lambda value: values_as_lists(value))

    def matches(self, record: Record, findings: list[Finding]) -> bool:
        if self.sources is not None and not any(fnmatch.fnmatchcase(record.source, g) for g in self.sources):
            return False
        if self.kinds is not None and record.kind not in self.kinds:
            return False
        counted = [f for f in findings if self.min_score is None or f.score >= self.min_score]
        if self.entities is not None and not any(f.entity_type in self.entities for f in counted):
            return False
        if self.entities is None and self.min_score is not None and not counted:
            return False
        if self.production_match is not None and any(f.production_match for f in counted) != self.production_match:
            return False
        if self.attributes is not None:
            for key, allowed in self.attributes.items():
                if record.attributes.get(key) not in allowed:
                    return False
        return True


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    id: str = Field(min_length=1)
    description: str = ""
    match: Match = Field(default_factory=Match)
    action: Literal["delete", "redact", "retain", "review"]
    # redact: the operator per entity type (`DEFAULT` for the others); none given: the config's `redact:`
    operators: dict[str, OperatorSpec] | None = None
    max_age: relativedelta | None = None
    min_age: relativedelta | None = None
    inherit_age: bool = False  # copied-production lineage; takes effect once lineage exists

    @field_validator("max_age", "min_age", mode="before")
    @classmethod
    def _duration(cls, value):
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _ages_fit_the_action(self):
        if self.max_age is not None and self.action == "retain":
            raise ValueError(f"rule {self.id}: a retain rule takes min_age, not max_age")
        if self.min_age is not None and self.action != "retain":
            raise ValueError(f"rule {self.id}: min_age belongs to retain rules")
        if self.operators is not None and self.action != "redact":
            raise ValueError(f"rule {self.id}: operators belong to redact rules")
        return self

    def redacts(self, findings: list[Finding]) -> list[Finding]:
        """The findings a redact rule replaces: those of its `match.entities`, else every one."""
        wanted = self.match.entities
        return [f for f in findings if wanted is None or f.entity_type in wanted]

    def due(self, timestamp: datetime | None) -> datetime | None:
        """When a matching delete (or redact) rule falls due: at once (None) or at timestamp + max_age."""
        if self.max_age is None or timestamp is None:
            return None
        try:
            return timestamp + self.max_age
        except (OverflowError, ValueError):  # past year 9999: never due
            return datetime.max.replace(tzinfo=timestamp.tzinfo)

    def retains(self, timestamp: datetime | None, now: datetime) -> bool:
        """A retain rule blocks deletion until the record is min_age old (always, without min_age)."""
        if self.min_age is None or timestamp is None:
            return True
        try:
            return timestamp + self.min_age > now
        except (OverflowError, ValueError):
            return True


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique_ids(self):
        ensure_unique_ids(self.rules, "rule")
        return self


def ensure_unique_ids(items, what: str) -> None:
    """Ids appear in worklists and logs: two items with one id could not be told apart."""
    seen = set()
    for item in items:
        if item.id in seen:
            raise ValueError(f"{what} id {item.id!r} is used twice")
        seen.add(item.id)

