"""Remote tickets: when a ticket joined from the phone has had its turn, and when its grace is
over (pure: no ORM, no clock; the caller passes `now`).

A remote ticket waits as status "remote" until its customer checks in at the branch; call-next
never calls it. Its turn has *passed* once a ticket of the same service that joined the queue
after it, and that it would not have gone ahead of anyway (same or lower priority), has been
called while it was still remote. From then on (`skipped_at`) the branch keeps its place for
the grace minutes; after that, or once the branch's day is over, it expires (a no-show).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["RemoteFate", "grace_left_minutes", "remote_fate", "turn_passed"]


@dataclass(frozen=True, slots=True)
class RemoteFate:
    skip: bool  # stamp skipped_at now (its turn has just passed)
    expire: bool  # remote -> no_show now


def turn_passed(
    *,
    arrived_at: datetime,
    priority: int,
    latest_called_arrival: Mapping[int, datetime],
) -> bool:
    """Whether a later arrival of the same service, of the same or a lower priority class
    (a higher number), has been called: then this ticket would have been called before it.

    `latest_called_arrival`: per priority class, the latest arrival time among the service's
    called tickets of the day (tickets that joined earlier than this one prove nothing).
    """
    return any(
        other_priority >= priority and latest > arrived_at
        for other_priority, latest in latest_called_arrival.items()
    )


def remote_fate(
    *,
    arrived_at: datetime,
    priority: int,
    skipped_at: datetime | None,
    latest_called_arrival: Mapping[int, datetime],
    grace: timedelta,
    day_over: bool,
    now: datetime,
) -> RemoteFate:
    """What the sweep does to one remote ticket now. Idempotent: a ticket already skipped is
    never skipped again, and the grace runs from the first skip."""
    if day_over:
        return RemoteFate(skip=False, expire=True)
    if skipped_at is None:
        if turn_passed(
            arrived_at=arrived_at, priority=priority, latest_called_arrival=latest_called_arrival
        ):
            # A grace of zero would expire it at once; the model's minimum is 1 minute anyway.
            return RemoteFate(skip=True, expire=grace <= timedelta(0))
        return RemoteFate(skip=False, expire=False)
    return RemoteFate(skip=False, expire=now >= skipped_at + grace)


def grace_left_minutes(*, skipped_at: datetime, grace: timedelta, now: datetime) -> int:
    """Whole minutes left to check in (rounded up, never below 0) for the status page."""
    left = (skipped_at + grace - now).total_seconds()
    return max(0, math.ceil(left / 60))
