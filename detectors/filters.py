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


FILTERS: tuple[Filter, ...] = (phone_overlapping_validated_identifier,)


def apply_filters(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    for fp_filter in FILTERS:
        results = fp_filter(text, results)
    return results
