"""What the vector-store connectors share: payloads as Records, seeded sampling by point id, paging."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Callable, Iterable, Iterator, TypeVar

from scanner.connectors.base import Connector
from scanner.errors import DhscanError, SourceError, one_line
from scanner.fields import TIME_FIELDS, detect_field, get_path, parse_timestamp, string_leaves
from scanner.records import Record
from scanner.sampling import SamplePlan

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


def guarded(source: str, what: str, call: Callable[[], T]) -> T:
    """Run a store call; any failure of the store becomes a one-line SourceError."""
    try:
        return call()
    except DhscanError:
        raise
    except Exception as exc:  # noqa: BLE001 - clients raise transport, HTTP and gRPC errors of many types
        raise SourceError(source, f"{what}: {type(exc).__name__}: {one_line(exc)[:300]}") from None
