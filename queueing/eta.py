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
from statistics import NormalDist

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
    "estimate_interval",
    "estimate_waits",
    "expected_residual",
    "handling_mean",
    "naive_estimate",
    "walkaway_rate",
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
    """Expected handling time per service, in seconds (see handling_mean), and how often a
    waiting customer gives up (see walkaway_rate)."""

    mean_s: Mapping[str, float]
    # Walk-aways per second of waiting: someone ahead who leaves takes no counter time.
    walkaway_rate_per_s: float = 0.0


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


# Shape of handling times assumed for a case already under way (a lognormal's log-spread).
# Fitted on simulated days (seeds 0-11, bench/simulate.py eta): 0.3-0.5 all did about as well;
# the demo branch's services are 0.6-0.8, but a narrower shape also absorbs that the replay
# serves everyone after that case at exactly the mean.
RESIDUAL_SIGMA = 0.4


def expected_residual(mean_s: float, elapsed_s: float, sigma: float = RESIDUAL_SIGMA) -> float:
    """Expected time left of a case with mean ``mean_s`` already ``elapsed_s`` under way.

    Handling taken as lognormal with log-spread ``sigma``: E[X - e | X > e]. Unlike
    ``mean - elapsed`` it never reaches zero: a case past its usual time has a tail left, and
    the longer it has run the longer that tail is. Replacing ``max(mean - elapsed, 10 % of
    mean)`` with this brought steady days' wait estimates from 24 % to within 10 % of the
    M/M/c floor (docs/benchmarks.md, "Branch simulator").
    """
    if mean_s <= 0:
        return 0.0
    if elapsed_s <= 0:
        return mean_s
    mu = math.log(mean_s) - sigma**2 / 2
    z = (mu - math.log(elapsed_s)) / sigma
    survival = NormalDist().cdf(z)
    if survival < 1e-12:  # far beyond any plausible case: the tail is about elapsed x sigma^2
        return elapsed_s * sigma**2
    return mean_s * NormalDist().cdf(z + sigma) / survival - elapsed_s


# walkaway_rate's prior: no walk-aways over this much waiting, so a quiet morning's first
# no-show does not make everyone's estimate collapse.
WALKAWAY_PRIOR_EXPOSURE_S = 3600.0


def walkaway_rate(walkaways: int, waited_s: float) -> float:
    """Walk-aways per second of waiting, for the replay in estimate_waits.

    The maximum-likelihood rate of exponential patience, walk-aways / total time spent waiting
    (by everyone, served or not, today), with WALKAWAY_PRIOR_EXPOSURE_S of walk-away-free
    waiting added. Exponential patience is memoryless, so the same rate applies to a customer
    who has waited an hour and to one who just came.
    """
    if walkaways < 0 or waited_s < 0:
        raise ValueError("walk-aways and waiting time cannot be negative")
    return walkaways / (waited_s + WALKAWAY_PRIOR_EXPOSURE_S)


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
    is then busy for that service's mean handling time, less the chance that its customer has
    walked away by then (``stats.walkaway_rate_per_s``). A ticket's estimate is the moment its
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
        # A customer still waiting at start_s with probability exp(-rate x start_s) (exponential
        # patience); one who has left takes no counter time, so the counter is busy for the
        # expected handling time. This took time-varying days from 21 % to 27 % below QL
        # (docs/benchmarks.md, "Branch simulator").
        handle_s = stats.mean_s[chosen.service_code]
        if stats.walkaway_rate_per_s > 0:
            handle_s *= math.exp(-stats.walkaway_rate_per_s * start_s)
        heapq.heappush(free_at, (start_s + handle_s, position))
    return waits


# The 80 % interval's spread (see estimate_interval), calibrated on simulated days
# (bench/simulate.py eta; docs/routing.md "How sure the estimate is").
INTERVAL_QUEUE_SIGMA = 0.87  # log-spread of one customer's wait when nobody is ahead
INTERVAL_FLOOR_SIGMA = 0.1  # what the spread never falls below: arrivals, mix, walk-aways
INTERVAL_SHIFT_S = 60.0  # seconds added before taking logs, so "any moment" has a width
# The interval's centre above the estimate, in logs. It was +0.1 while busy counters were
# scheduled at max(mean - elapsed, 10 % of mean), which ran short; with expected_residual the
# re-fit (seeds 0-11, 2026-11-24) put it at 0.
INTERVAL_LOG_BIAS = 0.0


def estimate_interval(
    estimate_s: float,
    people_ahead: int,
    *,
    coverage: float = 0.8,
    queue_sigma: float = INTERVAL_QUEUE_SIGMA,
    floor_sigma: float = INTERVAL_FLOOR_SIGMA,
    shift_s: float = INTERVAL_SHIFT_S,
    log_bias: float = INTERVAL_LOG_BIAS,
) -> tuple[float, float]:
    """A ``coverage`` interval (low_s, high_s) around an estimate_waits() figure.

    The realised wait is modelled as lognormal around the estimate, on a shifted scale:

        log(wait + shift) ~ Normal(log(estimate + shift) + log_bias, sigma)
        sigma = sqrt(queue_sigma**2 / (people_ahead + 1) + floor_sigma**2)

    Why this shape: with k people ahead the wait is a sum of about k + 1 handling-time
    remainders, whose relative spread falls like 1 / sqrt(k + 1) (for M/M/c the wait is
    exactly Gamma(k + 1)); what does not average out (a VIP arriving, someone walking away,
    the day getting busier) keeps a floor. The shift keeps "any moment" (an estimate of 0) from
    collapsing to the point 0 - 0. The three constants were fitted on simulated branch days so
    that 80 % of realised waits fall inside, about 10 % on either side. Pure: the status page
    calls it with what outlook_for() returns. Infinite estimates give (inf, inf).
    """
    if estimate_s < 0 or people_ahead < 0:
        raise ValueError("estimate and people ahead cannot be negative")
    if not 0 < coverage < 1:
        raise ValueError("coverage must be between 0 and 1")
    if math.isinf(estimate_s):
        return (math.inf, math.inf)
    sigma = math.sqrt(queue_sigma**2 / (people_ahead + 1) + floor_sigma**2)
    spread = math.exp(NormalDist().inv_cdf(0.5 + coverage / 2) * sigma)
    centre = (estimate_s + shift_s) * math.exp(log_bias)
    return (max(0.0, centre / spread - shift_s), centre * spread - shift_s)
