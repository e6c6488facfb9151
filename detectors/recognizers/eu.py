"""Identifiers of European countries that carry a check digit, validated by python-stdnum: EU VAT
numbers (with their country prefix) and the French social security number (NIR). Spain's DNI and NIE
are Presidio's own EsNifRecognizer and EsNieRecognizer, registered in pyproject.toml like these.
A text in any language is read by them: an identifier is written the same way in every language."""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer

VAT_COUNTRIES = "AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI"
VAT_PATTERNS = [Pattern("EU VAT number with its country prefix",
                        rf"(?<![\w-])(?:{VAT_COUNTRIES})[ ]?[0-9A-Z](?:[0-9A-Z+*]|[ .](?=[0-9A-Z])){{6,14}}(?![\w-])",
                        0.3)]
VAT_CONTEXT = ["vat", "tva", "iva", "ust", "ustid", "mwst", "btw", "moms", "alv", "dph", "pvm", "intracommunautaire"]
NIR_PATTERNS = [Pattern("French NIR: sex, birth year and month, place, number, key",
                        r"(?<![\w-])[12][ .]?\d{2}[ .]?(?:0[1-9]|1[0-2]|[2-9]\d)[ .]?(?:\d{2}|2[AB])[ .]?\d{3}"
                        r"[ .]?\d{3}[ .]?\d{2}(?![\w-])", 0.3)]
NIR_CONTEXT = ["sécurité sociale", "securite sociale", "nir", "insee", "assuré", "carte vitale", "social security"]
# case-sensitive: a lower-case word is never a VAT number's prefix or letters
FLAGS = re.MULTILINE | re.DOTALL


class EuVatRecognizer(PatternRecognizer):
    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entity="EU_VAT", name="EuVatRecognizer", patterns=VAT_PATTERNS,
                         context=VAT_CONTEXT, supported_language=supported_language, global_regex_flags=FLAGS)

    def validate_result(self, pattern_text: str) -> bool:
        from stdnum.eu import vat

        return vat.is_valid(pattern_text)


class FrNirRecognizer(PatternRecognizer):
    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entity="FR_NIR", name="FrNirRecognizer", patterns=NIR_PATTERNS,
                         context=NIR_CONTEXT, supported_language=supported_language, global_regex_flags=FLAGS)

    def validate_result(self, pattern_text: str) -> bool:
        from stdnum.fr import nir

        return nir.is_valid(pattern_text)
