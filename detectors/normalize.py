"""Normalizing a found value before it is digested, so the same identifier gets the same digest."""

from __future__ import annotations

import json
import re
import unicodedata

import phonenumbers

from scanner.core.digests import keyed_digest

# Bump when a rule below changes: digests made under another version do not compare.
NORMALIZATION_VERSION = 1
DEFAULT_PHONE_REGION = "US"

_ALNUM = re.compile(r"[^0-9A-Za-z]")
_SPACE = re.compile(r"\s+")


def normalize(entity_type: str, value: str, phone_region: str = DEFAULT_PHONE_REGION) -> str:
    value = unicodedata.normalize("NFKC", value).strip()
    if entity_type in ("EMAIL_ADDRESS", "EMAIL"):
        return value.lower()
    if entity_type == "PHONE_NUMBER":
        try:
            parsed = phonenumbers.parse(value, phone_region)
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            return re.sub(r"\D", "", value)
    if entity_type in ("CREDIT_CARD", "IBAN_CODE", "US_SSN", "US_ITIN", "US_PASSPORT", "US_BANK_NUMBER", "UK_NHS",
                       "ES_NIF", "ES_NIE", "EU_VAT", "FR_NIR"):
        return _ALNUM.sub("", value).upper()
    if entity_type in ("PERSON", "LOCATION", "ORGANIZATION", "NRP", "STREET_ADDRESS"):
        return _SPACE.sub(" ", value.casefold())
    if entity_type == "IP_ADDRESS":
        return value.lower()
    return value


def digest(key: bytes, entity_type: str, value: str, phone_region: str = DEFAULT_PHONE_REGION) -> str:
    """Keyed HMAC-SHA256 of the normalized value, hex."""
    return keyed_digest(key, normalize(entity_type, value, phone_region).encode("utf-8"))


def record_digest(key: bytes, record) -> str:
    """Keyed HMAC-SHA256 of a record's id, texts, time and attributes: taken at sweep time and compared
    before apply deletes, so a record changed or swapped since the sweep is never taken for the listed one."""
    content = {"id": record.record_id, "texts": sorted(record.texts.items()),
               "timestamp": record.timestamp.isoformat() if record.timestamp else None,
               "attributes": sorted(record.attributes.items())}
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return keyed_digest(key, text.encode("utf-8", "surrogatepass"), purpose=b"record\x00")
