"""`dhscan scan`: sources -> sampled records -> findings -> findings.jsonl, summary.json, evidence.json."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import os
import platform
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from detectors.config import ScanConfig
from scanner import __version__
from scanner.connectors import open_source
from scanner.connectors.base import Connector, ReadReport
from scanner.errors import EXIT_FINDINGS, EXIT_OK, EXIT_SOURCE_FAILED, DhscanError, SourceError, UsageError, one_line
from scanner.outputs import atomic_write, finding_line, json_line, write_json
from scanner.records import Finding, Record
from scanner.sampling import SamplePlan
from scanner.stats import prevalence
from scanner.uri import redact_uri_text

# Skipped records listed one by one in summary.json; beyond this they are only counted.
SKIPPED_LISTED = 100


@dataclass
class SourceResult:
    name: str
    uri: str
    kind: str
    connector: str
    status: str = "ok"  # "ok" | "failed"
    error: str | None = None
    records_total: int | None = None
    records_sampled: int = 0
    records_with_findings: int = 0
    records_no_content: int = 0
    records_with_production_match: int = 0
    records_copied_from_production: int = 0
    findings: int = 0
    entity_counts: Counter = field(default_factory=Counter)
    skipped: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self, plan: SamplePlan) -> dict[str, Any]:
        census = plan.mode == "full" and self.status == "ok"
        reasons = Counter(s.category for s in self.skipped)
        return {
            "uri": self.uri,
            "kind": self.kind,
            "connector": self.connector,
            "status": self.status,
            "error": self.error,
            "records_total": self.records_total,
            "records_sampled": self.records_sampled,
            "records_with_findings": self.records_with_findings,
            "records_no_content": self.records_no_content,
            "records_with_production_match": self.records_with_production_match,
            "records_copied_from_production": self.records_copied_from_production,
            "findings": self.findings,
            "entity_counts": dict(sorted(self.entity_counts.items())),
            "prevalence": prevalence(self.records_with_findings, self.records_sampled, self.records_total, census),
            "records_skipped": len(self.skipped),
            "skipped_reasons": dict(sorted(reasons.items())),
            "skipped": [{"location": s.location, "category": s.category, "reason": s.reason}
                        for s in self.skipped[:SKIPPED_LISTED]],
        }


@dataclass
class ScanRun:
    plan: SamplePlan
    results: list[SourceResult]
    summary: dict
    evidence: dict
    exit_code: int


Progress = Callable[[str, int, int | None], None]


def open_sources(sources: list[str]) -> list[tuple[str, Connector | None, SourceError | None]]:
    """Build every connector before reading anything, so a usage error costs no scan time."""
    built = []
    names: dict[str, str] = {}
    for text in sources:
        try:
            connector = open_source(text)
        except SourceError as exc:
            built.append((text, None, exc))
            continue
        if connector.source in names:
            raise UsageError(f"sources {redact_uri_text(names[connector.source])!r} and {redact_uri_text(text)!r} "
                             "are both named "
                             f"{connector.source!r}; give one ?name=")
        names[connector.source] = text
        built.append((text, connector, None))
    return built


def scan_source(connector: Connector, engine, plan: SamplePlan, write: Callable[[str], None],
                progress: Progress, batch_size: int = 256,
                on_record: Callable[[Record, list[Finding]], None] | None = None,
                lineage=None, write_copy: Callable[[str], None] = lambda line: None, pool=None,
                cluster=None, config: ScanConfig | None = None,
                hidden_types: frozenset[str] = frozenset()) -> SourceResult:
    """Read, detect and count one source; `on_record` sees every scanned record with its findings.

    With a production index (`lineage`), records that are near-copies of production records get
    `copied_from`, and a line of `write_copy` each. Findings of `hidden_types` (detected only for legal
    holds) are neither written nor counted; `on_record` still sees them.
    """
    from detectors.engine import batched
    from detectors.masking import shown

    result = SourceResult(name=connector.source, uri=connector.uri.redacted(absolute=True), kind=connector.kind,
                          connector=connector.name)
    report = ReadReport()
    started = time.perf_counter()
    try:
        def annotated():
            for batch in batched(connector.records(plan, report), batch_size):
                yield [with_lineage(record, lineage) for record in batch] if lineage is not None else batch

        if cluster is not None:  # workers read the source's shards themselves
            pairs = cluster.detected(connector, config, engine.key, plan, report, progress)
        else:
            pairs = _detect_batches(annotated(), engine, pool)
        with heap_left_to_refcounts():
            for batch, detected in pairs:
                progress(connector.source, result.records_sampled, _expected(plan, report.records_total))
                for record, found in zip(batch, detected):
                    findings = [f for f in found if f.entity_type not in hidden_types] if hidden_types else found
                    result.records_sampled += 1
                    if record.copied_from:
                        result.records_copied_from_production += 1
                        write_copy(json_line({"source": record.source,
                                              "record_id": shown(engine.key.secret, record.record_id),
                                              "copied_from": {**record.copied_from, "record_id": shown(
                                                  engine.key.secret, record.copied_from["record_id"])}}))
                    result.records_no_content += not (record.has_content and record.texts)
                    if findings:
                        result.records_with_production_match += any(f.production_match for f in findings)
                        result.records_with_findings += 1
                        result.findings += len(findings)
                        result.entity_counts.update(f.entity_type for f in findings)
                        write("".join(map(finding_line, findings)))
                    if on_record is not None:
                        on_record(record, found)
        progress(connector.source, result.records_sampled, result.records_sampled)
        if report.records_total == 0:
            first = report.skipped[0].reason if report.skipped else "no records"
            raise connector.fail(f"no records to scan ({first})")
        if result.records_sampled == 0 and report.skipped:
            raise connector.fail(f"no readable records: {len(report.skipped)} skipped, the first at "
                                 f"{report.skipped[0].location}: {report.skipped[0].reason}")
    except Exception as exc:  # noqa: BLE001 - one source's surprise must not sink the others
        result.status, result.error = "failed", source_failure(exc)
        if os.environ.get("DHSCAN_DEBUG") and not isinstance(exc, (DhscanError, OSError)):
            raise
    result.records_total = report.records_total
    result.skipped = report.skipped
    result.stats = report.stats
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def heap_left_to_refcounts():
    """While a source is scanned, the objects alive before (the engine, the model, word lists: ~200,000)
    are left out of the garbage collector's passes: a full pass over them took ~0.15 s, and one came every
    few seconds of scanning. They are handed back after, so what they drop later is still collected.
    A heap frozen already (by whoever embeds dhscan) is left as it is."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def source_failure(exc: Exception) -> str:
    """The one-line problem a failed source (or cluster shard) reports, URI secrets hidden."""
    if isinstance(exc, SourceError):
        return redact_uri_text(exc.problem)
    if isinstance(exc, DhscanError):
        return redact_uri_text(str(exc))
    if isinstance(exc, OSError):
        return redact_uri_text(f"read error: {one_line(exc)}")
    # The type only: a message of an unexpected error could quote data from the record.
    return f"unexpected {type(exc).__name__} while reading"


def _detect_batches(batches, engine, pool):
    """(batch, findings per record): the first batches here, the rest in the worker pool if there is one."""
    import itertools

    for batch in batches:
        if pool is not None and pool.wanted():
            yield from pool.detect(itertools.chain([batch], batches))
            return
        yield batch, engine.detect(batch)
        if pool is not None:
            pool.local_batches += 1


def with_lineage(record: Record, lineage) -> Record:
    """The record, with `copied_from` when it is a near-copy of a production record."""
    copied = lineage.copied_from(record)
    return dataclasses.replace(record, copied_from=copied) if copied else record


def open_workers(config: ScanConfig, engine, lineage, stack: ExitStack, pool=None):
    """(cluster, pool) that detect for a run, closed with `stack`: the Dask cluster of `--cluster` (with
    the production index on every worker), or else the local worker pool (`pool`, when given)."""
    if not config.cluster:
        if pool is None:
            pool = build_pool(config, engine)
            stack.callback(pool.close)
        return None, pool
    from scanner.cluster import Cluster

    cluster = Cluster(config.cluster)
    stack.callback(cluster.close)
    if lineage is not None:
        cluster.share(lineage)
    return cluster, None


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


def _expected(plan: SamplePlan, records_total: int | None) -> int | None:
    """How many records a source will scan, when that is known yet (for the progress bar)."""
    if records_total is None or plan.mode == "rate":
        return None
    return records_total if plan.mode == "full" else min(plan.count, records_total)


def run_scan(sources: list[str], plan: SamplePlan, config: ScanConfig, out_dir: Path, *args, **kwargs) -> ScanRun:
    with claimed_output(out_dir):
        return _run_scan(sources, plan, config, out_dir, *args, **kwargs)


class OutputError(UsageError):
    """An output file could not be written (disk full, say): the files already there stay as they were."""


@contextmanager
def claimed_output(out_dir: Path):
    """One run at a time writes to an output folder; temporary files a killed run left there are removed.
    Each output file is replaced atomically; a set mixed by a kill is told by its run id (apply refuses it)."""
    from scanner.locks import exclusive

    check_writable(out_dir)
    with exclusive(out_dir, "output folder",
                   busy=f"output folder {out_dir} is in use by another dhscan run; wait for it, or give another --out"):
        for leftover in out_dir.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)
        try:
            yield
        except OSError as exc:  # writing an output; atomic_write left the earlier file in place
            raise OutputError(f"cannot write to output folder {out_dir}: {exc.strerror or one_line(exc)}; "
                              "the files already there are unchanged") from None


def _run_scan(sources: list[str], plan: SamplePlan, config: ScanConfig, out_dir: Path,
             command_line: list[str], fail_on_findings: bool = False,
             progress: Progress = lambda name, done, total: None,
             on_source_done: Callable[[SourceResult], None] = lambda result: None,
             engine=None, pool=None) -> ScanRun:
    started = datetime.now(timezone.utc)
    built = open_sources(sources)
    if engine is None:
        engine = build_engine(config)
    lineage = build_lineage(config, progress)
    results: list[SourceResult] = []
    with ExitStack() as stack:
        cluster, pool = open_workers(config, engine, lineage, stack, pool)
        findings_file = stack.enter_context(atomic_write(out_dir / "findings.jsonl"))
        copies_file = stack.enter_context(atomic_write(out_dir / "copied_from_production.jsonl")) if lineage else None
        for text, connector, error in built:
            if connector is None:
                result = SourceResult(name=error.source, uri=redact_uri_text(text), kind="?", connector="?",
                                      status="failed", error=error.problem)
            else:
                result = scan_source(connector, engine, plan, findings_file.write, progress,
                                     batch_size=max(64, config.detection.batch_size * 4), lineage=lineage,
                                     write_copy=copies_file.write if copies_file else (lambda line: None), pool=pool,
                                     cluster=cluster, config=config)
            results.append(result)
            on_source_done(result)
        cluster_description = cluster.describe() if cluster is not None else None
    finished = datetime.now(timezone.utc)
    summary = build_summary(results, plan, started, finished)
    evidence = build_evidence(results, plan, config, engine, started, finished, command_line, lineage)
    evidence["cluster"] = cluster_description
    write_json(out_dir / "summary.json", summary)
    write_json(out_dir / "evidence.json", evidence)
    if any(r.status == "failed" for r in results):
        code = EXIT_SOURCE_FAILED
    elif fail_on_findings and any(r.findings for r in results):
        code = EXIT_FINDINGS
    else:
        code = EXIT_OK
    return ScanRun(plan, results, summary, evidence, code)


_ENGINES: dict[tuple[str, bytes], Any] = {}


def check_writable(out_dir: Path) -> None:
    """A UsageError before any scan time is spent when the output folder cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(out_dir / ".dhscan-write-check"):
            pass
        (out_dir / ".dhscan-write-check").unlink()
    except OSError as exc:
        raise UsageError(f"cannot write to output folder {out_dir}: {exc.strerror or one_line(exc)}") from None


def build_engine(config: ScanConfig):
    """The detection engine for a config, built once per process (loading spaCy takes seconds)."""
    from detectors.engine import DetectionEngine
    from detectors.keys import load_key

    key = load_key()
    cache_key = (config.detection.model_dump_json(), key.secret)
    if cache_key not in _ENGINES:
        _ENGINES[cache_key] = DetectionEngine(config.detection, key)
    return _ENGINES[cache_key]


def build_summary(results: list[SourceResult], plan: SamplePlan, started, finished) -> dict:
    return {
        "tool": {"name": "dhscan", "version": __version__},
        "command": "scan",
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "sampling": plan.describe(),
        "covers_sample": plan.mode != "full",
        "sources": {r.name: r.summary(plan) for r in results},
    }


def config_digest(config: ScanConfig, engine) -> str:
    data = {"config": config.model_dump(mode="json"), "entities": engine.entities}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def build_evidence(results, plan, config, engine, started, finished, command_line, lineage=None) -> dict:
    from scanner.uri import parse_source_uri

    production_traces = None
    if lineage is not None:
        production_traces = {"sources": [parse_source_uri(s).redacted() for s in config.detection.production_traces],
                             "records": lineage.records, "indexed_texts": len(lineage.hashes),
                             "near_dup_threshold": lineage.threshold}
    return {
        "tool": {"name": "dhscan", "version": __version__},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "detection": engine.describe(),
        "config_digest": config_digest(config, engine),
        "command_line": command_line,
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "seconds": round((finished - started).total_seconds(), 3),
        "sampling": plan.describe(),
        "production_traces": production_traces,
        "sources": [
            {
                "name": r.name,
                "uri": r.uri,
                "connector": r.connector,
                "status": r.status,
                "records_total": r.records_total,
                "records_sampled": r.records_sampled,
                "seed": plan.seed,
                "size": r.stats,
                "seconds": round(r.seconds, 3),
            }
            for r in results
        ],
    }


def redact_command_line(argv: list[str]) -> list[str]:
    """The command line as evidence may show it: URI secrets and list terms hidden."""
    from scanner.uri import parse_source_uri

    hidden_values = {"--allow-list", "--deny-list", "--subject"}
    shown = []
    hide_next = False
    for arg in argv:
        if hide_next:
            shown.append("***")
            hide_next = False
            continue
        if arg in hidden_values:
            shown.append(arg)
            hide_next = True
            continue
        if any(arg.startswith(f"{flag}=") for flag in hidden_values):
            shown.append(arg.split("=", 1)[0] + "=***")
            continue
        if "?" in arg and not arg.startswith("-"):
            try:
                arg = parse_source_uri(arg).redacted()
            except DhscanError:
                pass
        shown.append(redact_uri_text(arg))
    return shown
