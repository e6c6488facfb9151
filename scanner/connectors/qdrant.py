"""Qdrant collections through qdrant-client: a local folder (embedded mode) or a server.

Points are paged with scroll and never with their vectors. A sample is chosen from the point
ids by their seeded keys (Qdrant's own random sampling cannot be seeded), then fetched.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

from scanner.connectors.base import ReadReport
from scanner.connectors.vectors import PAGE, StoreConnector, guarded, payload_record
from scanner.core.errors import UsageError
from scanner.core.records import Record
from scanner.core.sampling import SamplePlan


class QdrantConnector(StoreConnector):
    name = "qdrant"
    options = frozenset({"collection", "api_key_env", "timeout"})
    description = "Qdrant: a local folder (qdrant:PATH) or a server (qdrant+http://HOST:PORT, qdrant+https://)"
    secret_env_option = "api_key_env"

    def client(self):
        """The qdrant-client QdrantClient; local mode takes a lock on the folder."""
        if self._client is not None:
            return self._client
        try:
            from qdrant_client import QdrantClient
        except ImportError:
            raise UsageError("the qdrant connector needs qdrant-client: pip install 'dhscan[qdrant]'") from None
        if self.server:
            key_env = self.uri.options.get("api_key_env")
            # check_compatibility=False: building the client must not call the server; the calls that
            # follow fail clearly if it is down or incompatible.
            self._client = QdrantClient(url=self.url, api_key=os.environ[key_env] if key_env else None,
                                        timeout=int(self.uri.options.get("timeout", 30)), check_compatibility=False)
            return self._client
        path = Path(self.uri.path).expanduser()
        if not (path / "meta.json").is_file():
            raise self.fail(f"{self.uri.path} is not a Qdrant local store (no meta.json)"
                            if path.exists() else f"no such folder: {self.uri.path}")
        try:
            self._client = QdrantClient(path=str(path))
        except RuntimeError as exc:
            if "already accessed" in str(exc):
                raise self.fail(f"{self.uri.path} is open in another process (a Qdrant local store takes one "
                                "client at a time): stop the application using it, or scan a copy") from None
            raise
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def list_collections(self) -> list[str]:
        return [c.name for c in self.client().get_collections().collections]

    def _record(self, collection: str, point) -> Record:
        locator = {"collection": collection, "point_id": point.id, "store": self.store()}
        return payload_record(self, self._record_id(collection, point.id), locator, point.payload or {}, "payload.")

    def _point_ids(self, collection: str) -> list[Any]:
        ids, offset = [], None
        while True:
            points, offset = guarded(self.source, self._where(f"scroll {collection!r}"), lambda: self.client().scroll(
                collection, limit=1000, offset=offset, with_payload=False, with_vectors=False))
            ids.extend(p.id for p in points)
            if offset is None:
                return ids

    def records(self, plan: SamplePlan, report: ReadReport) -> Iterator[Record]:
        try:
            collections = self.collections()
            report.stats["collections"] = collections
            if plan.mode == "full":
                report.records_total = sum(
                    guarded(self.source, self._where("count"), lambda c=c: self.client().count(c, exact=True).count)
                    for c in collections)
                for collection in collections:
                    yield from self._scroll_all(collection, report)
                return
            everything = [(c, point_id) for c in collections for point_id in self._point_ids(c)]
            report.records_total = len(everything)
            for collection, point in self.sampled(plan, everything, self._retrieve):
                report.advance()
                yield self._record(collection, point)
        finally:
            self.close()

    def _retrieve(self, collection: str, ids: list[Any]) -> dict[Any, Any]:
        points = guarded(self.source, self._where(f"retrieve from {collection!r}"), lambda: self.client()
                         .retrieve(collection, ids=ids, with_payload=True, with_vectors=False))
        return {p.id: p for p in points}

    def _scroll_all(self, collection: str, report: ReadReport) -> Iterator[Record]:
        offset = None
        while True:
            points, offset = guarded(self.source, self._where(f"scroll {collection!r}"), lambda: self.client().scroll(
                collection, limit=PAGE, offset=offset, with_payload=True, with_vectors=False))
            for point in points:
                report.advance()
                yield self._record(collection, point)
            if offset is None:
                return

    def _split(self, record_ids: list[str]) -> dict[str, list[Any]]:
        """Qdrant ids are unsigned integers or UUIDs."""
        return self.split_ids(record_ids, lambda _, raw: int(raw) if raw.isdigit() else raw)

    def record_ids(self) -> list[str]:
        """Every record id in the collections read (apply matches ids shown masked against these)."""
        try:
            return [self._record_id(c, point_id) for c in self.collections() for point_id in self._point_ids(c)]
        finally:
            self.close()

    def fetch(self, record_ids: list[str]) -> dict[str, Record]:
        """The points of `record_ids` as Records, read now (absent ones left out)."""
        found: dict[str, Record] = {}
        try:
            for collection, ids in self._split(record_ids).items():
                points = guarded(self.source, self._where(f"retrieve from {collection!r}"), lambda: self.client()
                                 .retrieve(collection, ids=ids, with_payload=True, with_vectors=False))
                for point in points:
                    record = self._record(collection, point)
                    found[record.record_id] = record
        finally:
            self.close()
        return found

    def delete(self, record_ids: list[str]) -> None:
        """Delete points by record id (apply calls this in batches)."""
        from qdrant_client import models

        try:
            for collection, ids in self._split(record_ids).items():
                guarded(self.source, self._where(f"delete from {collection!r}"), lambda: self.client().delete(
                    collection, points_selector=models.PointIdsList(points=ids), wait=True))
        finally:
            self.close()

    def redact(self, edits) -> None:
        """Each point's payload replaced by its edit of it (overwrite: a key the edit leaves out goes)."""
        try:
            for collection, ids in self._split(list(edits)).items():
                points = guarded(self.source, self._where(f"retrieve from {collection!r}"), lambda: self.client()
                                 .retrieve(collection, ids=ids, with_payload=True, with_vectors=False))
                for point in points:
                    payload = edits[self._record_id(collection, point.id)](point.payload or {})
                    guarded(self.source, self._where(f"update {collection!r}"), lambda: self.client().overwrite_payload(
                        collection, payload=payload, points=[point.id], wait=True), names_keys=True)
        finally:
            self.close()

    def verify_absent(self, record_ids: list[str]) -> list[str]:
        """The record ids that are still in the store."""
        present = []
        try:
            for collection, ids in self._split(record_ids).items():
                points = guarded(self.source, self._where(f"retrieve from {collection!r}"), lambda: self.client()
                                 .retrieve(collection, ids=ids, with_payload=False, with_vectors=False))
                present.extend(self._record_id(collection, p.id) for p in points)
        finally:
            self.close()
        return sorted(present)
