"""One KPI of one branch as a series of periods (the API's /api/kpi/series/).

The trends page's grouping (selectors/dashboard.trend_rows: one aggregate query; half-years
from quarters), with every period of the range present: a period without figures has a null
value, so a chart's x axis has no holes and "no data" is not drawn as 0."""

from __future__ import annotations

from datetime import date
from typing import Any

from accounts.models import Branch

from ..periods import period_starts
from .dashboard import trend_rows
from .rollups import kpi_targets

__all__ = ["kpi_series"]


def kpi_series(
    *,
    branch: Branch,
    metric: str,
    granularity: str,
    date_from: date,
    date_to: date,
    service_ids: list[int] | None = None,
    teller_id: int | None = None,
) -> list[dict[str, Any]]:
    """[{period (its first day), value, target}] over every period touching the range."""
    rows = trend_rows(
        branch=branch,
        granularity=granularity,
        date_from=date_from,
        date_to=date_to,
        service_ids=service_ids,
        teller_id=teller_id,
    )
    values = {row["period"]: row["kpis"][metric] for row in rows}
    target = kpi_targets(branch=branch).get(metric)
    return [
        {"period": start, "value": values.get(start), "target": target}
        for start in period_starts(date_from, date_to, granularity)
    ]
