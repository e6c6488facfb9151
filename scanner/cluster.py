"""Scans and sweeps on a Dask distributed cluster (`--cluster`, the `dhscan[dask]` extra).

Each source is split into shards (its files, for the connectors that read files); a worker reads
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
from scanner.errors import DhscanError, SourceError, UsageError, one_line
from scanner.records import Finding, Record
from scanner.sampling import SamplePlan

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

    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def describe(self) -> dict:
        return {"address": self.address, "workers": self.workers(), "shards": self.shards}

    def close(self) -> None:
        for closable in (getattr(self, "client", None), self._local):
            if closable is not None:
                closable.close()

    def detected(self, connector, config, key, plan: SamplePlan, report: ReadReport,
                 progress) -> Iterator[tuple[list[Record], list[list[Finding]]]]:
        """(records, findings per record) of a whole source, in the order a local run gives them."""
        from dask.distributed import as_completed

        shards = connector.shards()
        futures = {self.client.submit(scan_shard, connector.uri.raw, shard, plan, config.detection.model_dump(),
                                      key.secret, key.origin, pure=False): n for n, shard in enumerate(shards)}
        results: list[Any] = [None] * len(shards)
        done = finished = 0
        progress(f"{connector.source} (shards)", 0, len(shards))
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            done, finished = done + len(result["items"]), finished + 1
            progress(f"{connector.source} (shards)", finished, len(shards))
            progress(connector.source, done, None)
        for n, result in enumerate(results):
            self.shards.append({"source": connector.source, "shard": shards[n] or "whole source",
                                "records": len(result["items"]), "seconds": result["seconds"],
                                "worker": result["worker"], "error": result["error"]})
        report.records_total = sum(r["records_total"] or 0 for r in results)
        report.records_read = sum(r["records_read"] for r in results)
        for result in results:
            report.skipped.extend(result["skipped"])
            for name, value in result["stats"].items():
                report.stats[name] = report.stats.get(name, 0) + value if isinstance(value, int) else value
        failed = [r["error"] for r in results if r["error"]]
        if failed:
            raise SourceError(connector.source, failed[0])
        # (shard number, row): shards come in the order a local run reads its files
        items = [((n, position[1]), position, record, findings)
                 for n, result in enumerate(results) for position, record, findings in result["items"]]
        if len(shards) > 1 and plan.mode == "count":  # each shard kept its own bottom-k: keep the smallest overall
            items = sorted(sorted(items, key=lambda item: plan.key(*item[1]))[:plan.count], key=lambda item: item[0])
        for at in range(0, len(items), SHARD_BATCH):
            chunk = items[at:at + SHARD_BATCH]
            yield [record for _, _, record, _ in chunk], [findings for _, _, _, findings in chunk]


_ENGINE: dict[tuple, Any] = {}


def scan_shard(source: str, shard: str | None, plan: SamplePlan, detection: dict, secret: bytes,
               origin: str) -> dict:
    """On a worker: read one shard, detect, and return its records (texts left out) with findings."""
    from detectors.config import DetectionConfig
    from detectors.engine import DetectionEngine, batched
    from detectors.keys import DigestKey

    cache_key = (repr(sorted(detection.items())), secret)
    if cache_key not in _ENGINE:
        _ENGINE.clear()
        _ENGINE[cache_key] = DetectionEngine(DetectionConfig(**detection), DigestKey(secret, origin))
    engine = _ENGINE[cache_key]
    started = time.perf_counter()
    report = ReadReport()
    items, error = [], None
    try:
        connector = open_source(source)
        connector.shard = shard
        for batch in batched(connector.records(plan, report), SHARD_BATCH):
            for record, findings in zip(batch, engine.detect(batch)):
                position = (record.locator.get("file", ""), int(record.locator.get("record", 1)) - 1)
                # the texts stay on the worker; their field names tell the client the record had content
                items.append((position, dataclasses.replace(record, texts=dict.fromkeys(record.texts, "")), findings))
    except SourceError as exc:
        error = exc.problem
    except DhscanError as exc:
        error = str(exc)
    except OSError as exc:
        error = f"read error: {one_line(exc)}"
    return {"items": items, "records_total": report.records_total, "records_read": report.records_read,
            "skipped": report.skipped, "stats": report.stats, "error": error,
            "seconds": round(time.perf_counter() - started, 3), "worker": f"{socket.gethostname()}:{os.getpid()}"}
