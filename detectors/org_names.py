"""People's names the NER model labels as an organisation.

The small English model reads many two-word names as ORG ("Please forward this to Kimberly Jones.",
"Mitchell Wood wrote to us"), and a name reported as no type at all is a name no reviewer sees. An ORG
span is taken as a PERSON when it is two or three title-case words after any salutation, its first word
is a known first name, its last is a surname or no common English word, and no word is one that names
organisations (Inc, Bank, University, ...).
"""

from __future__ import annotations

from presidio_analyzer import RecognizerResult

from detectors.ner_gate import common_words, first_names, surnames

RECOGNIZER = "OrgLabelledNameRule"
SCORE = 0.8  # as the model's own PERSON results of several words without a known name (detectors/ner_scores.py)
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
        words = [w.rstrip(",.;:") for w in words]
        if not 2 <= len(words) <= 3 or not all(map(_name_like, words)):
            continue
        lowered = [w.lower() for w in words]
        if any(w in ORGANISATION_WORDS for w in lowered) or lowered[0] not in first_names():
            continue
        if lowered[-1] not in surnames() and lowered[-1] in common_words():
            continue
        end = text.index(words[-1], start) + len(words[-1])
        found.append(RecognizerResult("PERSON", start, end, SCORE,
                                      recognition_metadata={"recognizer_name": RECOGNIZER,
                                                            "recognizer_identifier": RECOGNIZER}))
    return found
