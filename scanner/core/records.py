"""The core types that flow through dhscan: Record, Finding, SkippedRecord."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanner.core.formats import FINDINGS_FORMAT

KINDS = ("eval_dataset", "trace_log", "vector_index")


@dataclass(frozen=True)
class Record:
    source: str
    kind: str
    record_id: str
    locator: dict[str, Any]
    texts: dict[str, str]
    timestamp: datetime | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    # Fields holding identifiers (ids, user and session ids): scanned for emails, phones and
    # the like, not by NER, which reads codes such as conv-00172 as names.
    id_fields: frozenset[str] = frozenset()
    # False for a trace span whose prompts and completions were not captured: not clean, unknown.
    has_content: bool = True
    # The production record this one is a near-copy of: {source, record_id, timestamp, similarity}.
    copied_from: dict | None = None
    # The record's content digest, taken where its texts were read (a cluster worker returns records
    # without their texts); None: taken from the record itself when needed.
    content_digest: str | None = None
    # The held names its texts hold (retention/heldnames.py), likewise taken where the texts were read.
    held_name_digests: frozenset[str] | None = None


@dataclass(frozen=True)
class Finding:
    source: str
    kind: str
    record_id: str
    field: str
    entity_type: str
    score: float
    start: int
    end: int
    recognizer: str
    digest: str
    preview: str
    production_match: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FINDINGS_FORMAT,
            "source": self.source,
            "kind": self.kind,
            "record_id": self.record_id,
            "field": self.field,
            "entity_type": self.entity_type,
            "score": round(self.score, 4),
            "start": self.start,
            "end": self.end,
            "recognizer": self.recognizer,
            "digest": self.digest,
            "preview": self.preview,
            "production_match": self.production_match,
        }


@dataclass(frozen=True)
class SkippedRecord:
    """A record a connector could not read: where it is and why (never its content)."""

    location: str
    category: str  # groups skips in summary.json: not_json, invalid_utf8, wrong_column_count, ...
    reason: str
    # (file, row) of a record that was sampled, None for a skipped file: a cluster merging bottom-k
    # samples reports only the skips its merged sample holds
    position: tuple[str, int] | None = None
