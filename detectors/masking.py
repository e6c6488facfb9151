"""Masked previews: enough to recognise a finding, never the value."""

from __future__ import annotations

import functools
import re

_DIGIT = re.compile(r"\d")


def _keep_last_digits(value: str, keep: int) -> str:
    total = len(_DIGIT.findall(value))
    seen = 0
    out = []
    for ch in value:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > total - keep else "*")
        elif ch.isalpha():
            out.append("*")
        else:
            out.append(ch)
    return "".join(out)


def mask(entity_type: str, value: str) -> str:
    value = value.strip()
    if len(value) < 4:
        return "***"
    if entity_type in ("EMAIL_ADDRESS", "EMAIL") and "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if entity_type in ("PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "US_ITIN", "US_BANK_NUMBER", "UK_NHS"):
        return _keep_last_digits(value, 4 if len(_DIGIT.findall(value)) >= 8 else 2)
    if entity_type == "IBAN_CODE":
        compact = re.sub(r"\s", "", value)
        return f"{compact[:2]}**{'*' * max(0, len(compact) - 8)}{compact[-4:]}"
    if entity_type == "IP_ADDRESS":
        sep = ":" if ":" in value else "."
        return value.split(sep)[0] + sep + "***"
    if entity_type in ("PERSON", "LOCATION", "ORGANIZATION", "NRP"):
        return " ".join(word[:1] + "***" for word in value.split())
    return value[:1] + "***"


# Identifiers that turn up inside record ids and field names (`user_email` as the key, a JSON key that is
# an address): emails, US SSNs, and phone numbers written with a `+` or separators. A bare run of digits
# is left alone: numeric ids and timestamps are far more common than phone numbers written that way.
_IN_LABELS = re.compile(
    r"(?P<EMAIL_ADDRESS>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
    r"|(?P<US_SSN>(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-]))"
    r"|(?P<PHONE_NUMBER>(?<![\w+])(?:\+\d(?:[ .()-]?\d){6,14}|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4})(?![\w-]))")
SHOWN_DIGEST_CHARS = 12


def shown(key: bytes, label: str) -> str:
    """A record id, field name or locator value as outputs may show it: each identifier in it replaced by
    its masked preview and a short keyed digest (`j***@acme.com~3f2a9c1b0d4e`), the rest kept. The same
    label and key always give the same text, so worklists, findings and logs still line up."""
    if not isinstance(label, str) or ("@" not in label and not any(c.isdigit() for c in label)):
        return label
    return _shown(key, label)


@functools.lru_cache(maxsize=65536)
def _shown(key: bytes, label: str) -> str:
    from detectors.normalize import digest

    def replace(match: re.Match) -> str:
        entity, value = match.lastgroup, match.group()
        return f"{mask(entity, value)}~{digest(key, entity, value)[:SHOWN_DIGEST_CHARS]}"

    return _IN_LABELS.sub(replace, label)
