"""The human summary printed after a scan, and the progress bars on stderr."""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scanner.core.errors import printable
from scanner.runs.loop import Run
from scanner.core.stats import prevalence_sentence


def cell(text) -> str:
    """A name as a table cell: Rich markup in it shown as written, control characters escaped."""
    return escape(printable(str(text)))


def print_summary(run: Run, console: Console) -> None:
    table = Table(title="dhscan scan", show_lines=False)
    for column in ("source", "kind", "records", "scanned", "with findings", "findings", "skipped", "status"):
        table.add_column(column, justify="right" if column not in ("source", "kind", "status") else "left")
    for name, s in run.summary["sources"].items():
        total = "?" if s["records_total"] is None else f"{s['records_total']:,}"
        table.add_row(cell(name), s["kind"], total, f"{s['records_sampled']:,}", f"{s['records_with_findings']:,}",
                      f"{s['findings']:,}", f"{s['records_skipped']:,}", s["status"])
    console.print(table)
    entities = Table(title="findings by entity type")
    entities.add_column("source")
    entities.add_column("entity type")
    entities.add_column("findings", justify="right")
    for name, s in run.summary["sources"].items():
        for entity, count in s["entity_counts"].items():
            entities.add_row(cell(name), entity, f"{count:,}")
    if entities.row_count:
        console.print(entities)
    for name, s in run.summary["sources"].items():
        if s["status"] == "failed":
            console.print(f"{printable(name)}: FAILED: {printable(s['error'])}", markup=False)
            continue
        line = f"{printable(name)}: {prevalence_sentence(s['records_with_findings'], s['records_sampled'], s['prevalence'])}."
        if s["records_no_content"]:
            line += (f" {s['records_no_content']:,} of the scanned records carry no content (for spans: prompts and"
                     " completions were not captured), so nothing is known about them: not clean, unknown.")
        if s["records_skipped"]:
            line += f" {s['records_skipped']:,} unreadable record(s) skipped (see summary.json)."
        console.print(line, markup=False, highlight=False)


@contextmanager
def progress_bars(enabled: bool):
    """A bar per source on stderr when it is a terminal; a no-op callback otherwise."""
    if not enabled:
        yield lambda name, done, total: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]} {task.fields[unit]}/s"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        tasks: dict[str, int] = {}

        def update(name: str, done: int, total: int | None) -> None:
            if name not in tasks:
                # a cluster run adds a bar of shards done per source
                unit = "shards" if name.endswith(" (shards)") else "records"
                tasks[name] = progress.add_task(name, total=total, rate="-", unit=unit)
            task_id = tasks[name]
            task = progress.tasks[task_id]
            rate = f"{done / task.elapsed:,.0f}" if task.elapsed else "-"
            progress.update(task_id, completed=done, total=total, rate=rate)

        yield update


def print_sweep_summary(run, console: Console) -> None:
    """Per source decisions, per rule and per hold counts, and the prevalence sentences."""
    sweep = run.summary["sweep"]
    table = Table(title=f"dhscan {run.summary['command']} (now = {sweep['now']})")
    for column in ("source", "records", "scanned", "with findings", "delete", "redact", "hold", "review", "undated",
                   "status"):
        table.add_column(column, justify="left" if column in ("source", "status") else "right")
    for name, s in run.summary["sources"].items():
        d = sweep["decisions_by_source"].get(name, {})
        total = "?" if s["records_total"] is None else f"{s['records_total']:,}"
        table.add_row(cell(name), total, f"{s['records_sampled']:,}", f"{s['records_with_findings']:,}",
                      f"{d.get('delete', 0):,}", f"{d.get('redact', 0):,}", f"{d.get('hold', 0):,}",
                      f"{d.get('review', 0):,}",
                      f"{d.get('undated', 0):,}", s["status"])
    console.print(table)
    rules = Table(title="retention rules")
    for column in ("rule", "matched", "deleted", "redacted", "held back", "retained", "undated", "upcoming",
                   "next due"):
        rules.add_column(column, justify="left" if column in ("rule", "next due") else "right")
    for rule_id, t in sweep["rules"].items():
        rules.add_row(cell(rule_id), f"{t['matched']:,}", f"{t['deleted']:,}", f"{t.get('redacted', 0):,}",
                      f"{t['suppressed_by_hold']:,}",
                      f"{t['blocked_by_retention']:,}", f"{t['undated']:,}", f"{t['upcoming']['records']:,}",
                      (t["upcoming"]["next_due"] or "")[:10])
    console.print(rules)
    if sweep["holds"]:
        holds = Table(title="legal holds")
        for column in ("hold", "status", "records held"):
            holds.add_column(column)
        for hold_id, h in sweep["holds"].items():
            holds.add_row(cell(hold_id), h["status"], f"{h['records']:,}")
        console.print(holds)
    lines = [f"{sweep['deletion_worklist_rows']:,} record(s) on the deletion worklist, "
             f"{sweep['legal_hold_worklist_rows']:,} legal-hold row(s); "
             f"{sweep['deletions_suppressed_by_holds']['records']:,} deletion(s) suppressed by a hold; "
             f"{sweep['undated']['records']:,} undated record(s)."]
    if run.summary["covers_sample"]:
        lines.append("These results cover a sample, not every record.")
    for name, s in run.summary["sources"].items():
        if s["status"] == "failed":
            lines.append(f"{printable(name)}: FAILED: {printable(s['error'])}")
        else:
            found = prevalence_sentence(s["records_with_findings"], s["records_sampled"], s["prevalence"])
            lines.append(f"{printable(name)}: {found}.")
    for line in lines:
        console.print(line, markup=False, highlight=False)


def print_apply_summary(result, console: Console, dry_run: bool = True) -> None:
    from retention.apply import OUTCOMES

    table = Table(title="dhscan apply" + (" (dry run: nothing was changed)" if dry_run else ""))
    table.add_column("source")
    would = {"deleted": "would delete", "redacted": "would redact"} if dry_run else {}
    for outcome in OUTCOMES:
        table.add_column(would.get(outcome, outcome), justify="right")
    for source, counts in result.by_source.items():
        table.add_row(cell(source), *(f"{counts.get(o, 0):,}" for o in OUTCOMES))
    console.print(table)
    for residue in result.residue:
        found = residue.get("summary") or (f"{residue['records']} of {residue['of']} deleted documents still in "
                                           "the store's files.")
        console.print(f"{residue['source']}: {found} {residue['advice']}", markup=False, highlight=False)
    for vacuumed in result.vacuumed:
        console.print(f"{vacuumed['source']}: vacuum: {vacuumed['summary']}", markup=False, highlight=False)


def print_redaction_summary(redaction: dict, console: Console) -> None:
    """Per source: records changed, findings before and after, and what the re-scan found again."""
    table = Table(title=f"redaction ({redaction['mode'].replace('_', ' ')})")
    for column in ("source", "records", "changed", "left as they were", "findings before", "findings after",
                   "replacements found again", "originals found again"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for name, s in redaction["sources"].items():
        table.add_row(cell(name), f"{s['records']:,}", f"{s['records_changed']:,}",
                      f"{s['records_left_as_they_were']:,}", f"{sum(s['findings_before'].values()):,}",
                      f"{sum(s['findings_after'].values()):,}", f"{s['replacements_found_again']:,}",
                      f"{s['original_values_found_again']:,}")
    console.print(table)
    operators = ", ".join(f"{t}: {spec['type']}" for t, spec in redaction["operators"].items())
    if operators:
        console.print(f"operators: {operators}")
    for residue in redaction["residue"]:
        console.print(f"[yellow]residue[/yellow] {cell(residue['source'])}: {residue.get('summary', '')}")
    if redaction["copies"]:
        console.print(f"redacted copies: {redaction['copies']}")
