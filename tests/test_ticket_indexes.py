"""The tickets' and their events' indexes: none that another index covers (each is updated on
every change of a ticket), and the foreign keys kept (queueing migration 0009)."""

import pytest
from django.db import connection

from queueing.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _constraints(model) -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, model._meta.db_table)


@pytest.mark.parametrize(
    "model, column, covered_by",
    [
        (Ticket, "branch_id", ["branch_id", "business_date"]),
        (TicketEvent, "ticket_id", ["ticket_id", "at"]),
    ],
)
def test_no_single_column_index_that_a_composite_covers(model, column, covered_by):
    constraints = _constraints(model)
    plain = [
        name
        for name, c in constraints.items()
        if c["index"] and not c["unique"] and c["columns"] == [column]
    ]
    assert plain == []
    assert any(c["index"] and c["columns"][:2] == covered_by for c in constraints.values())
    if connection.vendor == "postgresql":
        assert any(c["foreign_key"] and c["columns"] == [column] for c in constraints.values())


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_a_quiet_branch_s_latest_event_is_found_through_its_index_not_by_walking_the_others(
    branch, other_branch, cash
):
    """statements.LATEST_EVENT_SQL (call-next's queue version). A branch with half the history
    but quiet since the other wrote its half: written `max(id) … WHERE branch_id = %s`,
    PostgreSQL walks the primary key backwards through the other branch's newer rows (27 ms
    at 1 M tickets, docs/benchmarks.md); the range form goes through the branch's index."""
    from queueing import services as queue
    from queueing import statements

    ticket = queue.ticket_issue(branch=branch, service=cash)
    table = TicketEvent._meta.db_table
    history = (
        f"INSERT INTO {table}"  # noqa: S608
        " (ticket_id, branch_id, action, from_status, to_status, at, by_id, counter_id, note)"
        " SELECT %s, %s, 'issue', '', 'waiting', now(), NULL, NULL, ''"
        " FROM generate_series(1, 20000)"
    )
    with connection.cursor() as cursor:
        cursor.execute(history, [ticket.pk, branch.pk])
        latest = TicketEvent.objects.filter(branch=branch).latest("id").pk
        cursor.execute(history, [ticket.pk, other_branch.pk])  # newer: the others' day
        cursor.execute(f"ANALYZE {table}")
        cursor.execute("EXPLAIN " + statements.LATEST_EVENT_SQL, [branch.pk, branch.pk])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        # The form it replaces: this set-up is one where it walks the primary key.
        cursor.execute(f"EXPLAIN SELECT max(id) FROM {table} WHERE branch_id = %s", [branch.pk])  # noqa: S608
        plain = "\n".join(row[0] for row in cursor.fetchall())
    assert "pkey" in plain, plain
    assert "ticketevent_branch_latest" in plan and "pkey" not in plan, plan
    assert statements.latest_event_id(branch.pk) == latest
