"""Reads behind the branch head's dashboards: trends, heatmap, per service, per teller, errors
by category, and the live "today" fragment.

Everything over a date range reads KpiRollup through rollup_rows (one GROUP BY, so the cost
follows the slice, not the history) plus at most one query to name the groups.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone, translation

from accounts.models import Branch
from accounts.names import pick_name
from queueing.models import Service
from queueing.selectors import waiting_by_service
from reception.selectors import open_lobby_alerts

from ..metrics import MAX_FIELDS, SUM_FIELDS, kpi_values
from ..periods import period_start
from . import errors as errors_selectors
from .live import today_summary
from .rollups import kpi_targets, rollup_rows, rollup_total

__all__ = [
    "GRANULARITIES",
    "error_rows",
    "heatmap_cells",
    "live_today",
    "merge_rows",
    "period_label",
    "rows_by_service",
    "rows_by_teller",
    "targets_for",
    "total_for",
    "trend_rows",
    "weekday_counts",
]

GRANULARITIES = ("day", "week", "month", "quarter", "half")


def merge_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum rollup rows (sums are additive; the longest wait is the max) and recompute KPIs."""
    merged: dict[str, Any] = {name: 0 for name in SUM_FIELDS}
    for name in MAX_FIELDS:
        merged[name] = 0
    for row in rows:
        for name in SUM_FIELDS:
            merged[name] += row.get(name) or 0
        for name in MAX_FIELDS:
            merged[name] = max(merged[name], row.get(name) or 0)
    merged["kpis"] = kpi_values(merged)
    return merged


def _as_date(value: Any) -> date:
    # TruncWeek/Month/Quarter over a DateField come back as dates; be lenient with datetimes.
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def period_label(start: date, granularity: str) -> str:
    """A period as a reader names it: 2026-11-23, 2026-W48, 2026-11, 2026-Q4, 2026-H2."""
    if granularity == "week":
        year, week, _day = start.isocalendar()
        return f"{year}-W{week:02d}"
    if granularity == "month":
        return f"{start:%Y-%m}"
    if granularity == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if granularity == "half":
        return f"{start.year}-H{1 if start.month <= 6 else 2}"
    return start.isoformat()


def trend_rows(*, branch: Branch, granularity: str, **slice_args: Any) -> list[dict[str, Any]]:
    """One row per period of `granularity` ("half": two quarters merged in Python, since the
    sums add up), each with `period` (its first day), `label`, the sums and `kpis`."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}")
    group = "quarter" if granularity == "half" else granularity
    rows = rollup_rows(branches=[branch], group_by=(group,), **slice_args)
    for row in rows:
        row["period"] = _as_date(row.pop(group))
    if granularity == "half":
        halves: dict[date, list[dict[str, Any]]] = {}
        for row in rows:
            halves.setdefault(period_start(row["period"], "half"), []).append(row)
        rows = []
        for start, parts in sorted(halves.items()):
            merged = merge_rows(parts)
            merged["period"] = start
            rows.append(merged)
    for row in rows:
        row["label"] = period_label(row["period"], granularity)
    return rows


def weekday_counts(date_from: date, date_to: date) -> Counter[int]:
    """How many Mondays, Tuesdays … the range holds (0 = Monday), to average per weekday."""
    counts: Counter[int] = Counter()
    full_weeks, rest = divmod((date_to - date_from).days + 1, 7)
    for weekday in range(7):
        counts[weekday] = full_weeks
    for offset in range(rest):
        counts[(date_from + timedelta(days=full_weeks * 7 + offset)).weekday()] += 1
    return counts


def heatmap_cells(*, branch: Branch, **slice_args: Any) -> list[dict[str, Any]]:
    """One cell per (weekday, hour) with activity: `arrivals` (customers per day of that
    weekday in the range, on average), `customers` (the total), `avg_wait_s`."""
    per_weekday = weekday_counts(slice_args["date_from"], slice_args["date_to"])
    cells = []
    for row in rollup_rows(branches=[branch], group_by=("weekday", "hour"), **slice_args):
        days = per_weekday[row["weekday"]] or 1
        cells.append(
            {
                "weekday": row["weekday"],
                "hour": row["hour"],
                "customers": row["customers"],
                "arrivals": row["customers"] / days,
                "avg_wait_s": row["kpis"]["avg_wait_s"],
                "waited": row["waited"],
            }
        )
    return cells


def rows_by_service(*, branch: Branch, **slice_args: Any) -> list[dict[str, Any]]:
    """The slice per service, named (a row without a service: visits that never queued)."""
    rows = rollup_rows(branches=[branch], group_by=("service",), **slice_args)
    names = {
        service.pk: service
        for service in Service.objects.filter(
            pk__in=[row["service"] for row in rows if row["service"]]
        )
    }
    for row in rows:
        service = names.get(row["service"])
        row["name"] = f"{service.prefix} {service.display_name}" if service else None
    return rows


def rows_by_teller(*, branch: Branch, **slice_args: Any) -> list[dict[str, Any]]:
    """The slice per teller, named; rows not tied to a teller (waits before any call,
    walk-aways) are left out: they are nobody's figures."""
    rows = [
        row
        for row in rollup_rows(branches=[branch], group_by=("teller",), **slice_args)
        if row["teller"]
    ]
    users = get_user_model().objects.in_bulk([row["teller"] for row in rows])
    for row in rows:
        user = users.get(row["teller"])
        row["name"] = (user.get_full_name() or user.username) if user else str(row["teller"])
    rows.sort(key=lambda row: row["name"])
    return rows


def error_rows(*, branch: Branch, served: float = 0, **slice_args: Any) -> list[dict[str, Any]]:
    """Errors (差错) per category over the slice (kpi.selectors.errors), named in the reader's
    language, with their share of the customers served in the same slice (error rate =
    errors / served, as docs/kpi.md defines it)."""
    language = translation.get_language() or ""
    return [
        {
            "category": pick_name(
                language, zh_hans=row["name_zh"], zh_hant=row["name_zh_hant"], en=row["name_en"]
            )
            or row["code"],
            "errors": row["errors"],
            "error_rate": row["errors"] / served if served else None,
        }
        for row in errors_selectors.errors_by_category(branches=[branch], **slice_args)
    ]


def live_today(*, branch: Branch, summary: dict[str, Any] | None = None) -> dict[str, Any]:
    """The live fragment of the "today" page: queue now per service (waiting, longest wait),
    the day's served / within target / satisfaction so far, and the open lobby alerts.
    A fixed number of queries whatever the day's traffic (tickets are read once, by
    today_summary; the full page passes the summary it already has)."""
    queue = waiting_by_service(branch=branch)
    if summary is None:
        summary = today_summary(branch=branch)
    return {
        "as_of": timezone.localtime(timezone.now(), branch.tz),
        "queue": queue,
        "waiting_total": sum(row["waiting"] for row in queue),
        "longest_wait_s": max((row["longest_wait_s"] for row in queue), default=0.0),
        "summary": summary,
        "alerts": open_lobby_alerts(branch=branch),
    }


def targets_for(*, branch: Branch) -> dict[str, float]:
    return kpi_targets(branch=branch)


def total_for(*, branch: Branch, **slice_args: Any) -> dict[str, Any]:
    return rollup_total(branches=[branch], **slice_args)
