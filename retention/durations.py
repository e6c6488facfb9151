"""Durations of retention rules: `30d`, `12w`, `6m`, `1y`, `36h`, or ISO 8601 (`P1Y6M`, `P30D`, `PT12H`)."""

from __future__ import annotations

import re

from dateutil.relativedelta import relativedelta

_SHORT = re.compile(r"^\s*(\d+)\s*([hdwmy])\s*$")
_ISO = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


MAX_YEARS = 1000  # a longer retention period is a typo, and would overflow dates


def parse_duration(text: str) -> relativedelta:
    """A calendar-aware duration (months and years are calendar months and years), at most MAX_YEARS."""
    duration = _parse(text)
    days = duration.years * 366 + duration.months * 31 + duration.days + duration.hours / 24 \
        + duration.minutes / 1440 + duration.seconds / 86400
    if days > MAX_YEARS * 366:
        raise ValueError(f"duration {text!r} is longer than {MAX_YEARS} years")
    return duration


def _parse(text: str) -> relativedelta:
    if not isinstance(text, str):
        raise ValueError(f"a duration is text such as 30d or P1Y, not {text!r}")
    short = _SHORT.match(text)
    if short:
        n, unit = int(short.group(1)), short.group(2)
        return {"h": relativedelta(hours=n), "d": relativedelta(days=n), "w": relativedelta(weeks=n),
                "m": relativedelta(months=n), "y": relativedelta(years=n)}[unit]
    iso = _ISO.match(text.strip().upper())
    if iso and any(iso.groups()):
        years, months, weeks, days, hours, minutes, seconds = (int(g) if g else 0 for g in iso.groups())
        return relativedelta(years=years, months=months, weeks=weeks, days=days, hours=hours, minutes=minutes,
                             seconds=seconds)
    raise ValueError(f"bad duration {text!r}: use 30d, 12w, 6m, 1y, 36h or ISO 8601 such as P30D")
