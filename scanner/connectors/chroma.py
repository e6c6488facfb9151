"""Chroma collections through chromadb: a persistent folder or a server. Never reads embeddings;
telemetry is off, so no call leaves the host."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from scanner.connectors.base import ReadReport
from scanner.connectors.vectors import PAGE, StoreConnector, guarded, pages, payload_record, sample_ids
from scanner.core.errors import UsageError, one_line
from scanner.core.records import Record
from scanner.core.sampling import SamplePlan


DELETE_OPERATION = 3  # chromadb's Operation.DELETE, as the write-ahead log (embeddings_queue) records it
# What to tell the user when a soft-deleted document is still in the store's files.
SOFT_DELETE_ADVICE = ("Chroma's deletes are soft (chroma-core/chroma#3793, #7659): deleted documents stay in the "
                      "write-ahead log (embeddings_queue in chroma.sqlite3) and their vectors in the HNSW files, and "
                      "`chroma vacuum --path {path} --force` is not guaranteed to remove them. To erase them, "
                      "rebuild the collection: copy the remaining records into a new store, replace {path} with "
                      "it, and destroy the old files and their backups; then run apply again to check.")
SHARD_RECORDS = 50_000  # on a cluster, a Chroma server's collections are read in offset ranges of this size
OFFSET = "::offset="  # between a collection and its offset range in a shard name


class ChromaConnector(StoreConnector):
    name = "chroma"
    options = frozenset({"collection", "token_env", "token_header", "tenant_name", "database", "embed"})
    description = "Chroma: a persistent folder (chroma:PATH) or a server (chroma+http://HOST:PORT, chroma+https://)"
    secret_env_option = "token_env"

    def client(self):
        if self._client is not None:
            return self._client
        # Before chromadb is imported: its telemetry must never start.
        os.environ["ANONYMIZED_TELEMETRY"] = "False"
        try:
            import chromadb
            from chromadb.config import Settings
        except ImportError:
            raise UsageError("the chroma connector needs chromadb: pip install 'dhscan[chroma]'") from None
        settings = Settings(anonymized_telemetry=False)
        extra = {k: self.uri.options[o] for k, o in (("tenant", "tenant_name"), ("database", "database"))
                 if self.uri.options.get(o)}
        if self.server:
            parts = urlsplit(self.url)
            headers = {}
            token_env = self.uri.options.get("token_env")
            if token_env:
                header = self.uri.options.get("token_header") or "Authorization"
                token = os.environ[token_env]
                headers[header] = f"Bearer {token}" if header.lower() == "authorization" else token
            self._client = guarded(self.source, f"connect to {self.url}", lambda: chromadb.HttpClient(
                host=parts.hostname, port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https", headers=headers, settings=settings, **extra))
            return self._client
        path = Path(self.uri.path).expanduser()
        if not (path / "chroma.sqlite3").is_file():
            raise self.fail(f"{self.uri.path} is not a Chroma persistent store (no chroma.sqlite3)"
                            if path.exists() else f"no such folder: {self.uri.path}")
        self._client = guarded(self.source, "open the store",
                               lambda: chromadb.PersistentClient(path=str(path), settings=settings, **extra))
        return self._client

    def list_collections(self) -> list[str]:
        return [c if isinstance(c, str) else c.name for c in self.client().list_collections()]

    def _collection(self, name: str):
        # No embedding function: dhscan never embeds, and the default one would fetch a model.
        return guarded(self.source, self._where(f"open collection {name!r}"),
                       lambda: self.client().get_collection(name, embedding_function=None))

    def _records(self, collection: str, result: dict) -> Iterator[Record]:
        store = self.store()
        for item_id, document, metadata in zip(result["ids"], result["documents"] or [None] * len(result["ids"]),
                                              result["metadatas"] or [None] * len(result["ids"])):
            documents = [("document", document)] if isinstance(document, str) and document else []
            yield payload_record(self, self._record_id(collection, item_id),
                                 {"collection": collection, "id": item_id, "store": store},
                                 dict(metadata or {}), "metadata.", documents)

    def shards(self) -> list[str | None]:
        """A server's collections in offset ranges (`kb::offset=0-50000`); a persistent folder is one
        shard, as one process at a time should open it."""
        if not self.server:
            return [None]
        parts = []
        for name in self.collections():
            count = guarded(self.source, self._where("count"), self._collection(name).count)
            parts += [f"{name}{OFFSET}{start}-{min(start + SHARD_RECORDS, count)}"
                      for start in range(0, count, SHARD_RECORDS)]
        return self.shards_of(parts)

    def _windows(self) -> dict[str, tuple[int, int | None]]:
        """The collections this connector reads, each with its offset range (end None: to the end)."""
        if self.shard is None:
            return {name: (0, None) for name in self.collections()}
        name, _, span = self.shard.rpartition(OFFSET)
        start, end = span.split("-")
        return {name: (int(start), int(end))}

    def _window(self, collection, start: int, end: int | None, size: int, include: list[str], what: str):
        """The pages `collection.get` gives over the offsets [start, end) (end None: to the end)."""
        offset = start
        while end is None or offset < end:
            limit = size if end is None else min(size, end - offset)
            page = guarded(self.source, self._where(what),
                           lambda: collection.get(limit=limit, offset=offset, include=include))
            yield page
            if len(page["ids"]) < limit:
                return
            offset += limit

    def _ids(self, collection, start: int, end: int | None) -> list[str]:
        return [item_id for page in self._window(collection, start, end, 1000, [], f"list ids of {collection.name!r}")
                for item_id in page["ids"]]

    def records(self, plan: SamplePlan, report: ReadReport) -> Iterator[Record]:
        windows = self._windows()
        collections = {name: self._collection(name) for name in windows}
        report.stats["collections"] = list(collections)
        if plan.mode == "full":
            report.records_total = sum(guarded(self.source, self._where("count"), c.count) if windows[n][1] is None
                                       else windows[n][1] - windows[n][0] for n, c in collections.items())
            for name, collection in collections.items():
                for result in self._window(collection, *windows[name], PAGE, ["documents", "metadatas"],
                                           f"read {name!r}"):
                    for record in self._records(name, result):
                        report.advance()
                        yield record
            return
        everything = [(name, item_id) for name, c in collections.items() for item_id in self._ids(c, *windows[name])]
        report.records_total = len(everything)
        for batch in pages(sample_ids(plan, everything)):
            by_collection: dict[str, list[str]] = {}
            for name, item_id in batch:
                by_collection.setdefault(name, []).append(item_id)
            for name, ids in by_collection.items():
                result = guarded(self.source, self._where(f"read {name!r}"), lambda: collections[name].get(
                    ids=ids, include=["documents", "metadatas"]), names_keys=True)
                order = {item_id: i for i, item_id in enumerate(ids)}
                for record in sorted(self._records(name, result), key=lambda r: order[r.locator["id"]]):
                    report.advance()
                    yield record

    def _split(self, record_ids: list[str]) -> dict[str, list[str]]:
        return self.split_ids(record_ids)

    def record_ids(self) -> list[str]:
        """Every record id in the collections read (apply matches ids shown masked against these)."""
        return [self._record_id(name, item_id) for name in self.collections()
                for item_id in self._ids(self._collection(name), 0, None)]

    def fetch(self, record_ids: list[str]) -> dict[str, Record]:
        """The documents of `record_ids` as Records, read now (absent ones left out)."""
        found: dict[str, Record] = {}
        for name, ids in self._split(record_ids).items():
            collection = self._collection(name)
            result = guarded(self.source, self._where(f"read {name!r}"),
                             lambda: collection.get(ids=ids, include=["documents", "metadatas"]), names_keys=True)
            found.update((record.record_id, record) for record in self._records(name, result))
        return found

    def redact(self, edits) -> None:
        """Each record's document and metadata written again as its edit of `{"document", "metadata"}`
        returns them; the stored embedding is passed back as it is (Chroma would otherwise embed the new
        document itself), or, with `embed=module:function`, computed again from the redacted document."""
        embed = self._embed_function()
        for name, ids in self._split(list(edits)).items():
            collection = self._collection(name)
            result = guarded(self.source, self._where(f"read {name!r}"), lambda: collection.get(
                ids=ids, include=["documents", "metadatas", "embeddings"]), names_keys=True)
            new = [edits[self._record_id(name, item_id)]({"document": document, "metadata": dict(metadata or {})})
                   for item_id, document, metadata in zip(result["ids"], result["documents"], result["metadatas"])]
            documents = [n["document"] for n in new]
            embeddings = embed([d or "" for d in documents]) if embed else result["embeddings"]
            guarded(self.source, self._where(f"update {name!r}"), lambda: collection.update(
                ids=result["ids"], documents=documents, metadatas=[n["metadata"] or None for n in new],
                embeddings=embeddings), names_keys=True)

    def _embed_function(self):
        spec = self.uri.options.get("embed")
        if not spec:
            return None
        module, _, function = spec.partition(":")
        try:
            import importlib

            return getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError, ValueError):
            raise UsageError(f"source {self.source!r}: embed={spec}: no such function (module:function)") from None

    def redaction_residue(self, record_ids: list[str]) -> list[dict]:
        """The embedding (unless `embed=` computed it again), and a local store's write-ahead log, which
        keeps each record's earlier writes, original text included."""
        events = [] if self.uri.options.get("embed") else super().redaction_residue(record_ids)
        for event in self.residue(record_ids):
            events.append({**event, "summary": f"{event['records']} of {event['of']} redacted records: the original "
                           "text is still in the store's write-ahead log (chroma.sqlite3)",
                           "advice": SOFT_DELETE_ADVICE.format(path=Path(self.uri.path).expanduser().resolve())
                           .replace("deleted documents", "overwritten documents")})
        return events

    def residue(self, record_ids: list[str]) -> list[dict]:
        """Deleted records whose additions are still in a local store's write-ahead log (Chroma's deletes are
        soft): counted exactly, from the log itself. A server's files are out of reach: nothing."""
        if self.server or not record_ids:
            return []
        store = Path(self.uri.path).expanduser().resolve()
        kept: set[str] = set()
        try:
            with closing(sqlite3.connect(f"file:{store / 'chroma.sqlite3'}?mode=ro", uri=True)) as db:
                collection_ids = dict(db.execute("SELECT name, id FROM collections"))
                for name, ids in self._split(sorted(set(record_ids))).items():
                    if name not in collection_ids:
                        continue
                    for page in pages(ids, 500):
                        query = (f"SELECT DISTINCT id FROM embeddings_queue WHERE topic LIKE ? AND operation != "
                                 f"{DELETE_OPERATION} AND id IN ({','.join('?' * len(page))})")
                        kept.update(self._record_id(name, item_id) for (item_id,) in
                                    db.execute(query, [f"%/{collection_ids[name]}", *page]))
        except sqlite3.Error as exc:
            raise self.fail(f"cannot read the store's write-ahead log to check for residue: {one_line(exc)}")
        if not kept:
            return []
        return [{"event": "residue", "source": self.source, "records": len(kept), "of": len(set(record_ids)),
                 "files": ["chroma.sqlite3"], "advice": SOFT_DELETE_ADVICE.format(path=store)}]

    def delete(self, record_ids: list[str]) -> None:
        for name, ids in self._split(record_ids).items():
            collection = self._collection(name)
            guarded(self.source, self._where(f"delete from {name!r}"), lambda: collection.delete(ids=ids),
                    names_keys=True)

    def verify_absent(self, record_ids: list[str]) -> list[str]:
        present = []
        for name, ids in self._split(record_ids).items():
            collection = self._collection(name)
            found = guarded(self.source, self._where(f"read {name!r}"), lambda: collection.get(ids=ids, include=[]),
                            names_keys=True)
            present.extend(self._record_id(name, item_id) for item_id in found["ids"])
        return sorted(present)


