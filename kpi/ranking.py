"""Ranking branches on one KPI, trends, and the range a KPI's target may take (pure).

The region view and its API rank the region's branches on a chosen metric: best first as the
metric reads (a lower wait is better, a higher share within target is better), branches without
data last. "vs the region's average" compares with the plain mean of the branches that have
data (each branch counts once, as the ranking does), not with the pooled region figure.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from .metrics import Metric

# Relative change below which a value counts as unchanged (float noise, not a trend).
FLAT_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Ranked:
    key: Hashable
    rank: int | None  # None: no data
    value: float | None
    vs_average: float | None  # value - the mean of the branches with data
    previous: float | None
    trend: str | None  # "up", "down", "flat"; None when either period has no data
    improved: bool | None  # the trend read with the metric's direction; None when flat/unknown


@dataclass(frozen=True, slots=True)
class Ranking:
    rows: list[Ranked]
    average: float | None
    best: Ranked | None
    worst: Ranked | None  # None when fewer than two branches have data


def trend(value: float | None, previous: float | None) -> str | None:
    if value is None or previous is None:
        return None
    scale = max(abs(value), abs(previous), 1.0)
    if abs(value - previous) <= FLAT_TOLERANCE * scale:
        return "flat"
    return "up" if value > previous else "down"


def improved(direction: str | None, metric: Metric) -> bool | None:
    if direction in (None, "flat"):
        return None
    return (direction == "up") == metric.higher_is_better


def rank(
    keys: Sequence[Hashable],
    values: Mapping[Hashable, float | None],
    previous: Mapping[Hashable, float | None],
    metric: Metric,
) -> Ranking:
    """Rank `keys` (in their given order on ties) by `values`; missing or None = no data."""
    with_data = [key for key in keys if values.get(key) is not None]
    without = [key for key in keys if values.get(key) is None]
    # A stable sort keeps the callers' order (branch code) among equal values.
    with_data.sort(key=lambda key: values[key], reverse=metric.higher_is_better)
    average = sum(values[key] for key in with_data) / len(with_data) if with_data else None
    rows: list[Ranked] = []
    position = 0
    last_value: float | None = None
    for index, key in enumerate(with_data, start=1):
        value = values[key]
        if value != last_value:  # equal values share a rank ("1, 1, 3")
            position = index
            last_value = value
        direction = trend(value, previous.get(key))
        rows.append(
            Ranked(
                key=key,
                rank=position,
                value=value,
                vs_average=value - average if average is not None else None,
                previous=previous.get(key),
                trend=direction,
                improved=improved(direction, metric),
            )
        )
    for key in without:
        rows.append(
            Ranked(
                key=key,
                rank=None,
                value=None,
                vs_average=None,
                previous=previous.get(key),
                trend=None,
                improved=None,
            )
        )
    ranked = rows[: len(with_data)]
    return Ranking(
        rows=rows,
        average=average,
        best=ranked[0] if ranked else None,
        worst=ranked[-1] if len(ranked) > 1 else None,
    )


def target_bounds(metric: Metric) -> tuple[float, float | None]:
    """The range a target of `metric` may take (upper None: no upper bound)."""
    if metric.unit == "share":
        return 0.0, 1.0
    if metric.key == "nps":
        return -100.0, 100.0
    if metric.key == "csat_avg":
        return 1.0, 5.0
    return 0.0, None


def target_in_bounds(metric: Metric, value: float) -> bool:
    if not math.isfinite(value):
        return False
    low, high = target_bounds(metric)
    return value >= low and (high is None or value <= high)
