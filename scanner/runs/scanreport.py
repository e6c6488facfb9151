"""report.html of `dhscan scan`: one self-contained page (inline CSS and SVG, no scripts, nothing
fetched) of what summary.json says per source, with the fields most affected and examples of each
entity type as masked previews, tallied as records are scanned."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from scanner.core.durable import atomic_write
from scanner.core.records import Finding, Record
from scanner.core.stats import prevalence_sentence
from scanner.runs.loop import Observer

EXAMPLES = 5  # per entity type, distinct previews
TOP_FIELDS = 15
INTERVAL_WIDTH = 400  # px of the 0-100% prevalence axis


class ScanTally:
    def __init__(self):
        self.fields: Counter = Counter()  # (source, field) -> records with a finding there
        self.examples: dict[str, list[dict]] = defaultdict(list)
        self.production: list[dict] = []

    def add(self, reported: list[Finding]) -> None:
        for source, field in {(f.source, f.field) for f in reported}:
            self.fields[(source, field)] += 1
        for f in reported:
            shown = self.examples[f.entity_type]
            if len(shown) < EXAMPLES and all(e["preview"] != f.preview for e in shown):
                shown.append({"source": f.source, "record_id": f.record_id, "field": f.field,
                              "preview": f.preview, "score": f.score})
            if f.production_match and len(self.production) < 20:
                self.production.append({"source": f.source, "record_id": f.record_id, "field": f.field,
                                        "entity_type": f.entity_type, "preview": f.preview})


def interval_marks(prevalence: dict | None) -> dict | None:
    """x positions of a prevalence and its interval on a 0-100% axis."""
    if not prevalence:
        return None
    return {key: round(INTERVAL_WIDTH * prevalence[key], 1) for key in ("estimate", "low", "high")}


def write_scan_report(path: Path, summary: dict, evidence: dict, tally: ScanTally) -> None:
    from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

    from retention.report import bars

    env = Environment(loader=ChoiceLoader([PackageLoader("scanner.runs", "templates"),
                                           PackageLoader("retention", "templates")]),
                      autoescape=select_autoescape(["html", "j2"]))
    totals: Counter = Counter()
    for source in summary["sources"].values():
        totals.update(source["entity_counts"])
    sources = [{"name": name, **s, "marks": interval_marks(s["prevalence"]),
                "sentence": prevalence_sentence(s["records_with_findings"], s["records_sampled"], s["prevalence"])}
               for name, s in summary["sources"].items()]
    html = env.get_template("scan_report.html.j2").render(
        summary=summary, evidence=evidence, sources=sources, entity_bars=bars(dict(totals.most_common())),
        fields=[{"source": s, "field": f, "records": n} for (s, f), n in tally.fields.most_common(TOP_FIELDS)],
        examples=dict(sorted(tally.examples.items())), production=tally.production, axis=INTERVAL_WIDTH)
    with atomic_write(path) as handle:
        handle.write(html)


class ScanObserver(Observer):
    """`dhscan scan`: the run loop, and report.html."""

    def __init__(self, fail_on_findings: bool = False, baseline_path: str | None = None):
        super().__init__(fail_on_findings)
        self.tally = ScanTally()
        self.baseline_path, self.baseline = baseline_path, None

    def start(self, run, stack) -> None:
        if self.baseline_path:
            from datetime import date

            from scanner.runs.baseline import BaselineFilter, load_baseline

            self.baseline = BaselineFilter(load_baseline(self.baseline_path), self.baseline_path, run.key,
                                           run.engine.key.key_id, date.today())
            self.suppress = self.baseline.suppresses

    def finish(self, run, results, summary: dict, evidence: dict) -> None:
        if self.baseline is not None:
            summary["baseline"] = self.baseline.summary()

    def on_record(self, record: Record, reported: list[Finding], findings: list[Finding]) -> None:
        if reported:
            self.tally.add(reported)

    def written(self, run, summary: dict, evidence: dict) -> None:
        write_scan_report(run.out_dir / "report.html", summary, evidence, self.tally)
