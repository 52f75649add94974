"""Which waiting customer a counter calls next.

Pure functions over plain values: the service layer, the simulator and the tests all call this
same code, so what the tests prove is what production does. No Django, no database, no clock:
the caller passes ``now``. The rules and a worked example are in docs/routing.md.
"""

from __future__ import annotations

import enum
import heapq
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "CounterSkills",
    "PriorityClass",
    "RoutingPolicy",
    "WaitingTicket",
    "bypassed_by",
    "choose_next",
    "is_aged",
    "is_eligible",
    "is_urgent",
    "preference_order",
    "routing_order",
]


class PriorityClass(enum.IntEnum):
    """Customer priority; a lower value is served earlier among non-urgent tickets."""

    TRANSFERRED = 1  # already queued once in this visit (keeps original arrival time)
    APPOINTMENT = 2  # appointment customer arriving within their window
    CARE = 3  # elderly / disabled / pregnant
    VIP = 4
    REGULAR = 5


@dataclass(frozen=True, slots=True)
class WaitingTicket:
    """A snapshot of one waiting ticket, as much as routing needs to know about it."""

    id: int
    service_code: str
    priority: PriorityClass
    arrived_at: datetime  # tz-aware; for a transferred ticket the ORIGINAL arrival time
    bypass_count: int = 0  # higher-priority tickets served ahead of it so far
    target_counter_id: int | None = None  # named-counter transfer: only that counter may take it

    def __post_init__(self) -> None:
        # Comparing naive and aware datetimes raises deep inside min(); fail here instead,
        # where the message can say which ticket is wrong.
        if self.arrived_at.tzinfo is None or self.arrived_at.utcoffset() is None:
            raise ValueError(f"ticket {self.id}: arrived_at must be timezone-aware")
        if self.bypass_count < 0:
            raise ValueError(f"ticket {self.id}: bypass_count cannot be negative")


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """Per-branch knobs that keep priority customers from starving regular ones."""

    max_bypass: int = 3  # K: no REGULAR ticket is passed over by more than K priority tickets
    # A ticket waiting past its service's target wait stops being held back by the counter's
    # skill order (it ranks as the counter's primary line); the bound K, not aging, protects
    # regular customers from priority classes.
    aging_enabled: bool = True
    target_waits: Mapping[str, timedelta] = field(default_factory=dict)  # service_code -> wait

    def __post_init__(self) -> None:
        if self.max_bypass < 0:
            raise ValueError("max_bypass cannot be negative (0 means strict arrival order)")
        for code, wait in self.target_waits.items():
            if wait < timedelta(0):
                raise ValueError(f"target wait for {code!r} cannot be negative")


@dataclass(frozen=True, slots=True)
class CounterSkills:
    """What one counter can serve; the order of service_codes is the counter's preference."""

    counter_id: int
    service_codes: Sequence[str]  # in priority order (index 0 = primary)


def is_eligible(ticket: WaitingTicket, counter: CounterSkills) -> bool:
    """Whether this counter may call this ticket at all.

    A ticket transferred to a named counter belongs to that counter alone, even when the
    counter does not list the service: the teller who sent it chose that colleague on purpose.
    """
    if ticket.target_counter_id is not None:
        return ticket.target_counter_id == counter.counter_id
    return ticket.service_code in counter.service_codes


def is_urgent(ticket: WaitingTicket, now: datetime, policy: RoutingPolicy) -> bool:
    """Whether the ticket jumps every priority rule: it has already been passed over
    ``max_bypass`` times (the starvation bound). ``now`` is unused since aging stopped making
    tickets urgent (docs/routing.md, "Why aging does not jump priority classes"); it stays so
    callers need not change."""
    return ticket.bypass_count >= policy.max_bypass


def is_aged(ticket: WaitingTicket, now: datetime, policy: RoutingPolicy) -> bool:
    """Whether aging is on and the ticket has waited at least its service's target wait.

    An aged ticket is no longer held back by the counter's skill order: it ranks as the
    counter's primary line, so among its priority class it is served by arrival at every
    counter that can serve it. Services without a target wait never age.
    """
    if not policy.aging_enabled:
        return False
    target = policy.target_waits.get(ticket.service_code)
    return target is not None and now - ticket.arrived_at >= target


def choose_next(
    waiting: Sequence[WaitingTicket],
    counter: CounterSkills,
    now: datetime,
    policy: RoutingPolicy,
) -> WaitingTicket | None:
    """The ticket this counter should call now, or None when it can serve nobody waiting.

    Urgent tickets (passed over K times) first, oldest arrival first; but a priority ticket
    that arrived before the oldest urgent one goes before it (oldest first): it passed nobody
    urgent, and without this, under overload, priority customers wait behind every regular one
    (docs/routing.md). Otherwise customer priority class first, then the counter's skill order
    (an aged ticket ranks as primary), then arrival. O(n): one pass, no sort.
    """
    eligible = [ticket for ticket in waiting if is_eligible(ticket, counter)]
    if not eligible:
        return None
    urgent = [ticket for ticket in eligible if is_urgent(ticket, now, policy)]
    if urgent:
        oldest_urgent = _urgent_key(min(urgent, key=_urgent_key))
        candidates = [
            ticket
            for ticket in eligible
            if _urgent_key(ticket) <= oldest_urgent
            and (ticket.priority < PriorityClass.REGULAR or _urgent_key(ticket) == oldest_urgent)
        ]
        return min(candidates, key=_urgent_key)
    ranks = _skill_ranks(counter)
    return min(
        eligible,
        key=lambda ticket: _normal_key(ticket, counter, ranks, is_aged(ticket, now, policy)),
    )


def preference_order(
    waiting: Sequence[WaitingTicket],
    counter: CounterSkills,
    now: datetime,
    policy: RoutingPolicy,
    limit: int,
) -> list[WaitingTicket]:
    """The first `limit` tickets choose_next gives when asked again and again, each time
    without the tickets it gave before, bypass counts unchanged: the order in which this
    counter takes the next best ticket when other counters got the better ones first.

    The caller claims the first of them still free in one statement, where calling
    choose_next after each lost claim cost a round trip per lost claim (counters with the
    same skills all want the same ticket). Equal to the repeated choose_next (tests check);
    O(n log n) once, not once per lost claim.
    """
    eligible = [ticket for ticket in waiting if is_eligible(ticket, counter)]
    order: list[WaitingTicket] = []
    taken: set[int] = set()
    urgent = sorted(
        (ticket for ticket in eligible if is_urgent(ticket, now, policy)), key=_urgent_key
    )
    if urgent:
        # choose_next while an urgent ticket waits: the oldest urgent one, unless a priority
        # ticket arrived before it (then the oldest such). A merge of the two by arrival.
        priority = sorted(
            (ticket for ticket in eligible if ticket.priority < PriorityClass.REGULAR),
            key=_urgent_key,
        )
        next_urgent = next_priority = 0
        while len(order) < limit and next_urgent < len(urgent):
            oldest_urgent = urgent[next_urgent]
            if oldest_urgent.id in taken:
                next_urgent += 1
                continue
            while next_priority < len(priority) and priority[next_priority].id in taken:
                next_priority += 1
            if next_priority < len(priority) and _urgent_key(priority[next_priority]) < (
                _urgent_key(oldest_urgent)
            ):
                chosen = priority[next_priority]
                next_priority += 1
            else:
                chosen = oldest_urgent
                next_urgent += 1
            order.append(chosen)
            taken.add(chosen.id)
    if len(order) < limit:
        # No urgent ticket left: choose_next's own key, smallest first.
        ranks = _skill_ranks(counter)
        order += heapq.nsmallest(
            limit - len(order),
            (ticket for ticket in eligible if ticket.id not in taken),
            key=lambda ticket: _normal_key(ticket, counter, ranks, is_aged(ticket, now, policy)),
        )
    return order


def bypassed_by(
    chosen: WaitingTicket,
    waiting: Sequence[WaitingTicket],
    counter: CounterSkills,
) -> list[int]:
    """Ids of the REGULAR tickets that calling ``chosen`` passed over at this counter.

    Only a priority customer (any class above REGULAR) calling ahead of a regular customer who
    arrived strictly earlier and could have been served here counts. A regular customer of a
    service the counter prefers does not: that is the counter's skill order, not a priority
    jump, and aging limits it. The caller adds 1 to ``bypass_count`` of exactly these tickets,
    in the same transaction as the call. O(n).
    """
    if chosen.priority >= PriorityClass.REGULAR:
        return []
    return [
        ticket.id
        for ticket in waiting
        if ticket.id != chosen.id
        and ticket.priority == PriorityClass.REGULAR
        and ticket.arrived_at < chosen.arrived_at
        and is_eligible(ticket, counter)
    ]


def routing_order(
    waiting: Sequence[WaitingTicket],
    counter: CounterSkills,
    now: datetime,
    policy: RoutingPolicy,
) -> list[WaitingTicket]:
    """Every ticket this counter can serve, in the order it would call them if nobody else
    arrived and the clock stood still at ``now`` (for "people ahead of you").

    Equivalent to calling choose_next over and over, adding the bypassed_by counts after each
    call (a regular customer passed over K times becomes urgent part-way through), but without
    the quadratic rescans: three heaps (urgent, priority by arrival, normal), plus a walk over
    the earlier regular tickets each time a priority ticket is called. The tests check the equivalence. Returns the caller's objects
    unchanged; the bypass counts it accumulates are internal.
    """
    eligible = [ticket for ticket in waiting if is_eligible(ticket, counter)]
    ranks = _skill_ranks(counter)
    bypass_counts = [ticket.bypass_count for ticket in eligible]
    urgent = [is_urgent(ticket, now, policy) for ticket in eligible]
    served = [False] * len(eligible)

    # Heap entries end with the index into `eligible`; the ids before it keep them unique, so
    # tickets themselves are never compared.
    urgent_heap: list[tuple[datetime, int, int]] = []
    priority_heap: list[tuple[datetime, int, int]] = []  # every priority ticket, by arrival
    normal_heap: list[tuple[int, int, datetime, int, int]] = []
    for index, ticket in enumerate(eligible):
        if ticket.priority < PriorityClass.REGULAR:
            priority_heap.append((*_urgent_key(ticket), index))
        if urgent[index]:
            urgent_heap.append((*_urgent_key(ticket), index))
        else:
            aged = is_aged(ticket, now, policy)
            normal_heap.append((*_normal_key(ticket, counter, ranks, aged), index))
    heapq.heapify(urgent_heap)
    heapq.heapify(priority_heap)
    heapq.heapify(normal_heap)

    # Regular tickets that can still become urgent by being passed over, oldest first, so the
    # ones a priority call passes over are always a prefix.
    regular_indexes = sorted(
        (
            index
            for index, ticket in enumerate(eligible)
            if ticket.priority == PriorityClass.REGULAR and not urgent[index]
        ),
        key=lambda index: _urgent_key(eligible[index]),
    )
    regular_arrivals = [eligible[index].arrived_at for index in regular_indexes]

    order: list[WaitingTicket] = []
    while True:
        # Entries are left behind when their ticket is served through another heap.
        while urgent_heap and served[urgent_heap[0][-1]]:
            heapq.heappop(urgent_heap)
        while priority_heap and served[priority_heap[0][-1]]:
            heapq.heappop(priority_heap)
        if urgent_heap:
            if priority_heap and priority_heap[0][:2] < urgent_heap[0][:2]:
                index = heapq.heappop(priority_heap)[-1]  # arrived before every urgent one
            else:
                index = heapq.heappop(urgent_heap)[-1]
        elif normal_heap:
            index = heapq.heappop(normal_heap)[-1]
            if urgent[index] or served[index]:  # moved to the urgent heap, or served already
                continue
        else:
            break
        served[index] = True
        chosen = eligible[index]
        order.append(chosen)
        if chosen.priority >= PriorityClass.REGULAR:
            continue
        passed_over_end = bisect_left(regular_arrivals, chosen.arrived_at)  # strictly earlier
        for regular_index in regular_indexes[:passed_over_end]:
            if served[regular_index] or urgent[regular_index]:
                continue
            bypass_counts[regular_index] += 1
            if bypass_counts[regular_index] >= policy.max_bypass:
                urgent[regular_index] = True
                heapq.heappush(urgent_heap, (*_urgent_key(eligible[regular_index]), regular_index))
    return order


def _skill_ranks(counter: CounterSkills) -> dict[str, int]:
    """service_code -> position in the counter's list; the first listing wins on duplicates."""
    ranks: dict[str, int] = {}
    for rank, code in enumerate(counter.service_codes):
        ranks.setdefault(code, rank)
    return ranks


def _urgent_key(ticket: WaitingTicket) -> tuple[datetime, int]:
    """Among urgent tickets plain first-come-first-served is the only fair order."""
    return (ticket.arrived_at, ticket.id)


def _normal_key(
    ticket: WaitingTicket, counter: CounterSkills, ranks: Mapping[str, int], aged: bool = False
) -> tuple[int, int, datetime, int]:
    """Priority class, then skill rank, then arrival, then id (for determinism).

    A ticket transferred to this named counter ranks as the counter's primary line whatever its
    service, because no other counter can ever take it; so does an aged ticket, because it has
    waited its service's target wait and the counter's preference no longer holds it back.
    """
    if aged or ticket.target_counter_id == counter.counter_id:
        rank = 0
    else:
        rank = ranks[ticket.service_code]
    return (int(ticket.priority), rank, ticket.arrived_at, ticket.id)
