"""Which texts go through the NER model: only those that may hold a name.

A name is written with a capital letter. In a text that capitalises anything, a name may be
there when a capitalised word either stands inside a sentence, or starts a sentence but is not
one of spaCy's English stop words ("The", "What", "My" start sentences; "Maria" does not). A
text with letters but no capital at all goes to the model too (casing says nothing there).
Everything else (ordinary sentences around identifiers, numbers, punctuation) is tokenized only:
the pattern recognizers still see every text. What this costs in names is measured in benchmarks/throughput.py
on the fixtures and on the third-party corpus, whose names come from another generator.
"""

from __future__ import annotations

import re

from spacy.lang.en.stop_words import STOP_WORDS

_CAPITALISED = re.compile(r"[A-Z][\w'’\-]*")
_SENTENCE_END = ".!?:;\n\r\t•*#>|"
_OPENERS = " \"'“‘([{-–—"


def may_hold_name(text: str) -> bool:
    if not any(ch.isupper() for ch in text):
        # Nothing is capitalised, so casing says nothing: text typed all in lower case can still name
        # people (the third-party corpus has such lines), and the model finds some of them.
        return any(ch.isalpha() for ch in text)
    for match in _CAPITALISED.finditer(text):
        if match.start() > 0 and (text[match.start() - 1].isalnum() or text[match.start() - 1] in "_@./"):
            continue  # inside a word, an email, a path or a URL
        before = text[:match.start()].rstrip(_OPENERS)
        starts_sentence = not before or before[-1] in _SENTENCE_END
        if not starts_sentence or match.group(0).lower() not in STOP_WORDS:
            return True
    return False
