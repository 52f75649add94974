"""Any slice of the KPI rollups: one aggregate query, KPIs computed from the sums.

A dashboard, an export, the region ranking, staffing advice and quality's benchmarking all ask
the same question: "these branches, these days, maybe one service or teller, grouped by
something". `rollup_rows` answers it with one GROUP BY over KpiRollup (never over tickets), so
its cost follows the slice, not the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db.models import F, Max, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncQuarter, TruncWeek

from accounts.models import Branch

from ..metrics import MAX_FIELDS, METRIC_FIELDS, SUM_FIELDS, kpi_values
from ..models import KpiRollup, KpiTarget

__all__ = [
    "GROUPINGS",
    "fields_for",
    "kpi_targets",
    "rollup_queryset",
    "rollup_rows",
    "rollup_total",
]

# What a slice may be grouped by -> the expression or field behind it.
GROUPINGS: dict[str, Any] = {
    "branch": "branch_id",
    "day": "day",
    "week": TruncWeek("day"),
    "month": TruncMonth("day"),
    "quarter": TruncQuarter("day"),
    "hour": "hour",
    "weekday": "weekday",
    "service": "service_id",
    "teller": "teller_id",
}


def rollup_queryset(
    *,
    branches: Iterable[Branch] | Iterable[int],
    date_from: date,
    date_to: date,
    service_ids: Sequence[int] | None = None,
    teller_id: int | None = None,
) -> QuerySet[KpiRollup]:
    """The rollup rows of a slice; `date_to` included."""
    branch_ids = [b.pk if isinstance(b, Branch) else b for b in branches]
    rows = KpiRollup.objects.filter(branch_id__in=branch_ids, day__gte=date_from, day__lte=date_to)
    if service_ids:
        rows = rows.filter(service_id__in=service_ids)
    if teller_id is not None:
        rows = rows.filter(teller_id=teller_id)
    return rows


def rollup_rows(
    *,
    branches: Iterable[Branch] | Iterable[int],
    date_from: date,
    date_to: date,
    group_by: Sequence[str] = (),
    service_ids: Sequence[int] | None = None,
    teller_id: int | None = None,
    fields: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """One dict per group: the group's keys (as named in `group_by`), every summed column, and
    `kpis` (metrics.kpi_values of the sums). Ordered by the group keys. "half" (a half-year,
    as the banks survey) is "quarter" grouped by the caller: see kpi.metrics if needed.

    `fields`: sum only these columns (e.g. metrics.METRIC_FIELDS[metric], or
    `fields_for(metrics)`); a wide slice then reads a few columns instead of ~65. The row has
    only those columns, and `kpis` only the metrics they are enough for."""
    unknown = set(group_by) - set(GROUPINGS)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}")
    columns = _columns(fields)
    rows = rollup_queryset(
        branches=branches,
        date_from=date_from,
        date_to=date_to,
        service_ids=service_ids,
        teller_id=teller_id,
    )
    if group_by:
        rows = rows.annotate(**{f"g_{key}": _expression(GROUPINGS[key]) for key in group_by})
        rows = rows.values(*(f"g_{key}" for key in group_by)).order_by(
            *(f"g_{key}" for key in group_by)
        )
    aggregates = {name: Max(name) if name in MAX_FIELDS else Sum(name) for name in columns}
    if not group_by:
        return [_finish(rows.aggregate(**aggregates), group_by, columns)]
    return [_finish(row, group_by, columns) for row in rows.annotate(**aggregates)]


def fields_for(metrics: Iterable[str]) -> tuple[str, ...]:
    """The rollup columns the given KPIs (kpi.metrics.METRICS keys) are computed from."""
    needed = {name for metric in metrics for name in METRIC_FIELDS[metric]}
    return tuple(name for name in (*SUM_FIELDS, *MAX_FIELDS) if name in needed)


def rollup_total(**slice_args: Any) -> dict[str, Any]:
    """The whole slice in one row (rollup_rows with no grouping)."""
    return rollup_rows(group_by=(), **slice_args)[0]


def kpi_targets(*, branch: Branch) -> dict[str, float]:
    """The branch's targets by metric key (kpi.metrics.METRICS)."""
    return dict(KpiTarget.objects.filter(branch=branch).values_list("metric", "value"))


def _expression(grouping: Any) -> Any:
    return F(grouping) if isinstance(grouping, str) else grouping


def _columns(fields: Iterable[str] | None) -> tuple[str, ...]:
    every = (*SUM_FIELDS, *MAX_FIELDS)
    if fields is None:
        return every
    chosen = set(fields)
    unknown = chosen - set(every)
    if unknown:
        raise ValueError(f"no rollup column {sorted(unknown)}")
    return tuple(name for name in every if name in chosen)


def _finish(row: dict[str, Any], group_by: Sequence[str], columns: Sequence[str]) -> dict[str, Any]:
    result = {key: row.get(f"g_{key}") for key in group_by}
    for name in columns:
        result[name] = row.get(name) or 0
    kpis = kpi_values(result)
    if len(columns) < len(SUM_FIELDS) + len(MAX_FIELDS):
        # A partial sum would give wrong values for the KPIs it lacks columns for: leave them out.
        summed = set(columns)
        kpis = {key: value for key, value in kpis.items() if set(METRIC_FIELDS[key]) <= summed}
    result["kpis"] = kpis
    return result
