"""The ticket's history row in the same statement as the change (queueing.statements).

On PostgreSQL, issue, call-next, start, finish and no-show write their TicketEvent inside the
change's own statement: exactly one row, with the values services._record_event writes on the
other paths, its id published as the branch's queue version, and one statement fewer than the
two-statement path SQLite takes (forced here on PostgreSQL by turning the fold off).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from queueing import services as queue
from queueing import statements
from queueing.models import Ticket, TicketEvent
from queueing.states import TicketAction, TicketStatus

ON_POSTGRES = connection.vendor == "postgresql"

pytestmark = [
    pytest.mark.skipif(not ON_POSTGRES, reason="SQLite writes the history row separately"),
    pytest.mark.postgres,
    pytest.mark.django_db,
]

# Statements per service call inside the test's transaction (SAVEPOINT / RELEASE in place of
# BEGIN / COMMIT), with the set-up cached:
STATEMENTS = {
    "issue": 3,  # savepoint, the day's number with the ticket and its history row, release
    "call": 4,  # savepoint, counter lock with waiting tickets, the claim with its history row, release
    "start": 3,  # savepoint, the UPDATE with its history row, release
    "finish": 3,  # savepoint, the UPDATE with its history row and its outbox event, release
}
LONG_NOTE = "n" * 250  # stored cut to 200


@pytest.fixture
def published(monkeypatch):
    """The keyword arguments of every publish_ticket_event, which still runs."""
    calls: list[dict] = []
    publish = queue.publish_ticket_event

    def record(**kwargs):
        calls.append(kwargs)
        return publish(**kwargs)

    monkeypatch.setattr(queue, "publish_ticket_event", record)
    return calls


def fold(monkeypatch, on: bool) -> None:
    """On: the history row rides with the change (PostgreSQL); off: SQLite's two statements."""
    monkeypatch.setattr(statements, "_history_rides_along", lambda: on)


def measured(operation):
    before = TicketEvent.objects.count()
    with CaptureQueriesContext(connection) as queries:
        result = operation()
    assert TicketEvent.objects.count() == before + 1, "exactly one history row"
    return result, [q["sql"] for q in queries]


def the_event(ticket: Ticket, action: TicketAction, published: list[dict]) -> TicketEvent:
    (event,) = TicketEvent.objects.filter(ticket=ticket, action=action)
    assert published[-1]["action"] == action and published[-1]["ticket_id"] == ticket.pk
    assert published[-1]["version"] == event.pk
    return event


def fields(event: TicketEvent) -> tuple:
    return (
        event.action,
        event.from_status,
        event.to_status,
        event.by_id,
        event.counter_id,
        event.note,
        event.branch_id,
    )


def life(branch, cash, counter, teller, lobby_manager, published) -> dict[str, list[str]]:
    """Issue, call, start and finish one ticket, checking each history row; the SQL of each."""
    sql = {}
    ticket, sql["issue"] = measured(
        lambda: queue.ticket_issue(
            branch=branch, service=cash, issued_by=lobby_manager, note=LONG_NOTE
        )
    )
    event = the_event(ticket, TicketAction.ISSUE, published)
    assert fields(event) == ("issue", "", "waiting", lobby_manager.pk, None, "n" * 200, branch.pk)
    ticket.refresh_from_db()
    assert event.at == ticket.issued_at

    called, sql["call"] = measured(  # as the API calls it: with the caller's branch
        lambda: queue.ticket_call_next(counter=counter.pk, teller=teller, branch=branch)
    )
    assert called.pk == ticket.pk and called.status == TicketStatus.CALLED
    event = the_event(ticket, TicketAction.CALL, published)
    assert fields(event) == ("call", "waiting", "called", teller.pk, counter.pk, "", branch.pk)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.counter_id, ticket.teller_id) == ("called", counter.pk, teller.pk)
    assert event.at == ticket.called_at

    started, sql["start"] = measured(lambda: queue.ticket_start(ticket_id=ticket.pk, by=teller))
    assert started.status == TicketStatus.SERVING and started.counter_id == counter.pk
    event = the_event(ticket, TicketAction.START, published)
    assert fields(event) == ("start", "called", "serving", teller.pk, counter.pk, "", branch.pk)
    ticket.refresh_from_db()
    assert event.at == ticket.started_at

    finished, sql["finish"] = measured(
        lambda: queue.ticket_finish(ticket_id=ticket.pk, by=teller, note=LONG_NOTE)
    )
    assert finished.status == TicketStatus.DONE
    event = the_event(ticket, TicketAction.FINISH, published)
    assert fields(event) == (
        "finish",
        "serving",
        "done",
        teller.pk,
        counter.pk,
        "n" * 200,
        branch.pk,
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.DONE and event.at == ticket.finished_at
    return sql


def test_each_hot_transition_writes_its_history_row_in_its_own_statement(
    monkeypatch, branch, cash, counter, teller, lobby_manager, published
):
    life(branch, cash, counter, teller, lobby_manager, published)  # warm the set-up cache
    fold(monkeypatch, False)
    apart = life(branch, cash, counter, teller, lobby_manager, published)
    fold(monkeypatch, True)
    together = life(branch, cash, counter, teller, lobby_manager, published)

    counts = {name: len(sql) for name, sql in together.items()}
    assert counts == STATEMENTS, together
    # Apart (SQLite's way): the history row on its own, the issue's number, the finish's outbox
    # event, and the call's look as two statements (lock, waiting tickets).
    more = {"issue": 2, "call": 2, "start": 1, "finish": 2}
    assert {name: len(sql) for name, sql in apart.items()} == {
        name: n + more[name] for name, n in STATEMENTS.items()
    }, apart
    # The folded statements write the history row; no separate INSERT of it is left.
    for name, sql in together.items():
        assert not any(s.startswith(f"INSERT INTO {statements.EVENTS}") for s in sql), name
        assert sum(f"INSERT INTO {statements.EVENTS}" in s for s in sql) == 1, name


def test_a_no_show_writes_its_history_row_with_the_change(branch, cash, counter, teller, published):
    ticket = queue.ticket_issue(branch=branch, service=cash)
    queue.ticket_call_next(counter=counter, teller=teller)
    gone, sql = measured(lambda: queue.ticket_no_show(ticket_id=ticket.pk, by=teller))
    assert gone.status == TicketStatus.NO_SHOW
    event = the_event(ticket, TicketAction.NO_SHOW, published)
    assert fields(event) == ("no_show", "called", "no_show", teller.pk, counter.pk, "", branch.pk)
    assert sum(f"INSERT INTO {statements.EVENTS}" in s for s in sql) == 1


def call_history(teller, *, at) -> statements.History:
    """A call's history row, as ticket_call_next builds it, for calling claim_waiting itself."""
    return queue._history(
        TicketAction.CALL,
        from_status=TicketStatus.WAITING,
        to_status=TicketStatus.CALLED,
        by=teller,
        at=at,
    )


def test_a_change_that_does_not_match_writes_no_history_row(branch, cash, counter, teller):
    ticket = queue.ticket_issue(branch=branch, service=cash)
    queue.ticket_call_next(counter=counter, teller=teller)
    events = TicketEvent.objects.count()
    history = call_history(teller, at=ticket.issued_at)
    # Already called: the claim takes nothing.
    assert (
        statements.claim_waiting(
            [ticket.pk],
            counter_id=counter.pk,
            teller_id=teller.pk,
            at=ticket.issued_at,
            history=history,
        )
        is None
    )
    # Not serving: finish does not move it.
    moved = statements.move_at_counter(
        ticket.pk,
        from_status=TicketStatus.SERVING,
        to_status=TicketStatus.DONE,
        stamp_field="finished_at",
        at=ticket.issued_at,
        by_id=teller.pk,
        branch_id=branch.pk,
        history=history,
    )
    assert moved is None
    assert TicketEvent.objects.count() == events


@pytest.mark.parametrize("number", [1, 7, 999, 1000, 12345])
def test_the_code_written_in_sql_is_the_code_python_writes(number):
    code_sql = statements.TICKET_CODE_SQL.format(n="x.n")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {code_sql} FROM (VALUES (%s)) AS x(n)", ["B", number])  # noqa: S608
        assert cursor.fetchone()[0] == statements.ticket_code("B", number)


@pytest.mark.django_db(transaction=True)
def test_issue_and_start_outside_a_transaction_are_one_statement_each(
    branch, cash, counter, teller
):
    """No BEGIN, no COMMIT: the number, the ticket and its history row are one statement, and
    so is a start; each commits itself, and what they wrote is there."""
    queue.counter_open(counter=counter, teller=teller)
    with CaptureQueriesContext(connection) as issued:
        first = queue.ticket_issue(branch=branch, service=cash)
        second = queue.ticket_issue(branch=branch, service=cash)
    assert len(issued) == 2, [q["sql"][:60] for q in issued]
    assert (first.number, second.number) == (first.number, first.number + 1)
    assert second.code == statements.ticket_code(cash.prefix, second.number)
    stored = Ticket.objects.get(pk=second.pk)
    assert (stored.number, stored.code, stored.status) == (second.number, second.code, "waiting")
    assert TicketEvent.objects.filter(ticket=second, action="issue").count() == 1
    queue.ticket_call_next(counter=counter, teller=teller)
    with CaptureQueriesContext(connection) as started:
        queue.ticket_start(ticket_id=first.pk, by=teller)
    assert len(started) == 1, [q["sql"][:60] for q in started]
    assert Ticket.objects.get(pk=first.pk).status == TicketStatus.SERVING


def test_a_claim_takes_the_first_ticket_still_waiting_in_the_order_given(
    branch, cash, counter, teller
):
    taken = queue.ticket_issue(branch=branch, service=cash)
    older = queue.ticket_issue(branch=branch, service=cash)
    newer = queue.ticket_issue(branch=branch, service=cash)
    Ticket.objects.filter(pk=taken.pk).update(status=TicketStatus.CANCELLED)  # gone meanwhile
    queue.counter_open(counter=counter, teller=teller)
    history = call_history(teller, at=newer.issued_at)

    claimed, _version = statements.claim_waiting(
        [taken.pk, newer.pk, older.pk],  # routing's order, not the ids'
        counter_id=counter.pk,
        teller_id=teller.pk,
        at=newer.issued_at,
        history=history,
    )

    assert claimed.pk == newer.pk
    assert Ticket.objects.get(pk=older.pk).status == TicketStatus.WAITING
    assert (
        statements.claim_waiting(
            [], counter_id=counter.pk, teller_id=teller.pk, at=newer.issued_at, history=history
        )
        is None
    )
