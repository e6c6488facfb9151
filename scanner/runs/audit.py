"""`dhscan audit BASELINE`: a person's verdict on each finding of a baseline, asked on a terminal or given
by flags. The file is rewritten (atomically) after every verdict, so stopping halfway keeps what was said."""

from __future__ import annotations

from datetime import date

import click

from scanner.core.errors import UsageError
from scanner.runs.baseline import VERDICTS, load_baseline, mark, save_baseline

KEYS = {"t": "true_positive", "f": "false_positive", "a": "accepted", "s": "skip", "q": "quit"}


def parse_until(text: str | None, verdict: str) -> date | None:
    if verdict != "accepted":
        if text:
            raise UsageError("--until: only an accepted finding has an expiry date")
        return None
    if not text:
        raise UsageError("accepted needs --until YYYY-MM-DD (an acceptance expires)")
    try:
        until = date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--until {text!r}: not a date (YYYY-MM-DD)") from None
    if until < date.today():
        raise UsageError(f"--until {text}: already past")
    return until


def _until_or_ask_again(text: str) -> date:
    try:
        return parse_until(text, "accepted")
    except UsageError as exc:
        raise click.BadParameter(str(exc).removeprefix("--until ")) from None


def audit_by_flags(path: str, marks: list[str], by: str | None, reason: str | None,
                   until: str | None) -> list[str]:
    if not by:
        raise UsageError("--by: who audits (no $USER either)")
    if not reason:
        raise UsageError("--reason: why (it is kept in the baseline)")
    baseline = load_baseline(path)
    lines = []
    for spec in marks:
        prefix, sep, verdict = spec.partition("=")
        if not sep or verdict not in VERDICTS or len(prefix) < 6:
            raise UsageError(f"--mark {spec!r}: use FINGERPRINT=VERDICT (6 or more characters of the "
                             f"fingerprint; {', '.join(VERDICTS)})")
        entry = mark(baseline, prefix, verdict, by, reason, parse_until(until, verdict))
        lines.append(f"{entry.fingerprint[:12]} {entry.entity_type} {entry.preview}: {verdict}")
    save_baseline(baseline, path)
    return lines


def audit_interactively(path: str, by: str | None, everything: bool) -> list[str]:
    baseline = load_baseline(path)
    today = date.today()
    asked = [e for e in baseline.findings if everything or e.status(today) in ("unaudited", "expired")]
    if not asked:
        return [f"{path}: nothing to audit ({len(baseline.findings)} finding(s), all audited)"]
    by = by or click.prompt("Who is auditing")
    done = 0
    for number, entry in enumerate(asked, 1):
        click.echo(f"\n[{number}/{len(asked)}] {entry.entity_type}  {entry.preview}")
        click.echo(f"  source {entry.source}, record {entry.record_id}, field {entry.field}")
        click.echo(f"  fingerprint {entry.fingerprint[:16]}  status {entry.status(today)}")
        choice = KEYS[click.prompt("(t)rue positive, (f)alse positive, (a)ccept until a date, (s)kip, (q)uit",
                                   type=click.Choice(list(KEYS)), show_choices=False)]
        if choice == "quit":
            break
        if choice == "skip":
            continue
        until = None
        if choice == "accepted":
            until = click.prompt("Accepted until (YYYY-MM-DD)", value_proc=_until_or_ask_again)
        reason = click.prompt("Why")
        mark(baseline, entry.fingerprint, choice, by, reason, until)
        save_baseline(baseline, path)
        done += 1
    counts = baseline.statuses(today)
    return [f"{path}: {done} verdict(s) recorded; " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))]
