"""Presidio's NlpArtifacts, with lemmas, token offsets and keywords made only when read.

Presidio builds all three for every text, although only context enhancement reads them, and only
for a result of a recognizer with context words; on the texts the NER model reads that costs
about a sixth of the model's own time. The engine comes from Presidio's NlpEngineProvider, given
this subclass of its SpacyNlpEngine (the provider's extension point); entities and scores are
Presidio's own, and each text is yielded as it was given rather than rebuilt from its tokens.
"""

from __future__ import annotations

from functools import cached_property

from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine


class LazyNlpArtifacts(NlpArtifacts):
    def __init__(self, doc, entities: list, scores: list, nlp_engine, language: str):  # noqa: D107
        # NlpArtifacts.__init__ would compute every field now; the fields below are computed on use
        self.entities = entities
        self.tokens = doc
        self.nlp_engine = nlp_engine
        self.language = language
        self.scores = scores if scores else [0.85] * len(entities)

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
        # Presidio yields each text as `doc.text`, which spaCy rebuilds from the tokens (~2 µs a text);
        # spaCy's tokenization keeps every character, so that is the text given, yielded here as it is.
        if as_tuples or not self.nlp:
            yield from super().process_batch(texts, language, batch_size, n_process, as_tuples)
            return
        texts = [str(text) for text in texts]
        for text, doc in zip(texts, self.nlp[language].pipe(texts, batch_size=batch_size, n_process=n_process)):
            yield text, self._doc_to_nlp_artifact(doc, language)

    def _doc_to_nlp_artifact(self, doc, language: str) -> NlpArtifacts:
        # Presidio reads doc.ents twice (entities, then one default score each); spaCy builds the spans
        # anew on every read, walking all tokens: read once here.
        found = self._get_entities(doc)
        entities, scores = self._get_updated_entities(found, [self.ner_model_configuration.default_score] * len(found))
        return LazyNlpArtifacts(doc, entities, scores, self, language)
