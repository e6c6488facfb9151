"""The connector base class: reads a source as Records for a sampling plan."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

from scanner.connectors import byteranges
from scanner.connectors.byteranges import ByteRange, RangeCount, ranges_of
from scanner.connectors.jsonvalues import max_record_bytes
from scanner.connectors.files import SourceFile, copied_path, copy_files, copy_uri, file_uri, is_s3, list_files
from scanner.connectors.rewriting import IdChecks, Rewrite
from scanner.connectors.s3files import s3_versions_residue
from scanner.core.errors import SourceError, UsageError, one_line
from scanner.core.records import Record, SkippedRecord
from scanner.core.sampling import SamplePlan
from scanner.core.uri import COMMON_OPTIONS, SourceURI


def attribute_fields(uri: SourceURI) -> dict[str, str]:
    """`attributes=user:user_id,tenant` -> {"user": "user_id", "tenant": "tenant"}: the fields whose values
    become record attributes, which retention rules and legal holds match on."""
    found: dict[str, str] = {}
    for spec in (uri.options.get("attributes") or "").split(","):
        name, sep, path = spec.strip().partition(":")
        if not spec.strip():
            continue
        if not name.strip() or (sep and not path.strip()):
            raise UsageError(f"source {uri.redacted()!r}: attributes takes NAME or NAME:FIELD, comma-separated")
        found[name.strip()] = path.strip() or name.strip()
    return found


REWRITES_FILES = "rewrites files"
BY_ID = "by id"


class RecordUnreadable(Exception):
    """One record cannot be read; it is skipped and counted, the source goes on.

    The message names positions and fields only, never content: it is shown to users.
    """

    def __init__(self, category: str, reason: str):
        super().__init__(reason)
        self.category = category


@dataclass
class Candidate:
    """A record before it is read: where it is, and how to read it."""

    file: str  # path relative to the source root
    row: int  # 0-based record number in that file
    load: Callable[[], Record]
    line: int | None = None  # physical line, where it differs from row + 1

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line if self.line is not None else self.row + 1}"


@dataclass
class ReadReport:
    """What a connector tells the pipeline while it reads."""

    records_total: int | None = None
    records_read: int = 0
    skipped: list[SkippedRecord] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def skip(self, location: str, category: str, reason: str, position: tuple[str, int] | None = None) -> None:
        self.skipped.append(SkippedRecord(location, category, reason, position))

    def advance(self, n: int = 1) -> None:
        self.records_read += n


class Connector:
    """A source of Records. Subclasses set `name`, `extensions` and implement `candidates`."""

    name: ClassVar[str] = ""
    extensions: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[frozenset[str]] = frozenset()
    description: ClassVar[str] = ""
    default_kind: ClassVar[str] = "eval_dataset"
    # Whether a bare path with one of `extensions` picks this connector; formats that share an
    # extension with a general one (OTLP files are .jsonl too) need their scheme named.
    picks_bare_paths: ClassVar[bool] = True
    # Files whose presence in a folder given as a bare path makes it this connector's.
    folder_markers: ClassVar[tuple[str, ...]] = ()
    # How `dhscan apply` deletes a record from this source: REWRITES_FILES (`rewrite_file`), BY_ID
    # (`fetch`, `delete`, `verify_absent`), or None: it cannot, and apply says so for its rows.
    deletes: ClassVar[str | None] = None
    # How `dhscan apply` and `dhscan redact` replace values inside records: REWRITES_FILES (`rewrite_file`
    # with `edits`), BY_ID (`fetch`, `redact`), or None: it cannot. Never other than `deletes`.
    redacts: ClassVar[str | None] = None
    # Whether `dhscan apply --vacuum` can make the store drop what it keeps of deleted and overwritten
    # records (old versions, deleted rows left in data files): `vacuum` then does it.
    vacuums: ClassVar[bool] = False
    # Whether records' locators name files of the source's path (`file_uri`).
    reads_files: ClassVar[bool] = False

    # The part of the source a cluster worker reads (see `shards`); None: all of it.
    shard: str | ByteRange | None = None

    def __init__(self, uri: SourceURI):
        unknown = set(uri.options) - COMMON_OPTIONS - self.options
        if unknown:
            allowed = ", ".join(sorted(COMMON_OPTIONS | self.options))
            raise UsageError(f"source {uri.redacted()!r}: unknown option(s) {', '.join(sorted(unknown))} "
                             f"(allowed: {allowed})")
        self.uri = uri
        self.source = uri.name
        self.kind = uri.options.get("kind") or self.default_kind
        self.id_field = uri.options.get("id") or None
        self.time_field = uri.options.get("time") or None
        text = uri.options.get("text")
        self.text_fields = [t.strip() for t in text.split(",") if t.strip()] if text else None
        self.attribute_fields = attribute_fields(uri)

    def fail(self, problem: str) -> SourceError:
        return SourceError(self.source, problem)

    def shards(self) -> list[str | ByteRange | None]:
        """The parts a cluster reads apart (file paths, byte ranges); [None]: the source is read as one part."""
        return [None]

    @staticmethod
    def shards_of(parts: list) -> list:
        """Parts worth reading apart: two or more of them."""
        return parts if len(parts) > 1 else [None]

    def position(self, record: Record) -> tuple[str, int]:
        """A record's sample position (file, row): what its sample key is made from, and its place in the
        order a local `--sample N` run gives."""
        return record.locator.get("file", ""), int(record.locator.get("record", 1)) - 1

    def in_shard(self, files: list) -> list:
        """The files of this connector's shard (all of them when it reads the whole source)."""
        return files if self.shard is None else [f for f in files if f.relpath == self.shard]

    def candidates(self, report: ReadReport) -> Iterator[Candidate]:
        raise NotImplementedError

    def file_records(self, relpath: str, keep: Callable[[Record], bool]) -> Iterator[Record]:
        """The records of one file that `keep` keeps, read now as a sweep reads them: what apply
        compares with a worklist before it deletes anything."""
        reader = copy.copy(self)
        reader.shard = relpath
        for record in reader.records(SamplePlan("full"), ReadReport()):
            if record.locator.get("file") == relpath and keep(record):
                yield record

    # -- deleting, for connectors whose `deletes` is REWRITES_FILES --------------------------------
    def deletable_files(self) -> tuple[Any, list[SourceFile]]:
        """The filesystem, and the files apply may rewrite (those the reader reads)."""
        return list_files(self.uri, self.source, self.extensions)

    def rewrite_file(self, path: Path, drop: set[int], ids: IdChecks) -> Rewrite:
        """The local file `path` without the records numbered `drop` (as `file_records` numbers them),
        written beside it; `ids[n]` = (id field, id) is checked on record n before anything is written."""
        raise NotImplementedError

    # A connector whose `redacts` is REWRITES_FILES takes `edits` too: {record number: edit}, each edit
    # given the record's raw value as the file holds it (a JSON value, a CSV row or an Arrow row as a dict
    # of its text columns, a span) and returning it with its values replaced; the record is written again
    # from what it returns, in the file's own format, and its number counts as removed in the Rewrite.

    def copy_to(self, folder: Path) -> str:
        """A copy of the source in the empty local `folder` (modification times kept), and the URI that reads
        it as this source: what `dhscan redact` rewrites, leaving the source as it is."""
        if not self.reads_files or self.redacts is None:
            raise UsageError(f"source {self.source!r}: the {self.name} connector cannot make a redacted copy")
        fs, files = self.deletable_files()
        copy_files(fs, files, folder)
        return copy_uri(self.uri, self.name, self.source, copied_path(self.uri, folder, files))

    def after_rewrite(self, fs, rewritten: dict[str, int], changed: list[str]) -> list[dict]:
        """Log events (`residue` ones are reported to the user) once apply has rewritten files: `rewritten`
        maps the files this run rewrote to the records taken out; `changed` lists those rewritten by this
        run or an earlier run of the same worklist."""
        return [s3_versions_residue(self.source, rewritten)] if rewritten and is_s3(self.uri.path) else []

    # -- deleting, for connectors whose `deletes` is BY_ID ------------------------------------------
    def record_ids(self) -> list[str]:
        """Every record id in the source (apply matches ids the worklist shows masked against these)."""
        raise NotImplementedError

    def fetch(self, record_ids: list[str]) -> dict[str, Record]:
        """The records of `record_ids` as Records, read now; absent ones left out."""
        raise NotImplementedError

    def delete(self, record_ids: list[str]) -> None:
        raise NotImplementedError

    def verify_absent(self, record_ids: list[str]) -> list[str]:
        """Those of `record_ids` still in the source."""
        raise NotImplementedError

    def redact(self, edits: dict[str, Callable[[Any], Any]]) -> None:
        """For `redacts` BY_ID: each record's stored payload (its document and metadata) written again as
        `edits[record id]` returns it; the stored vector is left as it is."""
        raise NotImplementedError

    def redaction_residue(self, record_ids: list[str]) -> list[dict]:
        """Residue events for records redacted by id: what the store still derives from the original text."""
        return []

    def residue(self, record_ids: list[str]) -> list[dict]:
        """Residue events: which of `record_ids` (deleted by this apply or an earlier one) the store still
        keeps a copy of, and where, with advice on erasing them."""
        return []

    def vacuum(self) -> list[dict]:
        """For `vacuums`: the store's old versions and deleted rows removed for good; `vacuum` events."""
        raise NotImplementedError

    def vacuumed_records(self) -> Iterator[Record]:
        """For `vacuums`: the records (in every earlier version) that `vacuum` would destroy; apply checks
        them against the legal holds first."""
        raise NotImplementedError

    def file_uri(self, relpath: str) -> str | None:
        """Where the file a record's locator names is (files.file_uri); None: the source is not files."""
        return file_uri(self.uri.path, relpath) if self.reads_files else None

    def records(self, plan: SamplePlan, report: ReadReport) -> Iterator[Record]:
        """The sampled records; unreadable ones are reported and skipped."""
        def counted():
            for candidate in self.candidates(report):
                report.advance()
                yield candidate

        limit = max_record_bytes()
        for candidate in plan.select(counted(), lambda c: (c.file, c.row)):
            try:
                record = candidate.load()
                size = sum(len(text) for text in record.texts.values())
                if size > limit:
                    raise RecordUnreadable("record_too_large", f"texts of {size:,} characters, more than the "
                                                               f"{limit:,} read (DHSCAN_MAX_RECORD_BYTES)")
            except RecordUnreadable as exc:
                report.skip(candidate.location, exc.category, str(exc), (candidate.file, candidate.row))
                continue
            except RecursionError:
                report.skip(candidate.location, "too_deep", "nested too deeply to read",
                            (candidate.file, candidate.row))
                continue
            yield record
        if report.records_total is None:
            report.records_total = report.records_read


class FileConnector(Connector):
    """A connector reading each file of the source as a stream (JSONL, CSV)."""

    reads_files = True

    # Whether a cluster may read a big uncompressed file in byte ranges (`count_range`, `range_candidates`).
    splits_into_byte_ranges: ClassVar[bool] = False

    def shards(self) -> list[str | ByteRange | None]:
        _, files = list_files(self.uri, self.source, self.extensions)
        parts: list = []
        for file in files:
            if (self.splits_into_byte_ranges and file.size > byteranges.RANGE_BYTES
                    and not file.relpath.endswith(".gz")):
                parts.extend(ranges_of(file.relpath, file.size, byteranges.RANGE_BYTES))
            else:
                parts.append(file.relpath)
        return self.shards_of(parts)

    def candidates(self, report: ReadReport) -> Iterator[Candidate]:
        fs, files = list_files(self.uri, self.source, self.extensions)
        if isinstance(self.shard, ByteRange):
            yield from self._range(fs, files, self.shard, report)
            return
        files = self.in_shard(files)
        report.stats["files"] = len(files)
        report.stats["bytes"] = sum(f.size for f in files)
        for file in files:
            yield from self.stream_candidates(fs, file, report)

    def _range(self, fs, files: list[SourceFile], shard: ByteRange, report: ReadReport) -> Iterator[Candidate]:
        file = self.range_file(files, shard)
        report.stats["files"] = int(shard.start == 0)  # a file is counted once, by its first range
        report.stats["bytes"] = shard.end - shard.start
        try:
            with fs.open_input_file(file.path) as handle:
                yield from self.range_candidates(handle, file, shard, report)
        except OSError as exc:
            raise self.fail(f"{file.relpath}: cannot read: {one_line(exc)}") from None

    def range_file(self, files: list[SourceFile], shard: ByteRange) -> SourceFile:
        found = [f for f in files if f.relpath == shard.file]
        if not found:
            raise self.fail(f"{shard.file}: not in the source any more")
        return found[0]

    def count_range(self, shard: ByteRange) -> RangeCount | None:
        """The lines and records that start in the range; None when the file cannot be read in ranges."""
        fs, files = list_files(self.uri, self.source, self.extensions)
        with fs.open_input_file(self.range_file(files, shard).path) as handle:
            return self.count_lines(handle, shard)

    def count_lines(self, handle, shard: ByteRange) -> RangeCount | None:
        """`count_range` on the open file."""
        raise NotImplementedError

    def range_candidates(self, handle, file: SourceFile, shard: ByteRange, report: ReadReport) -> Iterator[Candidate]:
        """The candidates of a byte range, numbered from `shard.first_line` and `shard.first_row`."""
        raise NotImplementedError

    def stream_candidates(self, fs, file, report: ReadReport) -> Iterator[Candidate]:
        """The candidates of one file, read as a stream; an empty file is reported and skipped."""
        if file.size == 0:
            report.skip(file.relpath, "empty_file", "empty file (0 bytes)")
            return
        try:
            with fs.open_input_stream(file.path) as stream:
                yield from self.file_candidates(stream, file, report)
            after = fs.get_file_info(file.path)
        except OSError as exc:
            raise self.fail(f"{file.relpath}: cannot read: {one_line(exc)}") from None
        if (after.size, after.mtime_ns) != (file.size, file.mtime_ns):
            raise self.fail(f"{file.relpath}: changed while it was read (size or modification time): its "
                            "records may be partly old and partly new; scan it again")

    def file_candidates(self, stream, file, report: ReadReport) -> Iterator[Candidate]:
        raise NotImplementedError
