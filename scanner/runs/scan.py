"""`dhscan scan`: the run loop, and its report.html."""

from __future__ import annotations

from pathlib import Path

from detectors.config import ScanConfig
from scanner.core.sampling import SamplePlan
from scanner.runs.loop import Run, run
from scanner.runs.scanreport import ScanObserver


def run_scan(sources: list[str], plan: SamplePlan, config: ScanConfig, out_dir: Path, command_line: list[str],
             fail_on_findings: bool = False, baseline: str | None = None, **options) -> Run:
    """`baseline`: a baseline file whose known findings are left out; `options`: run()'s (progress, sarif, ...)."""
    return run(sources, plan, config, out_dir, command_line, ScanObserver(fail_on_findings, baseline), **options)
