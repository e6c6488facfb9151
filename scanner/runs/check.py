"""`dhscan check`: a config file, policy, holds file and sources validated without scanning; every
problem is reported, one line each, rather than the first only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
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
    from retention.holds import HoldsFile
    from retention.policy import Policy
    from scanner.runs.settings import RunConfig

    result = CheckResult()
    file, base, detection, config = RunConfig(), Path("."), DetectionConfig(), ({}, {})
    if config_path:
        base = Path(config_path).parent
        file, detection, config = _load_config(config_path, result)
    _check_models(detection, result)
    if file.detection.fingerprints and not Path(beside(file.detection.fingerprints, str(base))).exists():
        result.problems.append(f"{config_path}: detection.fingerprints: no such file: {file.detection.fingerprints}")
    policy = _check_section(Policy, "policy", policy_path, base, config_path, config, result)
    if policy is not None:
        result.checked.append(f"policy {policy[0]}: {len(policy[1].rules)} rule(s)")
    holds = _check_section(HoldsFile, "holds", holds_path, base, config_path, config, result)
    if holds is not None:
        result.checked.append(f"holds {holds[0]}: {len(holds[1].holds)} hold(s)")
    _check_sources(list(sources) or [beside(s, str(base)) for s in file.sources], result)
    return result


def _load_config(path: str, result: CheckResult):
    """The config file's valid sections (a bad section is reported and left out, so the others are still
    checked), its detection settings as far as they can be told, and its (data, lines) as read."""
    from pydantic import ValidationError

    from detectors.config import DetectionConfig
    from scanner.runs.settings import RunConfig

    try:
        data, lines = load_yaml(path)
    except DhscanError as exc:
        result.problems.append(str(exc))
        return RunConfig(), DetectionConfig(), ({}, {})
    if data is not None and not isinstance(data, dict):
        result.problems.append(f"{path}: a config file is a mapping (detection: ...)")
        return RunConfig(), DetectionConfig(), ({}, {})
    data = data or {}
    try:
        found = RunConfig.model_validate(data)
    except ValidationError as exc:
        result.problems.extend(validated(RunConfig, data, path, lines)[1])
        bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
        found = validated(RunConfig, {k: v for k, v in data.items() if k not in bad}, path, lines)[0] or RunConfig()
        detection = found.detection
        model = data["detection"].get("model") if isinstance(data.get("detection"), dict) else None
        if "detection" in bad and isinstance(model, str):
            detection = DetectionConfig(model=model)
        return found, detection, (data, lines)
    result.checked.append(f"config {path}")
    return found, found.detection, (data, lines)


def _check_section(model, key: str, path: str | None, base: Path, config_path: str | None, config: tuple,
                   result: CheckResult):
    """(where, the model) of the policy or holds: from the flag's file, a file the config names, or inline in
    the config; None when there is none or it is invalid (its problems are in `result`)."""
    data, lines = config
    value = data.get(key)
    if path or isinstance(value, str):
        path = path or str(base / value)
        try:
            section, section_lines = load_yaml(path)
        except DhscanError as exc:
            result.problems.append(str(exc))
            return None
        found, problems = validated(model, section, path, section_lines)
    elif value is not None:
        path = config_path
        found, problems = validated(model, value, path, lines, (key,))
    else:
        return None
    result.problems.extend(problems)
    return None if found is None else (path, found)


def _check_models(detection, result: CheckResult) -> None:
    from detectors.engine import model_installed

    for name in [detection.model, *(detection.pipelines or {}).values()]:
        if not model_installed(name):
            result.problems.append(f"spaCy model {name!r} is not installed (dhscan never downloads models)")


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
