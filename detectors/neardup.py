"""Near-copies of production traffic: MinHash LSH (datasketch) over word shingles.

Every text of every production trace record (at least MIN_WORDS words) is indexed; an eval
record any of whose texts reaches the Jaccard threshold with one of them was copied from that
trace. A text that recurs in several production records (a system prompt, a template) names
no single trace and is left out of the match.

Memory: about NUM_PERM x 8 bytes for each indexed text's MinHash plus the LSH tables, roughly
1.5 KB a text; a million production texts take about 1.5 GB.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from scanner.core.records import Record

if TYPE_CHECKING:  # datasketch is imported where an index is built: a run without one never pays for it
    from datasketch import LeanMinHash

NUM_PERM = 128
SHINGLE_WORDS = 3
MIN_WORDS = 6  # shorter texts ("Thanks!", "OK") copy nothing recognisable
COMMON_AFTER = 3  # a text in this many production records is a template, not one trace's
_WORD = re.compile(r"\w+")


def shingles(text: str) -> set[bytes] | None:
    """Word 3-grams of the lower-cased text without punctuation; None when it is too short."""
    words = _WORD.findall(text.lower())
    if len(words) < MIN_WORDS:
        return None
    return {" ".join(words[i:i + SHINGLE_WORDS]).encode() for i in range(len(words) - SHINGLE_WORDS + 1)}


def minhash(grams: set[bytes]) -> "LeanMinHash":
    from datasketch import LeanMinHash, MinHash

    hashed = MinHash(num_perm=NUM_PERM, seed=1)
    hashed.update_batch(grams)
    return LeanMinHash(hashed)


@dataclass(frozen=True)
class Origin:
    source: str
    record_id: str
    timestamp: datetime | None

    def to_json(self, similarity: float) -> dict:
        return {"source": self.source, "record_id": self.record_id,
                "timestamp": self.timestamp.isoformat() if self.timestamp else None, "similarity": round(similarity, 3)}


class ProductionIndex:
    """Built streaming from production records; answers which trace an eval record was copied from."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        from datasketch import MinHashLSH

        self.lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self.hashes: dict[int, LeanMinHash] = {}
        self.origins: dict[int, Origin] = {}
        self.text_owners: dict[bytes, set[int]] = {}  # exact text -> records it occurs in (capped)
        self.key_origin: dict[int, tuple[int, bytes]] = {}  # LSH key -> (record, exact text)
        self.records = 0

    def add(self, record: Record) -> None:
        self.records += 1
        origin_id = len(self.origins)
        self.origins[origin_id] = Origin(record.source, record.record_id, record.timestamp)
        for field, text in record.texts.items():
            if field in record.id_fields:
                continue
            grams = shingles(text)
            if grams is None:
                continue
            exact = hashlib.blake2b(" ".join(_WORD.findall(text.lower())).encode(), digest_size=12).digest()
            owners = self.text_owners.setdefault(exact, set())
            if len(owners) < COMMON_AFTER:
                owners.add(origin_id)
            if len(owners) > 1:
                continue  # already indexed under its first record
            key = len(self.hashes)
            self.hashes[key] = minhash(grams)
            self.lsh.insert(key, self.hashes[key])
            self.key_origin[key] = (origin_id, exact)

    def copied_from(self, record: Record) -> dict | None:
        """The production record this one copies (best similarity), or None."""
        best: tuple[float, int] | None = None
        for text in record.texts.values():
            grams = shingles(text)
            if grams is None:
                continue
            query = minhash(grams)
            for key in self.lsh.query(query):
                origin_id, exact = self.key_origin[key]
                if len(self.text_owners[exact]) >= COMMON_AFTER:
                    continue
                similarity = query.jaccard(self.hashes[key])
                if similarity >= self.threshold and (best is None or (similarity, -origin_id) > (best[0], -best[1])):
                    best = (similarity, origin_id)
        if best is None:
            return None
        return self.origins[best[1]].to_json(best[0])


def build_index(sources: list[str], threshold: float, progress=lambda name, done, total: None) -> ProductionIndex:
    """Read every record of the production sources into an index (a failed source is an error here:
    a partial index would call copies originals)."""
    from scanner.connectors import open_source
    from scanner.connectors.base import ReadReport
    from scanner.core.sampling import SamplePlan

    index = ProductionIndex(threshold)
    for text in sources:
        connector = open_source(text)
        report = ReadReport()
        for n, record in enumerate(connector.records(SamplePlan("full"), report), start=1):
            index.add(record)
            if n % 500 == 0:
                progress(f"index {connector.source}", n, report.records_total)
    return index


def with_lineage(record: Record, lineage) -> Record:
    """The record, with `copied_from` when it is a near-copy of a production record."""
    copied = lineage.copied_from(record)
    return dataclasses.replace(record, copied_from=copied) if copied else record
