"""Phone numbers in local formats ("467 3395", "(37) 788-063", "78 651 450") next to a word that
says they are one ("Phone:", "call me on", "Mobile:", "… office", "Tél.", "llamar al", "Handy").
Presidio's PhoneRecognizer finds only numbers valid in its few regions; without a country code most
of the world's numbers cannot be validated, so here the context decides, on either side of the
number; a number written with its country code needs no context."""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer

# Phone words in French, Spanish, German and Italian, with their abbreviations: a number is written alike in
# every language (detectors/filters.py's PHONE_WORDS takes them too)
OTHER_LANGUAGES = (r"t[ée]l[ée]phone|t[ée]l|portable|appele[rz]|rappele[rz]|joindre|t[ée]l[ée]fono|tfno|telf|tlf|"
                   r"m[óo]vil|celular|llam[ae]r?|telefon|telefonnummer|rufnummer|handy|mobil|anrufen|cellulare|"
                   r"chiamare|telefonare")
CONTEXT = re.compile(
    r"\b(?:phone|telephone|tel|mobile|cell|cellphone|fax|desk|office|call|calling|called|"
    rf"reach|sms|whatsapp|answering|messages?|contact|{OTHER_LANGUAGES})\b", re.IGNORECASE)
CONTEXT_BEFORE, CONTEXT_AFTER = 40, 12  # characters searched on each side
PATTERNS = [Pattern("digit groups of a phone number",
                    r"(?<![\w+\-.])(?:\+\d{1,3}[ \-.]?(?:\(\d{1,4}\)[ \-.]?)?\d{1,5}|(?:\(\d{1,4}\)[ \-.]?)?\d{2,5})"
                    r"(?:[ \-.]\d{2,5}){1,4}"
                    r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,5})?(?![\w.]?\d)", 0.3)]


# A number written with its country code ("+44 20 5906 6425" under a signature) is a phone number to any
# reader, whether or not its range is allocated yet (Presidio's recognizer wants a valid one): with no
# phone word near it, it counts when its length is possible for that country's numbers.
INTERNATIONAL_SCORE = 0.5


def international(number: str) -> bool:
    import phonenumbers

    if not number.startswith("+"):
        return False
    try:
        reason = phonenumbers.is_possible_number_with_reason(phonenumbers.parse(number, None))
        return reason == phonenumbers.ValidationResult.IS_POSSIBLE  # not a local-only length
    except phonenumbers.NumberParseException:
        return False


class LocalPhoneRecognizer(PatternRecognizer):
    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entity="PHONE_NUMBER", name="LocalPhoneRecognizer", patterns=PATTERNS,
                         supported_language=supported_language)

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = sum(ch.isdigit() for ch in pattern_text.split("x")[0].split("ext")[0])
        return None if 7 <= digits <= 15 else False

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        kept = []
        for result in results:
            around = text[max(0, result.start - CONTEXT_BEFORE):result.start] + " " + \
                text[result.end:result.end + CONTEXT_AFTER]
            if result.score > 0 and CONTEXT.search(around):
                result.score = 0.6 if result.score < 0.6 else result.score
                kept.append(result)
            elif result.score > 0 and international(text[result.start:result.end]):
                result.score = INTERNATIONAL_SCORE
                kept.append(result)
        return [r for r in kept if r.score > EntityRecognizer.MIN_SCORE]
