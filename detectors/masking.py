"""Masked previews: enough to recognise a finding, never the value."""

from __future__ import annotations

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
