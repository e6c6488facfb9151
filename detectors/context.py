"""Presidio's context step, doing only the work that can change a score.

Presidio's LemmaContextAwareEnhancer deep-copies every result of a text (NER results included)
and looks up the words around each result of a recognizer with context words, although most
texts contain none of those words: on the texts the NER model reads that was an eighth of the
engine's time. Scores are Presidio's own; the results it could not change are passed through.
A text without results, or whose recognizers have no context words (the NER model has none), skips the
enhancer altogether.
"""

from __future__ import annotations

from presidio_analyzer import RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer


class ContextWordsFirstEnhancer(LemmaContextAwareEnhancer):
    def __init__(self, lemmas_are_lower_cased_tokens: bool, **kwargs):
        """`lemmas_are_lower_cased_tokens`: a context word can then only be found around a result
        if it is in the lower-cased text (or in the caller's context words), which is checked first."""
        super().__init__(**kwargs)
        self.lemmas_are_lower_cased_tokens = lemmas_are_lower_cased_tokens

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):  # noqa: D102
        if not raw_results:
            return raw_results
        by_id = {recognizer.id: recognizer for recognizer in recognizers if recognizer.context}
        if not by_id:  # no recognizer here has context words (the NER one has none)
            return raw_results
        lowered, given = text.lower(), [word.lower() for word in context or []]

        def may_change(result: RecognizerResult) -> bool:
            meta = result.recognition_metadata or {}
            recognizer = by_id.get(meta.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
            if recognizer is None or meta.get(
                    RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                return False
            if not self.lemmas_are_lower_cased_tokens:  # a lemma need not be in the text ("drove": "drive")
                return True
            words = [word.lower() for word in recognizer.context]
            return any(word in lowered or any(word in g for g in given) for word in words)

        chosen = [i for i, result in enumerate(raw_results) if may_change(result)]
        if not chosen:
            return raw_results
        enhanced = super().enhance_using_context(text, [raw_results[i] for i in chosen], nlp_artifacts,
                                                 recognizers, context)
        results = list(raw_results)
        for i, result in zip(chosen, enhanced):  # Presidio returns copies, in the order given
            results[i] = result
        return results
