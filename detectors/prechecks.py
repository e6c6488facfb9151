"""Cheap necessary conditions: a pattern recognizer runs on a text only when the text could hold its
entity. Each condition follows from the entity's format (and from the filters dhscan applies), so
skipping never loses a finding; the NER entities are always looked for."""

from __future__ import annotations

import re
from typing import Callable

from detectors.filters import BIRTH_CONTEXT

_PHONE_DIGITS = re.compile(r"\d(?:[ \t\u00a0().\-/+\[\]~–—]{0,4}\d){6}")  # seven digits with at most separators between
_LONG_TOKEN = re.compile(r"[A-Za-z0-9]{26}")
_HEX_PAIR_SEPARATOR = re.compile(r"[0-9A-Fa-f]{2}[:\-.][0-9A-Fa-f]{2}")
_DIGIT_DOT_DIGIT = re.compile(r"\d\.\d")  # inside every IPv4 address
_IBAN_START = re.compile(r"[A-Za-z]{2}[0-9]{2}")  # country code and check digits open every IBAN pattern
# Presidio's URL patterns all hold [a-z0-9.-], a dot and a top-level domain (its first character a letter),
# matched case-insensitively: prose has dots before spaces ("home. Then"), not before letters
_DOMAIN_DOT = re.compile(r"[\w.\-]\.[^\W\d_]")
# Decimal digits, which the recognizers' \d and [0-9] match; counted by a regex, which skips the letters
# in C (counting with str.isdigit took twice as long on a 110-character text)
_DIGIT = re.compile(r"\d")

# entity type -> condition on (text, number of digits in it)
NEEDS: dict[str, Callable[[str, int], bool]] = {
    "EMAIL_ADDRESS": lambda text, digits: "@" in text,
    # fewer digits are dropped by phone_with_too_few_digits; letters never stand inside a phone number
    "PHONE_NUMBER": lambda text, digits: digits >= 7 and _PHONE_DIGITS.search(text) is not None,
    "CREDIT_CARD": lambda text, digits: digits >= 12,
    "US_SSN": lambda text, digits: digits >= 9,
    "US_ITIN": lambda text, digits: digits >= 9,
    "UK_NHS": lambda text, digits: digits >= 10,
    "US_BANK_NUMBER": lambda text, digits: digits >= 8,
    "IBAN_CODE": lambda text, digits: digits >= 8 and _IBAN_START.search(text) is not None,  # every BBAN holds digits
    "IP_ADDRESS": lambda text, digits: ":" in text or (digits >= 4 and _DIGIT_DOT_DIGIT.search(text) is not None),
    "URL": lambda text, digits: _DOMAIN_DOT.search(text) is not None,
    "US_DRIVER_LICENSE": lambda text, digits: digits >= 1,
    "US_PASSPORT": lambda text, digits: digits >= 8,
    "MEDICAL_LICENSE": lambda text, digits: digits >= 7,
    "CRYPTO": lambda text, digits: _LONG_TOKEN.search(text) is not None,  # a wallet address has 26+ characters
    "MAC_ADDRESS": lambda text, digits: _HEX_PAIR_SEPARATOR.search(text) is not None,
    "ES_NIF": lambda text, digits: digits >= 7,
    "ES_NIE": lambda text, digits: digits >= 7,
    "EU_VAT": lambda text, digits: digits >= 7,  # the shortest VAT numbers (Austria's) hold 8 digits
    "FR_NIR": lambda text, digits: digits >= 13,
    "STREET_ADDRESS": lambda text, digits: digits >= 1,  # every pattern holds a house, unit or box number
    # dates are reported as dates of birth only (filters.date_not_a_birth_date)
    "DATE_TIME": lambda text, digits: digits >= 2 and BIRTH_CONTEXT.search(text) is not None,
}


def possible_entities(text: str, entities: list[str]) -> list[str]:
    digits = len(_DIGIT.findall(text))
    return [e for e in entities if e not in NEEDS or NEEDS[e](text, digits)]
