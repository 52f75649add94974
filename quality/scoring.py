"""Pure arithmetic of inspections: scores, schedule due dates, coverage, benchmark naming.

No ORM, no Django: the services, the selectors and the tests call the same functions.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "BenchmarkRow",
    "ItemAnswer",
    "category_scores",
    "due_after",
    "name_benchmark",
    "participation_rate",
    "previous_quarter",
    "quarter_bounds",
    "quarter_of",
    "weighted_score",
]

# Months between two inspections per frequency (InspectionFrequency values).
FREQUENCY_MONTHS = {"monthly": 1, "quarterly": 3, "half_year": 6, "yearly": 12}


@dataclass(frozen=True)
class ItemAnswer:
    category: str
    weight: int
    passed: bool | None  # None: not applicable (left out of the score)


def weighted_score(answers: Iterable[ItemAnswer]) -> float | None:
    """Weighted share of passed items among the applicable ones, in percent (1 decimal);
    None when nothing was applicable (no score is not 0 %)."""
    applicable = [a for a in answers if a.passed is not None and a.weight > 0]
    total = sum(a.weight for a in applicable)
    if not total:
        return None
    passed = sum(a.weight for a in applicable if a.passed)
    return round(100.0 * passed / total, 1)


def category_scores(answers: Iterable[ItemAnswer]) -> dict[str, float]:
    """weighted_score per category; categories with nothing applicable are left out."""
    by_category: dict[str, list[ItemAnswer]] = {}
    for answer in answers:
        by_category.setdefault(answer.category, []).append(answer)
    scores = {}
    for category in sorted(by_category):
        score = weighted_score(by_category[category])
        if score is not None:
            scores[category] = score
    return scores


# --- schedules and coverage ---------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    # The 31st of a short month: the month's last day.
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_start(day: date, frequency: str) -> date:
    """First day of the calendar period (month, quarter, half-year, year) holding `day`."""
    months = FREQUENCY_MONTHS[frequency]
    month = (day.month - 1) // months * months + 1
    return date(day.year, month, 1)


def due_after(*, last_visit: date | None, starts_on: date, frequency: str, today: date) -> date:
    """The day by which the next inspection is due: the end of the calendar period (month,
    quarter, ...) after the one of the last visit; never inspected: the end of the period
    holding `starts_on` (or today's period, if the schedule started long ago)."""
    months = FREQUENCY_MONTHS[frequency]
    if last_visit is None:
        start = period_start(max(starts_on, period_start(today, frequency)), frequency)
        if starts_on > today:
            start = period_start(starts_on, frequency)
    else:
        start = _add_months(period_start(last_visit, frequency), months)
    return _add_months(start, months) - timedelta(days=1)


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """First and last day of a quarter."""
    first = date(year, 3 * (quarter - 1) + 1, 1)
    return first, _add_months(first, 3) - timedelta(days=1)


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def participation_rate(*, attended: int, expected: int) -> float | None:
    """Share of expected attendees who came (0..1); None when nobody was expected."""
    return attended / expected if expected else None


# --- benchmarking -------------------------------------------------------------------------------


@dataclass
class BenchmarkRow:
    branch_id: int
    measure: float | None  # what the ranking is by (None: no data, ranked last)
    inspection_score: float | None
    rank: int | None = None
    label: str = ""  # "benchmark" (标杆网点), "improve" (通报) or ""


def composite(values: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    """Weighted mean of the values present (each 0..100); None when none is."""
    present = [(values[k], w) for k, w in weights.items() if values.get(k) is not None and w > 0]
    total = sum(w for _, w in present)
    if not total:
        return None
    return round(sum(v * w for v, w in present) / total, 1)  # type: ignore[operator]


def name_benchmark(
    rows: Sequence[BenchmarkRow],
    *,
    top_share: float = 0.2,
    benchmark_min_score: float = 90.0,
    bottom_share: float = 0.2,
    improve_below: float = 70.0,
) -> list[BenchmarkRow]:
    """Rank by measure (highest first; no data last) and name:

    - benchmark (标杆网点): within the top `top_share` of the ranked branches (at least one)
      AND an inspection score >= `benchmark_min_score`;
    - to improve (通报): within the bottom `bottom_share` (at least one, when 2+ are ranked)
      OR an inspection score < `improve_below`. A branch that qualifies as both is named to
      improve: a low inspection score is never a benchmark.
    Branches without a measure are ranked last and named only by their inspection score.
    """
    ranked = sorted(rows, key=lambda r: (r.measure is None, -(r.measure or 0.0), r.branch_id))
    with_data = [r for r in ranked if r.measure is not None]
    n = len(with_data)
    top_n = max(1, math.floor(n * top_share)) if n else 0
    bottom_n = max(1, math.floor(n * bottom_share)) if n >= 2 else 0
    for index, row in enumerate(ranked):
        row.rank = index + 1 if row.measure is not None else None
        low_score = row.inspection_score is not None and row.inspection_score < improve_below
        in_bottom = row.measure is not None and index >= n - bottom_n
        in_top = row.measure is not None and index < top_n
        if low_score or in_bottom:
            row.label = "improve"
        elif (
            in_top
            and row.inspection_score is not None
            and row.inspection_score >= benchmark_min_score
        ):
            row.label = "benchmark"
        else:
            row.label = ""
    return ranked
