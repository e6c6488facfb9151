"""`dhscan hook FILE...`: the named data files scanned whole, for pre-commit. Each finding is one line,
`FILE:LINE: ENTITY_TYPE PREVIEW in FIELD of record ID` (masked, as in results.sarif); nothing is
written beside the files (the outputs go to a temporary folder, removed after)."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from scanner.core.errors import EXIT_FINDINGS, EXIT_OK
from scanner.core.uri import default_name
from scanner.runs.scan import run_scan
from scanner.runs.settings import CommandLine, resolve


@dataclass
class HookResult:
    lines: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one line per source that could not be read
    exit_code: int = EXIT_OK


def hook_sources(paths: list[str]) -> list[str]:
    """The files as sources named as `dhscan scan` names them (so a baseline made by `dhscan baseline create`
    of the same files matches), except files of one name in two folders: those are named by their path."""
    names = Counter(default_name(path) for path in paths)
    return [f"{path}?name={path}" if names[default_name(path)] > 1 and "?" not in path and "#" not in path
            else path for path in paths]


def run_hook(files: list[str], given: CommandLine, command_line: list[str],
             baseline: str | None = None) -> HookResult:
    """`given`: the detection options and config file; the files are the sources, read whole; a baseline's
    known findings are not reported."""
    with tempfile.TemporaryDirectory(prefix="dhscan-hook-") as out:
        given.sources, given.out = hook_sources(files), out
        settings = resolve("scan", given)
        run = run_scan(settings.sources, settings.plan, settings.config, Path(out), command_line, True, baseline,
                       sarif=True)
        log = json.loads((Path(out) / "results.sarif").read_text(encoding="utf-8"))
    result = HookResult(exit_code=run.exit_code)
    for finding in log["runs"][0]["results"]:
        location, props = finding["locations"][0], finding["properties"]
        physical = location.get("physicalLocation", {})
        where = physical.get("artifactLocation", {}).get("uri", props["source"])
        if "region" in physical:
            where += f":{physical['region']['startLine']}"
        elif "row" in props:
            where += f" row {props['row']}"
        result.lines.append(f"{where}: {finding['ruleId']} {props['preview']} in {props['field']} "
                            f"of record {props['recordId']}")
    result.failed = [f"source {r.name!r}: {r.error}" for r in run.results if r.status == "failed"]
    if result.lines and result.exit_code == EXIT_OK:
        result.exit_code = EXIT_FINDINGS
    return result
