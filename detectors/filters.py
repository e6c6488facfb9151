"""Named false-positive filters applied to Presidio's results for one text.

Each filter is a function (text, results) -> results; its name is recorded in evidence.json.
"""

from __future__ import annotations

import re
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


_CODE_MARKS = re.compile(r"[_/\\=<>{}\[\]()#$%^*|~`@;]|::|->|\.[a-z]|\b[a-z]+[A-Z]")


def ner_name_like_code(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a name the NER model found in code or a log fragment: `user_id`, `os.path`, `a->b`,
    `getUser`, `Foo::bar`, `<Tag>`, `key=value` (presidio#786, #1173, #1352). Names carry no such marks."""
    return [r for r in results
            if not (r.entity_type in NER_NAME_TYPES and _CODE_MARKS.search(text[r.start:r.end]))]


def url_inside_email(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a URL that lies inside an email address found in the same text (the domain of
    `ana@example.com` is no web address of its own)."""
    emails = [r for r in results if r.entity_type == "EMAIL_ADDRESS"]
    return [r for r in results
            if not (r.entity_type == "URL" and any(e.start <= r.start and r.end <= e.end for e in emails))]


def person_inside_street_address(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a PERSON that overlaps a street address found in the same text: the model reads street
    names ("Crown St", "Gordon Terrace") as people's names."""
    addresses = [r for r in results if r.entity_type == "STREET_ADDRESS"]
    return [r for r in results
            if not (r.entity_type == "PERSON" and any(_overlaps(r, a) for a in addresses))]


FILTERS: tuple[Filter, ...] = (phone_overlapping_validated_identifier, phone_with_too_few_digits,
                               ner_name_with_digits, ner_name_like_code, url_inside_email,
                               person_inside_street_address)


def apply_filters(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    for fp_filter in FILTERS:
        results = fp_filter(text, results)
    return results
