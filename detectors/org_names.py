"""People's names the NER model labels as an organisation.

The small English model reads many two-word names as ORG ("Please forward this to Kimberly Jones.",
"Mitchell Wood wrote to us"), and a name reported as no type at all is a name no reviewer sees. An ORG
span is taken as a PERSON when it is two or three title-case words after any salutation, its first word
is a known first name, its last is a surname or no common English word, and no word is one that names
organisations (Inc, Bank, University, ...); with a lower score when it is two or three title-case words,
none naming organisations and none a common English word unless it is a known name, or one word that
is a known first name or surname.
"""

from __future__ import annotations

import functools

from presidio_analyzer import RecognizerResult

from detectors.ner_gate import common_words, first_names, place_words, surnames

RECOGNIZER = "OrgLabelledNameRule"
PLACE_RECOGNIZER = "PlaceLabelledNameRule"
PLACE_PREPOSITIONS = frozenset({"in", "at", "near", "to", "from", "of", "around", "outside", "via"})
SCORE = 0.8  # as the model's own PERSON results of several words without a known name (detectors/ner_scores.py)
# An ORG span that could be a name but no lexicon says so ("Yuito Hirai", "Monjeau", or a start-up's name):
# reported, as a reviewer would rather see a company than miss a person, with a score that says so
UNSURE_SCORE = 0.5
SALUTATIONS = frozenset({"dear", "hi", "hello", "hey", "thanks", "thank", "attn", "attention", "cc", "to", "from",
                         "regards", "cheers"})
ORGANISATION_WORDS = frozenset({
    "inc", "ltd", "llc", "llp", "plc", "corp", "corporation", "company", "co", "group", "holdings", "bank", "banks",
    "university", "college", "school", "academy", "hospital", "clinic", "institute", "foundation", "association",
    "partners", "capital", "labs", "technologies", "systems", "solutions", "services", "international", "global",
    "airlines", "airways", "motors", "pharma", "pharmaceuticals", "insurance", "trust", "fund", "council",
    "committee", "department", "ministry", "agency", "office", "club", "church", "center", "centre", "society",
    "union", "federal", "national", "state", "city", "county", "press", "media", "news", "studios", "records",
    "industries", "enterprises", "ventures", "consulting", "logistics", "energy", "foods", "health", "care"})


def _without_possessive(word: str) -> str:
    return word[:-2] if word.endswith(("'s", "’s")) else word


@functools.cache
def _first_names_and_surnames() -> frozenset[str]:
    return first_names() | surnames()


def _initial(word: str) -> bool:
    return len(word.rstrip(".")) == 1 and word[:1].isupper()


def _name_like(word: str) -> bool:
    letters = word.replace("'", "").replace("-", "").replace("’", "")
    return letters.isalpha() and word[:1].isupper() and not word.isupper()


def person_names_labelled_org(text: str, artifacts) -> list[RecognizerResult]:
    found = []
    # the model's own spans (Presidio's configuration drops ORG from the artifacts' entities)
    for entity in artifacts.tokens.ents:
        if entity.label_ != "ORG":
            continue
        start, words = entity.start_char, entity.text.split()
        while words and words[0].lower().strip(",:") in SALUTATIONS:
            start = text.index(words[1], start + len(words[0])) if len(words) > 1 else start
            words = words[1:]
        words = [_without_possessive(w.rstrip(",.;:")) for w in words]
        score = name_score(words)
        if score is None:
            continue
        end = text.index(words[-1], start) + len(words[-1])
        found.append(RecognizerResult("PERSON", start, end, score,
                                      recognition_metadata={"recognizer_name": RECOGNIZER,
                                                            "recognizer_identifier": RECOGNIZER}))
    return found


def name_score(words: list[str]) -> float | None:
    """SCORE for a span that reads as a person's name by the lexicons, UNSURE_SCORE for one that could
    be one (title-case words, none a common word unless a known name, none naming organisations),
    None for one that reads as an organisation or a common phrase."""
    words = [w for n, w in enumerate(words) if not (0 < n < len(words) - 1 and _initial(w))]  # "Nikolaj N Møller"
    if not 1 <= len(words) <= 3 or not all(map(_name_like, words)):
        return None
    lowered = [w.lower() for w in words]
    if any(w in ORGANISATION_WORDS for w in lowered):
        return None
    if len(words) >= 2 and lowered[0] in first_names() and (lowered[-1] in surnames()
                                                             or lowered[-1] not in common_words()):
        return SCORE
    if len(words) == 1:  # one word alone is as often a brand or a product ("Fibonacci", "Kubernetes")
        return UNSURE_SCORE if lowered[0] in _first_names_and_surnames() else None
    if all(w not in common_words() or w in _first_names_and_surnames() for w in lowered):
        return UNSURE_SCORE
    return None


def person_names_labelled_place(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """The model's LOCATION results that read as a person's name ("Why is Rebecca so impulsive?", "add Tünde
    Hoffmann as a beneficiary"), made PERSON: a known first name first, no word a known place; one word alone
    only when no place preposition stands before it."""
    for result in results:
        if result.entity_type != "LOCATION" or result.recognition_metadata.get("recognizer_name") != "SpacyRecognizer":
            continue
        words = [_without_possessive(w) for w in text[result.start:result.end].split()]
        lowered = [w.lower() for w in words]
        if (not words or not all(map(_name_like, words)) or lowered[0] not in first_names()
                or any(w in place_words() for w in lowered)):
            continue
        if len(words) == 1:
            before = text[:result.start].split()[-1:]
            if before and before[0].lower() in PLACE_PREPOSITIONS:
                continue
            score = UNSURE_SCORE
        else:
            score = name_score(words)
            if score is None:
                continue
        result.entity_type, result.score = "PERSON", score
        result.recognition_metadata = {**result.recognition_metadata, "recognizer_name": PLACE_RECOGNIZER,
                                       "recognizer_identifier": PLACE_RECOGNIZER}
    return results
