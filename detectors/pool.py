"""Detection in worker processes across the machine's cores, one engine per worker, loaded once.

A run's first batches are detected in the main process; the workers start only when there is
more to scan, so small scans pay no start-up. Batches come back in order and at
most two per worker are in flight, so memory stays flat however large the source.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from typing import Iterable, Iterator, NamedTuple

from detectors.config import DetectionConfig
from detectors.keys import DigestKey
from scanner.records import Finding, Record

LOCAL_BATCHES = 4  # batches a run scans in the main process before the workers are started

_ENGINE = None


def _start_worker(config: dict, secret: bytes, origin: str) -> None:
    global _ENGINE
    import gc

    from detectors.engine import DetectionEngine

    _ENGINE = DetectionEngine(DetectionConfig(**config), DigestKey(secret, origin))
    # The engine (model, vocabulary, word lists: ~200,000 objects) lives as long as the worker: frozen,
    # the garbage collector's full passes skip it (each cost ~0.1 s, ~2% of the NER path's time).
    gc.freeze()


class DetectionInput(NamedTuple):
    """What DetectionEngine.detect reads of a record, under the Record's attribute names: what a worker detects
    in. Whole records, with their locators and attributes, took ~3 µs a record to pickle and unpickle, and
    a worker building frozen Records again ~1.4 µs (a frozen dataclass sets each field through
    object.__setattr__)."""
    source: str
    kind: str
    record_id: str
    texts: dict[str, str]
    id_fields: frozenset[str]
    id_field: str | None  # the record's locator["id_field"]

    @property
    def locator(self) -> dict[str, str]:
        return {"id_field": self.id_field} if self.id_field else {}


def detection_input(record: Record) -> tuple:
    """The fields of the record's DetectionInput, as the plain tuple a worker is sent: a named tuple takes
    twice as long to pickle and unpickle (~2.0 against ~0.9 µs a record)."""
    return record.source, record.kind, record.record_id, record.texts, record.id_fields, record.locator.get("id_field")


def detection_inputs(sent: list[tuple]) -> list[DetectionInput]:
    """What a worker detects in, from the tuples it was sent."""
    return list(map(DetectionInput._make, sent))


def _detect(sent: list[tuple]) -> list[list[Finding]]:
    return _ENGINE.detect(detection_inputs(sent))


def _ready() -> bool:
    return _ENGINE is not None


def worker_pids(pool) -> list[int]:
    """The process ids of a multiprocessing Pool's workers (it keeps them in `_pool`: no public accessor)."""
    return [process.pid for process in pool._pool]


def worker_count(config: DetectionConfig) -> int:
    return config.workers or os.cpu_count() or 1


class DetectionPool:
    def __init__(self, config: DetectionConfig, key: DigestKey):
        self.config, self.key = config, key
        self.workers = worker_count(config)
        self.local_batches = 0
        self._pool = None

    def wanted(self) -> bool:
        """Whether the next batch goes to the workers."""
        return self.workers > 1 and (self._pool is not None or self.local_batches >= LOCAL_BATCHES)

    def start(self) -> None:
        """Start the workers and wait until each has loaded its engine."""
        if self._pool is None:
            # spawn: a fresh interpreter per worker, whatever threads the parent runs
            context = multiprocessing.get_context("spawn")
            self._pool = context.Pool(self.workers, initializer=_start_worker,
                                      initargs=(self.config.model_dump(), self.key.secret, self.key.origin))
            for result in [self._pool.apply_async(_ready) for _ in range(self.workers)]:
                result.get()

    def pids(self) -> list[int]:
        """The worker processes' ids (for measuring them)."""
        return worker_pids(self._pool) if self._pool is not None else []

    def detect(self, batches: Iterable[list[Record]]) -> Iterator[tuple[list[Record], list[list[Finding]]]]:
        self.start()
        pending: deque = deque()
        for batch in batches:
            pending.append((batch, self._pool.apply_async(_detect, ([detection_input(r) for r in batch],))))
            if len(pending) >= 2 * self.workers:
                done, result = pending.popleft()
                yield done, result.get()
        while pending:
            done, result = pending.popleft()
            yield done, result.get()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None
