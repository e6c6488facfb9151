"""`dhscan scan`: the run loop with nothing added."""

from __future__ import annotations

from pathlib import Path

from detectors.config import ScanConfig
from scanner.core.sampling import SamplePlan
from scanner.runs.loop import Observer, Run, run


def run_scan(sources: list[str], plan: SamplePlan, config: ScanConfig, out_dir: Path, command_line: list[str],
             fail_on_findings: bool = False, **options) -> Run:
    """`options`: run()'s (progress, sarif, ...)."""
    return run(sources, plan, config, out_dir, command_line, Observer(fail_on_findings), **options)
