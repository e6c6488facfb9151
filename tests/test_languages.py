"""Texts are routed by their language: the pipeline of that language reads them, or, with none installed,
only the language-independent recognizers do, and the outputs say so. Data made here with Faker's German,
French and Spanish providers, not by the fixtures."""

import json

import pytest
import yaml
from faker import Faker

from tests.conftest import read_jsonl, run_cli

NAME_TYPES = {"PERSON", "LOCATION", "ORGANIZATION", "NRP"}


def write_jsonl(path, texts):
    path.write_text("".join(json.dumps({"id": f"r{n}", "text": text}) + "\n" for n, text in enumerate(texts)))
    return path


def scan(tmp_path, source, name, detection):
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump({"detection": detection}))
    out = tmp_path / name
    result = run_cli("scan", source, "--full", "--config", config, "--out", out)
    summary = json.loads((out / "summary.json").read_text())["sources"][source.stem]
    evidence = json.loads((out / "evidence.json").read_text())
    return result, read_jsonl(out / "findings.jsonl"), summary, evidence


def german_letters(count):
    fake = Faker("de_DE")
    fake.seed_instance(24)
    letters = []
    for _ in range(count):
        iban = fake.iban()
        text = (f"Sehr geehrte Frau {fake.last_name()}, wir haben Ihre Überweisung von der IBAN {iban} erhalten. "
                f"Unser Büro in {fake.city()} meldet sich bei Ihnen, sobald die Prüfung abgeschlossen ist.")
        letters.append((text, iban))
    return letters


def test_german_text_gets_no_findings_from_the_english_model_and_its_identifiers_and_titled_names_are_found(tmp_path):
    letters = german_letters(12)
    source = write_jsonl(tmp_path / "briefe.jsonl", [text for text, _ in letters])
    result, findings, summary, evidence = scan(tmp_path, source, "out", {"pipelines": {}})

    # names only where a title says so (Frau ...), by the pattern recognizer, never by the English model
    surnames = {(f"r{n}", text.index("Frau ") + 5, text.index(",")) for n, (text, _) in enumerate(letters)}
    assert {(f["record_id"], f["start"], f["end"]) for f in findings if f["entity_type"] in NAME_TYPES} == surnames
    assert {f["recognizer"] for f in findings if f["entity_type"] in NAME_TYPES} == {"NamedPersonRecognizer"}
    ibans = {(f["record_id"], f["start"], f["end"]) for f in findings if f["entity_type"] == "IBAN_CODE"}
    assert ibans == {(f"r{n}", text.index(iban), text.index(iban) + len(iban)) for n, (text, iban) in enumerate(letters)}
    assert summary["languages"] == {"de": {"texts": 12, "names_checked": False}}
    assert summary["names_not_checked"] == ["names and places not read by a model in 12 texts: no de model (names after a title are still found)"]
    assert "source 'briefe': names and places not read by a model in 12 texts: no de model (names after a title are still found)" in result.stderr
    assert evidence["sources"][0]["languages"] == summary["languages"]
    assert set(evidence["detection"]["language_routing"]["pipelines"]) == {"en"}


def test_without_identification_every_text_is_the_default_language(tmp_path):
    source = write_jsonl(tmp_path / "briefe.jsonl", [text for text, _ in german_letters(4)])
    result, findings, summary, _ = scan(tmp_path, source, "out", {"identify_language": False})
    assert summary["languages"] == {"en": {"texts": 4, "names_checked": True}}
    assert summary["names_not_checked"] == [] and "not checked" not in result.stderr


def french_messages(count):
    fake = Faker("fr_FR")
    fake.seed_instance(7)
    messages = []
    for _ in range(count):
        name, phone = f"{fake.first_name()} {fake.last_name()}", fake.phone_number()
        text = (f"Bonjour, je m'appelle {name} et j'habite à {fake.city()} depuis dix ans. "
                f"Vous pouvez me joindre au téléphone : {phone}. Merci de votre patience.")
        messages.append((text, name, phone))
    return messages


def test_french_text_is_read_by_the_french_pipeline_and_not_at_all_without_it(tmp_path):
    messages = french_messages(15)
    source = write_jsonl(tmp_path / "messages.jsonl", [text for text, _, _ in messages])
    _, with_fr, summary, evidence = scan(tmp_path, source, "fr", {"pipelines": {"fr": "fr_core_news_sm"}})
    result, without, summary_without, _ = scan(tmp_path, source, "none", {"pipelines": {}})

    assert summary["languages"] == {"fr": {"texts": 15, "names_checked": True}}
    assert evidence["detection"]["language_routing"]["pipelines"]["fr"]["name"] == "fr_core_news_sm"
    people = {(f["record_id"], f["start"], f["end"]) for f in with_fr if f["entity_type"] == "PERSON"}
    names = {(f"r{n}", text.index(name), text.index(name) + len(name)) for n, (text, name, _) in enumerate(messages)}
    assert len(people & names) >= 12, sorted(names - people)  # the model, not a list, finds them

    assert {f["recognizer"] for f in without if f["entity_type"] in NAME_TYPES} <= {"NamedPersonRecognizer"}
    assert summary_without["names_not_checked"] == ["names and places not read by a model in 15 texts: no fr model (names after a title are still found)"]
    # the identifiers do not depend on the pipeline: every French phone number, in both runs
    phones = {(f"r{n}", text.index(phone), text.index(phone) + len(phone)) for n, (text, _, phone) in enumerate(messages)}
    for found in (with_fr, without):
        assert {(f["record_id"], f["start"], f["end"]) for f in found if f["entity_type"] == "PHONE_NUMBER"} == phones


def test_english_text_is_read_as_before(tmp_path, demo_data):
    """The demo's English records: identification changes none of their findings."""
    source = demo_data / "support_eval.jsonl"
    _, routed, summary, _ = scan(tmp_path, source, "routed", {})
    _, unrouted, _, _ = scan(tmp_path, source, "unrouted", {"identify_language": False})
    assert routed == unrouted and routed
    assert summary["names_not_checked"] == []


def test_european_identifiers_with_a_check_digit_are_found_and_a_wrong_check_digit_is_not(tmp_path):
    from stdnum import luhn
    from stdnum.iso7064 import mod_11_10

    spanish, french, german = Faker("es_ES"), Faker("fr_FR"), Faker("de_DE")
    for fake in (spanish, french, german):
        fake.seed_instance(11)
    cases = []  # (text before, value, text after, entity type)
    for _ in range(5):
        cases.append(("El paciente, con DNI ", spanish.nif(), ", acudió a consulta.", "ES_NIF"))
        cases.append(("Tarjeta de residencia NIE ", spanish.nie(), " caducada.", "ES_NIE"))
        cases.append(("Numéro de sécurité sociale : ", french.ssn(), ".", "FR_NIR"))
        body = german.numerify("%#######")
        cases.append(("Unsere USt-IdNr. lautet ", f"DE{body}{mod_11_10.calc_check_digit(body)}", ".", "EU_VAT"))
        siren = french.numerify("%#######")
        siren += luhn.calc_check_digit(siren)
        cases.append(("TVA intracommunautaire ", f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}", "", "EU_VAT"))
    identifier_types = {entity for *_, entity in cases}

    def found(name, texts):
        _, findings, _, _ = scan(tmp_path, write_jsonl(tmp_path / f"{name}.jsonl", texts), name, {})
        return {(f["record_id"], f["entity_type"], f["start"], f["end"]) for f in findings
                if f["entity_type"] in identifier_types}

    texts = [before + value + after for before, value, after, _ in cases]
    assert found("ids", texts) == {(f"r{n}", entity, len(before), len(before) + len(value))
                                   for n, (before, value, _, entity) in enumerate(cases)}
    # one character of each changed: its check digit or letter no longer holds
    wrong = [before + value[:-1] + ("B" if value[-1] == "A" else "A" if value[-1].isalpha() else
                                    str((int(value[-1]) + 1) % 10)) + after for before, value, after, _ in cases]
    assert found("wrong", wrong) == set()


@pytest.mark.parametrize("installed,expected", [
    ([("fr_core_news_sm", "fr"), ("fr_core_news_md", "fr"), ("de_core_news_lg", "de"), ("en_core_web_md", "en")],
     {"en": "my_model", "de": "de_core_news_lg", "fr": "fr_core_news_md"}),
    ([("es_core_news_sm", "es")], {"en": "my_model", "es": "es_core_news_sm"}),
])
def test_the_best_installed_pipeline_of_each_language_is_chosen(monkeypatch, installed, expected):
    from detectors import language

    monkeypatch.setattr(language, "installed_models", lambda: installed)
    assert language.installed_pipelines("en", "my_model") == expected


def test_identification_tells_languages_apart_and_gives_up_on_text_too_short_to_tell():
    from detectors.language import identify

    fake = {code: Faker(locale) for code, locale in [("de", "de_DE"), ("fr", "fr_FR"), ("es", "es_ES")]}
    assert identify(german_letters(1)[0][0]) == "de"
    assert identify(french_messages(1)[0][0]) == "fr"
    assert identify(f"Hola {fake['es'].first_name()}, ¿puedes llamarme mañana por la tarde?") == "es"
    assert identify("Please forward this to Kimberly Jones, she wrote to us yesterday.") == "en"
    assert identify("12345 678") is None and identify("") is None


def test_names_and_addresses_of_other_countries_do_not_make_an_english_text_foreign():
    from detectors.language import identify

    fake = Faker("pt_PT")
    fake.seed_instance(3)
    texts = [f"The bus drops you off at {fake.street_address()}, {fake.city()}." for _ in range(40)]
    read_whole = sum(identify(text) not in ("en", None) for text in texts)
    read_again = sum(identify(text, "en") not in ("en", None) for text in texts)
    assert read_again < read_whole  # 4 of 40 read as another language, 2 once read again without the names
    assert identify("Bitte rufen Sie morgen früh Herrn Müller in der Praxis an.", "en") == "de"
