"""Scores for the NER model's PERSON and LOCATION results that say how often such a result is right.

Presidio gives every NER result 0.85 (presidio#701), so a score threshold cannot tell "Maria
Garcia" from "Tales". Here a result's score is the precision measured for its kind of evidence:
several title-case words or one; whether a word is a known first name or surname (US Census) or
a known place (countries, major cities); or not written in title case at all. The precisions were
measured on the even-numbered texts of presidio-research synth_v2 and rounded to 0.05;
benchmarks/quality.py prints, for the odd-numbered texts, the precision each score really had.
"""

from __future__ import annotations

from presidio_analyzer import RecognizerResult

from detectors.filters import recognizer_name
from detectors.ner_gate import first_names, known_names, surnames

SCORES = {
    ("PERSON", "several_words_known_name"): 0.95, ("PERSON", "several_words"): 0.8,
    ("PERSON", "one_word_known_name"): 0.85, ("PERSON", "one_word"): 0.6, ("PERSON", "not_title_case"): 0.9,
    ("LOCATION", "several_words_known_name"): 0.95, ("LOCATION", "several_words"): 0.95,
    ("LOCATION", "one_word_known_name"): 0.95, ("LOCATION", "one_word"): 0.65, ("LOCATION", "not_title_case"): 0.5,
}
CALIBRATION = "precision by evidence on presidio-research synth_v2, even-numbered texts"


def evidence(entity: str, value: str) -> str:
    words = value.split()
    title_case = any(map(str.islower, value)) and all(
        w[:1].isupper() and not w.isupper() for w in words if w[:1].isalpha())
    if not title_case:
        return "not_title_case"
    if entity == "PERSON":
        known = words[0].lower() in first_names() or words[-1].lower() in surnames()
    else:
        known = value.lower() in known_names()
    return ("several_words" if len(words) > 1 else "one_word") + ("_known_name" if known else "")


def calibrated_ner_scores(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    for result in results:
        if recognizer_name(result) == "SpacyRecognizer" and result.entity_type in ("PERSON", "LOCATION"):
            key = (result.entity_type, evidence(result.entity_type, text[result.start:result.end]))
            result.score = SCORES[key]
    return results
