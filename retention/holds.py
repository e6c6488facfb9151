"""Legal holds: matters whose scope keeps records out of every deletion. Subject identifiers are
normalized and digested with the run's key as the file is loaded; the raw values are not kept."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from detectors.normalize import digest
from retention.heldnames import NameWatch, name_digest, name_words
from retention.policy import ensure_unique_ids, values_as_lists
from scanner.core.digests import keyed_digest
from scanner.core.records import Finding, Record

# Subject keys that name an identifier found in text, and the entity type it is found as.
SUBJECT_ENTITIES = {"email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER", "name": "PERSON", "ssn": "US_SSN",
                    "card": "CREDIT_CARD", "iban": "IBAN_CODE", "ip": "IP_ADDRESS"}
# Subject keys that name a record attribute (user and session ids of traces, tenants).
SUBJECT_ATTRIBUTES = ("user", "session", "tenant")


def attribute_digest(key: bytes, value: str) -> str:
    return keyed_digest(key, str(value).strip().encode("utf-8"), purpose=b"attribute\x00")


@dataclass(frozen=True)
class RecordFacts:
    """What a hold scope looks at, as digests: from a record and its findings at sweep time, or
    from a worklist row at apply time (which must not carry raw values)."""

    source: str
    kind: str
    timestamp: datetime | None
    attribute_digests: dict[str, str]
    finding_digests: frozenset[str]
    name_digests: frozenset[str] = frozenset()  # held names its texts hold, whatever the model found

    @classmethod
    def of(cls, record: Record, findings: list[Finding], key: bytes,
           names: NameWatch | None = None) -> "RecordFacts":
        return cls(record.source, record.kind, record.timestamp,
                   {k: attribute_digest(key, v) for k, v in record.attributes.items()},
                   frozenset(f.digest for f in findings),
                   names.found_in(record) if names is not None else frozenset())


class TimeRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: datetime | date | None = Field(None, alias="from")
    end: datetime | date | None = Field(None, alias="to")

    @staticmethod
    def _as_datetime(value, end: bool) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        # a date `to` covers the whole day
        return datetime.combine(value, time.max if end else time.min, tzinfo=timezone.utc)

    @model_validator(mode="after")
    def _in_order(self):
        start, end = self._as_datetime(self.start, False), self._as_datetime(self.end, True)
        if start is not None and end is not None and start > end:
            raise ValueError("time_range: 'from' is after 'to' (nothing could ever be in it)")
        return self

    def covers(self, timestamp: datetime | None) -> bool:
        if timestamp is None:
            return True  # an undated record cannot be shown to fall outside: preserved
        start, end = self._as_datetime(self.start, False), self._as_datetime(self.end, True)
        return (start is None or timestamp >= start) and (end is None or timestamp <= end)


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[str] | None = None
    kinds: list[str] | None = None
    attributes: dict[str, list[str]] | None = None
    time_range: TimeRange | None = None
    subjects: list[dict[str, str]] | None = None

    _values_as_lists = field_validator("attributes", mode="before")(lambda value: values_as_lists(value))

    @field_validator("subjects")
    @classmethod
    def _known_subject_keys(cls, value):
        for subject in value or []:
            if len(subject) != 1:
                raise ValueError("each subject is one identifier, e.g. {email: ...}")
            (key,) = subject
            if not str(subject[key] if subject[key] is not None else "").strip():
                raise ValueError(f"subject {key!r} has an empty value (it could match nothing, or everything)")
            if key not in SUBJECT_ENTITIES and key not in SUBJECT_ATTRIBUTES:
                known = ", ".join([*SUBJECT_ENTITIES, *SUBJECT_ATTRIBUTES])
                raise ValueError(f"unknown subject key {key!r} (known: {known})")
        return value


class Hold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    matter: str = Field(min_length=1)
    status: Literal["active", "released"] = "active"
    scope: Scope = Field(default_factory=Scope)
    _subject_digests: list[tuple[int, str, str]] = PrivateAttr(default_factory=list)  # (index, kind, digest)
    _attribute_digests: dict[str, set[str]] = PrivateAttr(default_factory=dict)  # scope attribute -> digests
    _held_names: dict[int, tuple[str, int]] = PrivateAttr(default_factory=dict)  # index -> (digest, words)

    def seal(self, key: bytes, names_in_text: bool = True) -> None:
        """Digest the subjects and drop their raw values from the model. With `names_in_text`, a name
        subject also matches a record whose text holds the name's words (see retention/heldnames.py);
        an erasure request's selector is sealed without, so it deletes only what detection found."""
        sealed, held_names = [], {}
        for i, subject in enumerate(self.scope.subjects or []):
            (kind, value), = subject.items()
            if kind in SUBJECT_ENTITIES:
                sealed.append((i, kind, digest(key, SUBJECT_ENTITIES[kind], str(value))))
            else:
                sealed.append((i, kind, attribute_digest(key, str(value))))
            if kind == "name" and names_in_text and (words := name_words(str(value))):
                held_names[i] = (name_digest(key, words), len(words))
        self._subject_digests, self._held_names = sealed, held_names
        # digested once here, not again for every record the scope is tried on
        self._attribute_digests = {name: {attribute_digest(key, v) for v in allowed}
                                   for name, allowed in (self.scope.attributes or {}).items()}
        self.scope = self.scope.model_copy(update={"subjects": [{kind: "***"} for _, kind, _ in sealed] or None})

    def matched_on(self, facts: "RecordFacts", key: bytes) -> list[str] | None:
        """What made the scope match (never a raw value), or None when it does not."""
        if self.status != "active":
            return None
        scope, reasons = self.scope, []
        if scope.sources is not None:
            if not any(fnmatch.fnmatchcase(facts.source, g) for g in scope.sources):
                return None
            reasons.append("source")
        if scope.kinds is not None:
            if facts.kind not in scope.kinds:
                return None
            reasons.append("kind")
        if scope.attributes is not None:
            for name, allowed in scope.attributes.items():
                wanted = self._attribute_digests.get(name) or {attribute_digest(key, v) for v in allowed}
                if facts.attribute_digests.get(name) not in wanted:
                    return None
                reasons.append(f"attribute:{name}")
        if scope.time_range is not None:
            if not scope.time_range.covers(facts.timestamp):
                return None
            reasons.append("time_range" if facts.timestamp else "time_range(undated)")
        if self._subject_digests:
            hits = [f"subject[{i}]:{kind}" for i, kind, d in self._subject_digests
                    if (kind in SUBJECT_ENTITIES and d in facts.finding_digests)
                    or (kind in SUBJECT_ATTRIBUTES and facts.attribute_digests.get(kind) == d)
                    or (i in self._held_names and self._held_names[i][0] in facts.name_digests)]
            if not hits:
                return None
            reasons.extend(hits)
        return reasons or ["everything"]


class HoldsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holds: list[Hold]

    @model_validator(mode="after")
    def _unique_ids(self):
        ensure_unique_ids(self.holds, "hold")
        return self


def held_names(holds: list[Hold], key: bytes) -> NameWatch | None:
    """What active (sealed) holds' name subjects are looked for in the text; None: no hold names a person."""
    return NameWatch.of((held for hold in holds if hold.status == "active" for held in hold._held_names.values()),
                        key)


def hold_entity_types(holds: list[Hold]) -> set[str]:
    """The entity types active holds name subjects by: detected whatever `--entities` reports."""
    return {SUBJECT_ENTITIES[kind] for hold in holds if hold.status == "active"
            for subject in hold.scope.subjects or [] for kind in subject if kind in SUBJECT_ENTITIES}
