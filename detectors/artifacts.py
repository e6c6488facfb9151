"""Presidio's NlpArtifacts, with lemmas, token offsets and keywords made only when read.

Presidio builds all three for every text, although only context enhancement reads them, and only
for a result of a recognizer with context words: on the texts the NER model reads that is a
large share of the model's own time. The engine comes from Presidio's NlpEngineProvider, given
this subclass of its SpacyNlpEngine (the provider's extension point); entities and scores are
Presidio's own, and each text is yielded as it was given rather than rebuilt from its tokens.
"""

from __future__ import annotations

import logging
from functools import cached_property

from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

logger = logging.getLogger("presidio-analyzer")  # Presidio's logger, for Presidio's warning


class LazyNlpArtifacts(NlpArtifacts):
    def __init__(self, doc, entities: list, scores: list, nlp_engine, language: str):  # noqa: D107
        """`doc`: the text's spaCy Doc, or a function that makes it when `tokens` is first read."""
        # NlpArtifacts.__init__ would compute every field now; the fields below are computed on use
        self.entities = entities
        if callable(doc):
            self._make_doc = doc
        else:
            self.tokens = doc
        self.nlp_engine = nlp_engine
        self.language = language
        self.scores = scores if scores else [0.85] * len(entities)

    @cached_property
    def tokens(self):
        return self._make_doc()

    @cached_property
    def tokens_indices(self) -> list[int]:
        return [token.idx for token in self.tokens]

    @cached_property
    def lemmas(self) -> list[str]:
        # Without the lemmatizer (engine.NER_ONLY_UNUSED_PIPES) a token has no lemma: its lower-cased
        # form stands in, which Presidio's context words, matched as substrings, find just as well.
        return [token.lemma_ or token.lower_ for token in self.tokens]

    @cached_property
    def keywords(self) -> list[str]:
        return NlpArtifacts.set_keywords(self.nlp_engine, self.lemmas, self.language)


class LazyArtifactsSpacyNlpEngine(SpacyNlpEngine):
    def process_batch(self, texts, language, batch_size=1, n_process=1, as_tuples=False):  # noqa: D102
        # Presidio yields each text as `doc.text`, which spaCy rebuilds from the tokens;
        # spaCy's tokenization keeps every character, so that is the text given, yielded here as it is.
        if as_tuples or not self.nlp:
            yield from super().process_batch(texts, language, batch_size, n_process, as_tuples)
            return
        texts = [str(text) for text in texts]
        for text, doc in zip(texts, self.nlp[language].pipe(texts, batch_size=batch_size, n_process=n_process)):
            yield text, self._doc_to_nlp_artifact(doc, language)

    def _get_updated_entities(self, entities, scores):
        """Presidio's relabelling and filtering of the model's entities, reading each entity's label once
        (spaCy looks it up in its string store on every read: Presidio reads it up to five times) and
        writing it only where the mapping changes it; the ignored labels are looked up in a set."""
        if len(entities) != len(scores):
            return super()._get_updated_entities(entities, scores)  # Presidio's error
        conf = self.ner_model_configuration
        mapping, low_score = conf.model_to_presidio_entity_mapping, conf.low_score_entity_names
        ignored = frozenset(conf.labels_to_ignore or ())
        kept, kept_scores = [], []
        for entity, score in zip(entities, scores):
            label = entity.label_
            if label in ignored:
                continue
            if label in mapping:
                if mapping[label] != label:
                    entity.label_ = label = mapping[label]
            else:
                logger.warning(f"Entity {label} is not mapped to a Presidio entity, but keeping anyway. "
                               f"Add to `NerModelConfiguration.labels_to_ignore` to remove.")
            if label in ignored:
                continue
            kept.append(entity)
            kept_scores.append(score * conf.low_confidence_score_multiplier if label in low_score else score)
        return kept, kept_scores

    def _doc_to_nlp_artifact(self, doc, language: str) -> NlpArtifacts:
        # Presidio reads doc.ents twice (entities, then one default score each); spaCy builds the spans
        # anew on every read, walking all tokens: read once here.
        found = self._get_entities(doc)
        entities, scores = self._get_updated_entities(found, [self.ner_model_configuration.default_score] * len(found))
        return LazyNlpArtifacts(doc, entities, scores, self, language)
