"""`dhscan redact`: the sources without their personal data, in their own formats.

Each source is copied into the output folder (or, with --in-place, taken as it is), swept with one rule
that redacts every finding, and its redaction worklist carried out by apply's machinery: records re-read
and checked against the sweep, holds read again, an intent logged before each file is replaced. What was
written is then scanned again, and evidence.json says per source what was found before and after.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from detectors.pseudonyms import SCHEME
from retention.apply import ApplyLog, ApplyResult, apply_worklist
from retention.observer import RetentionObserver
from retention.policy import Policy, Rule
from retention.redacting import RedactEvaluator, written_by_us
from scanner.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_SOURCE_FAILED, DhscanError, UsageError, one_line
from scanner.core.keys import load_key
from scanner.core.locks import exclusive
from scanner.core.outputs import write_json
from scanner.core.sampling import SamplePlan
from scanner.runs.loop import Observer, Run, run
from scanner.runs.settings import RunSettings
from scanner.runs.sources import open_sources

RULE = Rule(id="redact", description="dhscan redact: every value found", action="redact")
COPIES = "redacted"  # the copies, one folder per source
VERIFICATION = "verification"  # the re-scan of what was written
LOG = "redaction.apply-log.jsonl"


class NothingCopied(DhscanError):
    """Every source failed before anything was read: there is nothing to redact."""

    exit_code = EXIT_SOURCE_FAILED


@dataclass
class RedactRun:
    sweep: Run
    applied: ApplyResult | None
    verification: Run | None
    redaction: dict
    failures: list[str] = field(default_factory=list)  # one line per source that could not be redacted

    @property
    def exit_code(self) -> int:
        if self.failures or self.sweep.exit_code == EXIT_SOURCE_FAILED or \
                (self.applied is not None and self.applied.outcomes["error"]):
            return EXIT_SOURCE_FAILED
        left = sum(s["original_values_found_again"] for s in self.redaction["sources"].values())
        if left or (self.applied is not None and self.applied.exit_code != EXIT_OK):
            return EXIT_FINDINGS
        return EXIT_OK


def _folder_name(source: str) -> str:
    if not source or source.startswith(".") or "/" in source or "\\" in source:
        raise UsageError(f"source name {source!r} cannot name a folder of the copies: give the source a ?name=")
    return source


def copy_sources(texts: list[str], copies: Path) -> tuple[list[str], dict[str, str], list[str]]:
    """Each source copied under `copies` (a copy left by an earlier run replaced): the URIs of the copies,
    the original URI of each (redacted), and one line per source that could not be copied."""
    uris, originals, failures = [], {}, []
    for text, connector, error in open_sources(texts):
        if connector is None:
            failures.append(str(error))
            continue
        target = copies / _folder_name(connector.source)
        partial = copies / f".{connector.source}.copying"
        try:
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            uri = connector.copy_to(partial)
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)
        except DhscanError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            failures.append(str(exc))
            continue
        except OSError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            failures.append(f"{connector.source}: cannot copy: {exc.strerror or one_line(exc)}")
            continue
        uris.append(uri.replace(str(partial), str(target), 1))
        originals[connector.source] = connector.uri.redacted(absolute=True)
    return uris, originals, failures


def run_redact(settings: RunSettings, in_place: bool, no_holds: bool, command_line: list[str],
               **options) -> RedactRun:
    out = settings.out_dir
    given_holds = settings.holds_path is not None or bool(settings.holds)
    if in_place and not given_holds and not no_holds:
        raise UsageError("--in-place rewrites the sources themselves: give --holds FILE (held records are left "
                         "as they are), or --no-holds")
    if in_place and given_holds and no_holds:
        raise UsageError("give --holds or --no-holds, not both")
    if not in_place and (given_holds or no_holds):
        raise UsageError("holds are for --in-place: a redacted copy never changes the sources")
    open_sources(settings.sources)  # a usage error before anything is copied or read
    load_key()  # likewise a bad key (made here if there is none, as a sweep would)
    copies = out / COPIES
    copies.mkdir(parents=True, exist_ok=True)
    with exclusive(copies, "output folder", busy=f"output folder {out} is in use by another dhscan redact; "
                                                 "wait for it, or give another --out"):
        log_path = out / LOG
        if in_place:
            targets, originals, failures = settings.sources, {}, []
        else:
            log_path.unlink(missing_ok=True)  # fresh copies: nothing an earlier run did applies to them
            targets, originals, failures = copy_sources(settings.sources, copies)
        earlier = ApplyLog(log_path if in_place else None)

        def evaluator(policy, holds, now, key):
            return RedactEvaluator(policy, holds, now, key, earlier.written, earlier.redacted_contents)

        rule = RULE.model_copy(update={"operators": settings.config.redact.operators})
        observer = RetentionObserver(Policy(version=1, rules=[rule]), settings.holds, None, command="redact",
                                     holds_path=settings.holds_path, evaluator_factory=evaluator)
        swept = run(targets, SamplePlan("full"), settings.config, out, command_line, observer, **options) \
            if targets else None
        if swept is None:
            raise NothingCopied("no source could be copied: " + "; ".join(failures))
        # the sources as given (evidence.json shows them with users and secrets hidden)
        given = {connector.source: text for text, connector, _ in open_sources(targets) if connector is not None}
        applied = apply_worklist(out / "redaction_worklist.jsonl", settings.holds, load_key(create=False), True,
                                 log_path, given, no_holds=no_holds or not in_place)
        ok = [text for text, result in zip(targets, swept.results) if result.status == "ok"]
        verification = run(ok, SamplePlan("full"), settings.config, out / VERIFICATION, command_line, Observer(),
                           **{k: v for k, v in options.items() if k != "progress"}) if ok else None
        written = ApplyLog(log_path).written
        section = redaction_section(out, swept, applied, verification, written, originals, in_place)
        for name, data in (("summary.json", swept.summary), ("evidence.json", swept.evidence)):
            data["redaction"] = section
            write_json(out / name, data)
    return RedactRun(swept, applied, verification, section, failures + applied.failures)


def _findings(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def redaction_section(out: Path, swept: Run, applied: ApplyResult, verification: Run | None, written: set[str],
                      originals: dict[str, str], in_place: bool) -> dict:
    """Per source: findings before and after by type, records changed, and the values the re-scan found:
    replacements written (pseudonyms look like personal data by design), and originals (never, unless
    something went wrong)."""
    rows = [json.loads(line) for line in (out / "redaction_worklist.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    outcome = {(r["source"], str(r["record_id"])): r["outcome"] for r in applied.rows}
    redacted: dict[str, set[str]] = defaultdict(set)  # source -> digests of the values replaced
    left_alone: dict[str, set[str]] = defaultdict(set)  # source -> ids of records not changed (held, stale)
    changed: Counter = Counter()
    operators: dict[str, dict] = {}
    for row in rows:
        key = (row["source"], str(row["record_id"]))
        operators.update(row["operators"])
        if outcome.get(key) in ("redacted", "already_redacted"):
            changed[row["source"]] += outcome[key] == "redacted"
            redacted[row["source"]].update(item["digest"] for item in row["redactions"])
        else:
            left_alone[row["source"]].add(str(row["record_id"]))
    for row in _findings(out / "legal_hold_worklist.jsonl"):
        left_alone[row["source"]].add(str(row["record_id"]))
    after = _findings(out / VERIFICATION / "findings.jsonl") if verification is not None else []
    by_record: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for finding in after:
        by_record[(finding["source"], str(finding["record_id"]))].append(finding)
    ours = {id(f): mine for found in by_record.values() for f, mine in zip(found, written_by_us(found, written))}
    sources = {}
    for name, before in swept.summary["sources"].items():
        mine = [f for f in after if f["source"] == name and str(f["record_id"]) not in left_alone[name]]
        replacements = [f for f in mine if ours[id(f)]]
        others = [f for f in mine if not ours[id(f)]]
        sources[name] = {
            "uri": originals.get(name, before["uri"]), "written_to": before["uri"],
            "status": (verification.summary["sources"].get(name) or {"status": "failed"})["status"]
            if verification is not None else "failed",
            "records": before["records_sampled"], "records_changed": changed[name],
            "records_left_as_they_were": len(left_alone[name]),
            "findings_before": before["entity_counts"],
            "findings_after": dict(sorted(Counter(f["entity_type"] for f in others).items())),
            "replacements_found_again": len(replacements),
            "original_values_found_again": sum(f["digest"] in redacted[name] for f in others),
        }
    return {"mode": "in_place" if in_place else "copy", "copies": None if in_place else str((out / COPIES).resolve()),
            "operators": dict(sorted(operators.items())), "pseudonym_scheme": SCHEME,
            "outcomes": dict(applied.outcomes), "residue": applied.residue,
            "verification_run_id": verification.summary["run_id"] if verification is not None else None,
            "sources": sources}
