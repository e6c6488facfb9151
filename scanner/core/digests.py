"""Every digest dhscan makes: keyed HMAC-SHA256 digests of values (what outputs carry instead of them),
and plain SHA-256 of files and streams (what evidence and the apply log pin files with)."""

from __future__ import annotations

import functools
import hashlib
import hmac
from pathlib import Path
from typing import BinaryIO

BLOCK = 1 << 20


@functools.lru_cache(maxsize=32)  # a run digests with one key, under a few purposes
def _keyed(key: bytes, purpose: bytes) -> hmac.HMAC:
    return hmac.new(key, purpose, hashlib.sha256)


def keyed_digest(key: bytes, value: bytes, purpose: bytes = b"") -> str:
    """HMAC-SHA256 under `key` of `purpose` + `value`, hex. The purpose (`b"record\\x00"`) keeps digests
    of different things apart; found values are digested with none."""
    keyed = _keyed(key, purpose).copy()  # the keyed state copied, not rebuilt: this runs once per finding
    keyed.update(value)
    return keyed.hexdigest()


def update_from(digest, stream: BinaryIO):
    """`digest` updated with what is left to read in a binary stream, a block at a time."""
    for block in iter(lambda: stream.read(BLOCK), b""):
        digest.update(block)
    return digest


def sha256_stream(stream: BinaryIO) -> str:
    return update_from(hashlib.sha256(), stream).hexdigest()


def sha256_file(path: str | Path) -> str:
    with open(path, "rb") as handle:
        return sha256_stream(handle)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(key: bytes, source: str, record_id: str, field: str, entity_type: str, value_digest: str) -> str:
    """A finding's identity from run to run under one key (record id and field as outputs show them)."""
    identity = "\x00".join((source, record_id, field, entity_type, value_digest))
    return keyed_digest(key, identity.encode("utf-8", "surrogatepass"), purpose=b"sarif\x00")


def finding_fingerprint(key: bytes, finding) -> str:
    return fingerprint(key, finding.source, finding.record_id, finding.field, finding.entity_type, finding.digest)
