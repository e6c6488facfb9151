"""Values replaced inside a record as its source stores it: every string of a JSON value, a CSV row, an
Arrow row or a vector store's payload. A connector hands its record's raw value to `Replacements.value`
and writes back what it returns; which values are replaced, and by what, is decided above it."""

from __future__ import annotations

import re
from typing import Any, Callable

Edits = dict[int, Callable[[Any], Any]]  # record number (1-based) -> the record's raw value, redacted


def _bounded(value: str) -> str:
    """A value matched as itself, not inside a longer word: `Ann` never turns `Annual` into `<PERSON>ual`."""
    return (r"(?<!\w)" if value[:1].isalnum() or value[:1] == "_" else "") + re.escape(value) + \
        (r"(?!\w)" if value[-1:].isalnum() or value[-1:] == "_" else "")


class Replacements:
    """Each original value (longest first) replaced by its replacement wherever it stands in a string: as a
    word, or anywhere for the values in `inside_words` (those that were found inside a longer word)."""

    def __init__(self, mapping: dict[str, str], inside_words: set[str] = frozenset()):
        self.mapping = {k: v for k, v in mapping.items() if k}
        ordered = sorted(self.mapping, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) if v in inside_words else _bounded(v) for v in ordered)) \
            if ordered else None
        self.replaced = 0

    def text(self, text: str) -> str:
        if self._pattern is None:
            return text

        def swap(match: re.Match) -> str:
            self.replaced += 1
            return self.mapping[match.group(0)]

        return self._pattern.sub(swap, text)

    def value(self, value: Any) -> Any:
        """`value` with its strings replaced (dict keys and non-strings as they were)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        return value

    def left_in(self, value: Any) -> bool:
        """Whether an original value still stands in a string of `value` (as a word, as replaced)."""
        if self._pattern is None:
            return False
        if isinstance(value, str):
            return self._pattern.search(value) is not None
        if isinstance(value, dict):
            return any(self.left_in(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return any(self.left_in(v) for v in value)
        return False
