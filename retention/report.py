"""report.html: one self-contained page (inline CSS and SVG, no scripts, nothing fetched)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from retention.policy import Policy
from retention.tally import AGE_BUCKETS_DAYS
from scanner.core.durable import atomic_write
from scanner.core.stats import prevalence_sentence

BAR_WIDTH = 520


def bars(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Horizontal bars scaled to the largest count."""
    top = max(counts.values(), default=0) or 1
    return [{"label": label, "count": count, "width": round(BAR_WIDTH * count / top, 1), "y": i * 26}
            for i, (label, count) in enumerate(counts.items())]


def age_chart(policy: Policy, tally) -> list[dict[str, Any]]:
    """Per delete rule with a limit: how many matched records fall in each age bucket, and the limit."""
    buckets = [f"<= {d}d" for d in AGE_BUCKETS_DAYS] + [f"> {AGE_BUCKETS_DAYS[-1]}d", "undated"]
    charts = []
    for rule in policy.rules:
        counts = tally.rules[rule.id].ages
        if not counts:
            continue
        limit = None
        if rule.max_age is not None or rule.min_age is not None:
            duration = rule.max_age if rule.max_age is not None else rule.min_age
            days = (tally.now - (tally.now - duration)).days
            limit = next((i for i, d in enumerate(AGE_BUCKETS_DAYS) if days <= d), len(AGE_BUCKETS_DAYS))
        top = max(counts.values()) or 1
        columns = [{"label": b, "count": counts.get(b, 0), "height": round(120 * counts.get(b, 0) / top, 1),
                    "x": i * 70} for i, b in enumerate(buckets)]
        charts.append({"rule": rule.id, "action": rule.action, "columns": columns,
                       "limit_x": None if limit is None else limit * 70 - 4,
                       "limit": f"{'max' if rule.max_age is not None else 'min'}_age {days}d"
                       if limit is not None else None})
    return charts


def write_report(path: Path, summary: dict, evidence: dict, first_rows: dict[str, list[dict]], policy: Policy,
                 tally) -> None:
    env = Environment(loader=PackageLoader("retention", "templates"), autoescape=select_autoescape(["html", "j2"]))
    entity_totals: dict[str, int] = {}
    for source in summary["sources"].values():
        for entity, count in source["entity_counts"].items():
            entity_totals[entity] = entity_totals.get(entity, 0) + count
    sources = [{"name": name, **s, "sentence": prevalence_sentence(s["records_with_findings"], s["records_sampled"],
                                                                   s["prevalence"])}
               for name, s in summary["sources"].items()]
    html = env.get_template("report.html.j2").render(
        summary=summary, evidence=evidence, sources=sources, sweep=summary["sweep"],
        entity_bars=bars(dict(sorted(entity_totals.items(), key=lambda kv: -kv[1]))),
        age_charts=age_chart(policy, tally), deletion_rows=first_rows["deletion"], hold_rows=first_rows["hold"],
        redaction_rows=first_rows.get("redaction", []),
        policy=policy)
    with atomic_write(path) as handle:
        handle.write(html)
