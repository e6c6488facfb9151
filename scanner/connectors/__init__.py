"""Connector plugins, found through the `dhscan.connectors` entry-point group.

Built-in connectors are registered there exactly like third-party ones.
"""

from __future__ import annotations

from dataclasses import dataclass
import functools
from importlib.metadata import EntryPoint, entry_points

from scanner.core.errors import UsageError
from scanner.core.uri import SourceURI, parse_source_uri

ENTRY_POINT_GROUP = "dhscan.connectors"


@dataclass(frozen=True)
class InstalledConnector:
    scheme: str
    target: str  # "module:Class"
    distribution: str
    version: str
    entry_point: EntryPoint

    def load(self):
        return self.entry_point.load()


@functools.cache
def installed_connectors() -> dict[str, InstalledConnector]:
    """Read once per process: listing entry points walks every installed distribution."""
    found: dict[str, InstalledConnector] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        found.setdefault(ep.name, InstalledConnector(
            scheme=ep.name, target=ep.value, distribution=dist.name if dist else "?",
            version=dist.version if dist else "?", entry_point=ep))
    return dict(sorted(found.items()))


def connector_listing() -> list[dict]:
    """What `dhscan connectors` shows: each installed connector, where it comes from, and whether
    (and how) `dhscan apply` can delete from it, redact in it and vacuum it."""
    rows = []
    for scheme, installed in installed_connectors().items():
        try:
            cls = installed.load()
            description, deletes, redacts, vacuums = cls.description, cls.deletes, cls.redacts, cls.vacuums
        except Exception as exc:  # noqa: BLE001 - a broken plugin is listed, not fatal
            description, deletes, redacts, vacuums = f"(cannot load: {type(exc).__name__})", None, None, False
        rows.append({"scheme": f"{scheme}:", "connector": installed.target,
                     "distribution": f"{installed.distribution} {installed.version}", "description": description,
                     "deletes": deletes, "redacts": redacts, "vacuum": bool(vacuums)})
    return rows


def connector_for(uri: SourceURI):
    """The connector class for a URI: by scheme, or for a bare path by its extension."""
    available = installed_connectors()
    if uri.scheme is not None:
        if uri.scheme not in available:
            raise UsageError(f"source {uri.redacted()!r}: unknown URI scheme {uri.scheme + ':'!r} "
                             f"(installed: {', '.join(s + ':' for s in available)})")
        return available[uri.scheme].load()
    classes = [cls for cls in (c.load() for c in available.values()) if cls.picks_bare_paths]
    return _pick_by_extension(uri, classes)


def _pick_by_extension(uri: SourceURI, classes: list):
    from scanner.connectors.files import guess_connector_name

    name = guess_connector_name(uri, {c.name: c.extensions for c in classes},
                                {c.name: c.folder_markers for c in classes if c.folder_markers})
    for cls in classes:
        if cls.name == name:
            return cls
    raise UsageError(f"source {uri.redacted()!r}: no installed connector reads it")


def open_source(text: str):
    """Parse a URI and build its connector; usage errors surface before any source is read."""
    uri = parse_source_uri(text)
    cls = connector_for(uri)
    return cls(uri)
