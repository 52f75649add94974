"""How long each waiting customer will probably wait.

"People ahead x average / counters" is wrong in the ways customers notice: it ignores that a
counter serves only some services, that a VIP arriving now goes ahead, that one counter is
half-way through a long case, and that services take different times. Instead we replay the
real routing policy (routing.choose_next) on the current queue with expected handling times,
so the estimate orders customers exactly as the counters will call them. Pure Python, no
Django: the caller passes ``now`` and the statistics.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .routing import (
    CounterSkills,
    RoutingPolicy,
    WaitingTicket,
    bypassed_by,
    choose_next,
    is_eligible,
)

__all__ = [
    "HANDLING_CAP_FACTOR",
    "CounterState",
    "HandlingStats",
    "estimate_waits",
    "handling_mean",
    "naive_estimate",
]


@dataclass(frozen=True, slots=True)
class CounterState:
    """An open counter as the estimate sees it: what it serves and when it is next free."""

    counter_id: int
    service_codes: Sequence[str]
    # Seconds from now until its current customer is likely done (0 if free); the caller
    # computes it as max(0, expected_handle - elapsed) or a small floor.
    busy_until_estimate_s: float


@dataclass(frozen=True, slots=True)
class HandlingStats:
    """Expected handling time per service, in seconds (see handling_mean)."""

    mean_s: Mapping[str, float]


# A case counts for at most this many times the usual handling time (see handling_mean).
HANDLING_CAP_FACTOR = 3.0
# From this many samples on, "usual" is their median when it exceeds the standard time.
MEDIAN_MIN_SAMPLES = 5


def handling_mean(
    recent_durations_s: Sequence[float],
    standard_s: float,
    *,
    prior_weight: float = 5.0,
    cap_factor: float | None = None,
) -> float:
    """Recent mean handling time, shrunk toward the service's standard time.

    The standard time counts as ``prior_weight`` extra observations (the posterior mean of a
    normal model whose prior is centred on the standard time):

        (prior_weight * standard_s + sum(recent)) / (prior_weight + len(recent))

    So a new service or a quiet morning starts at the standard time, and with many samples the
    real recent behaviour wins (5 samples with the default weight: halfway; 45 samples: 90 %
    data).

    The shrinkage alone does not stop one outlier on a thin day: a "Finish" pressed 89 minutes
    late against a 5-minute standard makes the mean 19 minutes, for every customer, all day.
    With ``cap_factor`` (production passes HANDLING_CAP_FACTOR) each case counts for at most
    ``cap_factor`` times the usual time: the standard, or with MEDIAN_MIN_SAMPLES samples their
    median when longer, so a standard set too short is still learnt past.
    """
    if standard_s <= 0:
        raise ValueError("standard_s must be positive")
    if prior_weight < 0:
        raise ValueError("prior_weight cannot be negative")
    if any(duration < 0 for duration in recent_durations_s):
        raise ValueError("handling durations cannot be negative")
    if cap_factor is not None:
        if cap_factor < 1:
            raise ValueError("cap_factor must be at least 1")
        usual = standard_s
        if len(recent_durations_s) >= MEDIAN_MIN_SAMPLES:
            usual = max(standard_s, statistics.median(recent_durations_s))
        recent_durations_s = [min(d, cap_factor * usual) for d in recent_durations_s]
    weight = prior_weight + len(recent_durations_s)
    if weight == 0:  # no samples and no prior: all we know is the standard time
        return float(standard_s)
    return (prior_weight * standard_s + math.fsum(recent_durations_s)) / weight


def naive_estimate(people_ahead: int, mean_s: float, open_counters: int) -> float:
    """The textbook estimate, kept for comparison in docs, tests and the simulator."""
    if open_counters <= 0:
        return math.inf
    return people_ahead * mean_s / open_counters


def estimate_waits(
    queue_in_order: Sequence[WaitingTicket],
    counters: Sequence[CounterState],
    stats: HandlingStats,
    now: datetime,
    policy: RoutingPolicy,
) -> dict[int, float]:
    """Estimated seconds from ``now`` until each waiting ticket is called, by ticket id.

    A list-scheduling replay: the counter that frees up first calls whoever routing.choose_next
    picks at that simulated moment (so aging and the bypass bound play out as they will), and
    is then busy for that service's mean handling time. A ticket's estimate is the moment its
    counter starts it. Tickets no open counter can serve get ``math.inf``; the caller shows
    "no counter open for this service". The input order is not relied on, routing decides.

    Raises KeyError when a ticket some counter could serve has no mean in ``stats``: a silent
    default would show customers a made-up number.
    """
    skills = [CounterSkills(state.counter_id, state.service_codes) for state in counters]
    waits: dict[int, float] = {ticket.id: math.inf for ticket in queue_in_order}
    remaining = [ticket for ticket in queue_in_order if any(is_eligible(ticket, s) for s in skills)]
    missing = sorted({t.service_code for t in remaining} - set(stats.mean_s))
    if missing:
        raise KeyError(f"no handling mean for services {missing}")

    # (time the counter is free, position in `counters`): the position breaks ties the same
    # way every time, so equal inputs give equal estimates.
    free_at = [
        (max(0.0, float(state.busy_until_estimate_s)), position)
        for position, state in enumerate(counters)
    ]
    heapq.heapify(free_at)
    while remaining and free_at:
        start_s, position = heapq.heappop(free_at)
        counter = skills[position]
        moment = now + timedelta(seconds=start_s)
        chosen = choose_next(remaining, counter, moment, policy)
        if chosen is None:
            # Nothing left that this counter can serve, and nothing new arrives in the replay,
            # so it stays idle for good: drop it.
            continue
        waits[chosen.id] = start_s
        passed_over = set(bypassed_by(chosen, remaining, counter))
        remaining = [
            replace(ticket, bypass_count=ticket.bypass_count + 1)
            if ticket.id in passed_over
            else ticket
            for ticket in remaining
            if ticket.id != chosen.id
        ]
        heapq.heappush(free_at, (start_s + stats.mean_s[chosen.service_code], position))
    return waits
