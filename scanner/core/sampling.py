"""Seeded sampling that does not depend on read order.

Every record has a sample key: a 64-bit keyed hash of the seed, the file it lives in (its
path relative to the source root) and its 0-based row number there. `--sample N` keeps the N
records with the smallest keys (a bottom-k sample: uniform without replacement), and
`--sample-rate R` keeps the records whose key falls below R * 2**64. The key needs no record
content, so a source that knows its row counts (Parquet metadata) picks rows up front, and
the same seed on the same data gives the same sample on any machine and in any read order.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np

from scanner.core.errors import UsageError

DEFAULT_SAMPLE = 1000  # records a scan samples when no sampling option is given
_MASK = (1 << 64) - 1
_TWO64 = float(1 << 64)
T = TypeVar("T")


@functools.lru_cache(maxsize=4096)
def file_salt(seed: int, file: str) -> int:
    digest = hashlib.blake2b(f"{seed}\x00{file}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def splitmix64_array(x: np.ndarray) -> np.ndarray:
    """The same function over a uint64 array (wrapping arithmetic, identical results)."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class SamplePlan:
    mode: str  # "full" | "count" | "rate"
    seed: int = 0
    count: int | None = None
    rate: float | None = None

    def __post_init__(self):
        if self.mode == "count" and (self.count is None or self.count < 1):
            raise UsageError("--sample must be a positive number of records")
        if self.mode == "rate" and (self.rate is None or not 0 < self.rate <= 1):
            raise UsageError("--sample-rate must be in (0, 1]")
        if self.mode not in ("full", "count", "rate"):
            raise UsageError(f"unknown sampling mode {self.mode!r}")

    def describe(self) -> dict:
        return {"mode": self.mode, "seed": self.seed, "count": self.count, "rate": self.rate}

    def key(self, file: str, row: int) -> int:
        return splitmix64((file_salt(self.seed, file) + row) & _MASK)

    def keys(self, file: str, rows: int) -> np.ndarray:
        base = np.uint64(file_salt(self.seed, file))
        with np.errstate(over="ignore"):
            return splitmix64_array(np.arange(rows, dtype=np.uint64) + base)

    def select(self, items: Iterable[T], position: Callable[[T], tuple[str, int]]) -> Iterator[T]:
        """Stream `items` through the plan; a bottom-k sample comes out in (file, row) order."""
        if self.mode == "full":
            yield from items
        elif self.mode == "rate":
            limit = self.rate * _TWO64
            for item in items:
                if self.key(*position(item)) < limit:
                    yield item
        else:
            heap: list[tuple[int, int, T]] = []  # (-key, tiebreak, item): a max-heap of the kept
            for n, item in enumerate(items):
                entry = (-self.key(*position(item)), n, item)
                if len(heap) < self.count:
                    heapq.heappush(heap, entry)
                elif entry[0] > heap[0][0]:
                    heapq.heapreplace(heap, entry)
            kept = sorted((entry[2] for entry in heap), key=position)
            yield from kept

    def choose_rows(self, files: list[tuple[str, int]]) -> dict[str, np.ndarray]:
        """Up-front selection for sources that know each file's row count: file -> sorted rows."""
        if self.mode == "full":
            return {f: np.arange(n, dtype=np.int64) for f, n in files}
        keys = [self.keys(f, n) for f, n in files]
        if self.mode == "rate":
            limit = np.uint64(min(self.rate * _TWO64, float(_MASK)))
            return {f: np.flatnonzero(k < limit) for (f, _), k in zip(files, keys)}
        if not keys:
            return {}
        every = np.concatenate(keys)
        owner = np.concatenate([np.full(len(k), i, dtype=np.int64) for i, k in enumerate(keys)])
        row = np.concatenate([np.arange(len(k), dtype=np.int64) for k in keys])
        take = min(self.count, len(every))
        picked = np.argsort(every, kind="stable")[:take]
        chosen: dict[str, np.ndarray] = {}
        for i, (f, _) in enumerate(files):
            chosen[f] = np.sort(row[picked[owner[picked] == i]])
        return chosen
