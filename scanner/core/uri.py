"""Source URIs: `scheme:path?option=value`, or a bare path whose extension picks the connector."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, urlencode

from scanner.core.errors import UsageError
from scanner.core.records import KINDS

# Options every connector accepts; a connector adds its own in `Connector.options`.
COMMON_OPTIONS = frozenset({"name", "id", "time", "text", "kind", "attributes"})
# Option values that are secrets: redacted wherever a URI is written out.
SECRET_OPTIONS = frozenset({"secret_key", "access_key", "session_token", "api_key", "token", "password"})

# A secret option's value, and the user information (`user:password@`) of an address.
_SECRET_VALUE = re.compile(r"(?i)\b(" + "|".join(sorted(SECRET_OPTIONS)) + r")=[^&\s'\"]*")
_USERINFO = re.compile(r"(//)[^/@\s'\"]+@")


def redact_uri_text(text: str) -> str:
    """Any text with URIs in it (a message, an argument) with their secrets and user information hidden."""
    return _USERINFO.sub(r"\1***@", _SECRET_VALUE.sub(r"\1=***", text))


_SCHEME = re.compile(r"^([a-z][a-z0-9]*(?:\+[a-z0-9]+)?):")
# Schemes of storage locations, not connectors: `s3://bucket/x.jsonl` is a bare path.
_STORAGE_SCHEMES = frozenset({"s3", "file"})


@dataclass(frozen=True)
class SourceURI:
    raw: str
    scheme: str | None  # connector name; None for a bare path
    path: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        if "name" in self.options:
            return self.options["name"]
        return default_name(self.path)

    def redacted(self, absolute: bool = False) -> str:
        """The URI as it can be written to evidence and logs: secrets replaced; with `absolute`, a
        local path made absolute (so apply finds the source from any working directory)."""
        opts = {k: ("***" if k in SECRET_OPTIONS else v) for k, v in self.options.items()}
        prefix = f"{self.scheme}:" if self.scheme else ""
        query = f"?{urlencode(opts, safe='/:,*')}" if opts else ""
        path = self.path
        if absolute and "://" not in path and not path.startswith("//"):
            path = os.path.abspath(os.path.expanduser(path))
        return f"{prefix}{redact_uri_text(path)}{query}"


def default_name(path: str) -> str:
    """The source name a path implies: the file name without extensions, or the folder name."""
    stripped = _USERINFO.sub(r"\1", path.rstrip("/"))  # a name never carries a password
    if "://" in stripped:
        stripped = stripped.split("://", 1)[1]
    base = PurePosixPath(stripped).name or stripped
    base = re.sub(r"[*?\[].*$", "", base) or PurePosixPath(stripped).parent.name
    for ext in (".gz", ".jsonl", ".json", ".csv", ".parquet", ".arrow"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    return base or "source"


def beside(text: str, base: str) -> str:
    """A source URI or path from a config file, its relative local path taken from the file's folder `base`
    (an absolute path, `~`, S3 and server addresses stay as they are)."""
    match = _SCHEME.match(text)
    prefix = text[:match.end()] if match and match.group(1) not in _STORAGE_SCHEMES else ""
    path, sep, query = text[len(prefix):].partition("?")
    if not path or "://" in path or path.startswith(("/", "~")):
        return text
    return f"{prefix}{os.path.join(base, path)}{sep}{query}"


def parse_source_uri(text: str) -> SourceURI:
    """Split a URI into scheme, path and options; the scheme is not checked here."""
    if not text.strip():
        raise UsageError("empty source URI")
    scheme = None
    rest = text
    m = _SCHEME.match(text)
    if m and m.group(1) not in _STORAGE_SCHEMES:
        scheme = m.group(1)
        rest = text[m.end():]
    path, _, query = rest.partition("?")
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if key in options:
            raise UsageError(f"source {redact_uri_text(text)!r}: option {key!r} given twice")
        options[key] = value
    if not path:
        raise UsageError(f"source {redact_uri_text(text)!r}: no path")
    kind = options.get("kind", "eval_dataset")
    if kind not in KINDS:
        raise UsageError(f"source {redact_uri_text(text)!r}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return SourceURI(raw=text, scheme=scheme, path=path, options=options)
