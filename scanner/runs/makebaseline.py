"""`dhscan baseline create`: a scan whose findings become a baseline file (scanner/runs/baseline.py)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from scanner.core.errors import UsageError
from scanner.core.keys import load_key
from scanner.runs.baseline import Baseline, baseline_from_findings, load_baseline, save_baseline
from scanner.runs.scan import run_scan
from scanner.runs.settings import resolve


def create_baseline(given, path: str | Path, command_line: list[str]) -> tuple[Baseline, object]:
    """Scan as `dhscan scan` would (into a temporary folder) and write the baseline of what it found to
    `path`, keeping the audits of an earlier baseline there. Returns the baseline and the run."""
    earlier = load_baseline(path) if Path(path).exists() else None
    with tempfile.TemporaryDirectory(prefix="dhscan-baseline-") as out:
        given.out = out
        settings = resolve("scan", given)
        run = run_scan(settings.sources, settings.plan, settings.config, Path(out), command_line)
        with open(Path(out) / "findings.jsonl", encoding="utf-8") as handle:
            findings = [json.loads(line) for line in handle if line.strip()]
    if earlier is not None and earlier.key_id != run.evidence["detection"]["key_id"]:
        raise UsageError(f"{path}: the baseline there was made with key {earlier.key_id}, this run's key is "
                         f"{run.evidence['detection']['key_id']}: give another file or the same key")
    key = load_key(create=False)
    baseline = baseline_from_findings(findings, key.secret, key.key_id, run.evidence["config_digest"], earlier)
    if not any(r.status == "failed" for r in run.results):
        save_baseline(baseline, path)
    return baseline, run
