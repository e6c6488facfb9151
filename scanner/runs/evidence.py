"""summary.json and evidence.json: what a run found, and what an auditor needs to trust it."""

from __future__ import annotations

import json
import platform

from detectors.config import ScanConfig
from scanner import __version__
from scanner.core.digests import sha256_text
from scanner.core.errors import DhscanError
from scanner.core.formats import EVIDENCE_FORMAT, SUMMARY_FORMAT
from scanner.core.sampling import SamplePlan
from scanner.core.stats import read_whole
from scanner.core.uri import parse_source_uri, redact_uri_text


def build_summary(results: list, plan: SamplePlan, started, finished) -> dict:
    return {
        "format_version": SUMMARY_FORMAT,
        "tool": {"name": "dhscan", "version": __version__},
        "command": "scan",
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "sampling": plan.describe(),
        # a sample as large as every source (a small file under the default --sample) is a census
        "covers_sample": plan.mode != "full" and not all(map(read_whole, results)),
        "sources": {r.name: r.summary(plan) for r in results},
    }


def config_digest(config: ScanConfig, engine) -> str:
    data = {"config": config.model_dump(mode="json"), "entities": engine.entities}
    return sha256_text(json.dumps(data, sort_keys=True))


def build_evidence(results, plan, config, engine, started, finished, command_line, lineage=None) -> dict:
    production_traces = None
    if lineage is not None:
        production_traces = {"sources": [parse_source_uri(s).redacted() for s in config.detection.production_traces],
                             "records": lineage.records, "indexed_texts": len(lineage.hashes),
                             "near_dup_threshold": lineage.threshold}
    return {
        "format_version": EVIDENCE_FORMAT,
        "tool": {"name": "dhscan", "version": __version__},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "detection": engine.describe(),
        "config_digest": config_digest(config, engine),
        "command_line": command_line,
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "seconds": round((finished - started).total_seconds(), 3),
        "sampling": plan.describe(),
        "production_traces": production_traces,
        "sources": [
            {
                "name": r.name,
                "uri": r.uri,
                "connector": r.connector,
                "status": r.status,
                "records_total": r.records_total,
                "records_sampled": r.records_sampled,
                "seed": plan.seed,
                "languages": r.language_summary(),
                "size": r.stats,
                "seconds": round(r.seconds, 3),
            }
            for r in results
        ],
    }


def redact_command_line(argv: list[str]) -> list[str]:
    """The command line as evidence may show it: URI secrets and list terms hidden."""
    hidden_values = {"--allow-list", "--deny-list", "--subject"}
    shown = []
    hide_next = False
    for arg in argv:
        if hide_next:
            shown.append("***")
            hide_next = False
            continue
        if arg in hidden_values:
            shown.append(arg)
            hide_next = True
            continue
        if any(arg.startswith(f"{flag}=") for flag in hidden_values):
            shown.append(arg.split("=", 1)[0] + "=***")
            continue
        if "?" in arg and not arg.startswith("-"):
            try:
                arg = parse_source_uri(arg).redacted()
            except DhscanError:
                pass
        shown.append(redact_uri_text(arg))
    return shown
