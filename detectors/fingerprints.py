"""Production fingerprints: keyed digests of production identifiers, never the identifiers.

File layout: the magic `DHSCANFP`, a format version (u16), the length (u32) of a JSON header
(created, fields with their types, regexes and counts, normalization version, key id — never
the key), then the sorted, distinct first 8 bytes of each identifier's HMAC-SHA256 as unsigned
64-bit integers: 8 bytes per identifier, looked up by binary search. A false match needs a
64-bit collision: with 100 million identifiers, about one in 10^11 lookups.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np

from scanner.core.keys import DigestKey
from detectors.normalize import NORMALIZATION_VERSION, digest
from scanner.core.errors import UsageError
from scanner.core.durable import atomic_write

MAGIC = b"DHSCANFP"
FORMAT_VERSION = 1
PRODUCTION_ID = "PRODUCTION_ID"
# Field types and the entity type whose normalization each one shares with findings.
FIELD_TYPES = {"email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER", "card": "CREDIT_CARD", "iban": "IBAN_CODE",
               "name": "PERSON", "ssn": "US_SSN", "ip": "IP_ADDRESS", "id": PRODUCTION_ID}
_GUESSES = (("mail", "email"), ("phone", "phone"), ("mobile", "phone"), ("tel", "phone"), ("card", "card"),
            ("iban", "iban"), ("ssn", "ssn"), ("name", "name"), ("ip", "ip"))


@dataclass(frozen=True)
class FingerprintField:
    """`--field NAME[:TYPE[:REGEX]]`: a field of the production source, its type, and for ids the
    pattern that finds such values in free text (reported as PRODUCTION_ID)."""

    name: str
    type: str
    regex: str | None = None

    @classmethod
    def parse(cls, spec: str) -> "FingerprintField":
        name, _, rest = spec.partition(":")
        kind, _, regex = rest.partition(":")
        if not name:
            raise UsageError(f"--field {spec!r}: no field name")
        if not kind:
            lowered = name.lower()
            kind = next((t for hint, t in _GUESSES if hint in lowered), "id")
        if kind not in FIELD_TYPES:
            raise UsageError(f"--field {spec!r}: unknown type {kind!r} (types: {', '.join(FIELD_TYPES)})")
        if regex:
            try:
                re.compile(regex)
            except re.error as exc:
                raise UsageError(f"--field {spec!r}: bad regex: {exc}") from None
        return cls(name, kind, regex or None)

    @property
    def entity_type(self) -> str:
        return FIELD_TYPES[self.type]


def digest64(hex_digest: str) -> int:
    """The part of a finding's digest the fingerprint file keeps."""
    return int(hex_digest[:16], 16)


def fingerprint_digest(key: bytes, field: FingerprintField, value: str, phone_region: str) -> int:
    return digest64(digest(key, field.entity_type, value, phone_region))


def write_fingerprints(path: Path, digests: Iterable[np.ndarray], fields: list[FingerprintField],
                       counts: dict[str, int], key: DigestKey, phone_region: str, source: str) -> dict:
    """Sort and deduplicate the digests and write the file atomically; returns its header."""
    parts = [np.asarray(d, dtype=np.uint64) for d in digests]
    values = np.unique(np.concatenate(parts)) if parts else np.empty(0, np.uint64)
    header = {
        "created": datetime.now(timezone.utc).isoformat(),
        "source": source,
        "fields": [{"name": f.name, "type": f.type, "regex": f.regex, "values": counts.get(f.name, 0)} for f in fields],
        "identifiers": int(len(values)),
        "normalization_version": NORMALIZATION_VERSION,
        "phone_region": phone_region,
        "key_id": key.key_id,
        "digest": "HMAC-SHA256 of the normalized value; its first 8 bytes as an unsigned 64-bit number, "
                  "stored little-endian, sorted, distinct",
    }
    blob = json.dumps(header, sort_keys=True).encode()
    with atomic_write(path, "wb") as handle:
        handle.write(MAGIC + struct.pack("<HI", FORMAT_VERSION, len(blob)) + blob)
        handle.write(values.astype("<u8").tobytes())
    return header


FINGERPRINT_FILE = "fingerprints.fp"  # what `fingerprint build --out FOLDER` writes in FOLDER


def fingerprint_path(path: str | Path) -> Path:
    """A fingerprint file, or the folder `fingerprint build --out` wrote one into."""
    path = Path(path)
    return path / FINGERPRINT_FILE if path.is_dir() else path


def _read(path: str | Path) -> tuple[dict, bytes]:
    path = fingerprint_path(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"fingerprints {path}: cannot read: {exc.strerror}") from None
    if data[:8] != MAGIC or len(data) < 14:
        raise UsageError(f"fingerprints {path}: not a dhscan fingerprint file")
    version, length = struct.unpack("<HI", data[8:14])
    if version != FORMAT_VERSION:
        raise UsageError(f"fingerprints {path}: format version {version}, this dhscan reads {FORMAT_VERSION}")
    try:
        header = json.loads(data[14:14 + length])
    except ValueError:
        raise UsageError(f"fingerprints {path}: damaged header") from None
    return header, data[14 + length:]


def read_header(path: str | Path) -> dict:
    return _read(path)[0]


class FingerprintSet:
    """A loaded fingerprint file: membership of finding digests, and the id fields' regexes."""

    def __init__(self, header: dict, values: np.ndarray):
        self.header = header
        self.values = values

    @classmethod
    def load(cls, path: str | Path, key: DigestKey) -> "FingerprintSet":
        header, body = _read(path)
        if len(body) % 8 or len(body) // 8 != header.get("identifiers"):
            raise UsageError(f"fingerprints {path}: truncated (expected {header.get('identifiers')} identifiers)")
        if header.get("key_id") != key.key_id:
            raise UsageError(f"fingerprints {path}: built with key {header.get('key_id')}, but this run's key is "
                             f"{key.key_id}: digests made with different keys never match; use the same DHSCAN_KEY "
                             "or key file")
        if header.get("normalization_version") != NORMALIZATION_VERSION:
            raise UsageError(f"fingerprints {path}: normalization version {header.get('normalization_version')}, "
                             f"this dhscan uses {NORMALIZATION_VERSION}: rebuild it")
        return cls(header, np.frombuffer(body, dtype="<u8"))

    def __len__(self) -> int:
        return len(self.values)

    def contains(self, hex_digest: str) -> bool:
        value = np.uint64(digest64(hex_digest))
        at = int(np.searchsorted(self.values, value))
        return bool(at < len(self.values) and self.values[at] == value)

    @property
    def id_patterns(self) -> list[tuple[str, str]]:
        """(field name, regex) of the id fields that carry one."""
        return [(f["name"], f["regex"]) for f in self.header["fields"] if f.get("regex")]

    def describe(self, path: str) -> dict:
        return {"path": str(path), **{k: self.header[k] for k in ("created", "identifiers", "key_id", "fields")}}


def build_fingerprints(source: str, fields: list[FingerprintField], out: Path, key: DigestKey, phone_region: str,
                       progress=lambda name, done, total: None, chunk: int = 1_000_000) -> dict:
    """Read every record of a production source and digest the named fields, streaming: the raw
    values live only while their record is read; memory is 8 bytes per identifier."""
    from collections import Counter

    from scanner.connectors import connector_for
    from scanner.connectors.base import ReadReport
    from scanner.core.sampling import SamplePlan
    from scanner.core.uri import SourceURI, parse_source_uri

    uri = parse_source_uri(source)
    options = dict(uri.options)
    # Read the fields as text even where they are numbers (a phone number stored as an integer).
    options.setdefault("text", ",".join(f.name for f in fields))
    uri = SourceURI(uri.raw, uri.scheme, uri.path, options)
    connector = connector_for(uri)(uri)
    chunks: list[np.ndarray] = []
    pending: list[int] = []
    counts: Counter = Counter()
    report = ReadReport()
    for n, record in enumerate(connector.records(SamplePlan("full"), report), start=1):
        for field in fields:
            for path, text in record.texts.items():
                if path == field.name or path.startswith((f"{field.name}[", f"{field.name}.")):
                    pending.append(fingerprint_digest(key.secret, field, text, phone_region))
                    counts[field.name] += 1
        if len(pending) >= chunk:
            chunks.append(np.unique(np.array(pending, dtype=np.uint64)))
            pending = []
        if n % 10_000 == 0:
            progress(connector.source, n, report.records_total)
    if pending:
        chunks.append(np.unique(np.array(pending, dtype=np.uint64)))
    if report.skipped:
        first = report.skipped[0]
        raise UsageError(f"source {connector.source!r}: {len(report.skipped)} unreadable record(s), the first at "
                         f"{first.location}: {first.reason}; a fingerprint set must not miss identifiers")
    missing = [f.name for f in fields if not counts[f.name]]
    if missing:
        raise UsageError(f"source {connector.source!r}: no values for field(s) {', '.join(missing)}")
    return write_fingerprints(out, chunks, fields, dict(counts), key, phone_region, uri.redacted())
