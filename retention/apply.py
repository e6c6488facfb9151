"""`dhscan apply`: carry out a deletion worklist, safely.

Holds are read again at execution time; files are rewritten only when they are still the files
the sweep read; every outcome is appended to a log that is fsynced per batch. For each file the
log first records the intent (the rewritten file's SHA-256) and only then is the file renamed
into place (an S3 object: uploaded whole over it), so a run killed at any point is finished by
running it again: a file already rewritten is recognised by its digest and its records are
reported as already absent.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter, defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from pydantic import ValidationError

from scanner.core.keys import DigestKey
from scanner.core.stats import read_whole
from detectors.masking import shown
from detectors.normalize import record_digest
from retention.holds import Hold, RecordFacts, held_names, hold_entity_types
from scanner.core.formats import WORKLIST_FORMAT, DeletionRow, RedactionRow, contract_problem
from retention.redacting import NotAsListed, Redactors, left_in, replacements
from scanner.connectors import connector_for
from scanner.connectors.base import BY_ID
from scanner.core.digests import sha256_file
from scanner.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_SOURCE_FAILED, DhscanError, UsageError, one_line
from scanner.core.fields import parse_timestamp
from scanner.core.locks import exclusive, file_locked
from scanner.core.records import Finding, Record
from scanner.connectors.rewriting import StaleFile
from scanner.core.durable import remove_stale_temporaries, replace
from scanner.core.uri import SourceURI, parse_source_uri

OUTCOMES = ("deleted", "already_absent", "redacted", "already_redacted", "skipped_hold", "stale", "error")
DONE = ("deleted", "redacted")  # what an earlier run of a worklist did to a row's record


def read_worklist(path: Path) -> list[dict]:
    rows = []
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except ValueError:
                        raise UsageError(f"{path}:{number}: not a JSON worklist row") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    seen: dict[tuple, int] = {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise UsageError(f"{path}: row {number} is not a JSON object: not a deletion worklist")
        if row.get("format_version") != WORKLIST_FORMAT:
            raise UsageError(f"{path}: row {number} is of worklist format {row.get('format_version', 1)!r}, and "
                             f"this dhscan applies format {WORKLIST_FORMAT} only (it checks each record against "
                             "the content digest the sweep took): sweep again to make a current worklist")
        locator = row.get("locator")
        if not isinstance(locator, dict):
            raise UsageError(f"{path}: row {number}: locator is not an object")
        if "file" in locator and not (isinstance(locator.get("record"), int) and locator["record"] >= 1):
            raise UsageError(f"{path}: row {number}: locator record is not a record number")
        try:
            (RedactionRow if row.get("action") == "redact" else DeletionRow).model_validate(row)
        except ValidationError as exc:
            raise UsageError(f"{path}: row {number} does not match worklist format {WORKLIST_FORMAT}: "
                             f"{contract_problem(exc)}") from None
        key = (row["source"], str(row["record_id"]), json.dumps(locator, sort_keys=True))
        if key in seen:  # one record listed twice would be reported deleted twice
            raise UsageError(f"{path}: row {number} lists the record row {seen[key]} lists")
        seen[key] = number
    return rows


def sweep_evidence(worklist: Path) -> dict:
    """The evidence.json the sweep wrote beside the worklist, or {}."""
    evidence = worklist.parent / "evidence.json"
    try:
        return json.loads(evidence.read_text(encoding="utf-8")) if evidence.exists() else {}
    except (OSError, ValueError):
        raise UsageError(f"{evidence}: not readable as the sweep's evidence.json") from None


def check_run(worklist: Path, rows: list[dict], evidence: dict, key: DigestKey) -> None:
    """The worklist, its evidence and this run's key belong together, or apply refuses: with another key
    no hold naming a subject can match, and evidence from another run names other sources and holds."""
    run_ids = {row.get("run_id") for row in rows}
    if evidence and rows and run_ids != {evidence.get("run_id")}:
        raise UsageError(f"{worklist}: its rows come from another sweep than the evidence.json beside it "
                         "(a sweep killed while writing, or files mixed by hand): sweep again")
    expected = {row.get("key_id") for row in rows} | {(evidence.get("detection") or {}).get("key_id")}
    expected.discard(None)
    if expected and expected != {key.key_id}:
        raise UsageError(f"{worklist}: made with key {', '.join(sorted(expected))}, but this run's key is "
                         f"{key.key_id}: holds would match nothing; use the sweep's DHSCAN_KEY or key file")


def check_holds_given(worklist: Path, evidence: dict, holds: list[Hold], no_holds: bool) -> None:
    """Holds the sweep was given must be given again (they may have changed since), or declined by name."""
    if holds or no_holds:
        return
    swept = [h["id"] for h in (evidence.get("sweep") or {}).get("holds", []) if h.get("status") == "active"]
    if swept:
        raise UsageError(f"{worklist}: the sweep checked legal holds ({', '.join(swept[:5])}), and this apply "
                         "was given none: give --holds FILE (holds are read again now), or --no-holds")
    if not evidence:
        raise UsageError(f"{worklist}: no evidence.json beside it tells whether the sweep checked legal holds: "
                         "give --holds FILE, or --no-holds")


def source_uris(evidence: dict, overrides: dict[str, str]) -> dict[str, str]:
    """Where each source is: `--source NAME=URI`, else the evidence.json written beside the worklist."""
    uris = {source["name"]: source["uri"] for source in evidence.get("sources", [])}
    uris.update(overrides)
    return uris


def sample_warning(evidence: dict) -> str | None:
    """What a worklist from a sampled sweep leaves out, or None for a sweep that read every record."""
    sampling = evidence.get("sampling") or {"mode": "full"}
    sources = evidence.get("sources") or []
    if sampling["mode"] == "full" or (sources and all(map(read_whole, sources))):
        return None  # every record of every source was read: a census, whatever the sampling asked
    read = (f"{sampling['count']:,} records a source" if sampling["mode"] == "count"
            else f"each record with probability {sampling['rate']}")
    return (f"the sweep behind this worklist read a sample ({read}, seed {sampling['seed']}): records outside "
            "it were not checked and are not on the worklist; sweep with --full before relying on it")


class ApplyLog:
    """JSON Lines, appended and fsynced per batch; read back to finish a run that was killed."""

    def __init__(self, path: Path | None):
        self.path = path
        self.pending: list[dict] = []
        self.intents: dict[tuple[str, str], set[str | None]] = defaultdict(set)
        self.deleted: set[tuple[str, str, str | None]] = set()  # (source, record id, content digest) gone
        self.written: set[str] = set()  # digests of the values redactions wrote (not to be redacted again)
        self.redacted_contents: set[str] = set()  # content digests of the records as redactions left them
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a kill; everything before it is intact
                self.written.update(entry.get("replacement_digests") or ())
                self.redacted_contents.update(entry.get("redacted_contents") or ())
                if entry.get("to_content_digest"):
                    self.redacted_contents.add(entry["to_content_digest"])
                if entry.get("event") == "file_intent":
                    self.intents[(entry["source"], entry["file"])].add(entry.get("to_sha256"))
                elif entry.get("event") == "row" and entry.get("outcome") in DONE and not entry.get("dry_run"):
                    self.deleted.add((entry["source"], entry["record_id"], entry.get("content_digest")))

    def deleted_before(self, row: dict) -> bool:
        """Whether an earlier run with this log deleted (or redacted) the row's record."""
        return (row["source"], str(row["record_id"]), row.get("content_digest")) in self.deleted

    def add(self, entry: dict) -> None:
        self.pending.append({"time": datetime.now(timezone.utc).isoformat(), **entry})

    def flush(self) -> None:
        if self.path is None or not self.pending:
            self.pending = []
            return
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write("".join(json.dumps(e, default=str) + "\n" for e in self.pending))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            # Nothing is changed that the log has not recorded first: stop here, before the next change.
            raise ApplyLogError(f"cannot write the apply log {self.path}: {exc.strerror or one_line(exc)}; "
                                "stopped before changing anything it could not record (run again once it can "
                                "be written: recorded work is recognised)") from None
        self.pending = []


class ApplyLogError(DhscanError):
    """The apply log cannot be written: apply stops, since every change must be logged before it is made."""


@dataclass
class ApplyResult:
    outcomes: Counter = field(default_factory=Counter)
    by_source: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    rows: list[dict] = field(default_factory=list)  # every row's outcome, in worklist order
    residue: list[dict] = field(default_factory=list)
    vacuumed: list[dict] = field(default_factory=list)  # what --vacuum did (or could not do) per source
    failures: list[str] = field(default_factory=list)  # one line for each source apply could not work on
    sample_warning: str | None = None  # the worklist came from a sampled sweep: what it leaves out
    log_path: Path | None = None

    @property
    def exit_code(self) -> int:
        if self.outcomes["error"]:
            return EXIT_SOURCE_FAILED
        if self.outcomes["skipped_hold"] or self.outcomes["stale"] or any(not v["done"] for v in self.vacuumed):
            return EXIT_FINDINGS
        return EXIT_OK


def facts_of(row: dict) -> RecordFacts:
    return RecordFacts(row["source"], row.get("kind", ""), parse_timestamp(row.get("record_timestamp")),
                       row.get("attribute_digests") or {}, frozenset(row.get("finding_digests") or []))


class HoldCheck:
    """Holds tried on a record as it is now: its findings of the types holds name subjects by are
    detected again (the model is loaded only when a hold names such a subject)."""

    def __init__(self, holds: list[Hold], key: DigestKey):
        self.holds = [h for h in holds if h.status == "active"]
        self.key = key
        self.entities = sorted(hold_entity_types(self.holds))
        self.names = held_names(self.holds, key.secret)
        self._engine = None

    def findings(self, records: list[Record]) -> list[list[Finding]]:
        if not self.entities or not records:
            return [[] for _ in records]
        if self._engine is None:
            from detectors.config import DetectionConfig
            from detectors.engine import build_engine

            # built once a process, as for a scan (the key is the one apply checked: the same env and file)
            self._engine = build_engine(DetectionConfig(entities=self.entities))
            if self._engine.key.key_id != self.key.key_id:
                raise UsageError("the key changed while apply ran: run it again")
        return self._engine.detect(records)

    def held(self, records: list[Record]) -> list[list[str]]:
        """The ids of the active holds covering each record."""
        if not self.holds:
            return [[] for _ in records]
        facts = [RecordFacts.of(r, f, self.key.secret, self.names) for r, f in zip(records, self.findings(records))]
        return [[h.id for h in self.holds if h.matched_on(each, self.key.secret)] for each in facts]


class Applier:
    def __init__(self, rows: list[dict], uris: dict[str, str], holds: list[Hold], key: DigestKey, execute: bool,
                 log: ApplyLog, batch_size: int = 500, on_batch: Callable[[], None] = lambda: None,
                 vacuum: bool = False):
        self.rows, self.uris, self.holds, self.key = rows, uris, holds, key.secret
        self.vacuum = vacuum
        self.execute, self.log, self.batch_size, self.on_batch = execute, log, batch_size, on_batch
        self.hold_check = HoldCheck(holds, key)
        self._shown_ids: dict[str, dict[str, str]] = {}  # source -> {shown id: store id}
        self.redactors = Redactors(self.key)
        self._redacted_ids: list[str] = []  # by id, redacted by this run: what the store still derives from
        self.result = ApplyResult()

    def verified(self, rows: list[dict], current: Callable[[dict], Record | None]) -> list[dict]:
        """The rows whose record is, as read now, the one the sweep listed and is under no hold; the others
        get their outcome (`stale`, `skipped_hold`) here."""
        listed = []
        for row in rows:
            record = current(row)
            if record is None or shown(self.key, record.record_id) != str(row["record_id"]) \
                    or record_digest(self.key, record) != row["content_digest"]:
                self.outcome(row, "stale", "the record there is not the one the sweep listed (changed or replaced "
                                           "since): left as it is")
            else:
                listed.append((row, record))
        kept = []
        for (row, record), held in zip(listed, self.hold_check.held([r for _, r in listed])):
            if held:
                self.outcome(row, "skipped_hold", f"covered by legal hold {', '.join(held)} (as the record is now)")
            else:
                kept.append(row)
        return kept

    def outcome(self, row: dict, outcome: str, reason: str, after: str | None = None) -> None:
        self.result.outcomes[outcome] += 1
        self.result.by_source[row["source"]][outcome] += 1
        entry = {"event": "row", "source": row["source"], "record_id": row["record_id"], "rule_id": row["rule_id"],
                 "content_digest": row.get("content_digest"), "outcome": outcome, "reason": reason,
                 "dry_run": not self.execute, **({"to_content_digest": after} if after else {})}
        self.result.rows.append(entry)
        self.log.add(entry)

    def run(self) -> ApplyResult:
        by_source: dict[str, list[dict]] = defaultdict(list)
        for row in self.rows:
            held = [h.id for h in self.holds if h.matched_on(facts_of(row), self.key)]
            if held:
                self.outcome(row, "skipped_hold", f"covered by legal hold {', '.join(held)}")
            else:
                by_source[row["source"]].append(row)
        self.log.flush()
        for source, rows in by_source.items():
            try:
                uri = parse_source_uri(self.uris[source]) if source in self.uris else None
                if uri is None:
                    raise UsageError(f"source {source!r} is not in evidence.json beside the worklist: "
                                     f"give --source {source}=URI")
                if "***" in self.uris[source]:
                    raise UsageError(f"source {source!r}: evidence.json names it with its user or secrets hidden "
                                     f"(***): give --source {source}=URI")
                connector = connector_for(uri)(uri)
                for action, can in (("delete", connector.deletes), ("redact", connector.redacts)):
                    if can is None and any(_action(r) == action for r in rows):
                        raise UsageError(f"source {source!r}: the {connector.name} connector cannot {action} records "
                                         "(`dhscan connectors` lists those that can)")
                if connector.deletes == BY_ID:
                    self._by_id(connector, rows)
                else:
                    self._files(connector, uri, rows)
            except DhscanError as exc:
                self.result.failures.append(str(exc))
                decided = {r["record_id"] for r in self.result.rows if r["source"] == source}
                for row in rows:
                    if row["record_id"] not in decided:
                        self.outcome(row, "error", str(exc))
            self.log.flush()
        self.log.add({"event": "summary", "dry_run": not self.execute, "outcomes": dict(self.result.outcomes),
                      "residue": self.result.residue})
        self.log.flush()
        return self.result

    def events(self, events: list[dict]) -> None:
        """A connector's events logged; its residue reported to the user too."""
        for event in events:
            if event["event"] == "residue":
                self.result.residue.append({k: v for k, v in event.items() if k != "event"})
            elif event["event"] == "vacuum":
                self.result.vacuumed.append({k: v for k, v in event.items() if k != "event"})
            self.log.add(event)
        self.log.flush()

    # -- stores: by id, in batches, each record read again first, then verified absent -------------
    def _by_id(self, connector, rows: list[dict]) -> None:
        gone: list[str] = []  # deleted now or before: what the store may still keep copies of
        for at in range(0, len(rows), self.batch_size):
            batch = rows[at:at + self.batch_size]
            raw = {id(r): self._store_id(connector, r) for r in batch}
            current = connector.fetch(sorted({i for i in raw.values() if i is not None}))
            for row in batch:
                if raw[id(row)] not in current and _action(row) == "redact":
                    self.outcome(row, "stale", "not in the store")
                elif raw[id(row)] not in current:
                    self.outcome(row, "already_absent", "not in the store")
                    if raw[id(row)] is not None:
                        gone.append(raw[id(row)])
                elif _action(row) == "redact" and self.log.deleted_before(row):
                    self.outcome(row, "already_redacted", "redacted by an earlier apply of this worklist")
            # each point read again first: one re-upserted since the sweep is stale, never deleted
            batch = self.verified([r for r in batch if raw[id(r)] in current and not (
                _action(r) == "redact" and self.log.deleted_before(r))], lambda row: current.get(raw[id(row)]))
            self._redact_by_id(connector, [r for r in batch if _action(r) == "redact"], raw, current)
            batch = [r for r in batch if _action(r) != "redact"]
            ids = sorted(raw[id(r)] for r in batch)
            left = set()
            if self.execute and ids:
                connector.delete(ids)
                left = set(connector.verify_absent(ids))
            for row in batch:
                if raw[id(row)] in left:
                    self.outcome(row, "error", "still present after delete")
                else:
                    self.outcome(row, "deleted", "deleted by id" if self.execute else "would be deleted by id")
                    gone.append(raw[id(row)])
            self.log.flush()
            self.on_batch()
        if self.execute and self.vacuum and (gone or self._redacted_ids):
            self._vacuum(connector)
        if self.execute and gone:
            self.events(connector.residue(gone))
        if self.execute and self._redacted_ids:
            self.events(connector.redaction_residue(self._redacted_ids))
            self._redacted_ids = []

    def _vacuum(self, connector) -> None:
        """--vacuum: the store's old versions and deleted rows removed, before the residue is read."""
        lost = self._held_in_old_versions(connector) if connector.vacuums else {}
        if not connector.vacuums:
            why = f"the {connector.name} connector cannot vacuum (see the residue for what to do)"
        elif lost:
            holds = ", ".join(sorted({h for ids in lost.values() for h in ids}))
            why = (f"an earlier version keeps {len(lost)} records under legal hold {holds} that the current "
                   "version no longer has as they were; vacuuming would destroy them")
        else:
            self.events([{**event, "done": True} for event in connector.vacuum()])
            return
        self.events([{"event": "vacuum", "source": connector.source, "done": False, "summary": f"not done: {why}"}])

    def _held_in_old_versions(self, connector) -> dict[str, list[str]]:
        """{record id: hold ids} for the held records in what a vacuum would destroy that the current
        version does not hold as they were (a copy of an unchanged record is no loss)."""
        if not self.hold_check.holds:
            return {}
        lost: dict[str, list[str]] = {}
        old = connector.vacuumed_records()
        while page := [r for _, r in zip(range(self.batch_size), old)]:
            held = [(r, h) for r, h in zip(page, self.hold_check.held(page)) if h]
            if held:
                now = connector.fetch(sorted({r.record_id for r, _ in held}))
                for record, holds in held:
                    same = now.get(record.record_id)
                    if same is None or record_digest(self.key, same) != record_digest(self.key, record):
                        lost.setdefault(record.record_id, []).extend(holds)
        return lost

    def _redact_by_id(self, connector, rows: list[dict], raw: dict, current: dict) -> None:
        """Each record's payload written again with its listed values replaced, then read back: a value
        still there is an error."""
        plans = {}
        for row in rows:
            try:
                plans[raw[id(row)]] = (row, replacements(row, current[raw[id(row)]], self.key, self.redactors))
            except NotAsListed as exc:
                self.outcome(row, "stale", str(exc))
        if not plans:
            return
        left: set[str] = set()
        after: dict[str, Record] = {}
        if self.execute:
            self.log.add({"event": "redact_intent", "source": connector.source, "records": len(plans),
                          "replacement_digests": sorted(set().union(*(p.written for _, p in plans.values()))),
                          "redacted_contents": sorted(p.content_after(self.key, current[i]) for i, (_, p) in plans.items())})
            self.log.flush()
            connector.redact({store_id: plan.value for store_id, (_, plan) in plans.items()})
            after = connector.fetch(sorted(plans))
            left = {i for i, (_, plan) in plans.items() if i not in after or left_in(plan, after[i])}
        for store_id, (row, _) in plans.items():
            if store_id in left:
                self.outcome(row, "error", "a replaced value is still in the record after the update")
            else:
                self.outcome(row, "redacted", "payload redacted by id" if self.execute else "would be redacted by id",
                             record_digest(self.key, after[store_id]) if store_id in after else None)
                self._redacted_ids.append(store_id)

    def _store_id(self, connector, row: dict) -> str | None:
        """The store's own id of a row's record. A row whose id holds an identifier shows it masked
        (`j***@acme.com~3f2a…`): its id is found by showing every id in the store the same way."""
        if not row["locator"].get("pseudonymous"):
            return str(row["record_id"])
        if connector.source not in self._shown_ids:
            self._shown_ids[connector.source] = {shown(self.key, i): i for i in connector.record_ids()}
        return self._shown_ids[connector.source].get(str(row["record_id"]))

    # -- files: rewritten without the records, when still the files the sweep read ----------------
    def _files(self, connector, uri: SourceURI, rows: list[dict]) -> None:
        from scanner.connectors.files import is_s3
        from scanner.connectors.s3files import S3File

        fs, files = connector.deletable_files()
        s3 = is_s3(uri.path)
        current = {shown(self.key, f.relpath): f for f in files}  # as the worklist shows them
        by_file: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by_file[row["locator"].get("file", "")].append(row)
        rewritten: dict[str, int] = {}  # files rewritten by this run, and the records taken out of them
        changed: list[str] = []  # files rewritten by this run or an earlier run of this worklist
        for relpath, file_rows in by_file.items():
            file = current.get(relpath)
            remote = S3File(fs, file) if s3 and file is not None else None
            done = self._file(connector, file, relpath, file_rows, remote)
            if done:
                changed.append(file.path)
            if done == "rewritten":
                rewritten[file.path] = len(file_rows)
            self.log.flush()
            self.on_batch()
        if self.execute and self.vacuum and changed:
            self._vacuum(connector)
        if changed:
            self.events(connector.after_rewrite(fs, rewritten, changed))

    def _file(self, connector, file, relpath: str, rows: list[dict], remote=None) -> str | None:
        """Rewrite one file (a local one, or through `remote`, an S3File) without its rows: "rewritten" by
        this run, "rewritten_before" by an earlier run of this worklist, or None.

        A local file is locked throughout, so two applies on one file take turns; the second finds its
        records where they are now (by id and content digest) in what the first left."""
        if file is None:
            for row in rows:
                done = self.log.deleted_before(row) or (connector.source, relpath) in self.log.intents
                self.outcome(row, _done_outcome(row) if done else "stale",
                             "done by an earlier apply" if done else "the file is gone")
            return None
        path = Path(file.path)
        try:
            with file_locked(path) if remote is None else nullcontext(None) as state:
                now = (state.st_size, state.st_mtime_ns) if state else (file.size, file.mtime_ns)
                listed = (rows[0]["locator"].get("size"), rows[0]["locator"].get("mtime_ns"))
                found = self._find_records(connector, file, rows, unchanged=now == listed)
                earlier = self._not_found(connector.source, relpath, path, remote,
                                          [r for r in rows if id(r) not in found])
                rows = self.verified([r for r in rows if id(r) in found], lambda row: found[id(row)])
                plans = self._plans(rows, found)
                rows = [r for r in rows if _action(r) != "redact" or id(r) in plans]
                if not rows:
                    return "rewritten_before" if self.execute and earlier else None
                if not self.execute:
                    for row in rows:
                        self.outcome(row, *(("redacted", f"would be redacted in {relpath}") if id(row) in plans
                                            else ("deleted", f"would be removed from {relpath}")))
                    return None
                drop = [found[id(r)] for r in rows if id(r) not in plans]
                edits = {int(found[id(r)].locator["record"]): (found[id(r)], plans[id(r)]) for r in rows if id(r) in plans}
                self._rewrite(connector, relpath, path, remote, drop, now, edits)
                left, contents = self._left_after(connector, file.relpath, drop, edits)
        except StaleFile as exc:
            for row in rows:
                self.outcome(row, "stale", str(exc))
            return None
        except OSError as exc:
            for row in rows:
                self.outcome(row, "error", f"{relpath}: {one_line(exc)}")
            return None
        for row in rows:
            if id(row) not in plans:
                self.outcome(row, "deleted", f"removed from {relpath}")
            elif int(found[id(row)].locator["record"]) in left:
                self.outcome(row, "error", f"a replaced value is still in the record after rewriting {relpath}")
            else:
                self.outcome(row, "redacted", f"redacted in {relpath}", contents.get(int(found[id(row)].locator["record"])))
        return "rewritten"

    def _plans(self, rows: list[dict], found: dict) -> dict:
        """What each redaction row replaces in its record (keyed by id(row)); a row whose values are not where
        it lists them is stale."""
        plans = {}
        for row in rows:
            if _action(row) == "redact":
                try:
                    plans[id(row)] = replacements(row, found[id(row)], self.key, self.redactors)
                except NotAsListed as exc:
                    self.outcome(row, "stale", str(exc))
        return plans

    def _left_after(self, connector, relpath: str, drop: list[Record], edits: dict) -> tuple[set[int], dict[int, str]]:
        """The edited records (by their number before the rewrite) in which, read again from the rewritten
        file, a replaced value still stands; and the content digest of each as read again."""
        if not edits:
            return set(), {}
        dropped = sorted(int(r.locator["record"]) for r in drop)
        now = {n - sum(d < n for d in dropped): n for n in edits}  # numbers shift past dropped records
        after = {now[int(r.locator["record"])]: r
                 for r in connector.file_records(relpath, lambda r: int(r.locator["record"]) in now)}
        return ({n for n, (_, plan) in edits.items() if n not in after or left_in(plan, after[n])},
                {n: record_digest(self.key, record) for n, record in after.items()})

    def _find_records(self, connector, file, rows: list[dict], unchanged: bool) -> dict[int, Record]:
        """Each row's record as the file holds it now (keyed by id(row)): at its listed number while the
        file is as the sweep saw it, else wherever a record with its id and content digest now is."""
        if unchanged:
            numbers = {int(r["locator"]["record"]) for r in rows}
            at = {int(rec.locator["record"]): rec
                  for rec in connector.file_records(file.relpath, lambda rec: int(rec.locator["record"]) in numbers)}
            return {id(r): at[int(r["locator"]["record"])] for r in rows if int(r["locator"]["record"]) in at}
        wanted = {str(r["record_id"]) for r in rows}
        candidates: dict[tuple[str, str], list[Record]] = defaultdict(list)
        for rec in connector.file_records(file.relpath, lambda rec: shown(self.key, rec.record_id) in wanted):
            candidates[(shown(self.key, rec.record_id), record_digest(self.key, rec))].append(rec)
        found = {}
        for row in rows:
            matches = candidates.get((str(row["record_id"]), row["content_digest"]))
            if matches:
                found[id(row)] = matches.pop(0)
        return found

    def _not_found(self, source: str, relpath: str, path: Path, remote, rows: list[dict]) -> bool:
        """Outcomes of rows whose record is not in the file: deleted by an earlier apply (its log says so,
        or the file is one it wrote), else stale. Whether any was deleted before."""
        if not rows:
            return False
        written_before = self.log.intents.get((source, relpath), set())
        rewritten = bool(written_before) and (remote.sha256() if remote is not None else sha256_file(path)) \
            in written_before
        earlier = False
        for row in rows:
            if rewritten or self.log.deleted_before(row):
                earlier = True
                self.outcome(row, _done_outcome(row), "done by an earlier apply of this worklist")
            else:
                self.outcome(row, "stale", "the listed record is not in the file any more (changed or removed "
                                           "since the sweep)")
        return earlier

    def _rewrite(self, connector, relpath: str, path: Path, remote, records: list[Record],
                 state: tuple[int, int], edits: dict | None = None) -> None:
        """The file without `records` and with the records numbered in `edits` ((record, Replacements))
        replaced, in place: the intent logged and fsynced first."""
        drop = {int(r.locator["record"]) for r in records}
        edits = edits or {}
        ids = {int(r.locator["record"]): check for r in [*records, *(r for r, _ in edits.values())]
               if (check := _id_check(r))}
        with tempfile.TemporaryDirectory(prefix="dhscan-apply-") if remote is not None else nullcontext() as folder:
            if remote is None:
                remove_stale_temporaries(path)
            local = remote.download(Path(folder)) if remote is not None else path
            # a connector that cannot redact is never given edits (third-party ones may not take them)
            result = connector.rewrite_file(local, drop, ids, edits={n: plan.value for n, (_, plan) in edits.items()}) \
                if edits else connector.rewrite_file(local, drop, ids)
            if remote is not None and not remote.unchanged():
                raise StaleFile("the object changed while it was being rewritten")
            if remote is None and _state(path) != state:  # a writer that takes no lock
                result.temp.unlink(missing_ok=True)
                raise StaleFile("the file changed while it was being rewritten")
            # The intent is durable before the file changes: a killed run recognises the result.
            self.log.add({"event": "file_intent", "source": connector.source, "file": relpath,
                          "from": {"size": state[0], "mtime_ns": state[1]}, "to_sha256": result.sha256,
                          "records": sorted(drop), **({"redacted": sorted(edits), "replacement_digests": sorted(
                              set().union(*(plan.written for _, plan in edits.values()))),
                              "redacted_contents": sorted(plan.content_after(self.key, record)
                                                          for record, plan in edits.values())} if edits else {})})
            self.log.flush()
            self.log.intents[(connector.source, relpath)].add(result.sha256)
            if remote is not None:
                remote.put(result.temp)
            else:
                replace(result.temp, path)


def _action(row: dict) -> str:
    return row.get("action") or "delete"


def _done_outcome(row: dict) -> str:
    return "already_redacted" if _action(row) == "redact" else "already_absent"


def _state(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


def _id_check(record: Record) -> tuple[str, str] | None:
    """(field, value) the rewrite checks on the record it drops, from the record as re-read: its id field,
    or the `id` a trace export's locator names."""
    locator = record.locator
    if locator.get("id_field"):
        return locator["id_field"], record.record_id
    if locator.get("id"):
        return "id", str(locator["id"])
    return None


def apply_worklist(worklist: Path, holds: list[Hold], key: DigestKey, execute: bool, log_path: Path | None,
                   overrides: dict[str, str], batch_size: int = 500, no_holds: bool = False,
                   vacuum: bool = False) -> ApplyResult:
    rows = read_worklist(worklist)
    evidence = sweep_evidence(worklist)
    check_run(worklist, rows, evidence, key)
    check_holds_given(worklist, evidence, holds, no_holds)
    if execute and log_path is None:
        log_path = default_log(worklist)
    with exclusive(log_path, "apply log") if log_path is not None else nullcontext():
        log = ApplyLog(log_path)
        applier = Applier(rows, source_uris(evidence, overrides), holds, key, execute, log, batch_size,
                          vacuum=vacuum)
        applier.result.sample_warning = sample_warning(evidence)
        applier.result.log_path = log_path
        if applier.result.sample_warning:
            log.add({"event": "coverage", "sampling": evidence["sampling"], "warning": applier.result.sample_warning})
        return applier.run()


def default_log(worklist: Path) -> Path:
    """The log an `--execute` without `--log` keeps beside its worklist: a re-run finds it, so records an
    earlier (killed) run deleted are told `already_absent`, not `stale`."""
    return worklist.with_name(f"{worklist.name.split('.')[0]}.apply-log.jsonl")

