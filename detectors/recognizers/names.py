"""A person's name where the text says it is one: after an honorific ("Dr. Kyle Kuefer", "Mr.
Slepička") or an introduction ("My name is Siiri", "Name: Sieda Batukayev", "Directed By: Johannes
Varvio"). The small NER model misses many names it has not seen, above all non-English ones.
After looser openers ("I'm", "This is", "Dear", "Hi") the first word must not be an ordinary English
word unless it is a known first name, so "This is Python" and "Hi There" are not names."""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer

from detectors.ner_gate import common_words, known_names

_WORD = r"(?:[A-Z]|[^\W\d_a-z])[\w'’\-]+"
_NAME = rf"{_WORD}(?:[ \t]+(?:[A-Z]\.?[ \t]+)?{_WORD}){{0,2}}"
# English, French, German, Spanish and Italian titles: a name after one is found in a text of any language
_HONORIFIC = (r"Mr|Mrs|Ms|Miss|Mx|Dr|Dra|Prof|Sir|Dame|Mme|Mlle|Monsieur|Madame|Mademoiselle|Herr|Herrn|Frau|Sr|Sra|Srta|"
              r"Señor|Señora|Señorita|Signor|Signora|Sig|Dott")
_STRICT = (r"[Mm]y name is|[Mm]y name's|[Nn]ame:|[Nn]ame is|[Ll]ast name\?|[Ff]irst name\?|[Ss]urname:|"
           r"[Dd]irected [Bb]y:?|[Ww]ritten [Bb]y:?|[Ss]igned:?")
_LOOSE = r"I'm|I’m|I am|[Tt]his is|[Dd]ear|[Hh]i|[Hh]ello|[Rr]egards,|[Ss]incerely,|[Tt]hanks,|[Aa]sk for|[Ss]peak to"


def at_word_start(alternatives: str) -> re.Pattern:
    r"""`\b(?:alternatives)` written so that every branch opens with a literal character: Python's re
    then skips to those characters instead of trying the pattern at every position. `X(?<!\w.)` is an X at a word start; `[Tt]his` becomes `This|this`."""
    branches: dict[str, list[str]] = {}
    for alternative in alternatives.split("|"):
        cased = re.fullmatch(r"\[(\w)(\w)\](.*)", alternative)
        for spelled in ([cased[1] + cased[3], cased[2] + cased[3]] if cased else [alternative]):
            branches.setdefault(spelled[0], []).append(spelled[1:])
    return re.compile("|".join(rf"{re.escape(first)}(?<!\w.)(?:{'|'.join(rests)})"
                               for first, rests in branches.items()))


# Every pattern starts right after an honorific, a greeting or an introduction; a text with none is not
# searched, as the patterns' lookbehinds are tried at every position. The check is a superset of the
# lookbehinds: the introductions, lower-cased, all contain one of INTRODUCTION_WORDS.
_HONORIFIC_OR_GREETING = at_word_start(f"{_HONORIFIC}|{_LOOSE}")
INTRODUCTION_WORDS = ("name", "directed by", "written by", "signed")


def mentions_introduction(lowered: str) -> bool:
    """One of INTRODUCTION_WORDS is in the lower-cased text (written out: `any()` over them took 3x as long)."""
    return "name" in lowered or "directed by" in lowered or "written by" in lowered or "signed" in lowered


PATTERNS = [
    # titles in a row ("Frau Dr. med. Weber") lead to the name, never to the next title
    Pattern("name after an honorific",
            rf"(?<=\b(?:{_HONORIFIC})\.?[ \t]+(?:(?:med|rer\. nat|phil)\.[ \t]+)?)(?!(?:{_HONORIFIC})\b){_NAME}", 0.7),
    Pattern("name after an introduction", rf"(?<=(?:{_STRICT})[ \t\n]+){_NAME}", 0.7),
    Pattern("name after a greeting or self-introduction", rf"(?<=\b(?:{_LOOSE})[ \t]+){_NAME}", 0.6),
]


class NamedPersonRecognizer(PatternRecognizer):
    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entity="PERSON", name="NamedPersonRecognizer", patterns=PATTERNS,
                         supported_language=supported_language, global_regex_flags=re.MULTILINE)

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
        if not (mentions_introduction(text.lower()) or _HONORIFIC_OR_GREETING.search(text)):
            return []
        kept = []
        for result in super().analyze(text, entities, nlp_artifacts, regex_flags):
            words = text[result.start:result.end].split()
            if result.score < 0.7 and _ordinary(words[0], common_words(), known_names()):
                continue  # "This is Python", "Hi There"
            while len(words) > 1 and _ordinary(words[-1], common_words(), known_names()):
                result.end = result.start + text[result.start:result.end].rindex(words.pop())
                result.end = result.start + len(text[result.start:result.end].rstrip())
            kept.append(result)
        return kept


_ADDRESS_WORDS = frozenset({"apt", "apartment", "suite", "ste", "unit", "flat"})


def _ordinary(word: str, common: frozenset, names: frozenset) -> bool:
    word = word.lower().rstrip(".,")
    return word in _ADDRESS_WORDS or (word in common and word not in names)
