"""Calendar arithmetic of the KPI pages and API (pure: no Django, no ORM).

A period is named by its first day: a day, the Monday of a week, the 1st of a month, of a
quarter (Jan, Apr, Jul, Oct) or of a half-year (Jan, Jul; the banks survey every half-year).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

GRANULARITIES = ("day", "week", "month", "quarter", "half")
# Far enough for any history, near enough that a previous period or a next month never
# leaves the calendar (date.min / date.max): dates outside are refused as bad input.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(9998, 12, 31)
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> date | None:
    """ "2026-10" -> date(2026, 10, 1); None for anything else."""
    match = MONTH_PATTERN.match(text or "")
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and EARLIEST_DAY.year <= year <= LATEST_DAY.year):
        return None
    return date(year, month, 1)


def month_bounds(first: date) -> tuple[date, date]:
    """The month's first and last day (both included)."""
    first = first.replace(day=1)
    return first, next_month(first) - timedelta(days=1)


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def previous_month(first: date) -> date:
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def previous_period(date_from: date, date_to: date) -> tuple[date, date]:
    """The period of equal length that ends the day before `date_from` (a trend's baseline)."""
    length = (date_to - date_from).days + 1
    return date_from - timedelta(days=length), date_from - timedelta(days=1)


def period_start(day: date, granularity: str) -> date:
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if granularity == "half":
        return date(day.year, 1 if day.month <= 6 else 7, 1)
    raise ValueError(f"unknown granularity {granularity!r}")


def period_starts(date_from: date, date_to: date, granularity: str) -> list[date]:
    """Every period touching [date_from, date_to], in order (so a series has no holes)."""
    starts: list[date] = []
    current = period_start(date_from, granularity)
    while current <= date_to:
        starts.append(current)
        if granularity == "day":
            current += timedelta(days=1)
        elif granularity == "week":
            current += timedelta(days=7)
        else:
            step = {"month": 1, "quarter": 3, "half": 6}[granularity]
            for _ in range(step):
                current = next_month(current)
    return starts
