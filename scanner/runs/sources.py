"""Opening a run's sources, and the one line a failed source reports."""

from __future__ import annotations

from scanner.connectors import open_source
from scanner.connectors.base import Connector
from scanner.core.errors import DhscanError, SourceError, UsageError, one_line
from scanner.core.uri import redact_uri_text


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
