"""Named false-positive filters applied to Presidio's results for one text.

Each filter is a function (text, results) -> results; its name is recorded in evidence.json. A
filter drops only results of the entity types it is declared with (`@drops`), so it is skipped for
texts with none of them: most texts have one or two results, and nine filters each building a new
list was a tenth of the engine's work besides the NER model.
"""

from __future__ import annotations

import re
from typing import Callable

from presidio_analyzer import RecognizerResult

from detectors.ner_gate import common_words, first_names, known_names, surnames
from detectors.recognizers.phones import OTHER_LANGUAGES as PHONE_WORDS_IN_OTHER_LANGUAGES

Filter = Callable[[str, list[RecognizerResult]], list[RecognizerResult]]


def drops(*entity_types: str) -> Callable[[Filter], Filter]:
    """Declare the entity types a filter may drop (tests check it drops no other)."""
    def declare(fp_filter: Filter) -> Filter:
        fp_filter.drops = frozenset(entity_types)
        return fp_filter
    return declare

# Formats checked by a checksum or a strict syntax: a phone match on the same characters is the weaker reading.
VALIDATED_IDENTIFIERS = frozenset({"CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "EMAIL_ADDRESS"})


def _overlaps(a: RecognizerResult, b: RecognizerResult) -> bool:
    return a.start < b.end and b.start < a.end


@drops("PHONE_NUMBER")
def phone_overlapping_validated_identifier(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a PHONE_NUMBER that overlaps a card, IBAN, IP address, SSN or email found in the same text."""
    strong = [r for r in results if r.entity_type in VALIDATED_IDENTIFIERS]
    if not strong:
        return results
    return [r for r in results
            if not (r.entity_type == "PHONE_NUMBER" and any(_overlaps(r, s) for s in strong))]


# Fewer digits than any full phone number has, even without its country code.
MIN_PHONE_DIGITS = 7


@drops("PHONE_NUMBER")
def phone_with_too_few_digits(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a PHONE_NUMBER of fewer than 7 digits: a ZIP code or house number (`HI 01642`) read as a phone."""
    return [r for r in results
            if not (r.entity_type == "PHONE_NUMBER"
                    and sum(map(str.isdigit, text[r.start:r.end])) < MIN_PHONE_DIGITS)]


# Entity types the NER model finds (names of people, places, organisations, groups).
NER_NAME_TYPES = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "NRP"})


@drops(*NER_NAME_TYPES)
def ner_name_with_digits(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a name the NER model found in a value holding digits (`kb-0123`, `u-1234`, a log line).

    Names of people, places and organisations are written without digits; the small model tags
    codes and ids as PERSON or LOCATION.
    """
    return [r for r in results
            if not (r.entity_type in NER_NAME_TYPES and any(map(str.isdigit, text[r.start:r.end])))]


_CODE_MARKS = re.compile(r"[_/\\=<>{}\[\]()#$%^*|~`@;]|::|->|\.[a-z]|\b[a-z]+[A-Z]")


@drops(*NER_NAME_TYPES)
def ner_name_like_code(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a name the NER model found in code or a log fragment: `user_id`, `os.path`, `a->b`,
    `getUser`, `Foo::bar`, `<Tag>`, `key=value` (presidio#786, #1173, #1352). Names carry no such marks."""
    return [r for r in results
            if not (r.entity_type in NER_NAME_TYPES and _CODE_MARKS.search(text[r.start:r.end]))]


@drops("URL")
def url_inside_email(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a URL that lies inside an email address found in the same text (the domain of
    `ana@example.com` is no web address of its own)."""
    emails = [r for r in results if r.entity_type == "EMAIL_ADDRESS"]
    if not emails:
        return results
    return [r for r in results
            if not (r.entity_type == "URL" and any(e.start <= r.start and r.end <= e.end for e in emails))]


@drops("PERSON")
def person_inside_street_address(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a PERSON lying mostly inside a street address found in the same text: the model reads
    street names ("Crown St", "Gordon Terrace") as people's names."""
    addresses = [r for r in results if r.entity_type == "STREET_ADDRESS"]
    if not addresses:
        return results

    def mostly_inside(r: RecognizerResult) -> bool:
        inside = sum(max(0, min(r.end, a.end) - max(r.start, a.start)) for a in addresses)
        return inside * 2 > r.end - r.start
    return [r for r in results if not (r.entity_type == "PERSON" and mostly_inside(r))]


_DECIMAL = re.compile(r"\d+\.\d+")


@drops("PHONE_NUMBER")
def phone_that_is_a_decimal_number(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a PHONE_NUMBER that is one decimal number (`512314.7757`): phone numbers written with dots
    have three groups or more."""
    return [r for r in results if not (r.entity_type == "PHONE_NUMBER" and _DECIMAL.fullmatch(text[r.start:r.end]))]


@drops("PERSON", "LOCATION")
def ner_name_that_is_a_common_word(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a one-word PERSON or LOCATION from the NER model that is one of the 10,000 most frequent
    English words and no known first name, surname or place (`Map`, `null`, `Earth`); `Rose`,
    `Johnson` and `Jordan` stay."""
    def common(r: RecognizerResult) -> bool:
        word = text[r.start:r.end].strip().lower()
        return " " not in word and word in common_words() and word not in known_names() and word not in surnames()
    return [r for r in results
            if not (r.entity_type in ("PERSON", "LOCATION") and recognizer_name(r) == "SpacyRecognizer" and common(r))]


def recognizer_name(result: RecognizerResult) -> str | None:
    """The name of the Presidio recognizer that returned a result."""
    return (result.recognition_metadata or {}).get("recognizer_name")


# A date of birth is told by its words; any date in a record (a timestamp, an order date) is not.
BIRTH_CONTEXT = re.compile(r"\b(?:born|birth|birthday|birthdate|dob|d\.o\.b)\b", re.IGNORECASE)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_FULL_DATE = re.compile(rf"\d{{1,4}}[/.\-]\d{{1,2}}[/.\-]\d{{1,4}}|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}"
                        rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}", re.IGNORECASE)
BIRTH_CONTEXT_CHARS = 60


@drops("DATE_TIME")
def date_not_a_birth_date(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Keep a DATE_TIME only when it is a full calendar date (day, month, year) with a word of birth
    ("born", "DOB", "date of birth") in the 60 characters before it. A date alone is rarely personal
    data; a date of birth is, and with a name or a postcode it singles a person out."""
    def birth_date(r: RecognizerResult) -> bool:
        # the model may leave the day out of its span ("12 [March 1981]"): look a little around it
        full = any(m.start() < r.end and r.start < m.end()
                   for m in _FULL_DATE.finditer(text, max(0, r.start - 8), min(len(text), r.end + 8)))
        return full and bool(BIRTH_CONTEXT.search(text[max(0, r.start - BIRTH_CONTEXT_CHARS):r.start]))
    return [r for r in results if r.entity_type != "DATE_TIME" or birth_date(r)]


# Types of Presidio's weaker pattern recognizers (a format, a checksum of a few digits at most): inside an
# identifier validated by its own checksum or syntax they are fragments of it.
WEAK_PATTERN_TYPES = frozenset({"MEDICAL_LICENSE", "US_DRIVER_LICENSE", "US_BANK_NUMBER", "US_PASSPORT", "US_ITIN",
                                "UK_NHS", "UK_NINO", "DATE_TIME", "CRYPTO", "AU_ABN", "AU_ACN", "AU_TFN",
                                "AU_MEDICARE", "IN_PAN", "IN_AADHAAR", "IN_VEHICLE_REGISTRATION", "IN_VOTER",
                                "IN_PASSPORT", "SG_NRIC_FIN"})


@drops(*WEAK_PATTERN_TYPES)
def weak_pattern_inside_validated_identifier(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a weaker pattern match (MEDICAL_LICENSE, US_BANK_NUMBER, ...) lying within an IBAN, card, IP
    address or email found in the same text: the characters of `GB82WEST1234...` are not a DEA number."""
    strong = [r for r in results if r.entity_type in VALIDATED_IDENTIFIERS - {"US_SSN"}]
    if not strong:
        return results
    return [r for r in results if not (r.entity_type in WEAK_PATTERN_TYPES
                                       and any(s.start <= r.start and r.end <= s.end for s in strong))]



PHONE_WORDS = re.compile(r"\b(?:phone|telephone|tel|mobile|cell|fax|call|calling|called|ring|text|sms|whatsapp|"
                         rf"contact|dial|number|{PHONE_WORDS_IN_OTHER_LANGUAGES})\b", re.IGNORECASE)
NHS_WORDS = re.compile(r"\b(?:nhs|national health|health service|patient|gp|hospital|nhs_number)\b", re.IGNORECASE)
BARE_DIGITS = re.compile(r"\d{9,}")
# a calendar date inside the digits: `2025-04-14` in a model name, `20241022`; day or month first with a
# four-digit year (`27.03.2029`, `12/25/2019`), and a month and year (`05/2023`)
DATE_INSIDE = re.compile(
    r"(?<!\d)(?:19|20)\d\d[-/.]?(?:0[1-9]|1[0-2])[-/.]?(?:0[1-9]|[12]\d|3[01])(?!\d)"
    r"|(?<!\d)(?:0?[1-9]|[12]\d|3[01])([./-])(?:0?[1-9]|1[0-2])\1(?:19|20)\d\d(?!\d)"
    r"|(?<!\d)(?:0?[1-9]|1[0-2])([./-])(?:0?[1-9]|[12]\d|3[01])\2(?:19|20)\d\d(?!\d)"
    r"|(?<![\d/])(?:0[1-9]|1[0-2])/(?:19|20)\d\d(?![\d/])")
PRESIDIO_UNSURE_PHONE = 0.4  # PhoneRecognizer's score for a number no region it knows validates


def _near(pattern: re.Pattern, text: str, result: RecognizerResult, field: str) -> bool:
    return bool(pattern.search(text[max(0, result.start - 40):result.end + 12]) or pattern.search(field))


@drops("PHONE_NUMBER")
def phone_that_is_a_bare_number(text: str, results: list[RecognizerResult], field: str = "") -> list[RecognizerResult]:
    """Drop a PHONE_NUMBER written as one bare run of 9 or more digits that no region validates and no
    phone word is near (nor in the field name): an epoch second (`1749650492`), an order or account number."""
    return [r for r in results
            if not (r.entity_type == "PHONE_NUMBER" and r.score <= PRESIDIO_UNSURE_PHONE
                    and BARE_DIGITS.fullmatch(text[r.start:r.end]) and not _near(PHONE_WORDS, text, r, field))]


@drops("PHONE_NUMBER")
def phone_that_holds_a_date(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a PHONE_NUMBER whose digits hold a calendar date (`gpt-4.1-2025-04-14`, `20241022`,
    `27.03.2029`, `05/2023 - 05/2019`)."""
    return [r for r in results if not (r.entity_type == "PHONE_NUMBER" and DATE_INSIDE.search(text[r.start:r.end]))]


@drops("PHONE_NUMBER", "UK_NHS")
def nhs_number_or_phone_not_both(text: str, results: list[RecognizerResult], field: str = "") -> list[RecognizerResult]:
    """One reading of ten digits that are both a valid UK NHS number and a phone number: the NHS number
    where the text or field speaks of the NHS or a patient, else the phone number."""
    nhs = [r for r in results if r.entity_type == "UK_NHS"]
    phones = [r for r in results if r.entity_type == "PHONE_NUMBER"]
    if not nhs or not phones:
        return results
    dropped = set()
    for n in nhs:
        for phone in phones:
            if _overlaps(n, phone):
                dropped.add(id(phone) if _near(NHS_WORDS, text, n, field) else id(n))
    return [r for r in results if id(r) not in dropped]


@drops(*NER_NAME_TYPES)
def ner_name_cut_at_line_break(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """A name the model ran across a line break (`Robert Mills\nAddress` in a form) ends at the break: the
    next line is another field. Its first line is kept as the name."""
    kept = []
    for r in results:
        value = text[r.start:r.end]
        if r.entity_type in NER_NAME_TYPES and "\n" in value.strip():
            first = value.lstrip().split("\n", 1)[0].rstrip()
            if not first:
                continue
            start = r.start + value.index(first)
            r = RecognizerResult(r.entity_type, start, start + len(first), r.score, r.analysis_explanation,
                                 r.recognition_metadata)
        kept.append(r)
    return kept


FORM_LABEL = re.compile(r"[ \t]*:")


@drops(*NER_NAME_TYPES)
def ner_name_that_is_a_form_label(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Drop a one-word name the model found that starts a line and is followed by a colon: a form's label
    (`Payer:`, `Prescriber:`), not a person or a place."""
    def label(r: RecognizerResult) -> bool:
        line_start = r.start == 0 or text[r.start - 1] == "\n" or not text[:r.start].strip(" \t").rsplit("\n", 1)[-1]
        word = text[r.start:r.end].strip()
        return (r.entity_type in NER_NAME_TYPES and " " not in word and line_start
                and bool(FORM_LABEL.match(text, r.end))
                and word.lower() not in first_names() and word.lower() not in surnames())  # `Maria:` speaks
    return [r for r in results if not label(r)]


FILTERS: tuple[Filter, ...] = (date_not_a_birth_date, phone_overlapping_validated_identifier, phone_with_too_few_digits,
                               phone_that_is_a_decimal_number, phone_that_is_a_bare_number, phone_that_holds_a_date,
                               nhs_number_or_phone_not_both, weak_pattern_inside_validated_identifier,
                               ner_name_with_digits, ner_name_like_code, ner_name_that_is_a_common_word,
                               ner_name_cut_at_line_break, ner_name_that_is_a_form_label, url_inside_email,
                               person_inside_street_address)
# Filters that read the field's name too (a phone word in `customer_phone`)
READS_FIELD = frozenset({phone_that_is_a_bare_number, nhs_number_or_phone_not_both})


def apply_filters(text: str, results: list[RecognizerResult], field: str = "") -> list[RecognizerResult]:
    present = {r.entity_type for r in results}
    for fp_filter in FILTERS:
        if not fp_filter.drops.isdisjoint(present):
            results = fp_filter(text, results, field) if fp_filter in READS_FIELD else fp_filter(text, results)
    return results
