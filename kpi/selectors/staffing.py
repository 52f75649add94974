"""Staffing advice for a branch's coming week: forecast (kpi/forecast.py) + Erlang (kpi/staffing.py).

Reads the last eight weeks of rollups in one grouped query (day x hour), plus the services'
targets, the mix of services and the closed days: four queries, whatever the history's size.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from accounts.models import Branch, BranchClosedDay
from accounts.timeutil import branch_today
from queueing.models import Service

from .. import forecast, staffing
from .rollups import rollup_rows

__all__ = ["DEFAULT_TARGET_SHARE", "staffing_hours", "staffing_week"]

DEFAULT_TARGET_SHARE = 0.8
DEFAULT_TARGET_WAIT_S = 600.0  # when a branch has no services yet
DEFAULT_HANDLE_S = 300.0


def staffing_hours(branch: Branch) -> list[int]:
    """The local hours the branch is open (an hour it opens or closes within counts)."""
    last = branch.closes_at.hour + (1 if branch.closes_at.minute else 0)
    return list(range(branch.opens_at.hour, max(last, branch.opens_at.hour + 1)))


def _service_mix(branch: Branch, date_from: date, date_to: date) -> tuple[float, float]:
    """(target wait s, standard handling s), each weighted by the services' tickets in the
    window (a plain mean of the active services when there is no history)."""
    services = {
        service.pk: service
        for service in Service.objects.filter(branch=branch, is_active=True).only(
            "pk", "target_wait_minutes", "standard_handle_minutes"
        )
    }
    if not services:
        return DEFAULT_TARGET_WAIT_S, DEFAULT_HANDLE_S
    weights = {
        row["service"]: float(row["tickets"])
        for row in rollup_rows(
            branches=[branch], date_from=date_from, date_to=date_to, group_by=("service",)
        )
        if row["service"] in services and row["tickets"]
    }
    if not weights:
        weights = dict.fromkeys(services, 1.0)
    total = sum(weights.values())
    wait = sum(services[pk].target_wait_minutes * 60.0 * w for pk, w in weights.items()) / total
    handle = (
        sum(services[pk].standard_handle_minutes * 60.0 * w for pk, w in weights.items()) / total
    )
    return wait, handle


def staffing_week(
    *,
    branch: Branch,
    target_share: float = DEFAULT_TARGET_SHARE,
    target_wait_s: float | None = None,
    start: date | None = None,
    days: int = 7,
) -> dict[str, Any]:
    """Per open day from `start` (default: tomorrow, branch time) and opening hour: forecast
    arrivals, mean handling, counters needed (Erlang C; Erlang A where walk-aways give a
    patience), counters open that hour a week before, and whether that was too few."""
    start = start or branch_today(branch) + timedelta(days=1)
    date_from, date_to = forecast.history_window(start)
    history = rollup_rows(
        branches=[branch], date_from=date_from, date_to=date_to, group_by=("day", "hour")
    )
    default_wait_s, default_handle_s = _service_mix(branch, date_from, date_to)
    if target_wait_s is None:
        target_wait_s = default_wait_s
    closed = set(
        BranchClosedDay.objects.filter(
            branch=branch, date__gte=date_from, date__lt=start + timedelta(days=days)
        ).values_list("date", flat=True)
    )
    hours = staffing_hours(branch)
    seen_hours = {int(row["hour"]) for row in history if row["tickets"]}
    hours = sorted(set(hours) | seen_hours)
    cells = forecast.forecast_week(
        history,
        start=start,
        hours=hours,
        days=days,
        closed_days=closed,
        default_handle_s=default_handle_s,
    )
    wait_sum = sum(float(row["wait_sum_s"] or 0) for row in history)
    walkaways = sum(float(row["walkaways"] or 0) for row in history)
    patience_s = staffing.patience_from_history(wait_sum, walkaways)
    advice = staffing.advise(
        [
            staffing.HourDemand(
                key=(cell.day, cell.hour),
                arrivals=cell.arrivals,
                mean_handle_s=cell.mean_handle_s,
                patience_s=patience_s,
            )
            for cell in cells
        ],
        target_share=target_share,
        target_wait_s=target_wait_s,
    )
    by_day: dict[date, list[dict[str, Any]]] = {}
    for cell, hour_advice in zip(cells, advice, strict=True):
        open_last_week = cell.open_last_week
        needed = hour_advice.needed_c
        by_day.setdefault(cell.day, []).append(
            {
                "day": cell.day,
                "hour": cell.hour,
                "arrivals": cell.arrivals,
                "mean_handle_s": cell.mean_handle_s,
                "weeks_seen": cell.weeks_seen,
                "offered_load": hour_advice.offered_load,
                "needed": needed,
                "needed_a": hour_advice.needed_a,
                "service_level": hour_advice.service_level_c,
                "p_abandon_a": hour_advice.p_abandon_a,
                "open_last_week": open_last_week,
                # Open counters are an hour's average (2.4: a third counter part of the
                # hour); compared to the nearest whole counter.
                "short": (
                    needed is not None
                    and open_last_week is not None
                    and needed > math.floor(open_last_week + 0.5)
                ),
            }
        )
    # A weekday the branch was not open on in the whole window (Sundays, say) is closed as
    # far as the history knows: no advice of 0 counters for it.
    open_weekdays = {row["day"].weekday() for row in history}
    not_open = {day for day in by_day if open_weekdays and day.weekday() not in open_weekdays}
    return {
        "start": start,
        "days": [
            {"day": day, "hours": rows} for day, rows in by_day.items() if day not in not_open
        ],
        "closed": sorted({day for day in closed if day >= start} | not_open),
        "hours": hours,
        "target_share": target_share,
        "target_wait_s": target_wait_s,
        "default_target_wait_s": default_wait_s,
        "patience_s": patience_s,
        "history_from": date_from,
        "history_to": date_to,
    }
