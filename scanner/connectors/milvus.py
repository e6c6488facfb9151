"""Milvus collections through pymilvus: Milvus Lite's local file (embedded) or a server.

Entities are read with their scalar and dynamic fields, never their vectors, found again by primary
key, deleted by it and redacted by an upsert of the whole entity (its vectors passed back as read).
Milvus only marks deleted entities: their data stays in the segments until compaction, and old
segment files until garbage collection; the residue says so.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable, Iterator

from scanner.connectors.base import ReadReport
from scanner.connectors.vectors import PAGE, StoreConnector, guarded, pages, payload_record
from scanner.core.errors import UsageError
from scanner.core.records import Record
from scanner.core.sampling import SamplePlan

FIRST_VECTOR_TYPE = 100  # pymilvus DataType: BINARY_VECTOR and every vector type after it
INTEGER_TYPES = {2, 3, 4, 5}  # pymilvus DataType: INT8 to INT64
RESIDUE_ADVICE = ("Milvus marks deleted entities and keeps their data in the collection's segments until they "
                  "are compacted, and the old segment files until garbage collection: run a compaction "
                  "(MilvusClient.compact) and wait for the garbage collector, then check the store's backups")


class MilvusConnector(StoreConnector):
    name = "milvus"
    options = frozenset({"collection", "token_env"})
    description = "Milvus: a Milvus Lite file (milvus:PATH.db) or a server (milvus+http://HOST:PORT, milvus+https://)"
    secret_env_option = "token_env"

    def __init__(self, uri):
        super().__init__(uri)
        self._fields: dict[str, tuple[str, list[str], list[str]]] = {}
        self._integer_keys: dict[str, bool] = {}
        self._loaded_by_us: list[str] = []

    def client(self):
        if self._client is not None:
            return self._client
        try:
            from pymilvus import MilvusClient
        except ImportError:
            raise UsageError("the milvus connector needs pymilvus: pip install 'dhscan[milvus]'") from None
        # pymilvus prints warnings of its own on stderr (Milvus Lite has no server timestamps for its
        # iterators); failures reach dhscan as exceptions, said in one line
        logging.getLogger("pymilvus").setLevel(logging.ERROR)
        if self.server:
            token_env = self.uri.options.get("token_env")
            self._client = guarded(self.source, self._where("connect"), lambda: MilvusClient(
                uri=self.url, token=os.environ[token_env] if token_env else "", timeout=30))
            return self._client
        path = Path(self.uri.path).expanduser()
        if not path.exists():  # Milvus Lite would make an empty store there
            raise self.fail(f"no such Milvus Lite store: {self.uri.path}")
        try:
            self._client = MilvusClient(str(path))
        except Exception as exc:  # noqa: BLE001 - pymilvus says only "Open local milvus failed"
            raise self.fail(f"{self.uri.path} cannot be opened as a Milvus Lite store: another process has it "
                            f"open (Milvus Lite serves one process at a time), or it is not one "
                            f"({type(exc).__name__})") from None
        return self._client

    def close(self) -> None:
        if self._client is not None:
            for name in self._loaded_by_us:  # a collection loaded to be read goes back to the state it was in
                guarded(self.source, self._where(f"release {name!r}"), lambda: self._client.release_collection(name))
            self._client.close()
            self._client, self._fields, self._loaded_by_us = None, {}, []
            if not self.server:  # Milvus Lite serves the store from this process until released
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(str(Path(self.uri.path).expanduser()))

    def copy_to(self, folder: Path) -> str:
        """A Milvus Lite store copied whole under its own name (Milvus Lite opens only a path ending in .db)."""
        if self.server:
            return super().copy_to(folder)
        self.close()
        path = Path(self.uri.path).expanduser()
        super().copy_to(folder / path.name)
        from scanner.connectors.files import copy_uri

        return copy_uri(self.uri, self.name, self.source, str(folder / path.name))

    def list_collections(self) -> list[str]:
        return self.client().list_collections()

    def fields(self, collection: str) -> tuple[str, list[str], list[str]]:
        """(primary key field, the fields read, the vector fields); the collection loaded to be read."""
        if collection not in self._fields:
            described = guarded(self.source, self._where(f"describe {collection!r}"),
                                lambda: self.client().describe_collection(collection))
            primary = next(f for f in described["fields"] if f.get("is_primary"))
            key = primary["name"]
            self._integer_keys[collection] = int(primary["type"]) in INTEGER_TYPES
            vectors = [f["name"] for f in described["fields"] if int(f["type"]) >= FIRST_VECTOR_TYPE]
            read = [f["name"] for f in described["fields"] if f["name"] not in vectors]
            if described.get("enable_dynamic_field"):
                read.append("$meta")
            state = guarded(self.source, self._where(f"load state of {collection!r}"),
                            lambda: self.client().get_load_state(collection))
            if "NotLoad" in str(state.get("state")):
                guarded(self.source, self._where(f"load {collection!r}"),
                        lambda: self.client().load_collection(collection))
                self._loaded_by_us.append(collection)
            self._fields[collection] = (key, read, vectors)
        return self._fields[collection]

    def _record(self, collection: str, entity: dict) -> Record:
        key = self.fields(collection)[0]
        payload = {k: v for k, v in entity.items() if k != key}
        return payload_record(self, self._record_id(collection, entity[key]),
                              {"collection": collection, "id": entity[key], "store": self.store()}, payload, "")

    def _get(self, collection: str, ids: list[Any], everything: bool = False) -> dict[Any, dict]:
        key, read, _ = self.fields(collection)
        found = {}
        for page in pages(ids):
            got = guarded(self.source, self._where(f"get from {collection!r}"), lambda: self.client().get(
                collection, ids=page, output_fields=["*"] if everything else read), names_keys=True)
            found.update({entity[key]: dict(entity) for entity in got})
        return found

    def _iterate(self, collection: str, fields: list[str]) -> Iterator[dict]:
        iterator = guarded(self.source, self._where(f"read {collection!r}"), lambda: self.client().query_iterator(
            collection, batch_size=PAGE, filter="", output_fields=fields))
        try:
            while batch := guarded(self.source, self._where(f"read {collection!r}"), iterator.next):
                yield from batch
        finally:
            iterator.close()

    def _keys(self, collection: str) -> list[Any]:
        key = self.fields(collection)[0]
        return [entity[key] for entity in self._iterate(collection, [key])]

    def _count(self, collection: str) -> int:
        self.fields(collection)
        rows = guarded(self.source, self._where(f"count {collection!r}"), lambda: self.client().query(
            collection, filter="", output_fields=["count(*)"]))
        return int(rows[0]["count(*)"])

    def records(self, plan: SamplePlan, report: ReadReport) -> Iterator[Record]:
        try:
            collections = self.collections()
            if plan.mode == "full":
                report.records_total = sum(self._count(c) for c in collections)
                for collection in collections:
                    for entity in self._iterate(collection, self.fields(collection)[1]):
                        report.advance()
                        yield self._record(collection, entity)
                return
            everything = [(c, k) for c in collections for k in self._keys(c)]
            report.records_total = len(everything)
            for collection, entity in self.sampled(plan, everything, self._get):
                report.advance()
                yield self._record(collection, entity)
        finally:
            self.close()

    def _split(self, record_ids: list[str]) -> dict[str, list[Any]]:
        return self.split_ids(record_ids, self._typed)

    def _typed(self, collection: str, raw: str) -> Any:
        """A primary key as its field's type (a VARCHAR key that looks like a number stays text)."""
        self.fields(collection)
        return int(raw) if self._integer_keys[collection] and raw.lstrip("-").isdigit() else raw

    def record_ids(self) -> list[str]:
        try:
            return [self._record_id(c, k) for c in self.collections() for k in self._keys(c)]
        finally:
            self.close()

    def fetch(self, record_ids: list[str]) -> dict[str, Record]:
        try:
            return {r.record_id: r for c, keys in self._split(record_ids).items()
                    for r in (self._record(c, e) for e in self._get(c, keys).values())}
        finally:
            self.close()

    def delete(self, record_ids: list[str]) -> None:
        try:
            for collection, keys in self._split(record_ids).items():
                for page in pages(keys):
                    guarded(self.source, self._where(f"delete from {collection!r}"),
                            lambda: self.client().delete(collection, ids=page), names_keys=True)
        finally:
            self.close()

    def verify_absent(self, record_ids: list[str]) -> list[str]:
        try:
            return sorted(self._record_id(c, k) for c, keys in self._split(record_ids).items()
                          for k in self._get(c, keys))
        finally:
            self.close()

    def redact(self, edits: dict[str, Callable[[Any], Any]]) -> None:
        """Each entity upserted whole: its fields as its edit returns them, its vectors as they were read."""
        try:
            for collection, keys in self._split(list(edits)).items():
                key, _, vectors = self.fields(collection)
                entities = []
                for k, entity in self._get(collection, keys, everything=True).items():
                    payload = {f: v for f, v in entity.items() if f != key and f not in vectors}
                    entities.append({**edits[self._record_id(collection, k)](payload), key: k,
                                     **{v: entity[v] for v in vectors}})
                for page in pages(entities):
                    guarded(self.source, self._where(f"upsert into {collection!r}"),
                            lambda: self.client().upsert(collection, page), names_keys=True)
        finally:
            self.close()

    def residue(self, record_ids: list[str]) -> list[dict]:
        n = len(set(record_ids))
        return [{"event": "residue", "source": self.source, "records": n, "of": n,
                 "summary": f"{n} deleted entities are still in the collection's segments until compaction",
                 "advice": RESIDUE_ADVICE}]

    def redaction_residue(self, record_ids: list[str]) -> list[dict]:
        kept = [{**e, "summary": e["summary"].replace("deleted entities", "redacted entities' old values")}
                for e in self.residue(record_ids)]
        return super().redaction_residue(record_ids) + kept
