"""Named false-positive filters applied to Presidio's results for one text.

Each filter is a function (text, results) -> results; its name is recorded in evidence.json.
"""

from __future__ import annotations

from typing import Callable

from presidio_analyzer import RecognizerResult

Filter = Callable[[str, list[RecognizerResult]], list[RecognizerResult]]

# Formats checked by a checksum or a strict syntax: a phone match on the same characters is the weaker reading.
VALIDATED_IDENTIFIERS = frozenset({"CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "EMAIL_ADDRESS"})


def _overlaps(a: RecognizerResult, b: RecognizerResult) -> bool:
    return a.start < b.end and b.start < a.end


def phone_overlapping_validated_identifier(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a PHONE_NUMBER that overlaps a card, IBAN, IP address, SSN or email found in the same text."""
    strong = [r for r in results if r.entity_type in VALIDATED_IDENTIFIERS]
    return [r for r in results
            if not (r.entity_type == "PHONE_NUMBER" and any(_overlaps(r, s) for s in strong))]


# Fewer digits than any full phone number has, even without its country code.
MIN_PHONE_DIGITS = 7


def phone_with_too_few_digits(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a PHONE_NUMBER of fewer than 7 digits: a ZIP code or house number (`HI 01642`) read as a phone."""
    return [r for r in results
            if not (r.entity_type == "PHONE_NUMBER"
                    and sum(ch.isdigit() for ch in text[r.start:r.end]) < MIN_PHONE_DIGITS)]


# Entity types the NER model finds (names of people, places, organisations, groups).
NER_NAME_TYPES = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "NRP"})


def ner_name_with_digits(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a name the NER model found in a value holding digits (`kb-0123`, `u-1234`, a log line).

    Names of people, places and organisations are written without digits; the small model tags
    codes and ids as PERSON or LOCATION.
    """
    return [r for r in results
            if not (r.entity_type in NER_NAME_TYPES and any(ch.isdigit() for ch in text[r.start:r.end]))]


FILTERS: tuple[Filter, ...] = (phone_overlapping_validated_identifier, phone_with_too_few_digits,
                               ner_name_with_digits)


def apply_filters(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    for fp_filter in FILTERS:
        results = fp_filter(text, results)
    return results
