"""What the vector-store connectors share: payloads as Records, seeded sampling by point id, paging."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from scanner.connectors.base import BY_ID, Connector
from scanner.core.errors import DhscanError, SourceError, UsageError, one_line
from scanner.core.fields import TIME_FIELDS, detect_field, get_path, parse_timestamp, string_leaves
from scanner.core.records import Record
from scanner.core.sampling import SamplePlan
from scanner.core.uri import SourceURI, redact_uri_text

T = TypeVar("T")
PAGE = 256  # points fetched per request


def id_number(point_id: Any) -> int:
    """A point id as the integer its sample key is made from: the id itself, a UUID's value, or a hash."""
    if isinstance(point_id, int):
        return point_id & ((1 << 64) - 1)
    text = str(point_id)
    try:
        return uuid.UUID(text).int & ((1 << 64) - 1)
    except ValueError:
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def sample_ids(plan: SamplePlan, ids: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The (collection, point id) pairs a plan keeps: seeded, whatever order the store listed them in."""
    return list(plan.select(ids, lambda item: (item[0], id_number(item[1]))))


def pages(items: list[T], size: int = PAGE) -> Iterator[list[T]]:
    for at in range(0, len(items), size):
        yield items[at:at + size]


def payload_record(connector: Connector, record_id: str, locator: dict, payload: dict[str, Any],
                   prefix: str, extra_texts: Iterable[tuple[str, str]] = ()) -> Record:
    """A point or document as a Record: texts from its payload (or the `text=` fields), time and attributes."""
    payload = payload or {}
    time_field = connector.time_field or detect_field(payload, TIME_FIELDS)
    texts = dict(extra_texts)
    if connector.text_fields:
        for name in connector.text_fields:
            texts.update(string_leaves(get_path(payload, name), f"{prefix}{name}", stringify=True))
    else:
        for key, value in payload.items():
            if key != time_field:
                texts.update(string_leaves(value, f"{prefix}{key}"))
    attributes = {k: str(v) for k, v in payload.items() if isinstance(v, (str, int, float, bool))}
    return Record(source=connector.source, kind=connector.kind, record_id=record_id, locator=locator,
                  texts=texts, timestamp=parse_timestamp(get_path(payload, time_field)) if time_field else None,
                  attributes=attributes)


def guarded(source: str, what: str, call: Callable[[], T], names_keys: bool = False) -> T:
    """Run a store call; any failure of the store becomes a one-line SourceError. `names_keys`: the call
    carries record keys or values (a filter written out, a list of ids), which the client's message
    could quote, so only the error's type is said."""
    try:
        return call()
    except DhscanError:
        raise
    except Exception as exc:  # noqa: BLE001 - clients raise transport, HTTP and gRPC errors of many types
        detail = "" if names_keys else f": {one_line(exc)[:300]}"
        raise SourceError(source, f"{what}: {type(exc).__name__}{detail}") from None


REEMBED_ADVICE = ("a vector can leak the text it was computed from (embedding inversion): compute the "
                  "redacted records' embeddings again from their redacted text and upsert them")


class StoreConnector(Connector):
    """What the vector-store connectors share: a local folder (`NAME:PATH`) or a server
    (`NAME+http://HOST:PORT`), one collection or all of them, and the record ids that follow."""

    default_kind = "vector_index"
    picks_bare_paths = False
    deletes = BY_ID
    redacts = BY_ID
    secret_env_option: str = ""  # the URI option that names an environment variable holding a secret
    collection_word = "collection"  # what the store calls the sets of records it holds

    def __init__(self, uri: SourceURI):
        super().__init__(uri)
        self.collection = uri.options.get("collection") or None
        if self.collection and "name" not in uri.options:
            self.source = self.collection  # a server address or store folder says less than the collection
        self.server = uri.scheme in (f"{self.name}+http", f"{self.name}+https")
        if self.server:
            self.url = f"{uri.scheme.split('+')[1]}:{uri.path}"
        secret_env = uri.options.get(self.secret_env_option)
        if secret_env and secret_env not in os.environ:
            raise UsageError(f"source {uri.redacted()!r}: {self.secret_env_option} names {secret_env}, which is not set")
        self._client = None

    def copy_to(self, folder: Path) -> str:
        """A local store's folder copied whole; a server's collections cannot be copied from here."""
        import shutil

        if self.server:
            raise UsageError(f"source {self.source!r}: a {self.name} server cannot be copied: redact it --in-place "
                             "(or a copy of it made with the store's own tools)")
        path = Path(self.uri.path).expanduser()
        if not path.is_dir():
            raise self.fail(f"no such folder: {self.uri.path}")
        shutil.copytree(path, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".lock"))
        from scanner.connectors.files import copy_uri

        return copy_uri(self.uri, self.name, self.source, str(folder))

    def redaction_residue(self, record_ids: list[str]) -> list[dict]:
        """The stored vectors were computed from the original text: redacting the payload leaves them."""
        return [{"event": "residue", "source": self.source, "records": len(set(record_ids)),
                 "of": len(set(record_ids)), "summary": f"{len(set(record_ids))} redacted records: embedding still "
                 "derived from the original text; re-embed", "advice": REEMBED_ADVICE}]

    def position(self, record: Record) -> tuple[str, int]:
        locator = record.locator
        return locator["collection"], id_number(locator["id"] if "id" in locator else locator["point_id"])

    def store(self) -> str:
        """Where the records live, for their locators."""
        return redact_uri_text(self.url) if self.server else str(Path(self.uri.path).expanduser().resolve())

    def _where(self, what: str) -> str:
        return f"{what} at {redact_uri_text(self.url)}" if self.server else what

    def _record_id(self, collection: str, item_id: Any) -> str:
        return str(item_id) if self.collection else f"{collection}/{item_id}"

    def split_ids(self, record_ids: list[str], typed: Callable[[str, str], Any] = lambda _, raw: raw
                  ) -> dict[str, list[Any]]:
        """Record ids back to {collection: [the store's ids]}, each made by `typed(collection, raw)`:
        `COLLECTION/ID` when every collection is read (collection names hold no "/", an id may)."""
        grouped: dict[str, list[Any]] = {}
        for record_id in record_ids:
            collection, raw = (self.collection, record_id) if self.collection else record_id.partition("/")[::2]
            if not collection:
                raise self.fail(f"a record id names no {self.collection_word}")
            grouped.setdefault(collection, []).append(typed(collection, raw))
        return grouped

    def sampled(self, plan: SamplePlan, everything: list[tuple[str, Any]],
                fetch: Callable[[str, list[Any]], dict[Any, Any]], size: int = PAGE) -> Iterator[tuple[str, Any]]:
        """The (collection, item) of each sampled (collection, id) pair, in sample order, fetched a page at
        a time by `fetch(collection, ids)` -> {id: item}; an id deleted since it was listed is left out."""
        for batch in pages(sample_ids(plan, everything), size):
            by_collection: dict[str, list] = {}
            for collection, item_id in batch:
                by_collection.setdefault(collection, []).append(item_id)
            for collection, ids in by_collection.items():
                found = fetch(collection, ids)
                yield from ((collection, found[i]) for i in ids if i in found)

    def list_collections(self) -> list[str]:
        raise NotImplementedError

    def collections(self) -> list[str]:
        """The collection named in the URI, or every collection; a missing one lists those there are."""
        names = sorted(guarded(self.source, self._where("list collections"), self.list_collections))
        if self.collection is None:
            if not names:
                raise self.fail(f"the store has no {self.collection_word}s")
            return names
        if self.collection not in names:
            raise self.fail(f"no {self.collection_word} {self.collection!r} ({self.collection_word}s: "
                            f"{', '.join(names) or 'none'})")
        return [self.collection]
