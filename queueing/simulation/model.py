"""One simulated branch day in SimPy: counters call, serve and idle; customers wait or leave.

The customers come from customers.draw_customers (the same list whatever the policy), the
counters have skills (routing.CounterSkills) and opening periods, and the policy is any callable
of policies.py; "ours" is routing.choose_next, bypass counts maintained with routing.bypassed_by
exactly as the call-next service does. What production does and the model mimics:

* A waiting customer walks away once their patience runs out.
* A customer called but not there (no_show_when_called) costs the counter ``recall_s``.
* A remote customer (joined from the phone) holds a place from joining but is not callable until
  they check in at the branch. Their turn passes once a later ticket of the same service and
  the same or a lower class is called (queueing.remote.turn_passed, the production rule); from
  then they have ``remote_grace_s`` to check in, or they expire. A remote no-show never comes.
* After closing, counters whose last period ends at closing serve whoever is still waiting.

An optional observer (``on_event(day, reason)``) sees every change; predictors.EtaRecorder uses
it to score wait estimates. No Django; times are seconds after opening (``at()`` turns them into
the tz-aware datetimes routing needs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

import simpy

from ..remote import turn_passed
from ..routing import CounterSkills, PriorityClass, WaitingTicket, bypassed_by
from .customers import SimCustomer
from .policies import Policy

__all__ = [
    "DEFAULT_START",
    "BranchDay",
    "CustomerOutcome",
    "DayResult",
    "Observer",
    "SimCounter",
    "demo_counters",
    "simulate_day",
    "uniform_counters",
    "waits_by_class",
]

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday, 09:00


@dataclass(frozen=True, slots=True)
class SimCounter:
    counter_id: int
    service_codes: tuple[str, ...]  # in preference order, as CounterSkills
    periods: tuple[tuple[float, float], ...]  # open (from_s, to_s) after opening, in order

    @property
    def skills(self) -> CounterSkills:
        return CounterSkills(self.counter_id, self.service_codes)


def uniform_counters(count: int, service_codes: Sequence[str], hours: float) -> list[SimCounter]:
    """``count`` counters serving everything, open the whole day."""
    return [
        SimCounter(number, tuple(service_codes), ((0.0, hours * 3600.0),))
        for number in range(1, count + 1)
    ]


def demo_counters(count: int = 6, hours: int = 8) -> list[SimCounter]:
    """The demo branch: cash tellers, account desks and a wealth desk that helps out, two of
    them opening late and one closing early (lunch cover), cycled up to ``count``."""
    day = hours * 3600.0
    layout = [
        (("cash",), ((0.0, day),)),
        (("account", "cash"), ((0.0, day),)),
        (("wealth", "account"), ((0.0, day),)),
        (("cash", "account"), ((3600.0, day),)),
        (("account", "wealth", "cash"), ((0.0, 4 * 3600.0), (5 * 3600.0, day))),
        (("cash",), ((3600.0, day),)),
    ]
    return [
        SimCounter(number, *layout[(number - 1) % len(layout)]) for number in range(1, count + 1)
    ]


@dataclass(slots=True)
class CustomerOutcome:
    customer: SimCustomer
    checked_in_s: float | None = None  # at the branch, callable (remote: check-in)
    called_s: float | None = None
    counter_id: int | None = None
    finished_s: float | None = None
    walked_away_s: float | None = None
    no_show: bool = False  # called but not there
    remote_expired: bool = False  # turn and grace passed before checking in (or never came)
    max_bypass: int = 0

    @property
    def wait_s(self) -> float | None:
        """Wait at the branch until called; None if never called (walked away, expired)."""
        if self.called_s is None or self.checked_in_s is None:
            return None
        return self.called_s - self.checked_in_s


@dataclass(slots=True)
class DayResult:
    outcomes: list[CustomerOutcome]
    end_s: float  # when the last counter went home
    max_bypass: int  # the most any ticket was passed over
    counter_busy_s: dict[int, float] = field(default_factory=dict)


class Observer(Protocol):
    def on_event(self, day: BranchDay, reason: str) -> None: ...


class BranchDay:
    """The SimPy model of one day; build, ``run()``, read the DayResult."""

    def __init__(
        self,
        customers: Sequence[SimCustomer],
        counters: Sequence[SimCounter],
        policy: Policy,
        *,
        start: datetime = DEFAULT_START,
        recall_s: float = 60.0,
        remote_grace_s: float = 10 * 60.0,
        serve_after_close: bool = True,
        observer: Observer | None = None,
    ) -> None:
        self.env = simpy.Environment()
        self.start = start
        self.policy = policy
        self.recall_s = recall_s
        self.remote_grace_s = remote_grace_s
        self.serve_after_close = serve_after_close
        self.observer = observer
        self.counters = list(counters)
        self.close_s = max((c.periods[-1][1] for c in self.counters if c.periods), default=0.0)
        self.outcomes = {c.key: CustomerOutcome(c) for c in customers}
        self.waiting: dict[int, WaitingTicket] = {}  # callable tickets, by id (= customer key)
        self.remote: dict[int, WaitingTicket] = {}  # joined from the phone, not checked in
        self.remote_skipped: set[int] = set()
        # service -> priority -> the latest arrival among called tickets (remote.turn_passed)
        self.latest_called: dict[str, dict[int, datetime]] = {}
        # counter id -> (service code, started_s) while serving; and whether it is open
        self.serving: dict[int, tuple[str, float] | None] = {c.counter_id: None for c in counters}
        self.open: dict[int, bool] = {c.counter_id: False for c in counters}
        self.done_handles: dict[str, list[float]] = {}  # service -> finished handling times
        self.busy_s: dict[int, float] = {c.counter_id: 0.0 for c in counters}
        self.max_bypass = 0
        self._wake = self.env.event()
        self._end_s = 0.0
        for customer in customers:
            self.env.process(self._customer(customer))
        for counter in self.counters:
            self.env.process(self._counter(counter))

    # -- helpers --------------------------------------------------------------------------------

    def at(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=seconds)

    @property
    def now_s(self) -> float:
        return self.env.now

    def _notify(self, reason: str) -> None:
        wake, self._wake = self._wake, self.env.event()
        wake.succeed()
        if self.observer is not None:
            self.observer.on_event(self, reason)

    def _ticket(self, customer: SimCustomer) -> WaitingTicket:
        return WaitingTicket(
            id=customer.key,
            service_code=customer.service_code,
            priority=customer.priority,
            arrived_at=self.at(customer.arrival_s),
        )

    # -- customers ------------------------------------------------------------------------------

    def _customer(self, customer: SimCustomer):
        env = self.env
        outcome = self.outcomes[customer.key]
        yield env.timeout(customer.arrival_s)
        ticket = self._ticket(customer)
        if customer.remote:
            self.remote[customer.key] = ticket
            if customer.remote_arrives_after_s is None:
                return  # never comes: expires when the turn and grace have passed
            yield env.timeout(customer.remote_arrives_after_s)
            if customer.key not in self.remote:
                return  # expired before they came
            del self.remote[customer.key]
            self.remote_skipped.discard(customer.key)
        outcome.checked_in_s = env.now
        self.waiting[customer.key] = ticket
        self._notify("issue")
        if math.isinf(customer.patience_s):
            return
        yield env.timeout(customer.patience_s)
        if customer.key in self.waiting:
            del self.waiting[customer.key]
            outcome.walked_away_s = env.now
            self._notify("walkaway")

    def _expire_later(self, key: int):
        yield self.env.timeout(self.remote_grace_s)
        if key in self.remote:
            del self.remote[key]
            self.outcomes[key].remote_expired = True

    def _sweep_remote(self, service_code: str) -> None:
        """Stamp the remote tickets whose turn has passed (production's sweep, immediate)."""
        latest = self.latest_called.get(service_code, {})
        for key, ticket in list(self.remote.items()):
            if key in self.remote_skipped or ticket.service_code != service_code:
                continue
            if turn_passed(
                arrived_at=ticket.arrived_at,
                priority=int(ticket.priority),
                latest_called_arrival=latest,
            ):
                self.remote_skipped.add(key)
                self.env.process(self._expire_later(key))

    # -- counters -------------------------------------------------------------------------------

    def _counter(self, counter: SimCounter):
        env = self.env
        skills = counter.skills
        last = len(counter.periods) - 1
        for index, (from_s, to_s) in enumerate(counter.periods):
            if env.now < from_s:
                yield env.timeout(from_s - env.now)
            self.open[counter.counter_id] = True
            overtime = index == last and self.serve_after_close and to_s >= self.close_s
            while True:
                chosen = self.policy(list(self.waiting.values()), skills, self.at(env.now))
                if chosen is None:
                    if env.now >= to_s:
                        break
                    yield self._wake | env.timeout(to_s - env.now)
                    continue
                if env.now >= to_s and not overtime:
                    break
                self._call(chosen, counter, skills)
                customer = self.outcomes[chosen.id].customer
                if customer.no_show_when_called:
                    yield env.timeout(self.recall_s)
                else:
                    self.serving[counter.counter_id] = (customer.service_code, env.now)
                    yield env.timeout(customer.handle_s)
                    self.serving[counter.counter_id] = None
                    self.outcomes[chosen.id].finished_s = env.now
                    self.done_handles.setdefault(customer.service_code, []).append(
                        customer.handle_s
                    )
                    self.busy_s[counter.counter_id] += customer.handle_s
            self.open[counter.counter_id] = False
        self._end_s = max(self._end_s, env.now)

    def _call(self, chosen: WaitingTicket, counter: SimCounter, skills: CounterSkills) -> None:
        waiting = list(self.waiting.values())
        for ticket_id in bypassed_by(chosen, waiting, skills):
            ticket = self.waiting[ticket_id]
            self.waiting[ticket_id] = replace(ticket, bypass_count=ticket.bypass_count + 1)
            self.outcomes[ticket_id].max_bypass = ticket.bypass_count + 1
            self.max_bypass = max(self.max_bypass, ticket.bypass_count + 1)
        del self.waiting[chosen.id]
        outcome = self.outcomes[chosen.id]
        outcome.called_s = self.env.now
        outcome.counter_id = counter.counter_id
        outcome.no_show = outcome.customer.no_show_when_called
        by_class = self.latest_called.setdefault(chosen.service_code, {})
        previous = by_class.get(int(chosen.priority))
        if previous is None or chosen.arrived_at > previous:
            by_class[int(chosen.priority)] = chosen.arrived_at
        if self.remote:
            self._sweep_remote(chosen.service_code)
        self._notify("call")

    # -- running --------------------------------------------------------------------------------

    def run(self) -> DayResult:
        self.env.run()
        for key in list(self.remote):  # the day is over: whoever never checked in expired
            self.outcomes[key].remote_expired = True
        self.remote.clear()
        return DayResult(
            outcomes=sorted(self.outcomes.values(), key=lambda o: o.customer.key),
            end_s=self._end_s,
            max_bypass=self.max_bypass,
            counter_busy_s=dict(self.busy_s),
        )


def simulate_day(
    customers: Sequence[SimCustomer],
    counters: Sequence[SimCounter],
    policy: Policy,
    **options,
) -> DayResult:
    """Build and run one day (see BranchDay for the options)."""
    return BranchDay(customers, counters, policy, **options).run()


def waits_by_class(result: DayResult) -> dict[PriorityClass, list[float]]:
    """Served customers' waits at the branch, per priority class."""
    waits: dict[PriorityClass, list[float]] = {}
    for outcome in result.outcomes:
        wait = outcome.wait_s
        if wait is not None:
            waits.setdefault(outcome.customer.priority, []).append(wait)
    return waits
