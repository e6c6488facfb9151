"""Every dhscan recognizer and false-positive filter on its positive and negative cases
(fixtures/detection_cases.py), through the real engine and model."""

import pytest

from fixtures.detection_cases import FILTERS as FILTER_CASES
from fixtures.detection_cases import RECOGNIZERS as RECOGNIZER_CASES


@pytest.fixture(scope="module")
def engine():
    from detectors.config import DetectionConfig
    from detectors.engine import DetectionEngine
    from scanner.core.keys import DigestKey

    return DetectionEngine(DetectionConfig(entities=["all"]), DigestKey(b"k" * 32, "test"))


def found_by(engine, text: str, recognizer: str, entity: str) -> list[str]:
    from scanner.core.records import Record

    findings = engine.detect([Record("cases", "eval_dataset", "1", {}, {"text": text})])[0]
    return [text[f.start:f.end] for f in findings if f.recognizer == recognizer and f.entity_type == entity]


def test_every_recognizer_and_filter_has_cases(engine):
    from detectors.engine import plugin_recognizers
    from detectors.filters import FILTERS

    assert sorted(r.name for r in plugin_recognizers("en")) == sorted(RECOGNIZER_CASES)
    assert [f.__name__ for f in FILTERS] == list(FILTER_CASES)
    assert set(RECOGNIZER_CASES) <= set(engine.recognizers)


@pytest.mark.parametrize("name,entity,text", [
    (name, entity, text) for name, (entity, positives, _) in RECOGNIZER_CASES.items() for text in positives])
def test_recognizer_finds_its_positive_cases(engine, name, entity, text):
    assert found_by(engine, text, name, entity), text


@pytest.mark.parametrize("name,entity,text", [
    (name, entity, text) for name, (entity, _, negatives) in RECOGNIZER_CASES.items() for text in negatives])
def test_recognizer_ignores_its_negative_cases(engine, name, entity, text):
    assert found_by(engine, text, name, entity) == []


def raw_and_filtered(engine, name: str, text: str):
    from detectors.filters import FILTERS

    raw = engine.analyzer.analyze(text=text, language="en", entities=engine.entities,
                                  score_threshold=engine.config.min_score)
    fp_filter = next(f for f in FILTERS if f.__name__ == name)
    return raw, fp_filter(text, list(raw))


@pytest.mark.parametrize("name,text", [(n, t) for n, (positives, _) in FILTER_CASES.items() for t in positives])
def test_filter_drops_its_positive_cases(engine, name, text):
    from detectors.filters import FILTERS, apply_filters

    raw, kept = raw_and_filtered(engine, name, text)
    changed = [r for r in raw if r not in kept]  # dropped, or narrowed (a name cut at a line break)
    assert changed and len(kept) <= len(raw), [(r.entity_type, text[r.start:r.end]) for r in raw]
    fp_filter = next(f for f in FILTERS if f.__name__ == name)
    # apply_filters skips a filter for texts without the types it declares: it must change no other
    assert {r.entity_type for r in changed} <= fp_filter.drops
    everything = list(raw)
    for each in FILTERS:
        everything = each(text, everything)
    assert apply_filters(text, list(raw)) == everything


@pytest.mark.parametrize("name,text", [(n, t) for n, (_, negatives) in FILTER_CASES.items() for t in negatives])
def test_filter_keeps_its_negative_cases(engine, name, text):
    raw, kept = raw_and_filtered(engine, name, text)
    assert raw and kept == raw, [(r.entity_type, text[r.start:r.end]) for r in raw]


@pytest.mark.parametrize("text,name", [
    ("Please forward this to Kimberly Jones.", "Kimberly Jones"),  # the model says ORG
    ("Mitchell Wood wrote to us yesterday.", "Mitchell Wood"),
    ("Acme Holdings wrote to us yesterday.", None),  # an organisation word
    ("Bank of America called about the card.", None),
])
def test_a_name_the_model_labels_org_is_reported_as_a_person(engine, text, name):
    from scanner.core.records import Record

    [findings] = engine.detect([Record("s", "eval_dataset", "r", {}, {"text": text})])
    people = [(text[f.start:f.end], f.recognizer) for f in findings if f.entity_type == "PERSON"]
    assert people == ([(name, "OrgLabelledNameRule")] if name else [])


@pytest.mark.parametrize("words,score", [
    (["Kimberly", "Jones"], "SCORE"),  # a known first name and a surname
    (["Yuito", "Hirai"], "UNSURE_SCORE"),  # no lexicon knows them, but they read as a name
    (["Nikolaj", "N", "Møller"], "UNSURE_SCORE"),  # a middle initial
    (["Darren"], "UNSURE_SCORE"),  # one word: only a known first name or surname
    (["Fibonacci"], None), (["Kubernetes"], None),
    (["Acme", "Holdings"], None),  # an organisation word
    (["Market", "Report"], None),  # common words
    (["Yuito", "Hirai", "Tanaka", "Mori"], None),  # too long for a name
])
def test_an_org_span_is_a_person_by_how_it_reads(words, score):
    from detectors import org_names

    assert org_names.name_score(words) == (getattr(org_names, score) if score else None)


@pytest.mark.parametrize("text,person", [
    ("Why is Rebecca so impulsive?", "Rebecca"),  # the model says GPE
    ("Don't go to town, Brandon!", "Brandon"),
    ("She moved to Victoria in May.", None),  # a known place, after a place preposition
])
def test_a_name_the_model_labels_a_place_is_reported_as_a_person(engine, text, person):
    from scanner.core.records import Record

    [findings] = engine.detect([Record("s", "eval_dataset", "r", {}, {"text": text})])
    people = [(text[f.start:f.end], f.recognizer) for f in findings if f.entity_type == "PERSON"]
    assert people == ([(person, "PlaceLabelledNameRule")] if person else [])
