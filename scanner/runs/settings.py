"""One settings resolution for every run: the command line over the `--config` file over the defaults.

A config file is one YAML mapping (sources, sampling, detection, cluster, out; for a sweep also policy,
holds, now, format and fail_on), validated strictly with errors that name the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from detectors.config import DetectionConfig, ScanConfig
from detectors.operators import RedactionConfig
from retention.holds import Hold, HoldsFile
from retention.policy import Policy
from scanner.core.errors import UsageError
from scanner.core.sampling import DEFAULT_SAMPLE, SamplePlan
from scanner.core.uri import beside
from scanner.core.yamlconfig import load_model, load_yaml, validate

SWEEP_ONLY = ("policy", "holds", "now", "fail_on")


class SamplingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full: bool | None = None
    sample: int | None = Field(None, ge=1)
    sample_rate: float | None = Field(None, gt=0, le=1)
    seed: int = 0


class RunConfig(BaseModel):
    """The `--config` file of scan and sweep."""

    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(default_factory=list)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    detection: DetectionConfig = Field(default_factory=DetectionConfig)
    cluster: str | None = None  # a Dask scheduler, tcp://HOST:PORT, or local:N
    redact: RedactionConfig = Field(default_factory=RedactionConfig)  # operators of redact rules and dhscan redact
    out: str | None = None
    policy: Any = None  # a path, or the policy itself
    holds: Any = None  # a path, or {holds: [...]}
    now: datetime | None = None
    format: list[Literal["csv", "jsonl", "parquet", "sarif"]] = Field(default_factory=list)
    fail_on: Literal["deletions", "redactions", "holds", "findings"] | None = None


@dataclass
class CommandLine:
    """What the command line gave; None (or empty) where it gave nothing."""

    sources: list[str] = field(default_factory=list)
    config_path: str | None = None
    out: str | None = None
    sample: int | None = None
    sample_rate: float | None = None
    full: bool = False
    seed: int | None = None
    detection: dict[str, Any] = field(default_factory=dict)
    cluster: str | None = None
    fail_on: str | None = None
    policy_path: str | None = None
    holds_path: str | None = None
    now: str | None = None
    parquet: bool = False
    sarif: bool = False
    strict: bool = False


@dataclass
class RunSettings:
    sources: list[str]
    plan: SamplePlan
    config: ScanConfig
    out_dir: Path
    fail_on: str | None = None
    policy: Policy | None = None
    holds: list[Hold] = field(default_factory=list)
    now: datetime | None = None
    parquet: bool = False
    sarif: bool = False  # results.sarif beside findings.jsonl
    strict: bool = False
    policy_path: str | None = None
    holds_path: str | None = None


def resolve(command: Literal["scan", "sweep", "redact"], given: CommandLine) -> RunSettings:
    """The settings of one run. A scan samples 1,000 records unless told otherwise; a sweep reads all, and a
    redaction reads all and takes holds but no policy."""
    file, lines, base = RunConfig(), {}, Path(".")
    if given.config_path:
        data, lines = load_yaml(given.config_path)
        if data is not None and not isinstance(data, dict):
            raise UsageError(f"{given.config_path}: a config file is a mapping (detection: ...)")
        file = validate(RunConfig, data, given.config_path, lines)
        base = Path(given.config_path).parent
        if command != "sweep":
            for name in SWEEP_ONLY:
                if name in file.model_fields_set and not (command == "redact" and name == "holds"):
                    raise UsageError(f"{given.config_path}: {name}: only dhscan sweep uses it"
                                     + (" (dhscan redact takes holds)" if command == "redact" else ""))
            if command == "scan" and set(file.format) - {"sarif"}:
                raise UsageError(f"{given.config_path}: format: a scan writes no worklists (only sarif is a scan's)")
    # paths in the file are the file's: relative ones are taken from its folder, not the working directory
    sources = list(given.sources) or [beside(source, str(base)) for source in file.sources]
    if not sources:
        raise UsageError("no sources: name them on the command line or under `sources:` in --config")
    out = given.out or (beside(file.out, str(base)) if file.out else None)
    if "fingerprints" in file.detection.model_fields_set or "production_traces" in file.detection.model_fields_set:
        file.detection = file.detection.model_copy(update={
            "fingerprints": beside(file.detection.fingerprints, str(base)) if file.detection.fingerprints else None,
            "production_traces": [beside(s, str(base)) for s in file.detection.production_traces]})
    if not out:
        raise UsageError("no output folder: give --out or `out:` in --config")
    settings = RunSettings(sources=sources, plan=sampling_plan(given, file.sampling, command),
                             config=scan_config(given, file), out_dir=Path(out),
                             fail_on=given.fail_on or file.fail_on, strict=given.strict,
                             sarif=given.sarif or "sarif" in file.format)
    if command in ("sweep", "redact"):
        settings.holds, settings.holds_path = _holds(given.holds_path, file.holds, base, given.config_path, lines)
    if command == "sweep":
        settings.policy, settings.policy_path = _policy(given.policy_path, file.policy, base, given.config_path, lines)
        settings.now = parse_now(given.now) if given.now is not None else parse_now(file.now)
        settings.parquet = given.parquet or "parquet" in file.format
    return settings


def sampling_plan(given: CommandLine, file: SamplingConfig, command: str) -> SamplePlan:
    """The command line's sampling option, else the file's, else the command's default."""
    chosen = [name for name, value in (("--sample", given.sample is not None),
                                       ("--sample-rate", given.sample_rate is not None), ("--full", given.full))
              if value]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} cannot be combined")
    seed = given.seed if given.seed is not None else file.seed
    if chosen:
        sample, rate, full = given.sample, given.sample_rate, given.full
    else:
        sample, rate, full = file.sample, file.sample_rate, bool(file.full)
    if full or (sample is None and rate is None and command != "scan"):
        return SamplePlan("full", seed=seed)
    if sample is not None:
        return SamplePlan("count", seed=seed, count=sample)
    if rate is not None:
        return SamplePlan("rate", seed=seed, rate=rate)
    return SamplePlan("count", seed=seed, count=DEFAULT_SAMPLE)


def scan_config(given: CommandLine, file: RunConfig | None = None) -> ScanConfig:
    """Detection and cluster settings: the command line's over the file's over the defaults."""
    file = file or RunConfig()
    detection = file.detection.model_dump(exclude_unset=True)
    detection.update({k: v for k, v in given.detection.items() if v is not None})
    try:
        return ScanConfig(detection=DetectionConfig(**detection), cluster=given.cluster or file.cluster,
                          redact=file.redact)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UsageError(f"command line: {where}: {err['msg']}") from None


def parse_now(text: str | datetime | None) -> datetime | None:
    if isinstance(text, str) and not text.strip():
        raise UsageError("--now is empty: give an ISO 8601 time such as 2026-11-25T00:00:00Z, or leave it out")
    if text is None or isinstance(text, datetime):
        return text if text is None or text.tzinfo else text.replace(tzinfo=timezone.utc)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--now {text!r} is not an ISO 8601 time such as 2026-11-25T00:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _policy(path: str | None, value: Any, base: Path, config_path: str | None, lines) -> tuple[Policy, str | None]:
    if path:
        return load_model(Policy, path), path
    if value is None:
        raise UsageError("no policy: give --policy or `policy:` in --config")
    if isinstance(value, str):
        return load_model(Policy, str(base / value)), str(base / value)
    return validate(Policy, value, config_path, lines, ("policy",)), config_path


def _holds(path: str | None, value: Any, base: Path, config_path: str | None, lines) -> tuple[list[Hold], str | None]:
    if path:
        return load_model(HoldsFile, path).holds, path
    if value is None:
        return [], None
    if isinstance(value, str):
        return load_model(HoldsFile, str(base / value)).holds, str(base / value)
    return validate(HoldsFile, value, config_path, lines, ("holds",)).holds, config_path
