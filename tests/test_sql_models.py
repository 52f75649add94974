"""Rows of the hot path's SQL become model instances without a RawQuerySet (accounts.sql)."""

from unittest import mock

import pytest
from django.db import connection

from accounts import sql
from queueing import services as queue
from queueing import statements
from queueing.models import Counter, TicketEvent
from queueing.states import TicketStatus

from .factories import ServiceFactory
from .test_statements_fold import call_history


@pytest.mark.django_db
def test_rows_become_models_whatever_the_column_order_with_extra_columns(counter):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 7 AS extra, c.* FROM queueing_counter c WHERE c.id = %s", [counter.pk]
        )
        (found,) = sql.models_from(cursor, Counter)
    assert found == counter and found.extra == 7
    assert (found.number, found.label, found.branch_id, found.teller_id) == (
        counter.number,
        counter.label,
        counter.branch_id,
        counter.teller_id,
    )
    assert not found._state.adding and found._state.db == "default"


@pytest.mark.django_db
def test_the_counter_lock_reads_the_counter_and_its_current_ticket(branch, counter):
    locked = statements.lock_counter(counter.pk, branch_id=branch.pk)
    assert locked == counter and locked.current_ticket_id is None
    assert statements.lock_counter(counter.pk, branch_id=branch.pk + 1000) is None


@pytest.mark.django_db
def test_call_next_reads_routings_columns_and_the_claim_returns_the_ticket_whole(
    branch, cash, loans, counter, teller
):
    first = queue.ticket_issue(branch=branch, service=cash)
    second = queue.ticket_issue(branch=branch, service=loans)
    columns = ("id", "service_id", "arrived_at", "target_counter_id")

    def waiting():
        return sorted(
            statements.waiting_for_counter(
                branch_id=branch.pk,
                counter_id=counter.pk,
                service_ids=[cash.pk, loans.pk],
                attnames=columns,
            )
        )

    expected = [
        (first.pk, cash.pk, first.arrived_at, None),
        (second.pk, loans.pk, second.arrived_at, None),
    ]
    assert waiting() == expected
    # The same values where each row goes through a RawQuerySet's conversions (SQLite).
    with mock.patch.object(sql, "_needs_conversion", return_value=True):
        assert waiting() == expected

    queue.counter_open(counter=counter, teller=teller)
    history = call_history(teller, at=second.issued_at)
    claimed, version = statements.claim_waiting(
        [second.pk],
        counter_id=counter.pk,
        teller_id=teller.pk,
        at=second.issued_at,
        history=history,
    )
    assert claimed == second and version == TicketEvent.objects.latest("id").pk
    assert (claimed.status, claimed.counter_id, claimed.teller_id) == (
        TicketStatus.CALLED,
        counter.pk,
        teller.pk,
    )
    assert (claimed.code, claimed.called_at, claimed.service_id) == (
        second.code,
        second.issued_at,
        loans.pk,
    )
    assert not claimed._state.adding and claimed._state.db == "default"
    assert [row[0] for row in waiting()] == [first.pk]


@pytest.mark.django_db
def test_call_next_s_look_is_the_lock_the_waiting_tickets_and_the_queue_version_at_once(
    branch, cash, loans, counter, teller, other_branch
):
    """lock_counter_and_look gives what lock_counter, waiting_for_counter and the branch's
    latest history row give apart; nobody waiting is no row lost (the LEFT JOIN's NULLs)."""
    from queueing import selectors

    columns = ("id", "service_id", "arrived_at", "target_counter_id")

    def look():
        return statements.lock_counter_and_look(
            counter.pk, branch_id=branch.pk, service_ids=[cash.pk, loans.pk], attnames=columns
        )

    empty = look()
    assert empty.counter == counter and empty.counter.current_ticket_id is None
    assert empty.waiting == []
    first = queue.ticket_issue(branch=branch, service=cash)
    second = queue.ticket_issue(branch=branch, service=loans)
    queue.ticket_issue(branch=other_branch, service=ServiceFactory(branch=other_branch))
    both = look()
    assert sorted(both.waiting) == sorted(
        statements.waiting_for_counter(
            branch_id=branch.pk,
            counter_id=counter.pk,
            service_ids=[cash.pk, loans.pk],
            attnames=columns,
        )
    )
    assert {row[0] for row in both.waiting} == {first.pk, second.pk}
    # A field converting what the database returns: the same look through the ORM's
    # conversions, as on SQLite (the version then read by the caller).
    with mock.patch.object(sql, "_needs_conversion", return_value=True):
        converted = look()
    assert (converted.counter, sorted(converted.waiting)) == (both.counter, sorted(both.waiting))
    assert converted.queue_version is None
    version = selectors.queue_version(branch_id=branch.pk)
    if connection.vendor == "postgresql":  # read with the rest, from the same snapshot
        assert empty.queue_version < both.queue_version == version
    else:  # read later in the same transaction by the caller (CounterLook)
        assert both.queue_version is None
    assert statements.latest_event_id(branch.pk) == version

    queue.counter_open(counter=counter, teller=teller)
    called = queue.ticket_call_next(counter=counter.pk, teller=teller)  # an id, no branch
    seen = look()
    assert seen.counter.current_ticket_id == called.pk
    assert [row[0] for row in seen.waiting] == [second.pk if called == first else first.pk]
    assert (
        statements.lock_counter_and_look(
            counter.pk, branch_id=other_branch.pk, service_ids=[cash.pk], attnames=columns
        )
        is None
    )
    # Another branch's counter, and one that does not exist: "not found", as the API's 404.
    for counter_id, branch_given in ((counter.pk, other_branch), (counter.pk + 1000, None)):
        with pytest.raises(queue.QueueError) as refused:
            queue.ticket_call_next(counter=counter_id, teller=teller, branch=branch_given)
        assert refused.value.code == "not_found"
