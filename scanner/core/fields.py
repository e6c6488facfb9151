"""Turning a JSON-like row into texts, an id and a timestamp."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from typing import Any, Iterator

ID_FIELDS = ("id", "_id", "uuid", "example_id", "record_id")
TIME_FIELDS = ("created_at", "timestamp", "ts", "time", "date")

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
# Epoch values above this are milliseconds (1e11 s is the year 5138).
_EPOCH_MS_ABOVE = 1e11


def join_path(prefix: str, key: str) -> str:
    part = key if _PLAIN_KEY.match(key) else '["' + key.replace('"', '\\"') + '"]'
    if not prefix:
        return part
    return f"{prefix}{part}" if part.startswith("[") else f"{prefix}.{part}"


def string_leaves(value: Any, prefix: str = "", stringify: bool = False) -> Iterator[tuple[str, str]]:
    """Every string leaf under `value` with its path (`messages[2].content`).

    With `stringify`, numbers are scanned as text too (used for fields named in `text=`).
    """
    if isinstance(value, str):
        if value:
            yield prefix, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from string_leaves(child, join_path(prefix, str(key)), stringify)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from string_leaves(child, f"{prefix}[{i}]", stringify)
    elif stringify and isinstance(value, (int, float)) and not isinstance(value, bool):
        yield prefix, str(value)


def get_path(obj: Any, path: str) -> Any:
    """Follow a dotted path (`meta.user.email`) through dicts; None where it stops."""
    current = obj
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def extract_texts(obj: dict, text_fields: list[str] | None, exclude: set[str]) -> dict[str, str]:
    """The texts of a row: the named fields, or every string leaf but the excluded top-level fields."""
    if text_fields:
        texts: dict[str, str] = {}
        for name in text_fields:
            texts.update(string_leaves(get_path(obj, name), name, stringify=True))
        return texts
    return {path: text for key, child in obj.items() if key not in exclude
            for path, text in string_leaves(child, _top_path(key))}


@functools.lru_cache(maxsize=4096, typed=True)  # rows share their keys: the path of each is made once
def _top_path(key) -> str:
    return join_path("", str(key))


def detect_field(columns: list[str] | dict, candidates: tuple[str, ...]) -> str | None:
    for name in candidates:
        if name in columns:
            return name
    return None


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 strings and epoch seconds or milliseconds, as UTC; None when it is neither."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" UTC", "+00:00"))
            except ValueError:
                return None
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
        value = number
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) > _EPOCH_MS_ABOVE else value
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return None
