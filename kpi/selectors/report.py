"""The monthly report of one branch: the month against its targets and the month before.

A fixed number of queries whatever the month's size: two totals (this month, the previous
one), the targets, one grouping per service and one per teller (plus their names), and the
top error categories from reception's error log. The groupings are the dashboards' own
(selectors/dashboard.py), so the report says what the services and tellers pages say."""

from __future__ import annotations

from datetime import date
from typing import Any

from accounts.models import Branch

from ..metrics import METRICS
from ..periods import month_bounds, next_month, previous_month
from .dashboard import error_rows, rows_by_service, rows_by_teller
from .rollups import kpi_targets, rollup_total

__all__ = ["HEADLINE_METRICS", "SUMMARY_METRICS", "TOP_ERROR_CATEGORIES", "monthly_report"]

# The month's headline, in the order the report shows it.
HEADLINE_METRICS = (
    "customers",
    "served",
    "avg_wait_s",
    "p90_wait_s",
    "within_target_share",
    "greeted_within_target_share",
    "avg_handle_s",
    "over_standard_share",
    "no_show_rate",
    "walkaway_rate",
    "diversion_rate",
    "utilisation",
    "customers_per_teller_hour",
    "resolution_rate",
    "error_rate",
    "control_points_missed",
)
# The month's other sections: complaints, the survey, appointments, reminders and alerts.
SUMMARY_METRICS = {
    "complaints": (
        "complaints",
        "avg_acknowledge_h",
        "avg_resolve_h",
        "complaints_overdue_share",
    ),
    "survey": ("csat_avg", "csat_share", "nps", "response_rate"),
    "care": (
        "appointments_kept_share",
        "reminders_on_time_share",
        "alerts",
        "avg_alert_recovery_min",
    ),
}
TOP_ERROR_CATEGORIES = 5


def monthly_report(*, branch: Branch, month: date) -> dict[str, Any]:
    """Everything the monthly report shows for `branch` and the month starting `month`."""
    first, last = month_bounds(month)
    before_first, before_last = month_bounds(previous_month(first))
    scope = {"branches": [branch]}
    month_slice = {"branch": branch, "date_from": first, "date_to": last}
    total = rollup_total(date_from=first, date_to=last, **scope)
    before = rollup_total(date_from=before_first, date_to=before_last, **scope)
    targets = kpi_targets(branch=branch)

    def compare(keys: tuple[str, ...]) -> list[dict[str, Any]]:
        rows = []
        for key in keys:
            metric = METRICS[key]
            value = total["kpis"][key]
            previous = before["kpis"][key]
            target = targets.get(key)
            change = value - previous if value is not None and previous is not None else None
            rows.append(
                {
                    "key": key,
                    "metric": metric,
                    "value": value,
                    "target": target,
                    "previous": previous,
                    "change": change,
                    "meets_target": _meets(value, target, metric.higher_is_better),
                }
            )
        return rows

    return {
        "branch": branch,
        "month": first,
        "date_from": first,
        "date_to": last,
        "previous_month": before_first,
        "next_month": next_month(first),
        "total": total,
        "previous": before,
        "targets": targets,
        "headline": compare(HEADLINE_METRICS),
        "summaries": {name: compare(keys) for name, keys in SUMMARY_METRICS.items()},
        "services": [row for row in rows_by_service(**month_slice) if row["name"]],
        "tellers": rows_by_teller(**month_slice),
        "errors": error_rows(**month_slice, served=total["served"])[:TOP_ERROR_CATEGORIES],
    }


def _meets(value: float | None, target: float | None, higher_is_better: bool) -> bool | None:
    if value is None or target is None:
        return None
    return value >= target if higher_is_better else value <= target
