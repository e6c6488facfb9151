"""IBANs typed in lower case ("my iban is gb42nawi04454264788619"). Presidio's IbanRecognizer runs
case-sensitively here (see engine._case_sensitive_iban); this one takes the lower-case spelling,
checked by the same ISO 13616 checksum on the upper-cased value."""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import IbanRecognizer

PATTERNS = [Pattern("lower-case IBAN", r"(?<![a-z0-9])[a-z]{2}[0-9]{2}(?: ?[a-z0-9]{4}){2,7}(?: ?[0-9]{1,3})?(?![a-z0-9])",
                    0.3)]


class LowercaseIbanRecognizer(PatternRecognizer):
    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entity="IBAN_CODE", name="LowercaseIbanRecognizer", patterns=PATTERNS,
                         supported_language=supported_language, global_regex_flags=re.MULTILINE)
        self._iban = IbanRecognizer(supported_language=supported_language)

    def validate_result(self, pattern_text: str) -> bool:
        return bool(self._iban.validate_result(pattern_text.upper()))
