"""Scans and sweeps on a Dask distributed cluster (`--cluster`, the `dhscan[dask]` extra).

Each source is split into shards (files, Parquet row groups, byte ranges of big JSON Lines files); a worker reads
its shard itself, detects with an engine it loads once per process, and sends back, per record,
its position, its findings and the record without its texts (what retention rules need). The
client merges the shards in position order, so the outputs equal a local run's. Dask runs a task
again elsewhere when its worker dies, and keeps one result per task: nothing is lost or doubled.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import time
from typing import Any, Iterator

from scanner.connectors import open_source
from scanner.connectors.base import ReadReport
from scanner.connectors import byteranges
from scanner.connectors.byteranges import ByteRange, RangeCount
from scanner.core.errors import DhscanError, SourceError, UsageError, one_line
from detectors.neardup import with_lineage
from scanner.runs.sources import source_failure
from scanner.core.records import Finding, Record
from scanner.core.sampling import SamplePlan

_LOCAL = re.compile(r"local:(\d+)")
_TCP = re.compile(r"tcp://[^\s/]+:\d+")
CONNECT_TIMEOUT = "5s"
SHARD_BATCH = 256  # records detected together on a worker


def check_address(address: str) -> str:
    if _LOCAL.fullmatch(address) and int(address[6:]) >= 1 or _TCP.fullmatch(address):
        return address
    raise UsageError(f"--cluster {redact(address)!r}: give tcp://HOST:PORT (a running Dask scheduler) or local:N")


def redact(address: str) -> str:
    """The address without credentials (tcp://user:secret@host:port -> tcp://host:port)."""
    return re.sub(r"//[^/@]*@", "//", address)


class Cluster:
    """A Dask client for the run; closed (with the LocalCluster it started) by `close`."""

    def __init__(self, address: str):
        check_address(address)
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise UsageError("--cluster needs Dask: pip install 'dhscan[dask]'") from None
        self.address = redact(address)
        self._local = None
        try:
            if address.startswith("local:"):
                # single-threaded worker processes, everything on loopback; the scheduler's HTTP endpoint
                # on a free port (not 8787, which another cluster may hold)
                self._local = LocalCluster(n_workers=int(address[6:]), threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address="127.0.0.1:0")
                self.client = Client(self._local)
            else:
                self.client = Client(address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise UsageError(f"cannot reach the Dask scheduler at {self.address}: {one_line(exc)}") from None
        self.shards: list[dict] = []
        self.lineage = None  # the production index on every worker (`share`)

    def share(self, lineage) -> None:
        """Send the production index of `--production-traces` to every worker once; shards use their copy."""
        self.lineage = self.client.scatter(lineage, broadcast=True, hash=False)

    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def describe(self) -> dict:
        return {"address": self.address, "workers": self.workers(), "shards": self.shards}

    def close(self) -> None:
        for closable in (getattr(self, "client", None), self._local):
            if closable is not None:
                closable.close()

    def detected(self, connector, config, key, plan: SamplePlan, report: ReadReport,
                 progress, held_names=None) -> Iterator[tuple[list[Record], list[list[Finding]]]]:
        """(records, findings per record) of a whole source, in the order a local run gives them.

        Shards are passed on in order as soon as those before them are done (with `--sample N`, once
        all are done), so the client holds only the shards that finished early. A shard failing for
        a data reason fails the source, and what comes after it is not used, as in a local run."""
        from dask.distributed import as_completed

        shards = connector.shards()
        if any(isinstance(shard, ByteRange) for shard in shards):
            shards = self._numbered(connector, shards)
        submitted = [self.client.submit(scan_shard, connector.uri.raw, shard, plan, config.detection.model_dump(),
                                        key.secret, key.origin, self.lineage, held_names, pure=False)
                     for shard in shards]
        number = {future.key: n for n, future in enumerate(submitted)}
        finished: dict[int, dict] = {}
        in_order: list[dict] = []
        records = 0
        merged = plan.mode == "count" and len(shards) > 1  # bottom-k samples merged at the end
        progress(f"{connector.source} (shards)", 0, len(shards))
        for future in as_completed(submitted):
            n = number[future.key]
            finished[n] = future.result()
            records += len(finished[n]["items"])
            progress(f"{connector.source} (shards)", len(finished) + len(in_order), len(shards))
            progress(connector.source, records, None)
            while len(in_order) in finished:
                result = finished.pop(len(in_order))
                self._account(connector, shards[len(in_order)], result, report, merged)
                in_order.append(result)
                if result["error"]:
                    for future in submitted:
                        future.cancel()
                    raise SourceError(connector.source, result["error"])
                if not merged:
                    yield from _batches(result["items"])
                    result["items"] = []  # passed on: nothing of it is kept
        if merged:
            # each shard kept its own bottom-k: keep the smallest keys overall, in a local bottom-k sample's
            # order: files (or collections) in read order, then by row (or point id) across their shards.
            # A record that could not be read holds its place in the sample, as locally, and is reported if kept.
            items, first_read = [], {}  # first_read: file or collection -> the first shard holding it
            for n, result in enumerate(in_order):
                shard_items = result["items"] + [(skip.position, None, skip) for skip in result["skipped"]
                                                 if skip.position]
                for item in shard_items:
                    first_read.setdefault(item[0][0], n)
                items += shard_items
            kept = sorted(sorted(items, key=lambda item: plan.key(*item[0]))[:plan.count],
                          key=lambda item: (first_read[item[0][0]], item[0]))
            report.skipped.extend(item[2] for item in kept if item[1] is None)
            yield from _batches(item for item in kept if item[1] is not None)

    def _numbered(self, connector, shards: list) -> list:
        """Byte ranges with the numbers of their first line and row, from a counting pass on the workers.
        A file that cannot be read in ranges (pretty-printed JSON, stray quotes in CSV, a read error) is
        one shard."""
        ranges = [shard for shard in shards if isinstance(shard, ByteRange)]
        counts = dict(zip(ranges, self.client.gather(
            [self.client.submit(count_range, connector.uri.raw, shard, pure=False) for shard in ranges])))
        by_file: dict[str, dict] = {}
        for shard in ranges:
            by_file.setdefault(shard.file, {})[shard] = counts[shard]
        placed = {file: byteranges.numbered(file_counts) for file, file_counts in by_file.items()}
        result: list = []
        for shard in shards:
            if not isinstance(shard, ByteRange):
                result.append(shard)
            elif placed[shard.file] is not None:
                result.append(placed[shard.file][shard])
            elif shard.file not in result:
                result.append(shard.file)
        return result

    def _account(self, connector, shard, result: dict, report: ReadReport, merged: bool) -> None:
        """A shard's counts, skipped records and sizes into the source's report, and its line in evidence.
        `merged`: its sample is merged with the other shards', which decides which skipped records count."""
        self.shards.append({"source": connector.source, "shard": str(shard) if shard is not None else "whole source",
                            "records": len(result["items"]), "seconds": result["seconds"],
                            "worker": result["worker"], "error": result["error"]})
        report.records_total = (report.records_total or 0) + (result["records_total"] or 0)
        report.records_read += result["records_read"]
        report.skipped.extend(skip for skip in result["skipped"] if not (merged and skip.position))
        for name, value in result["stats"].items():
            if isinstance(value, int):
                report.stats[name] = report.stats.get(name, 0) + value
            elif isinstance(value, list):  # e.g. the collections read, each once
                report.stats[name] = list(dict.fromkeys([*report.stats.get(name, []), *value]))
            else:
                report.stats[name] = value


def _batches(items) -> Iterator[tuple[list[Record], list[list[Finding]]]]:
    """(records, findings) of (position, record, findings, text languages) items, in batches."""
    from detectors.engine import Detected

    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == SHARD_BATCH:
            yield [i[1] for i in chunk], Detected([i[2] for i in chunk], [i[3] for i in chunk])
            chunk = []
    if chunk:
        yield [i[1] for i in chunk], Detected([i[2] for i in chunk], [i[3] for i in chunk])


_ENGINE: dict[tuple, Any] = {}


def count_range(source: str, shard: ByteRange) -> RangeCount | None:
    """On a worker: the lines and records that start in a byte range (None: read the file whole)."""
    try:
        return open_source(source).count_range(shard)
    except Exception:  # noqa: BLE001 - any problem: the whole-file read reports it where a local run would
        return None


def scan_shard(source: str, shard: str | ByteRange | None, plan: SamplePlan, detection: dict, secret: bytes,
               origin: str, lineage=None, held_names=None) -> dict:
    """On a worker: read one shard, detect, and return its records (texts left out) with findings; with
    the production index (`lineage`), records that copy production traffic carry `copied_from`; with
    `held_names`, each record carries the held names its texts hold."""
    from detectors.config import DetectionConfig
    from detectors.engine import DetectionEngine, batched
    from scanner.core.keys import DigestKey
    from detectors.normalize import record_digest

    cache_key = (repr(sorted(detection.items())), secret)
    if cache_key not in _ENGINE:
        _ENGINE.clear()
        _ENGINE[cache_key] = DetectionEngine(DetectionConfig(**detection), DigestKey(secret, origin), long_scan=True)
    engine = _ENGINE[cache_key]
    started = time.perf_counter()
    report = ReadReport()
    items, error = [], None
    try:
        connector = open_source(source)
        connector.shard = shard
        for batch in batched(connector.records(plan, report), SHARD_BATCH):
            if lineage is not None:
                batch = [with_lineage(record, lineage) for record in batch]
            detected = engine.detect(batch)
            for record, findings, languages in zip(batch, detected, detected.text_languages):
                position = connector.position(record)
                # the texts stay on the worker; their field names tell the client the record had content
                names = held_names.found_in(record) if held_names is not None else None
                items.append((position, dataclasses.replace(record, texts=dict.fromkeys(record.texts, ""),
                                                            content_digest=record_digest(secret, record),
                                                            held_name_digests=names), findings, languages))
    except (DhscanError, OSError) as exc:
        error = source_failure(exc)
    return {"items": items, "records_total": report.records_total, "records_read": report.records_read,
            "skipped": report.skipped, "stats": report.stats, "error": error,
            "seconds": round(time.perf_counter() - started, 3), "worker": f"{socket.gethostname()}:{os.getpid()}"}
