"""Prevalence of records with findings, with a Clopper-Pearson interval."""

from __future__ import annotations


CONFIDENCE = 0.95


def prevalence(with_findings: int, sampled: int, total: int | None, census: bool) -> dict | None:
    """Estimate and interval of the share of records with findings.

    At 0 (or all) records with findings the bound is one-sided at the full 5% (0 of 1,000:
    below 0.30%), the usual statement of an upper bound. A census (every record scanned)
    has no sampling error, so its interval is the estimate itself.
    """
    if sampled == 0:
        return None
    x, n = with_findings, sampled
    estimate = x / n
    alpha = 1 - CONFIDENCE
    if census and total is not None and n >= total:
        low = high = estimate
        method = "census"
    elif x == 0:
        low, high, method = 0.0, 1 - alpha ** (1 / n), "clopper-pearson"
    elif x == n:
        low, high, method = alpha ** (1 / n), 1.0, "clopper-pearson"
    else:
        # the beta quantile (scipy.stats.beta.ppf); scipy.stats takes 0.9 s to import, scipy.special 0.4 s:
        # imported only here, where a sample has some but not all records with findings
        from scipy.special import betaincinv

        low = float(betaincinv(x, n - x + 1, alpha / 2))
        high = float(betaincinv(x + 1, n - x, 1 - alpha / 2))
        method = "clopper-pearson"
    return {"estimate": estimate, "low": low, "high": high, "confidence": CONFIDENCE, "method": method}


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def prevalence_sentence(with_findings: int, sampled: int, prev: dict | None) -> str:
    if prev is None:
        return "no records were scanned"
    if prev["method"] == "census":
        return (f"{with_findings:,} of {sampled:,} records have findings "
                f"({_pct(prev['estimate'])}; every record scanned)")
    head = f"{with_findings:,} of {sampled:,} sampled records have findings"
    conf = f"{prev['confidence'] * 100:.0f}%"
    if with_findings == 0:
        return f"{head}: prevalence below {_pct(prev['high'])} ({conf})"
    if with_findings == sampled:
        return f"{head}: prevalence above {_pct(prev['low'])} ({conf})"
    return f"{head}: prevalence {_pct(prev['estimate'])} ({conf} CI {_pct(prev['low'])}–{_pct(prev['high'])})"


def read_whole(result) -> bool:
    """Whether every record of a source was scanned (SourceResult, or its evidence.json entry)."""
    get = result.get if isinstance(result, dict) else lambda name: getattr(result, name)
    return get("status") == "ok" and get("records_total") is not None and get("records_sampled") >= get("records_total")
