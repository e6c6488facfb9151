"""Which texts go through the NER model: only those that may hold a name of a person or place.

A name is written with a capital letter. A text goes to the model when one of its capitalised
words (any script) either
- stands inside a sentence (other than "I" and its contractions), or
- starts a sentence and is a known name (US Census first names, countries and major cities from
  phonenumbers' geocoding data), or is not one of the most frequent English words
  (wordfreq): "Shipping usually takes…" is tokenized only, "Maria asked…", "Estonia was…" and
  "Okonkwo called…" go to the model.
Acronyms (all capitals, up to four letters) count only when they are a known name ("JOHN").
A text with letters all in one case goes to the model too (casing says nothing there).
Pattern recognizers still see every text. What the gate costs in names is measured in
benchmarks/throughput.py on the fixtures and on a third-party corpus whose names come from
another generator than the fixtures' (Faker); none of the lexicons comes from Faker.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from spacy.lang.en.stop_words import STOP_WORDS

COMMON_WORDS = 10_000  # how many of wordfreq's most frequent English words count as ordinary words
SURNAME_SHARE = 50.0  # surnames that cover this cumulative % of the US population (1990 census)
FIRST_NAME_SHARE = 80.0  # first names that cover this cumulative % of the US population (1990 census)
_CAPITALISED = re.compile(r"(?<![\w@./])[^\W\d_][\w'’\-]*")
_SENTENCE_END = ".!?:;\n\r\t•*#>|"
_OPENERS = " \"'“‘([{-–—"
_FIRST_PERSON = frozenset({"I", "I'm", "I've", "I'll", "I'd", "I’m", "I’ve", "I’ll", "I’d"})
# The commonest capitalised word inside a sentence: after a lower-case letter, digit or comma and one space, a
# capital and a lower-case letter ("to Hans", "by Frau"). may_hold_name_word_by_word says True for every such
# word (it is not an acronym, not "I"), so finding one first decides most of the texts the model reads at
# once. Opening with the space lets `re` skip to the spaces.
_INSIDE_SENTENCE = re.compile(r" (?<=[a-z0-9,] )[A-Z][a-z]")


def may_hold_name(text: str) -> bool:
    return _INSIDE_SENTENCE.search(text) is not None or may_hold_name_word_by_word(text)


def may_hold_name_word_by_word(text: str) -> bool:
    if not any(map(str.isupper, text)) or not any(map(str.islower, text)):
        # All in one case, so casing says nothing: text typed in lower case (or shouted) can still
        # name people (the third-party corpus has such lines), and the model finds some of them.
        return any(ch.isalpha() for ch in text)
    for match in _CAPITALISED.finditer(text):
        word = match.group(0)
        if not word[0].isupper() or word in _FIRST_PERSON:
            continue
        if word.isupper() and len(word) <= 4:
            if _bare(word) in known_names():  # "JOHN"; SSN, API, JSON are acronyms
                return True
            continue
        before = text[:match.start()].rstrip(_OPENERS)
        if before and before[-1] not in _SENTENCE_END:
            return True  # capitalised inside a sentence
        if _may_name_at_sentence_start(_bare(word)):
            return True
    return False


def warm_up_gate() -> None:
    known_names()
    common_words()


def _bare(word: str) -> str:
    word = word.lower()
    for suffix in ("'s", "’s"):
        word = word.removesuffix(suffix)
    return word.strip("'’-")


def _may_name_at_sentence_start(word: str) -> bool:
    if word in STOP_WORDS:
        return False
    return word in known_names() or word not in common_words()


@functools.cache
def common_words() -> frozenset[str]:
    return derived_words("common_words")


def _wordfreq_top() -> list[str]:
    import wordfreq

    return wordfreq.top_n_list("en", COMMON_WORDS)


@functools.cache
def known_names() -> frozenset[str]:
    """Lower-cased first names, countries and major cities (none from Faker)."""
    return frozenset((first_names() | place_words()) - STOP_WORDS)


@functools.cache
def surnames() -> frozenset[str]:
    """Surnames of half the US population (1990 census): for filters, not for the gate."""
    import names

    with open(names.FILES["last"], encoding="ascii") as handle:
        return frozenset(line.split()[0].lower() for line in handle if float(line.split()[2]) <= SURNAME_SHARE)


@functools.cache
def first_names() -> frozenset[str]:
    """First names of 80% of the US population (1990 census files shipped by the `names` package).

    The rarer tail is mostly ordinary words ("Season", "Loan"). Surnames are left out of the gate:
    alone at the start of a sentence they are rare, and their list holds most of English ("Way",
    "Work", "Day")."""
    import names

    found = set()
    for kind in ("first:male", "first:female"):
        with open(names.FILES[kind], encoding="ascii") as handle:
            for line in handle:
                name, _, cumulative, _ = line.split()
                if float(cumulative) <= FIRST_NAME_SHARE:
                    found.add(name.lower())
    return frozenset(found)


DATA = Path(__file__).parent / "data"
# word lists derived from a package's data, shipped made (deriving them costs ~1.5 s of every start-up):
# name -> (the package, what derives the list from it)
DERIVED = {"place_words": ("phonenumbers", lambda: _place_words()),
           "common_words": ("wordfreq", lambda: set(_wordfreq_top()))}


def derived_header(package: str) -> str:
    from importlib.metadata import version

    return f"# made by `python -m detectors.ner_gate` from {package} {version(package)}"


def derived_words(name: str) -> frozenset[str]:
    """A derived word list as shipped, or derived now when the installed package is not the one it was
    made from (the header says which)."""
    package, derive = DERIVED[name]
    path = DATA / f"{name}.txt"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    if lines and lines[0] == derived_header(package):
        return frozenset(lines[1:])
    return frozenset(derive())


def write_derived_words() -> None:
    DATA.mkdir(exist_ok=True)
    for name, (package, derive) in DERIVED.items():
        (DATA / f"{name}.txt").write_text("\n".join([derived_header(package), *sorted(derive())]) + "\n",
                                          encoding="utf-8")


@functools.cache
def place_words() -> frozenset[str]:
    """Lower-cased one-word names of countries, major cities and US states (see _place_words)."""
    return derived_words("place_words")


def _place_words() -> set[str]:
    """One-word names of countries and of the places whose phone area codes are short (major cities,
    US states), in English, from phonenumbers' geocoding data. Small towns are left out: many are
    named like ordinary words ("Best", "Man"). A name of several words ("New York") has a capitalised
    word inside the sentence, which sends the text to the model anyway."""
    import phonenumbers
    from phonenumbers import geocoder
    from phonenumbers.geodata import GEOCODE_DATA

    places = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        if example is not None:
            places.add(geocoder.country_name_for_number(example, "en"))
    for prefix, descriptions in GEOCODE_DATA.items():
        if not (isinstance(descriptions, dict) and descriptions.get("en")):
            continue
        country = next(prefix[:n] for n in (1, 2, 3) if phonenumbers.region_code_for_country_code(int(prefix[:n])) != "ZZ")
        if len(prefix) - len(country) <= (3 if country == "1" else 2):
            places.add(re.split(r",| - ", descriptions["en"])[0])
    return {place.strip().lower() for place in places if place and " " not in place.strip()}


if __name__ == "__main__":
    write_derived_words()
