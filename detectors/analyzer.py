"""Presidio's AnalyzerEngine, skipping the steps that cannot change a batch caller's results.

DetectionEngine asks for given entity types with precomputed NLP artifacts and a score threshold, and
never for the decision process. For such a call `analyze` runs Presidio's steps in Presidio's order but
skips three that do nothing there: a default context hook per recognizer, explanations built for results
whose explanation is then removed, and the duplicate removal's hashing and two sorts for a single result.
Each result equals AnalyzerEngine's (a test compares them). Any other call is Presidio's own `analyze`.
"""

from __future__ import annotations

import functools
import re

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import SpacyRecognizer


class AnalyzerEngineSkippingNoOps(AnalyzerEngine):
    def analyze(self, text, language, entities=None, correlation_id=None, score_threshold=None,  # noqa: D102
                return_decision_process=False, ad_hoc_recognizers=None, context=None, allow_list=None,
                allow_list_match="exact", regex_flags=re.DOTALL | re.MULTILINE | re.IGNORECASE, nlp_artifacts=None):
        if (not entities or nlp_artifacts is None or score_threshold is None or return_decision_process
                or ad_hoc_recognizers or self.log_decision_process):
            return super().analyze(text, language, entities, correlation_id, score_threshold, return_decision_process,
                                   ad_hoc_recognizers, context, allow_list, allow_list_match, regex_flags,
                                   nlp_artifacts)
        recognizers = self.registry.get_recognizers(language=language, entities=entities, all_fields=False)
        results = []
        for recognizer in recognizers:
            if not recognizer.is_loaded:
                recognizer.load()
                recognizer.is_loaded = True
            if type(recognizer) is SpacyRecognizer:
                found = spacy_results_without_explanation(recognizer, entities, nlp_artifacts)
            else:
                found = recognizer.analyze(text=text, entities=entities, nlp_artifacts=nlp_artifacts)
            if found:
                self._AnalyzerEngine__add_recognizer_id_if_not_exists(found, recognizer)
                results.extend(found)
        results = self._enhance_using_context(text, results, nlp_artifacts, recognizers, context)
        results = [result for result in results if result.score >= score_threshold]
        if len(results) > 1 or (results and results[0].score == 0):  # one result of a positive score is kept as is
            results = EntityRecognizer.remove_duplicates(results)
        if allow_list:
            results = self._remove_allow_list(results, allow_list, text, regex_flags, allow_list_match)
        for result in results:
            result.analysis_explanation = None
        return results

    def _enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
        """Presidio calls every recognizer's `enhance_using_context`, sorting the results by recognizer first,
        although the default one returns the results unchanged (its documented contract). With no override
        among the recognizers, the results go straight to the context enhancer in the order Presidio's loop
        gives them."""
        if any(overrides_context_hook(type(recognizer)) for recognizer in recognizers):
            return super()._enhance_using_context(text, raw_results, nlp_artifacts, recognizers, context)
        return self.context_aware_enhancer.enhance_using_context(
            text=text, raw_results=raw_results, nlp_artifacts=nlp_artifacts, recognizers=recognizers,
            context=context)


@functools.cache
def overrides_context_hook(recognizer_class: type) -> bool:
    return recognizer_class.enhance_using_context is not EntityRecognizer.enhance_using_context


def spacy_results_without_explanation(recognizer: SpacyRecognizer, entities, nlp_artifacts) -> list:
    """SpacyRecognizer.analyze's results on the given artifacts, without the AnalysisExplanation, and the debug
    message, it builds for every entity."""
    supported = recognizer.supported_entities
    return [RecognizerResult(entity_type=entity.label_, start=entity.start_char, end=entity.end_char, score=score,
                             analysis_explanation=None,
                             recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
                                                   RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id})
            for entity, score in zip(nlp_artifacts.entities, nlp_artifacts.scores)
            if entity.label_ in entities and entity.label_ in supported]
