"""The queue under real concurrency: many tellers, many tablets, double clicks.

Only PostgreSQL has the row locks (SELECT ... FOR UPDATE SKIP LOCKED) these rely on, and SQLite
serialises every writer anyway, so these run on PostgreSQL only (always in CI). Each thread is
a separate Django connection, i.e. a separate database session, like separate web workers.
"""

import os
import threading
from collections import Counter as Tally
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from queueing import routing
from queueing.models import DailySequence, Ticket, TicketEvent
from queueing.services import (
    QueueError,
    counter_open,
    ticket_call_next,
    ticket_finish,
    ticket_issue,
    ticket_start,
)
from queueing.states import ACTIVE_AT_COUNTER, TicketAction, TicketStatus

from .factories import CounterFactory, MembershipFactory, UserFactory

ON_POSTGRES = connection.vendor == "postgresql"

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TELLERS = 16
TICKETS = 300
PRIORITIES = [
    routing.PriorityClass.REGULAR,
    routing.PriorityClass.REGULAR,
    routing.PriorityClass.REGULAR,
    routing.PriorityClass.VIP,
    routing.PriorityClass.CARE,
    routing.PriorityClass.APPOINTMENT,
]


@pytest.fixture(autouse=True)
def _postgres_only():
    if ON_POSTGRES:
        return
    reason = "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI runs every test, nothing may be skipped)")
    pytest.skip(reason)


def run_in_threads(count: int, work: Callable[[int, threading.Barrier], object]) -> list:
    """Run work(i, barrier) in `count` threads released together; return results in order.
    Any exception in a thread fails the test (after every thread has finished)."""
    barrier = threading.Barrier(count, timeout=30)
    results: list = [None] * count
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            results[i] = work(i, barrier)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            # Each thread opened its own connection; leaving it open blocks the test
            # database teardown.
            connection.close()

    threads = [threading.Thread(target=target, args=(i,), name=f"bf-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    if errors:
        raise errors[0]
    return results


def _teller_at_counter(branch, services, number: int):
    teller = UserFactory(username=f"teller-{number}")
    MembershipFactory(user=teller, branch=branch, role="teller")
    counter = CounterFactory(branch=branch, number=number, serves=services)
    counter_open(counter=counter, teller=teller)  # each teller sits at their own counter
    counter.refresh_from_db()
    return teller, counter


def test_it_calls_every_ticket_exactly_once_with_sixteen_tellers_racing(branch, cash, loans):
    desks = [_teller_at_counter(branch, [cash, loans], n) for n in range(1, TELLERS + 1)]
    issued = {
        ticket_issue(
            branch=branch,
            service=cash if i % 3 else loans,
            priority=PRIORITIES[i % len(PRIORITIES)],
        ).pk
        for i in range(TICKETS)
    }

    def serve_until_empty(i: int, barrier: threading.Barrier) -> list[int]:
        teller, counter = desks[i]
        served: list[int] = []
        barrier.wait()
        while True:
            ticket = ticket_call_next(counter=counter, teller=teller)
            if ticket is None:
                return served
            served.append(ticket.pk)
            # One call, one customer at the counter (a claim that took two was seen under load).
            at_counter = Ticket.objects.filter(counter=counter, status__in=ACTIVE_AT_COUNTER)
            assert list(at_counter.values_list("pk", flat=True)) == [ticket.pk]
            ticket_start(ticket_id=ticket.pk, by=teller)
            ticket_finish(ticket_id=ticket.pk, by=teller)

    per_teller = run_in_threads(TELLERS, serve_until_empty)

    called = [pk for served in per_teller for pk in served]
    duplicates = [pk for pk, times in Tally(called).items() if times > 1]
    assert duplicates == []
    assert set(called) == issued
    assert len(called) == TICKETS
    assert not Ticket.objects.filter(status=TicketStatus.WAITING).exists()
    assert Ticket.objects.filter(status=TicketStatus.DONE).count() == TICKETS
    assert TicketEvent.objects.filter(action=TicketAction.CALL).count() == TICKETS
    # Each ticket was called at the counter, by the teller, whose list it is in.
    for (teller, counter), served in zip(desks, per_teller, strict=True):
        called_by = set(Ticket.objects.filter(pk__in=served).values_list("counter_id", "teller_id"))
        assert called_by <= {(counter.pk, teller.pk)}
    # The work really was shared: with 16 tellers racing, more than one of them served someone.
    assert sum(1 for served in per_teller if served) > 1


def test_it_numbers_tickets_issued_at_the_same_instant_without_gaps_or_duplicates(branch, cash):
    per_tablet = 5

    def issue(i: int, barrier: threading.Barrier) -> list[int]:
        barrier.wait()  # all tablets press at once, including the day's very first ticket
        return [ticket_issue(branch=branch, service=cash).number for _ in range(per_tablet)]

    numbers = [n for batch in run_in_threads(TELLERS, issue) for n in batch]

    total = TELLERS * per_tablet
    assert sorted(numbers) == list(range(1, total + 1))
    assert DailySequence.objects.get(branch=branch, prefix=cash.prefix).last_number == total
    codes = list(Ticket.objects.filter(service=cash).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == total


def test_it_calls_one_customer_when_a_teller_double_clicks_call_next(branch, cash, loans):
    teller, counter = _teller_at_counter(branch, [cash, loans], 1)
    for _ in range(10):
        ticket_issue(branch=branch, service=cash)

    for _round in range(5):

        def click(i: int, barrier: threading.Barrier):
            barrier.wait()
            try:
                return ticket_call_next(counter=counter, teller=teller)
            except QueueError as exc:
                return exc

        outcomes = run_in_threads(2, click)

        called = [o for o in outcomes if isinstance(o, Ticket)]
        refused = [o for o in outcomes if isinstance(o, QueueError)]
        assert len(called) == 1, outcomes
        assert len(refused) == 1, outcomes
        active = Ticket.objects.filter(counter=counter, status__in=list(ACTIVE_AT_COUNTER))
        assert list(active.values_list("pk", flat=True)) == [called[0].pk]
        ticket_start(ticket_id=called[0].pk, by=teller)
        ticket_finish(ticket_id=called[0].pk, by=teller)

    assert Ticket.objects.filter(status=TicketStatus.DONE).count() == 5
    assert Ticket.objects.filter(status=TicketStatus.WAITING).count() == 5
    assert TicketEvent.objects.filter(action=TicketAction.CALL).count() == 5


def test_the_next_key_calls_every_ticket_once_with_tellers_racing(branch, cash, loans):
    """Issue 5, capacity: tellers loop on "finish and call next" (one transaction each) over
    a shared queue, as the counter screen's Next key does: each ticket is called exactly once
    and finished, none is lost."""
    from reception.services import control_points_publish, visit_complete_service_and_call_next

    for service in (cash, loans):  # as a running branch: every service has its points
        control_points_publish(service)
    tellers = 8
    desks = [_teller_at_counter(branch, [cash, loans], n) for n in range(1, tellers + 1)]
    issued = {
        ticket_issue(
            branch=branch,
            service=cash if i % 3 else loans,
            priority=PRIORITIES[i % len(PRIORITIES)],
        ).pk
        for i in range(160)
    }

    def serve_with_the_next_key(i: int, barrier: threading.Barrier) -> list[int]:
        teller, counter = desks[i]
        barrier.wait()
        ticket = ticket_call_next(counter=counter, teller=teller)  # the first call is plain
        served: list[int] = []
        while ticket is not None:
            served.append(ticket.pk)
            ticket_start(ticket_id=ticket.pk, by=teller)
            ticket = visit_complete_service_and_call_next(
                ticket=ticket.pk,
                teller=teller,
                branch=branch,
                outcome="completed",
                identity_verified=True,
            ).called
        return served

    per_teller = run_in_threads(tellers, serve_with_the_next_key)

    called = [pk for served in per_teller for pk in served]
    assert [pk for pk, times in Tally(called).items() if times > 1] == []
    assert set(called) == issued
    assert Ticket.objects.filter(status=TicketStatus.DONE).count() == len(issued)
    assert not Ticket.objects.exclude(status=TicketStatus.DONE).exists()
    assert TicketEvent.objects.filter(action=TicketAction.CALL).count() == len(issued)
    for (teller, counter), served in zip(desks, per_teller, strict=True):
        called_by = set(Ticket.objects.filter(pk__in=served).values_list("counter_id", "teller_id"))
        assert called_by <= {(counter.pk, teller.pk)}
    assert sum(1 for served in per_teller if served) > 1


def test_a_double_press_of_the_next_key_calls_one_customer(branch, cash, loans):
    from reception.services import control_points_publish, visit_complete_service_and_call_next

    control_points_publish(cash)
    teller, counter = _teller_at_counter(branch, [cash, loans], 1)
    for _ in range(6):
        ticket_issue(branch=branch, service=cash)
    current = ticket_call_next(counter=counter, teller=teller)

    for _round in range(3):
        ticket_start(ticket_id=current.pk, by=teller)

        def press(i: int, barrier: threading.Barrier, ticket_id=current.pk):
            barrier.wait()
            try:
                return visit_complete_service_and_call_next(
                    ticket=ticket_id,
                    teller=teller,
                    branch=branch,
                    outcome="completed",
                    identity_verified=True,
                )
            except QueueError as exc:
                return exc

        outcomes = run_in_threads(2, press)

        done = [o for o in outcomes if not isinstance(o, QueueError)]
        refused = [o for o in outcomes if isinstance(o, QueueError)]
        assert len(done) == 1 and len(refused) == 1, outcomes
        active = Ticket.objects.filter(counter=counter, status__in=list(ACTIVE_AT_COUNTER))
        assert list(active.values_list("pk", flat=True)) == [done[0].called.pk]
        current = done[0].called

    assert Ticket.objects.filter(status=TicketStatus.DONE).count() == 3
    assert TicketEvent.objects.filter(action=TicketAction.CALL).count() == 4


def test_a_call_takes_the_next_best_in_one_statement_while_another_counter_holds_the_best(
    branch, cash, loans
):
    """Counters with the same skills rank the same ticket first. While another counter's
    transaction holds it, a call takes the second best with the same claim statement (no
    round trip per lost claim), and the held one does not count as passed over."""
    teller, counter = _teller_at_counter(branch, [cash, loans], 11)
    best = ticket_issue(branch=branch, service=cash)
    second = ticket_issue(branch=branch, service=cash)
    held, release = threading.Event(), threading.Event()

    def hold_the_best(i: int, barrier: threading.Barrier) -> None:
        with transaction.atomic():
            Ticket.objects.select_for_update().get(pk=best.pk)  # another call's claim, in flight
            held.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=run_in_threads, args=(1, hold_the_best))
    holder.start()
    try:
        assert held.wait(timeout=30)
        claims: list[str] = []

        def record_claims(execute, sql, params, many, context):
            if "SET status = %s, called_at" in sql:
                claims.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record_claims):
            called = ticket_call_next(counter=counter, teller=teller)
    finally:
        release.set()
        holder.join(timeout=30)

    assert called.pk == second.pk
    assert len(claims) == 1  # one claim statement, not one per ticket tried
    best.refresh_from_db()
    assert (best.status, best.bypass_count) == (TicketStatus.WAITING, 0)


def test_racing_tellers_each_get_one_customer_per_call_while_tablets_issue(branch, cash, loans):
    """As in a busy branch (and bench/load_queue.py's closed loop): tablets issue while the
    tellers call, every counter ranks the same tickets first. Each call puts exactly one
    customer at the counter, and every ticket is served once."""
    tellers, tablets, per_tablet = 8, 2, 120
    desks = [_teller_at_counter(branch, [cash, loans], n) for n in range(1, tellers + 1)]
    issuing_done = threading.Event()
    tablets_left = [tablets]
    tablets_left_lock = threading.Lock()

    def work(i: int, barrier: threading.Barrier) -> list[int]:
        barrier.wait()
        if i >= tellers:  # a tablet
            ids = []
            for n in range(per_tablet):
                ticket = ticket_issue(
                    branch=branch,
                    service=cash if n % 3 else loans,
                    priority=PRIORITIES[n % len(PRIORITIES)],
                )
                ids.append(ticket.pk)
            with tablets_left_lock:
                tablets_left[0] -= 1
                if tablets_left[0] == 0:
                    issuing_done.set()
            return ids
        teller, counter = desks[i]
        served: list[int] = []
        while True:
            ticket = ticket_call_next(counter=counter, teller=teller)
            if ticket is None:
                if issuing_done.is_set():
                    return served
                continue
            at_counter = Ticket.objects.filter(counter=counter, status__in=ACTIVE_AT_COUNTER)
            assert list(at_counter.values_list("pk", flat=True)) == [ticket.pk]
            served.append(ticket.pk)
            ticket_start(ticket_id=ticket.pk, by=teller)
            ticket_finish(ticket_id=ticket.pk, by=teller)

    results = run_in_threads(tellers + tablets, work)

    issued = {pk for ids in results[tellers:] for pk in ids}
    called = [pk for served in results[:tellers] for pk in served]
    assert sorted(called) == sorted(issued)
    assert Ticket.objects.filter(status=TicketStatus.DONE).count() == tablets * per_tablet
