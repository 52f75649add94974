"""Routing policies the simulator compares, all over the same routing values.

A policy is a callable ``(waiting, counter, now) -> WaitingTicket | None``: the same question
routing.choose_next answers in production. "ours" IS routing.choose_next; the others are the
usual alternatives, written over the same WaitingTicket / CounterSkills so that a simulated day
differs only in who is called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from ..routing import (
    CounterSkills,
    PriorityClass,
    RoutingPolicy,
    WaitingTicket,
    choose_next,
    is_aged,
    is_eligible,
    is_urgent,
)

__all__ = [
    "DEFAULT_TARGET_WAITS",
    "Policy",
    "RatioProfile",
    "aging_urgent_v1",
    "fcfs",
    "make_policies",
    "ours",
    "strict_priority",
]

Policy = Callable[[Sequence[WaitingTicket], CounterSkills, datetime], WaitingTicket | None]

# Target waits of the demo branch's services (aging and "served within target" both use them).
DEFAULT_TARGET_WAITS: Mapping[str, timedelta] = {
    "cash": timedelta(minutes=15),
    "account": timedelta(minutes=20),
    "wealth": timedelta(minutes=20),
}


def fcfs(
    waiting: Sequence[WaitingTicket], counter: CounterSkills, now: datetime
) -> WaitingTicket | None:
    """First come, first served among the tickets this counter can serve."""
    eligible = [t for t in waiting if is_eligible(t, counter)]
    return min(eligible, key=lambda t: (t.arrived_at, t.id)) if eligible else None


def strict_priority(
    waiting: Sequence[WaitingTicket], counter: CounterSkills, now: datetime
) -> WaitingTicket | None:
    """Priority class first, then arrival; no bound on how often a regular customer is passed."""
    eligible = [t for t in waiting if is_eligible(t, counter)]
    return min(eligible, key=lambda t: (int(t.priority), t.arrived_at, t.id)) if eligible else None


class RatioProfile:
    """A Qmatic-style ratio profile: each counter cycles through a fixed pattern of queues
    (by default priority, priority, regular), taking the oldest ticket of the queue whose turn
    it is and falling back to the other queue when that one is empty. Stateful per counter."""

    def __init__(self, pattern: Sequence[bool] = (True, True, False)) -> None:
        self.pattern = tuple(pattern)  # True: the priority queue's turn
        self._position: dict[int, int] = {}

    def __call__(
        self, waiting: Sequence[WaitingTicket], counter: CounterSkills, now: datetime
    ) -> WaitingTicket | None:
        eligible = [t for t in waiting if is_eligible(t, counter)]
        if not eligible:
            return None
        position = self._position.get(counter.counter_id, 0)
        self._position[counter.counter_id] = (position + 1) % len(self.pattern)
        wants_priority = self.pattern[position]
        preferred = [t for t in eligible if (t.priority < PriorityClass.REGULAR) == wants_priority]
        return min(preferred or eligible, key=lambda t: (t.arrived_at, t.id))


def ours(policy: RoutingPolicy) -> Policy:
    """Production's rule: routing.choose_next under this branch policy."""

    def choose(
        waiting: Sequence[WaitingTicket], counter: CounterSkills, now: datetime
    ) -> WaitingTicket | None:
        return choose_next(waiting, counter, now, policy)

    return choose


def aging_urgent_v1(policy: RoutingPolicy) -> Policy:
    """The first version of ours, kept as a diagnostic: an aged ticket was URGENT, ahead of
    every priority class and the skill order, oldest first. It cost regular customers' p95
    (docs/routing.md, "Why aging does not jump priority classes")."""

    def choose(
        waiting: Sequence[WaitingTicket], counter: CounterSkills, now: datetime
    ) -> WaitingTicket | None:
        eligible = [t for t in waiting if is_eligible(t, counter)]
        urgent = [t for t in eligible if is_urgent(t, now, policy) or is_aged(t, now, policy)]
        if urgent:
            return min(urgent, key=lambda t: (t.arrived_at, t.id))
        plain = RoutingPolicy(max_bypass=policy.max_bypass, aging_enabled=False)
        return choose_next(eligible, counter, now, plain)

    return choose


def make_policies(
    target_waits: Mapping[str, timedelta] = DEFAULT_TARGET_WAITS, max_bypass: int = 3
) -> dict[str, Callable[[], Policy]]:
    """Factories (a fresh RatioProfile per day) of the four policies, by name."""
    routing_policy = RoutingPolicy(max_bypass=max_bypass, target_waits=dict(target_waits))
    return {
        "fcfs": lambda: fcfs,
        "strict_priority": lambda: strict_priority,
        "ratio_profile": RatioProfile,
        "ours": lambda: ours(routing_policy),
    }
