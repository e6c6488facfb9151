"""`dhscan hook FILE...`: the named data files scanned whole, for pre-commit. Each finding is one line,
`FILE:LINE: ENTITY_TYPE PREVIEW in FIELD of record ID` (masked, as in results.sarif); nothing is
written beside the files (the outputs go to a temporary folder, removed after)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from scanner.core.errors import EXIT_FINDINGS, EXIT_OK
from scanner.runs.scan import run_scan
from scanner.runs.settings import CommandLine, resolve


@dataclass
class HookResult:
    lines: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one line per source that could not be read
    exit_code: int = EXIT_OK


def hook_source(path: str) -> str:
    """A file as a source named by its path, so two files of one name in two folders stay apart."""
    return path if "?" in path or "#" in path else f"{path}?name={path}"


def run_hook(files: list[str], given: CommandLine, command_line: list[str]) -> HookResult:
    """`given`: the detection options and config file; the files are the sources, read whole."""
    with tempfile.TemporaryDirectory(prefix="dhscan-hook-") as out:
        given.sources, given.out = [hook_source(f) for f in files], out
        settings = resolve("scan", given)
        run = run_scan(settings.sources, settings.plan, settings.config, Path(out), command_line, True, sarif=True)
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
