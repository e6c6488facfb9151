"""Presidio's RecognizerRegistry, answering `get_recognizers` from a memo.

AnalyzerEngine asks the registry for the recognizers of the requested entities on every text, and
the registry scans all of its recognizers for each entity every time. The answer depends only on the request and on the
recognizers held, so it is kept until they change.
"""

from __future__ import annotations

from presidio_analyzer import RecognizerRegistry

MEMO_SIZE = 4096  # distinct requests kept (a run makes a few dozen: subsets of its entity types)


class MemoizedRecognizerRegistry(RecognizerRegistry):
    def get_recognizers(self, language, entities=None, all_fields=False, ad_hoc_recognizers=None):  # noqa: D102
        if ad_hoc_recognizers:
            return super().get_recognizers(language, entities, all_fields, ad_hoc_recognizers)
        held = (self.recognizers, len(self.recognizers))  # add_recognizer appends; remove_recognizer replaces
        memo = self.__dict__.get("_memo")
        if memo is None or memo[0][0] is not held[0] or memo[0][1] != held[1] or len(memo[1]) >= MEMO_SIZE:
            memo = self._memo = (held, {})
        key = (language, None if entities is None else tuple(entities), all_fields)
        if key not in memo[1]:
            memo[1][key] = super().get_recognizers(language, entities, all_fields)
        return list(memo[1][key])
