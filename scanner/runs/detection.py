"""Where a run detects, chosen once: in this process (handing batches to a local worker pool once
one pays), or on a Dask cluster whose workers read the source's shards themselves."""

from __future__ import annotations

import itertools
from collections import deque
from contextlib import ExitStack
from typing import Callable, Iterator

from detectors.config import ScanConfig
from detectors.engine import batched
from detectors.neardup import with_lineage
from scanner.connectors.base import Connector, ReadReport
from scanner.core.errors import SourceError, UsageError
from scanner.core.records import Finding, Record
from scanner.core.sampling import SamplePlan

Progress = Callable[[str, int, int | None], None]
Batches = Iterator[tuple[list[Record], list[list[Finding]]]]


class Detection:
    """(records, findings per record) of a source, however the run detects."""

    def __init__(self, config: ScanConfig, engine, lineage, stack: ExitStack, pool=None, held_names=None):
        self.config, self.engine, self.lineage = config, engine, lineage
        self.key = engine.key
        self.held_names = held_names  # looked for where a cluster worker has the texts (retention/heldnames.py)
        self.state = None  # --since-state: the findings of records unchanged since the last run (runs/state.py)
        self.cluster = self.pool = None
        if config.cluster:
            from scanner.runs.cluster import Cluster

            self.cluster = Cluster(config.cluster)
            stack.callback(self.cluster.close)
            if lineage is not None:
                self.cluster.share(lineage)
        elif pool is not None:
            self.pool = pool
        else:
            self.pool = build_pool(config, engine)
            stack.callback(self.pool.close)

    @classmethod
    def in_process(cls, engine, lineage=None, pool=None) -> "Detection":
        """In this process, or handing batches to `pool`; never on a cluster (tests, benchmarks, embedding)."""
        detection = cls.__new__(cls)
        detection.config, detection.engine, detection.lineage = None, engine, lineage
        detection.key, detection.cluster, detection.pool = engine.key, None, pool
        detection.held_names = detection.state = None
        return detection

    def batches(self, connector: Connector, plan: SamplePlan, report: ReadReport, progress: Progress,
                batch_size: int) -> Batches:
        if self.cluster is not None:
            return self.cluster.detected(connector, self.config, self.key, plan, report, progress, self.held_names)

        def annotated():
            for batch in batched(connector.records(plan, report), batch_size):
                yield [with_lineage(r, self.lineage) for r in batch] if self.lineage is not None else batch

        if self.state is not None:
            return self._reusing(annotated())
        return self._local(annotated())

    def _reusing(self, batches) -> Batches:
        """Each batch with its findings, detected for the records the state does not know (in order)."""
        from detectors.engine import Detected

        state, pending = self.state, deque()

        def unknown():
            for batch in batches:
                digests = [state.digest(record) for record in batch]
                known = [state.lookup(record, digest) for record, digest in zip(batch, digests)]
                pending.append((batch, digests, known))
                yield [record for record, hit in zip(batch, known) if hit is None]

        for misses, detected in self._local(unknown()):
            batch, digests, known = pending.popleft()
            state.detected += len(misses)
            found = iter(zip(detected, getattr(detected, "text_languages", None) or [()] * len(misses)))
            merged, languages = [], []
            for record, digest, hit in zip(batch, digests, known):
                findings, record_languages = hit if hit is not None else next(found)
                state.keep(record, digest, findings, record_languages)
                merged.append(findings)
                languages.append(record_languages)
            yield batch, Detected(merged, languages)

    def _local(self, batches) -> Batches:
        """The first batches here, the rest in the worker pool once it is worth starting."""
        for batch in batches:
            if self.pool is not None and self.pool.wanted():
                yield from self.pool.detect(itertools.chain([batch], batches))
                return
            yield batch, self.engine.detect(batch)
            if self.pool is not None:
                self.pool.local_batches += 1

    def describe(self) -> dict | None:
        return self.cluster.describe() if self.cluster is not None else None


def build_pool(config: ScanConfig, engine):
    from detectors.pool import DetectionPool

    return DetectionPool(config.detection, engine.key)


def build_lineage(config: ScanConfig, progress: Progress):
    """The production index of `--production-traces`, or None."""
    if not config.detection.production_traces:
        return None
    from detectors.neardup import build_index

    try:
        return build_index(config.detection.production_traces, config.detection.near_dup_threshold, progress)
    except SourceError as exc:
        raise UsageError(f"--production-traces: {exc}") from None
