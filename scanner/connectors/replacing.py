"""Values replaced inside a record as its source stores it: every string of a JSON value, a CSV row, an
Arrow row or a vector store's payload. A connector hands its record's raw value to `Replacements.value`
and writes back what it returns; which values are replaced, and by what, is decided above it."""

from __future__ import annotations

from typing import Any, Callable

Edits = dict[int, Callable[[Any], Any]]  # record number (1-based) -> the record's raw value, redacted


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class Replacements:
    """Each original value replaced by its replacement wherever it stands in a string: as a word (`Ann` never
    turns `Annual` into `<PERSON>ual`), or anywhere for the values in `inside_words` (those found inside a
    longer word). Where two values overlap, the longer one is replaced. Found with str.find: a regular
    expression compiled for each record would cost more than the rest of the redaction."""

    def __init__(self, mapping: dict[str, str], inside_words: set[str] = frozenset()):
        self.mapping = {k: v for k, v in mapping.items() if k}
        self._ordered = sorted(self.mapping, key=len, reverse=True)
        self._inside = set(inside_words)
        self.replaced = 0

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        taken: list[tuple[int, int, str]] = []
        for value in self._ordered:
            at = text.find(value)
            while at != -1:
                end = at + len(value)
                bounded = value in self._inside or (
                    not (_word(value[0]) and at > 0 and _word(text[at - 1]))
                    and not (_word(value[-1]) and end < len(text) and _word(text[end])))
                if bounded and not any(at < e and s < end for s, e, _ in taken):
                    taken.append((at, end, value))
                at = text.find(value, at + 1)
        return sorted(taken)

    def text(self, text: str) -> str:
        spans = self._spans(text)
        if not spans:
            return text
        out, at = [], 0
        for start, end, value in spans:
            out += [text[at:start], self.mapping[value]]
            at = end
        self.replaced += len(spans)
        return "".join(out) + text[at:]

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
        if isinstance(value, str):
            return bool(self._spans(value))
        if isinstance(value, dict):
            return any(self.left_in(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return any(self.left_in(v) for v in value)
        return False
