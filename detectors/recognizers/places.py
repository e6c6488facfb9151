"""A place named where a person lives, comes from or travels: "grew up in Lendava", "moved here from
Fortaleza", "I am in Rohod". Such a place is personal data about that person; the small NER model
misses many (unfamiliar, foreign or written in capitals). The phrase must come right before the name."""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer

from detectors.recognizers import CAPITALISED_WORD

_PHRASES = (
    r"[Ll]ives? in|[Ll]iving in|[Gg]rew up in|[Bb]orn in|[Rr]aised in|[Mm]oved (?:here |back )?(?:from|to)|"
    r"[Rr]elocated (?:from|to)|[Oo]riginally from|[Cc]omes? from|[Ff]lew (?:in )?(?:to|from)|[Aa]rrived (?:at|in)|"
    r"I am in|I'm in|I’m in|[Bb]ased in|[Hh]ometown(?: of| is)?|[Cc]oming to|[Vv]isiting|[Ss]tay(?:ing)? in|"
    r"[Ww]here:")
# small words inside place names ("Villafranca del Cid"); never at their end
_CONNECTIVES = ("de", "del", "do", "da", "di", "la", "le", "sur", "am", "an", "upon", "on")
# Each phrase, lower-cased, contains one of these: a text without any is not searched (see names.py).
PHRASE_WORDS = ("live", "living", "grew up", "born", "raised", "moved", "relocated", "originally", "come", "flew",
                "arrived", "i am in", "i'm in", "i’m in", "based in", "hometown", "coming to", "visiting", "stay",
                "where:")
PATTERNS = [Pattern("place after a personal phrase",
                    rf"(?<=(?:{_PHRASES})\s+)(?!(?:the|a|an|my|our|his|her|their)\b){CAPITALISED_WORD}"
                    rf"(?:[ \-](?:{CAPITALISED_WORD}|{'|'.join(_CONNECTIVES)})){{0,3}}", 0.6)]


class PersonalPlaceRecognizer(PatternRecognizer):
    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entity="LOCATION", name="PersonalPlaceRecognizer", patterns=PATTERNS,
                         supported_language=supported_language, global_regex_flags=re.MULTILINE)

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
        lowered = text.lower()
        if not any(word in lowered for word in PHRASE_WORDS):
            return []
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:  # a trailing connective is no part of the name ("Rohod for a business")
            words = text[result.start:result.end].split()
            while words and words[-1] in _CONNECTIVES:
                result.end -= len(words.pop()) + 1
            while result.end > result.start and text[result.end - 1] in ".,'’-":
                result.end -= 1
        return [r for r in results if r.end > r.start]
