"""Baselines: the findings a team already knows of, so a scan reports and fails only on new ones.

A baseline file is JSON and describes itself (format, version, tool, key id, config digest). Each
finding is its keyed fingerprint (the one results.sarif carries), its entity type, where it is (source,
record id and field as findings.jsonl shows them), its value's keyed digest and masked preview, and,
once audited, a verdict with who, why and when. What a scan with `--baseline` leaves out:
- a finding not audited yet (known when the baseline was made),
- a false positive,
- an accepted finding until its expiry date; after it, the finding is reported again.
A true positive is reported on every scan until it is gone from the data."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scanner import __version__
from scanner.core.digests import finding_fingerprint, fingerprint
from scanner.core.durable import atomic_write
from scanner.core.errors import UsageError
from scanner.core.records import Finding
from scanner.core.yamlconfig import validate

FORMAT = "dhscan-baseline"
VERSION = 1
# format version -> the function that turns a file of that version into the next version's shape
UPGRADES: dict[int, Callable[[dict], dict]] = {}
VERDICTS = ("true_positive", "false_positive", "accepted")


class Audit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["true_positive", "false_positive", "accepted"]
    by: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    at: datetime
    until: date | None = None  # accepted: until this day, inclusive

    @model_validator(mode="after")
    def _accepted_expires(self):
        if self.verdict == "accepted" and self.until is None:
            raise ValueError("an accepted finding needs an expiry date (until)")
        if self.verdict != "accepted" and self.until is not None:
            raise ValueError("only an accepted finding has an expiry date")
        return self


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")
    entity_type: str
    source: str
    record_id: str
    field: str
    digest: str
    preview: str
    audit: Audit | None = None

    def status(self, today: date) -> str:
        """unaudited, false_positive, accepted, expired or true_positive."""
        if self.audit is None:
            return "unaudited"
        if self.audit.verdict == "accepted" and self.audit.until < today:
            return "expired"
        return self.audit.verdict


SUPPRESSED = ("unaudited", "false_positive", "accepted")


class Baseline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["dhscan-baseline"] = FORMAT
    version: Literal[1] = VERSION
    tool: dict
    created: datetime
    key_id: str
    config_digest: str
    findings: list[Entry]

    def by_fingerprint(self) -> dict[str, Entry]:
        return {entry.fingerprint: entry for entry in self.findings}

    def statuses(self, today: date) -> Counter:
        return Counter(entry.status(today) for entry in self.findings)


def load_baseline(path: str | Path) -> Baseline:
    """A baseline file, upgraded to the current format version when it is older."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such baseline file") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a baseline file (not JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError(f"{path}: not a dhscan baseline (no \"format\": \"{FORMAT}\")")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise UsageError(f"{path}: baseline format version {version!r} is newer than this dhscan reads "
                         f"({VERSION}): upgrade dhscan")
    while version < VERSION:
        if version not in UPGRADES:
            raise UsageError(f"{path}: baseline format version {version} cannot be upgraded")
        data, version = UPGRADES[version](data), version + 1
        data["version"] = version
    return validate(Baseline, data, path, {})


def save_baseline(baseline: Baseline, path: str | Path) -> None:
    with atomic_write(Path(path)) as handle:
        handle.write(baseline.model_dump_json(indent=2, exclude_none=True) + "\n")


def baseline_from_findings(findings: list[dict], key: bytes, key_id: str, config_digest: str,
                           earlier: Baseline | None = None) -> Baseline:
    """A baseline of findings.jsonl's rows; audits of an earlier baseline kept for findings still there."""
    audits = {e.fingerprint: e.audit for e in earlier.findings} if earlier is not None else {}
    entries, seen = [], set()
    for f in findings:
        mark = fingerprint(key, f["source"], f["record_id"], f["field"], f["entity_type"], f["digest"])
        if mark in seen:
            continue
        seen.add(mark)
        entries.append(Entry(fingerprint=mark, entity_type=f["entity_type"], source=f["source"],
                             record_id=f["record_id"], field=f["field"], digest=f["digest"], preview=f["preview"],
                             audit=audits.get(mark)))
    return Baseline(tool={"name": "dhscan", "version": __version__}, created=datetime.now(timezone.utc),
                    key_id=key_id, config_digest=config_digest, findings=entries)


class BaselineFilter:
    """What a scan with --baseline leaves out, counted for summary.json."""

    def __init__(self, baseline: Baseline, path: str, key: bytes, key_id: str, today: date):
        if baseline.key_id != key_id:
            raise UsageError(f"{path}: the baseline was made with key {baseline.key_id}, this run's key is "
                             f"{key_id}: its fingerprints match nothing; use the same DHSCAN_KEY or key file")
        self.entries, self.path, self.key, self.today = baseline.by_fingerprint(), path, key, today
        self.counts: Counter = Counter()

    def suppresses(self, finding: Finding) -> bool:
        entry = self.entries.get(finding_fingerprint(self.key, finding))
        status = entry.status(self.today) if entry is not None else "new"
        self.counts[status] += 1
        return status in SUPPRESSED

    def summary(self) -> dict:
        return {"file": str(self.path), "entries": len(self.entries),
                "left_out": {s: self.counts[s] for s in SUPPRESSED},
                "reported": {s: self.counts[s] for s in ("new", "expired", "true_positive")}}


def mark(baseline: Baseline, prefix: str, verdict: str, by: str, reason: str, until: date | None) -> Entry:
    """Audit the one entry whose fingerprint starts with `prefix`."""
    matches = [e for e in baseline.findings if e.fingerprint.startswith(prefix.lower())]
    if len(matches) != 1:
        raise UsageError(f"fingerprint {prefix!r}: {'no finding' if not matches else f'{len(matches)} findings'} "
                         "of the baseline start with it")
    matches[0].audit = Audit(verdict=verdict, by=by, reason=reason, at=datetime.now(timezone.utc), until=until)
    return matches[0]

