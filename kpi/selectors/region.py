"""The region view: the region's branches ranked on one KPI, with the previous period's trend.

ONE aggregate query over KpiRollup (grouped by branch and by period: this one and the one
before), summing only the columns the chosen KPI reads (kpi.metrics.METRIC_FIELDS), whatever
the number of branches or days. Summing all ~65 columns in two queries took 505 ms at p95 on
40 branches' history (docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import BooleanField, Case, Max, Q, Sum, Value, When

from accounts.models import Branch, Region, RegionRole

from ..metrics import MAX_FIELDS, METRIC_FIELDS, METRICS, kpi_values
from ..models import KpiRollup
from ..periods import previous_period
from ..ranking import rank

__all__ = ["region_ranking", "regions_headed_by"]


def regions_headed_by(user) -> list[Region]:
    """The regions `user` heads (active RegionMembership with the HEAD role)."""
    if user is None or not user.is_authenticated:
        return []
    return list(
        Region.objects.filter(
            memberships__user=user,
            memberships__is_active=True,
            memberships__role=RegionRole.HEAD,
        )
        .distinct()
        .order_by("code")
    )


def region_ranking(
    *, branches: Sequence[Branch], metric: str, date_from: date, date_to: date
) -> dict[str, Any]:
    """`branches` ranked on `metric` (a kpi.metrics.METRICS key) over [date_from, date_to].

    rows: one per branch, ranked ones first ({"branch", "rank", "value", "vs_average",
    "previous", "trend", "improved"}); best / worst: the first and last ranked row (worst
    None with fewer than two branches with data); average: the mean of the branches' values;
    previous_from / previous_to: the baseline period of equal length."""
    definition = METRICS[metric]
    previous_from, previous_to = previous_period(date_from, date_to)
    current, before = _values_by_branch(branches, metric, previous_from, date_from, date_to)
    by_id = {branch.pk: branch for branch in branches}
    ranking = rank([branch.pk for branch in branches], current, before, definition)

    def as_row(ranked) -> dict[str, Any] | None:
        if ranked is None:
            return None
        return {
            "branch": by_id[ranked.key],
            "rank": ranked.rank,
            "value": ranked.value,
            "vs_average": ranked.vs_average,
            "previous": ranked.previous,
            "trend": ranked.trend,
            "improved": ranked.improved,
        }

    return {
        "metric": definition,
        "date_from": date_from,
        "date_to": date_to,
        "previous_from": previous_from,
        "previous_to": previous_to,
        "rows": [as_row(ranked) for ranked in ranking.rows],
        "average": ranking.average,
        "best": as_row(ranking.best),
        "worst": as_row(ranking.worst),
    }


def _values_by_branch(
    branches: Sequence[Branch], metric: str, previous_from: date, date_from: date, date_to: date
) -> tuple[dict[int, float | None], dict[int, float | None]]:
    """The metric per branch over [date_from, date_to] and over [previous_from, date_from)."""
    if not branches:
        return {}, {}
    fields = METRIC_FIELDS[metric]
    # One (branch = b AND day in range) arm per branch rather than `branch IN (...) AND day in
    # range`: each arm is a range of the (branch, day) index, so PostgreSQL reads only the
    # period's rows. With IN it walked the whole history of each branch through the plain
    # branch index (380 ms on 40 branches' year, against 120 ms: docs/benchmarks.md).
    in_period = reduce(
        or_,
        (Q(branch_id=branch.pk, day__gte=previous_from, day__lte=date_to) for branch in branches),
    )
    rows = (
        KpiRollup.objects.filter(in_period)
        .annotate(
            g_current=Case(
                When(day__gte=date_from, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by()
        .values("branch_id", "g_current")
        .annotate(**{name: Max(name) if name in MAX_FIELDS else Sum(name) for name in fields})
    )
    current: dict[int, float | None] = {}
    before: dict[int, float | None] = {}
    for row in rows:
        value = kpi_values({name: row[name] for name in fields})[metric]
        (current if row["g_current"] else before)[row["branch_id"]] = value
    return current, before
