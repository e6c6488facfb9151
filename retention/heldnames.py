"""Held names matched in the text itself. A hold naming a person must keep every record that names
them, also where no model found the name as a PERSON (a language with no model installed, a name
the model misses): the words of a record's texts are compared, as keyed digests, with the held names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from scanner.core.digests import keyed_digest

PURPOSE = b"held-name\x00"
# letters, with inner apostrophes, hyphens and dots (O'Brien, Jean-Luc, J.R.R.)
_WORD = re.compile(r"[^\W\d_]+(?:['\-.][^\W\d_]+)*")


def name_words(text: str) -> list[str]:
    """The words of a text as names are compared: NFKC, case-folded, a possessive 's dropped."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    return [w[:-2] if w.endswith("'s") else w for w in _WORD.findall(text)]


def name_digest(key: bytes, words: list[str]) -> str:
    return keyed_digest(key, " ".join(words).encode("utf-8"), purpose=PURPOSE)


@dataclass(frozen=True)
class NameWatch:
    """The held names (as digests) and their lengths in words: what a record's word runs are tried on."""

    key: bytes
    digests: frozenset[str]
    lengths: frozenset[int]

    @classmethod
    def of(cls, held: Iterable[tuple[str, int]], key: bytes) -> "NameWatch | None":
        held = list(held)
        if not held:
            return None
        return cls(key, frozenset(d for d, _ in held), frozenset(n for _, n in held))

    def found_in_texts(self, texts: Iterable[str]) -> frozenset[str]:
        found = set()
        for text in texts:
            words = name_words(text)
            for n in self.lengths:
                for start in range(len(words) - n + 1):
                    run = name_digest(self.key, words[start:start + n])
                    if run in self.digests:
                        found.add(run)
        return frozenset(found)

    def found_in(self, record) -> frozenset[str]:
        """The held names a record's texts and attributes hold (taken on a cluster worker, where the
        texts were read, when the record came back without them)."""
        if record.held_name_digests is not None:
            return record.held_name_digests
        return self.found_in_texts([*record.texts.values(), *record.attributes.values()])
