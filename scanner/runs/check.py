"""`dhscan check`: a config file, policy, holds file and sources validated without scanning; every
problem is reported, one line each, rather than the first only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.core.errors import DhscanError, one_line
from scanner.core.uri import beside, redact_uri_text
from scanner.core.yamlconfig import load_yaml, validated


@dataclass
class CheckResult:
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # what was found valid, one line each


def run_check(sources: list[str], config_path: str | None = None, policy_path: str | None = None,
              holds_path: str | None = None) -> CheckResult:
    from detectors.config import DetectionConfig
    from scanner.runs.settings import RunConfig

    result = CheckResult()
    file, base = RunConfig(), Path(".")
    detection = DetectionConfig()
    if config_path:
        base = Path(config_path).parent
        file, detection = _load_config(config_path, result)
    _check_models(detection, result)
    if file.detection.fingerprints and not Path(beside(file.detection.fingerprints, str(base))).exists():
        result.problems.append(f"{config_path}: detection.fingerprints: no such file: {file.detection.fingerprints}")
    _check_policy(policy_path, file.policy, base, config_path, result)
    _check_holds(holds_path, file.holds, base, config_path, result)
    _check_sources(list(sources) or [beside(s, str(base)) for s in file.sources], result)
    return result


def _load_config(path: str, result: CheckResult):
    """The config file's valid sections (a bad section is reported and left out, so the others are still
    checked) and its detection settings, as far as they can be told."""
    from detectors.config import DetectionConfig
    from scanner.runs.settings import RunConfig

    try:
        data, lines = load_yaml(path)
    except DhscanError as exc:
        result.problems.append(str(exc))
        return RunConfig(), DetectionConfig()
    if data is not None and not isinstance(data, dict):
        result.problems.append(f"{path}: a config file is a mapping (detection: ...)")
        return RunConfig(), DetectionConfig()
    data = data or {}
    found, problems = validated(RunConfig, data, path, lines)
    result.problems.extend(problems)
    if found is not None:
        result.checked.append(f"config {path}")
        return found, found.detection
    bad = {problem.split(": ", 2)[1].split(".")[0] for problem in problems}
    found, _ = validated(RunConfig, {k: v for k, v in data.items() if k not in bad}, path, lines)
    detection = (found or RunConfig()).detection
    model = (data.get("detection") or {}).get("model") if isinstance(data.get("detection"), dict) else None
    if "detection" in bad and isinstance(model, str):
        detection = DetectionConfig(model=model)
    return found or RunConfig(), detection


def _load(model, path: str, base: tuple, result: CheckResult, data: Any = None, lines=None):
    try:
        if data is None:
            data, lines = load_yaml(path)
    except DhscanError as exc:
        result.problems.append(str(exc))
        return None
    found, problems = validated(model, data, path, lines or {}, base)
    result.problems.extend(problems)
    return found


def _check_models(detection, result: CheckResult) -> None:
    from detectors.engine import model_installed

    for name in [detection.model, *(detection.pipelines or {}).values()]:
        if not model_installed(name):
            result.problems.append(f"spaCy model {name!r} is not installed (dhscan never downloads models)")


def _check_policy(path: str | None, value: Any, base: Path, config_path: str | None, result: CheckResult) -> None:
    from retention.policy import Policy

    if path or isinstance(value, str):
        path = path or str(base / value)
        policy = _load(Policy, path, (), result)
    elif value is not None:
        data, lines = load_yaml(config_path)
        path, policy = config_path, _load(Policy, config_path, ("policy",), result, data["policy"], lines)
    else:
        return
    if policy is not None:
        result.checked.append(f"policy {path}: {len(policy.rules)} rule(s)")


def _check_holds(path: str | None, value: Any, base: Path, config_path: str | None, result: CheckResult) -> None:
    from retention.holds import HoldsFile

    if path or isinstance(value, str):
        path = path or str(base / value)
        holds = _load(HoldsFile, path, (), result)
    elif value is not None:
        data, lines = load_yaml(config_path)
        path, holds = config_path, _load(HoldsFile, config_path, ("holds",), result, data["holds"], lines)
    else:
        return
    if holds is not None:
        result.checked.append(f"holds {path}: {len(holds.holds)} hold(s)")


def _check_sources(sources: list[str], result: CheckResult) -> None:
    """Each source's URI parsed and its parts listed (files, row groups, collections): nothing is read."""
    from scanner.connectors import open_source

    names: dict[str, str] = {}
    for text in sources:
        try:
            connector = open_source(text)
            if connector.source in names:
                result.problems.append(f"sources {redact_uri_text(names[connector.source])!r} and "
                                       f"{redact_uri_text(text)!r} are both named {connector.source!r}; give one ?name=")
                continue
            names[connector.source] = text
            parts = len(connector.shards())
        except DhscanError as exc:
            result.problems.append(str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - a client's own error, in one line
            result.problems.append(f"source {redact_uri_text(text)!r}: {one_line(exc)}")
            continue
        result.checked.append(f"source {connector.source!r} ({connector.name}): {parts} part(s)")
