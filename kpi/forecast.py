"""Arrivals per day and hour of the coming week, from the branch's history (pure, no Django).

Method (docs/kpi.md, "Staffing advice"): a seasonal naive forecast with exponential smoothing
over the same weekday and hour. For 10:00 next Tuesday we take the arrivals at 10:00 on each of
the last `weeks` Tuesdays the branch was open and average them with weights alpha (1-alpha)^(k-1)
(k = 1 for last week), renormalised over the weeks we have. Why this one:

* a branch's arrivals repeat by week (Monday mornings, pay days aside) far more than they trend;
  the weekday x hour profile is the seasonality, and "same slot, recent weeks" captures it with
  no model to fit;
* the smoothing weights last week most, so a change (a new service, a closed branch nearby)
  shows within two or three weeks, while one odd week (a strike, a system outage) is damped;
* closed days (holidays) are left out, not counted as zero: a day with no rollup row at all, or
  listed as closed, says nothing about demand;
* no trend term: eight weeks are too short to tell a trend from noise, and a wrong trend is
  worse than none (Holt-Winters' trend needs about two full seasons to settle).

Handling time per hour: the mean of the same weekday and hour over the same weeks (sums over
the window, so busy hours count in proportion), else the same hour on any weekday, else the
whole window, else `default_handle_s` (the services' standard time): the service mix differs by
hour (business customers in the morning, pensions at month end), so the hour's own mean is the
first choice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

__all__ = ["DEFAULT_ALPHA", "DEFAULT_WEEKS", "HourForecast", "forecast_week", "history_window"]

DEFAULT_WEEKS = 8
DEFAULT_ALPHA = 0.3


@dataclass(frozen=True, slots=True)
class HourForecast:
    day: date
    hour: int
    arrivals: float  # expected customers (tickets) in the hour
    mean_handle_s: float | None
    weeks_seen: int  # how many past weeks the figure stands on
    open_last_week: float | None  # counters open on average that hour a week before; None: no data


def history_window(start: date, *, weeks: int = DEFAULT_WEEKS) -> tuple[date, date]:
    """The days to read for a forecast starting at `start`: the `weeks` weeks before it."""
    return start - timedelta(days=7 * weeks), start - timedelta(days=1)


def forecast_week(
    history: Iterable[Mapping[str, Any]],
    *,
    start: date,
    hours: Sequence[int],
    days: int = 7,
    closed_days: Iterable[date] = (),
    weeks: int = DEFAULT_WEEKS,
    alpha: float = DEFAULT_ALPHA,
    default_handle_s: float | None = None,
) -> list[HourForecast]:
    """One HourForecast per open day from `start` (`days` days) and per hour in `hours`.

    `history`: rollup rows grouped by ("day", "hour") over history_window(start) (sums of
    tickets, handle_sum_s, handled, teller_open_s); hours with no row had nobody."""
    if not 0 < alpha <= 1:
        raise ValueError("alpha must be in (0, 1]")
    closed = set(closed_days)
    cells: dict[tuple[date, int], Mapping[str, Any]] = {}
    open_days: set[date] = set()
    for row in history:
        day = row["day"]
        if day in closed:
            continue
        cells[(day, int(row["hour"]))] = row
        open_days.add(day)

    handle_by_weekday_hour: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    handle_by_hour: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    handle_all = [0.0, 0.0]
    for (day, hour), row in cells.items():
        total, count = float(row.get("handle_sum_s") or 0), float(row.get("handled") or 0)
        for bucket in (handle_by_weekday_hour[(day.weekday(), hour)], handle_by_hour[hour]):
            bucket[0] += total
            bucket[1] += count
        handle_all[0] += total
        handle_all[1] += count

    def mean_handle(weekday: int, hour: int) -> float | None:
        for total, count in (
            handle_by_weekday_hour.get((weekday, hour), (0, 0)),
            handle_by_hour.get(hour, (0, 0)),
            handle_all,
        ):
            if count:
                return total / count
        return default_handle_s

    forecasts: list[HourForecast] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day in closed:
            continue
        last_week = day - timedelta(days=7)
        for hour in hours:
            weighted = 0.0
            weight_sum = 0.0
            seen = 0
            for k in range(1, weeks + 1):
                past = day - timedelta(days=7 * k)
                if past >= start or past not in open_days:
                    continue
                weight = alpha * (1 - alpha) ** (k - 1)
                row = cells.get((past, hour))
                weighted += weight * float(row.get("tickets") or 0) if row else 0.0
                weight_sum += weight
                seen += 1
            last_week_row = cells.get((last_week, hour))
            open_last_week = None
            if last_week in open_days:
                open_s = float(last_week_row.get("teller_open_s") or 0) if last_week_row else 0.0
                open_last_week = open_s / 3600.0
            forecasts.append(
                HourForecast(
                    day=day,
                    hour=hour,
                    arrivals=weighted / weight_sum if weight_sum else 0.0,
                    mean_handle_s=mean_handle(day.weekday(), hour),
                    weeks_seen=seen,
                    open_last_week=open_last_week,
                )
            )
    return forecasts
