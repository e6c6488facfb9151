"""Street addresses: a house number beside a street name, in English and continental European forms,
and the unit, post-box and military lines of a postal address.

Presidio has no address recognizer (its NER tags a city here and there). Matching is case-sensitive:
a street name is capitalised, so "3 green apples" is no address.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer

from detectors.recognizers import CAPITALISED_WORD

_NAME = r"[^\W\d_][\w'’.\-]*"  # a word of any script
_CAP = CAPITALISED_WORD
# USPS street suffixes (Publication 28, the common ones) and their abbreviations.
_EN_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|"
    "Crescent|Cres|Parkway|Pkwy|Highway|Hwy|Square|Sq|Circle|Cir|Trail|Trl|Row|Close|Gardens|Grove|"
    "Hill|Hills|Mews|Park|Plaza|Ridge|Walk|Alley|Crossing|Expressway|Freeway|Loop|Pike|Route|Run|"
    "Turnpike|View|Vista|Wharf|Estates?|Heights|Manor|Meadows?|Mills?|Points?|Ports?|Shores?|Springs?|"
    "Station|Summit|Village|Ville|Wells?|Forges?|Fields?|Falls?|Harbou?r|Haven|Hollow|Junction|Knolls?|"
    "Lakes?|Landing|Lodge|Orchard|Pass|Path|Pines?|Prairie|Rapids?|Ranch|Stream|Trace|Track|Union|Valley")
# Street words written before the name: Via Roma 12, Rua Igreja 25, ul. Słowicza 10, Rue du Lac 3.
_BEFORE = (
    "Via|Viale|Vicolo|Piazza|Piazzale|Corso|Largo|Contrada|Borgo|Rua|Avenida|Av\\.|Travessa|Largo|Praça|"
    "Calle|Carrer|Camino|Paseo|Plaza|Ronda|Rambla|Rue|Avenue|Boulevard|Bd|Chemin|Allée|Impasse|Quai|"
    "Place|Route|Cours|ul\\.|ulica|al\\.|Aleja|os\\.|Osiedle|pl\\.|Plac|Λ\\.|Οδός|ulitsa|prospekt")
# Street words that end a compound name: Feldstrasse 42, Ringvej 144, Kiannonkatu 98, Storgatan 5.
_AFTER = (
    "straße|strasse|str\\.|gasse|weg|allee|platz|ring|damm|ufer|graben|steig|vej|gade|vænget|stræde|"
    "katu|tie|kuja|polku|gatan|vägen|gränd|veien|gata|vegen|laan|straat|plein|gracht|utca|körút|ulice|"
    "náměstí|třída|cesta|ulica")

# The same street words written apart: Villacher Strasse 89, Kálmán Imre u. 12.
_WORD_AFTER = "Straße|Strasse|Str\\.|Gasse|Weg|Allee|Platz|Ring|Damm|Vej|Gade|Gatan|Vägen|Laan|Straat|utca|u\\.|út|tér"

PATTERNS = [
    Pattern("number, street name, street type",
            rf"\b\d{{1,6}}[A-Za-z]?,?\s+(?:[NSEW]\.?\s+)?(?:{_CAP}\s+){{1,4}}(?:{_EN_TYPES})\b\.?", 0.6),
    Pattern("street word, name, number",
            rf"(?<!\w)(?:{_BEFORE})\s+(?:(?:{_NAME}|d[aeiou]s?|de la|del)\s+){{0,4}}\d{{1,5}}[A-Za-z]?\b", 0.6),
    Pattern("compound street name, number", rf"\b{_CAP}(?:{_AFTER})\s+\d{{1,5}}[A-Za-z]?\b", 0.6),
    Pattern("street name, street word, number",
            rf"\b{_CAP}\s+(?:{_WORD_AFTER})\s+\d{{1,5}}[A-Za-z]?\b\.?", 0.6),
    Pattern("unit", r"\b(?:Apt\.?|Apartment|Suite|Ste\.|Unit|Flat)\s*#?\s*\d{1,5}[A-Za-z]?\b", 0.5),
    Pattern("post box", r"\bP\.?\s?O\.?\s*Box\s+\d{1,6}\b|\b(?:PSC|CMR|Unit)\s+\d{3,5},?\s+Box\s+\d{1,5}\b", 0.6),
    Pattern("military post", r"\b(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+\d{5}\b", 0.6),
    Pattern("address line: number, name, number",
            rf"(?m)^[ \t>?*•\-]*\d{{1,6}}\s+(?:{_CAP}\s+){{1,4}}\d{{1,5}}[A-Za-z]?\.?[ \t]*$", 0.5),
]
# What continues an address: a house number before the street line; after it, on the same line,
# ", City" (and a postcode); on the next lines, short lines of capitalised words and postcodes
# (unit, town, "Hungary 06554") up to a line that says something else ("Mobile: …", a blank line).
_NUMBER_BEFORE = re.compile(r"\d{1,6}[A-Za-z]?[ \t]+$")
_SAME_LINE_TAIL = re.compile(rf",?[ \t]*(?:{_CAP}|[A-Z]{{1,3}}\b|\d{{3,6}}(?:-\d{{3,4}})?)"
                             rf"(?:[ \t,]+(?:{_CAP}|[A-Z]{{1,3}}\b|\d{{3,6}}(?:-\d{{3,4}})?)){{0,5}}")
_ADDRESS_LINE = re.compile(rf"^[ \t>?*•\-]*(?:(?:{_CAP}|\d{{1,6}}(?:-\d{{3,4}})?|\(|\)|,)[ \t]*){{1,7}}$")
MAX_FOLLOWING_LINES = 4
CONTEXT = ["address", "street", "live", "lives", "located", "billing", "shipping", "mailing", "deliver", "moved"]


class StreetAddressRecognizer(PatternRecognizer):
    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entity="STREET_ADDRESS", name="StreetAddressRecognizer", patterns=PATTERNS,
                         context=CONTEXT, supported_language=supported_language,
                         global_regex_flags=re.MULTILINE)  # case matters: street names are capitalised

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
        """Each address once, as the whole block: its lines and pieces found apart are one address."""
        results = sorted(super().analyze(text, entities, nlp_artifacts, regex_flags), key=lambda r: r.start)
        merged = []
        for result in results:
            result.start, result.end = _extend(text, result.start, result.end)
            if merged and result.start <= merged[-1].end:
                merged[-1].end = max(merged[-1].end, result.end)
                merged[-1].score = max(merged[-1].score, result.score)
            else:
                merged.append(result)
        return merged


def _extend(text: str, start: int, end: int) -> tuple[int, int]:
    before = _NUMBER_BEFORE.search(text, 0, start)
    if before and before.end() == start:
        start = before.start()
    tail = _SAME_LINE_TAIL.match(text, end)
    if tail and "\n" not in tail.group(0):
        end = tail.end()
    for _ in range(MAX_FOLLOWING_LINES):
        line_end = text.find("\n", end)
        if line_end < 0 or text[end:line_end].strip():
            break  # more text on the address's own line
        line_start, line = _next_line(text, line_end + 1)
        if not line.strip() and line_start < len(text):
            # one blank line may stand before the last line when that line ends with a postcode
            line_start, line = _next_line(text, line_start + len(line) + 1)
            if not line.rstrip()[-1:].isdigit():
                break
        if not line.strip() or len(line) > 60 or sum(ch.isdigit() for ch in line) > 6 or not _ADDRESS_LINE.match(line):
            break
        end = line_start + len(line.rstrip())
    return start, end


def _next_line(text: str, start: int) -> tuple[int, str]:
    end = text.find("\n", start)
    return start, text[start:len(text) if end < 0 else end]