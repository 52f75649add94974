"""When a service's queue runs over, and what the lobby manager could do about it (pure).

Two alerts per service, each with one suggestion:

* WAIT_OVER_TARGET: the longest wait has passed the service's target;
* QUEUE_OUTGROWS: the queue outgrows its open counters: the last in line would wait longer
  than the target (waiting × standard handling time / open counters), or people wait and no
  counter serving the service is open.

The suggestion: no open counter, or fewer than the queue needs → open a counter (while a
closed counter could take it); a divertible service (small cash jobs) → divert to the
machines; otherwise → call a floating teller.
"""

import math
from dataclasses import dataclass

WAIT_OVER_TARGET = "wait"
QUEUE_OUTGROWS = "queue"

OPEN_COUNTER = "open_counter"
DIVERT = "divert"
FLOATING_TELLER = "floating"


@dataclass(frozen=True, slots=True)
class ServiceLoad:
    service_id: int
    waiting: int
    longest_wait_s: float
    target_wait_s: float
    open_counters: int  # open, not paused, counters that serve the service
    handling_minutes: float  # the service's standard handling time
    divertible: bool = False
    closed_counters: int = 0  # counters that serve it but are closed or paused now


@dataclass(frozen=True, slots=True)
class Alert:
    service_id: int
    kind: str
    suggestion: str


def expected_wait_of_last_s(load: ServiceLoad) -> float:
    """How long the last in line would wait at this pace: infinite with nobody to serve them."""
    if load.waiting <= 0:
        return 0.0
    if load.open_counters <= 0:
        return math.inf
    return load.waiting * load.handling_minutes * 60.0 / load.open_counters


def counters_needed(load: ServiceLoad) -> int:
    """Open counters the queue would need for its last customer to be served within target."""
    if load.waiting <= 0:
        return 0
    work_s = load.waiting * load.handling_minutes * 60.0
    return max(1, math.ceil(work_s / max(load.target_wait_s, 1.0)))


def suggestion_for(load: ServiceLoad) -> str:
    if load.open_counters <= 0:
        return OPEN_COUNTER
    if load.closed_counters > 0 and load.open_counters < counters_needed(load):
        return OPEN_COUNTER
    if load.divertible:
        return DIVERT
    return FLOATING_TELLER


def alerts_for(load: ServiceLoad) -> list[Alert]:
    """The alerts a service's queue calls for now (none when nobody waits)."""
    if load.waiting <= 0:
        return []
    kinds = []
    if load.longest_wait_s > load.target_wait_s:
        kinds.append(WAIT_OVER_TARGET)
    if expected_wait_of_last_s(load) > load.target_wait_s:
        kinds.append(QUEUE_OUTGROWS)
    if not kinds:
        return []
    suggestion = suggestion_for(load)
    return [Alert(load.service_id, kind, suggestion) for kind in kinds]


def branch_alerts(loads: list[ServiceLoad]) -> list[Alert]:
    return [alert for load in loads for alert in alerts_for(load)]
