"""The run loop scan, sweep and erase share: sources -> sampled records -> detection -> findings.jsonl,
summary.json and evidence.json. A command's own decisions, files and sections come from its observer."""

from __future__ import annotations

import gc
import os
import time
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from detectors.config import ScanConfig, with_entities
from detectors.engine import build_engine
from detectors.masking import shown
from scanner.connectors.base import Connector, ReadReport
from scanner.core.durable import atomic_write
from scanner.core.errors import EXIT_OK, EXIT_SOURCE_FAILED, DhscanError, UsageError, one_line
from scanner.core.outputs import finding_line, json_line, write_json
from scanner.core.records import Finding, Record
from scanner.core.sampling import SamplePlan
from scanner.core.stats import prevalence
from scanner.core.uri import redact_uri_text
from scanner.runs.detection import Detection, Progress, build_lineage
from scanner.runs.evidence import build_evidence, build_summary
from scanner.runs.sarif import SarifWriter
from scanner.runs.sources import open_sources, source_failure

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
    languages: Counter = field(default_factory=Counter)  # (language, names checked) -> texts (engine.Detected)
    skipped: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self, plan: SamplePlan) -> dict[str, Any]:
        # every record read, by --full or by a sample as large as the source: a census, no sampling error
        census = self.status == "ok"
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
            "languages": self.language_summary(),
            "names_not_checked": names_not_checked(self.languages),
            "prevalence": prevalence(self.records_with_findings, self.records_sampled, self.records_total, census),
            "records_skipped": len(self.skipped),
            "skipped_reasons": dict(sorted(reasons.items())),
            "skipped": [{"location": s.location, "category": s.category, "reason": s.reason}
                        for s in self.skipped[:SKIPPED_LISTED]],
        }

    def language_summary(self) -> dict[str, dict[str, Any]]:
        return {language: {"texts": texts, "names_checked": checked}
                for (language, checked), texts in sorted(self.languages.items())}


def names_not_checked(languages: Counter) -> list[str]:
    """One line per language whose texts no pipeline read: what a reviewer must not take as clean."""
    return [(f"names and places not read by a model in {texts} text{'s' * (texts != 1)}: no {language} model "
             "(names after a title are still found)")
            for (language, checked), texts in sorted(languages.items()) if not checked]


@dataclass
class RunContext:
    """What an observer sees of the run it takes part in."""

    run_id: str
    started: datetime
    out_dir: Path
    config: ScanConfig
    engine: Any
    hidden_types: frozenset[str]  # detected only for the observer (legal holds), never reported

    @property
    def key(self) -> bytes:
        return self.engine.key.secret


class Observer:
    """What a command adds to the run loop. This base adds nothing (scanner/runs/scan.py adds the report)."""

    command = "scan"
    # findings it leaves out of every output, as if not found (a baseline's known findings); set in start
    suppress: Callable[[Finding], bool] | None = None

    def __init__(self, fail_on_findings: bool = False):
        self.fail_on_findings = fail_on_findings
        self.warnings: list[str] = []

    def entity_types(self) -> set[str]:
        """Entity types to detect whatever --entities reports (they are not reported)."""
        return set()

    def start(self, run: RunContext, stack: ExitStack) -> None:
        """Before the first record: check what needs the engine, open the command's files in `stack`."""

    def held_names(self):
        """The held names (retention/heldnames.py) to look for in texts, after `start`; None: none."""
        return None

    def on_record(self, record: Record, reported: list[Finding], findings: list[Finding]) -> None:
        """Every scanned record, with its reported findings and those of the hidden types too."""

    def finish(self, run: RunContext, results: list[SourceResult], summary: dict, evidence: dict) -> None:
        """The command's sections of summary.json and evidence.json, before they are written."""

    def written(self, run: RunContext, summary: dict, evidence: dict) -> None:
        """After summary.json and evidence.json: files made from them (report.html)."""

    def exit_code(self, results: list[SourceResult]) -> int:
        from scanner.core.errors import EXIT_FINDINGS

        if any(r.status == "failed" for r in results):
            return EXIT_SOURCE_FAILED
        if self.fail_on_findings and any(r.findings for r in results):
            return EXIT_FINDINGS
        return EXIT_OK


@dataclass
class Run:
    plan: SamplePlan
    results: list[SourceResult]
    summary: dict
    evidence: dict
    exit_code: int
    observer: Observer

    @property
    def warnings(self) -> list[str]:
        return self.observer.warnings


def run(sources: list[str], plan: SamplePlan, config: ScanConfig, out_dir: Path, command_line: list[str],
        observer: Observer | None = None, progress: Progress = lambda name, done, total: None,
        on_source_done: Callable[[SourceResult], None] = lambda result: None, engine=None, pool=None,
        sarif: bool = False, since_state: str | None = None) -> Run:
    """Scan every source into `out_dir` (claimed for the run), with `observer` deciding what else is made."""
    observer = observer or Observer()
    with claimed_output(out_dir), ExitStack() as held:
        started = datetime.now(timezone.utc)
        built = open_sources(sources)
        config, hidden = with_entities(config, observer.entity_types())
        engine = engine or build_engine(config.detection)
        context = RunContext(uuid.uuid4().hex, started, out_dir, config, engine, hidden)
        results: list[SourceResult] = []
        with ExitStack() as stack:
            observer.start(context, stack)
            lineage = build_lineage(config, progress)
            if since_state is not None and config.cluster:
                raise UsageError("--since-state: not on a cluster (--cluster); run the incremental scan locally")
            detection = Detection(config, engine, lineage, stack, pool, observer.held_names())
            if since_state is not None:
                from scanner.core.locks import exclusive
                from scanner.runs.state import ScanState, state_identity

                try:
                    Path(since_state).mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise UsageError(f"--since-state {since_state}: cannot make the state folder: "
                                     f"{exc.strerror or one_line(exc)}") from None
                # one run at a time keeps a state: held until it is saved, after the outputs
                held.enter_context(exclusive(Path(since_state), "state folder"))
                detection.state = ScanState(since_state, engine.key.secret, state_identity(config, engine))
            findings_file = stack.enter_context(atomic_write(out_dir / "findings.jsonl"))
            copies_file = stack.enter_context(atomic_write(out_dir / "copied_from_production.jsonl")) \
                if lineage else None
            sarif_out = SarifWriter(stack.enter_context(atomic_write(out_dir / "results.sarif")), engine.key.secret) \
                if sarif else None
            for text, connector, error in built:
                if connector is None:
                    result = SourceResult(name=error.source, uri=redact_uri_text(text), kind="?", connector="?",
                                          status="failed", error=error.problem)
                else:
                    result = scan_source(connector, detection, plan, findings_file.write, progress,
                                         batch_size=max(64, config.detection.batch_size * 4),
                                         on_record=with_sarif(observer.on_record, sarif_out, connector),
                                         # RetentionObserver (a lower layer) has no `suppress`
                                         hidden_types=hidden, suppress=getattr(observer, "suppress", None),
                                         write_copy=copies_file.write if copies_file else None)
                results.append(result)
                on_source_done(result)
            if sarif_out is not None:
                sarif_out.finish(results, context.run_id, engine.key.key_id)
            cluster_description = detection.describe()
        finished = datetime.now(timezone.utc)
        summary = build_summary(results, plan, started, finished)
        summary["command"] = observer.command
        summary["run_id"] = context.run_id
        if since_state is not None:
            summary["incremental"] = detection.state.summary()
        evidence = build_evidence(results, plan, config, engine, started, finished, command_line, lineage)
        evidence["cluster"] = cluster_description
        evidence["run_id"] = context.run_id
        observer.finish(context, results, summary, evidence)
        write_json(out_dir / "summary.json", summary)
        write_json(out_dir / "evidence.json", evidence)
        observer.written(context, summary, evidence)
        if since_state is not None:
            detection.state.save()  # after the outputs: a run killed before leaves the earlier state, still valid
        return Run(plan, results, summary, evidence, observer.exit_code(results), observer)


def with_sarif(on_record, sarif_out, connector):
    """`on_record`, also adding each record's reported findings to results.sarif when it is written."""
    if sarif_out is None:
        return on_record

    def both(record: Record, reported: list[Finding], findings: list[Finding]) -> None:
        if reported:
            sarif_out.add(connector, record, reported)
        on_record(record, reported, findings)

    return both


def scan_source(connector: Connector, detection: Detection, plan: SamplePlan, write: Callable[[str], None],
                progress: Progress, batch_size: int = 256,
                on_record: Callable[[Record, list[Finding], list[Finding]], None] | None = None,
                write_copy: Callable[[str], None] | None = None,
                hidden_types: frozenset[str] = frozenset(),
                suppress: Callable[[Finding], bool] | None = None) -> SourceResult:
    """Read, detect and count one source; `on_record` sees every scanned record with its findings.

    Records that are near-copies of production records (the detection's production index) carry
    `copied_from` and get a line of `write_copy` each. Findings of `hidden_types` (detected only for
    legal holds) are neither written nor counted; `on_record` sees them in its last argument. Nor are
    findings `suppress` is true of (a baseline's known findings).
    """
    key = detection.key.secret
    result = SourceResult(name=connector.source, uri=connector.uri.redacted(absolute=True), kind=connector.kind,
                          connector=connector.name)
    report = ReadReport()
    started = time.perf_counter()
    try:
        pairs = detection.batches(connector, plan, report, progress, batch_size)
        with heap_left_to_refcounts():
            for batch, detected in pairs:
                progress(connector.source, result.records_sampled, _expected(plan, report.records_total))
                result.languages.update(getattr(detected, "languages", ()))
                for record, found in zip(batch, detected):
                    findings = [f for f in found if f.entity_type not in hidden_types] if hidden_types else found
                    if suppress is not None:
                        findings = [f for f in findings if not suppress(f)]
                    result.records_sampled += 1
                    if record.copied_from:
                        result.records_copied_from_production += 1
                        if write_copy is not None:
                            write_copy(json_line({"source": record.source, "record_id": shown(key, record.record_id),
                                                  "copied_from": {**record.copied_from, "record_id": shown(
                                                      key, record.copied_from["record_id"])}}))
                    result.records_no_content += not (record.has_content and record.texts)
                    if findings:
                        result.records_with_production_match += any(f.production_match for f in findings)
                        result.records_with_findings += 1
                        result.findings += len(findings)
                        result.entity_counts.update(f.entity_type for f in findings)
                        write("".join(map(finding_line, findings)))
                    if on_record is not None:
                        on_record(record, findings, found)
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
    are left out of the garbage collector's passes, which would otherwise walk them every few seconds.
    They are handed back after, so what they drop later is still collected. A heap frozen already (by
    whoever embeds dhscan) is left as it is."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _expected(plan: SamplePlan, records_total: int | None) -> int | None:
    """How many records a source will scan, when that is known yet (for the progress bar)."""
    if records_total is None or plan.mode == "rate":
        return None
    return records_total if plan.mode == "full" else min(plan.count, records_total)


class OutputError(UsageError):
    """An output file could not be written (disk full, say): the files already there stay as they were."""


@contextmanager
def claimed_output(out_dir: Path):
    """One run at a time writes to an output folder; temporary files a killed run left there are removed.
    Each output file is replaced atomically; a set mixed by a kill is told by its run id (apply refuses it)."""
    from scanner.core.locks import exclusive

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


def check_writable(out_dir: Path) -> None:
    """A UsageError before any scan time is spent when the output folder cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(out_dir / ".dhscan-write-check"):
            pass
        (out_dir / ".dhscan-write-check").unlink()
    except OSError as exc:
        raise UsageError(f"cannot write to output folder {out_dir}: {exc.strerror or one_line(exc)}") from None
