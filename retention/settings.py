"""Everything a sweep needs, from `--config sweep.yaml` and the command line (which wins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from detectors.config import DetectionConfig, ScanConfig
from retention.holds import Hold, HoldsFile
from retention.policy import Policy
from scanner.errors import UsageError
from scanner.sampling import SamplePlan
from scanner.yamlconfig import load_model, load_yaml, validate


class SamplingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full: bool | None = None
    sample: int | None = Field(None, ge=1)
    sample_rate: float | None = Field(None, gt=0, le=1)
    seed: int = 0


class SweepConfig(BaseModel):
    """`dhscan sweep --config`: sources, sampling, detection, policy, holds and outputs in one file."""

    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(default_factory=list)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    detection: DetectionConfig = Field(default_factory=DetectionConfig)
    policy: Any = None  # a path, or the policy itself
    holds: Any = None  # a path, or {holds: [...]}
    out: str | None = None
    now: datetime | None = None
    format: list[Literal["csv", "jsonl", "parquet"]] = Field(default_factory=list)
    fail_on: Literal["deletions", "holds", "findings"] | None = None
    cluster: str | None = None  # a Dask scheduler, tcp://HOST:PORT, or local:N


@dataclass
class SweepSettings:
    sources: list[str]
    plan: SamplePlan
    config: ScanConfig
    policy: Policy
    holds: list[Hold]
    out_dir: Path
    now: datetime | None
    parquet: bool
    fail_on: str | None
    policy_path: str | None
    holds_path: str | None


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


def _policy(value: Any, base: Path, config_path: str | None, lines) -> tuple[Policy, str | None]:
    if isinstance(value, str):
        path = str(base / value)
        return load_model(Policy, path), path
    return validate(Policy, value, config_path, lines, ("policy",)), config_path


def _holds(value: Any, base: Path, config_path: str | None, lines) -> tuple[list[Hold], str | None]:
    if value is None:
        return [], None
    if isinstance(value, str):
        path = str(base / value)
        return load_model(HoldsFile, path).holds, path
    return validate(HoldsFile, value, config_path, lines, ("holds",)).holds, config_path


def sweep_settings(sources: list[str], config_path: str | None, policy_path: str | None, holds_path: str | None,
                   out: str | None, now: str | None, sample: int | None, sample_rate: float | None, full: bool,
                   seed: int | None, parquet: bool, fail_on: str | None, detection: dict[str, Any],
                   cluster: str | None = None) -> SweepSettings:
    file = SweepConfig()
    lines: dict = {}
    base = Path(".")
    if config_path:
        data, lines = load_yaml(config_path)
        file = validate(SweepConfig, data, config_path, lines)
        base = Path(config_path).parent
    sources = list(sources) or list(file.sources)
    if not sources:
        raise UsageError("no sources: name them on the command line or under `sources:` in --config")
    out = out or file.out
    if not out:
        raise UsageError("no output folder: give --out or `out:` in --config")
    if policy_path:
        policy, policy_file = load_model(Policy, policy_path), policy_path
    elif file.policy is not None:
        policy, policy_file = _policy(file.policy, base, config_path, lines)
    else:
        raise UsageError("no policy: give --policy or `policy:` in --config")
    if holds_path:
        holds, holds_file = load_model(HoldsFile, holds_path).holds, holds_path
    else:
        holds, holds_file = _holds(file.holds, base, config_path, lines)
    chosen = [name for name, given in (("--sample", sample is not None), ("--sample-rate", sample_rate is not None),
                                       ("--full", full)) if given]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} cannot be combined")
    sampling = file.sampling
    seed = seed if seed is not None else sampling.seed
    if sample is not None or (not chosen and sampling.sample is not None and not sampling.full):
        plan = SamplePlan("count", seed=seed, count=sample if sample is not None else sampling.sample)
    elif sample_rate is not None or (not chosen and sampling.sample_rate is not None and not sampling.full):
        plan = SamplePlan("rate", seed=seed, rate=sample_rate if sample_rate is not None else sampling.sample_rate)
    else:
        plan = SamplePlan("full", seed=seed)  # a sweep reads every record unless told otherwise
    merged = file.detection.model_dump(exclude_unset=True)
    merged.update({k: v for k, v in detection.items() if v is not None})
    try:
        config = ScanConfig(detection=DetectionConfig(**merged), cluster=cluster or file.cluster)
    except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError, as one line
        raise UsageError(f"detection options: {exc.errors()[0]['msg'] if hasattr(exc, 'errors') else exc}") from None
    return SweepSettings(sources=sources, plan=plan, config=config, policy=policy, holds=holds, out_dir=Path(out),
                         now=parse_now(now) if now is not None else parse_now(file.now), parquet=parquet or "parquet" in file.format,
                         fail_on=fail_on or file.fail_on, policy_path=policy_file, holds_path=holds_file)
