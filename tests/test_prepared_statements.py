"""The hot path's statements are prepared once per connection on PostgreSQL (accounts.sql):
PostgreSQL plans them once instead of on every request, in the same round trips as before."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts import sql
from queueing import statements
from queueing.models import Counter, Ticket

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)

SELECT_COUNTER = "SELECT id, number, label FROM queueing_counter WHERE id = %s"


def prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_a_statement_is_prepared_on_first_use_and_run_by_name_after(counter):
    name = sql._statement_name(SELECT_COUNTER)
    connection.prepared_statements.pop(name, None)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        sql.execute(cursor, SELECT_COUNTER, [counter.pk])
        first = cursor.fetchall()
        sql.execute(cursor, SELECT_COUNTER, [counter.pk])
        second = cursor.fetchall()
    assert first == second == [(counter.pk, counter.number, counter.label)]
    assert len(queries) == 2  # the same round trips as plain statements
    assert queries[0]["sql"].startswith(f"PREPARE {name} AS SELECT")
    assert queries[1]["sql"] == f"EXECUTE {name}({counter.pk})"
    assert name in prepared_names()


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again(counter):
    with connection.cursor() as cursor:
        sql.execute(cursor, SELECT_COUNTER, [counter.pk])
    connection.close()  # the server forgets the connection's prepared statements
    with connection.cursor() as cursor:
        sql.execute(cursor, SELECT_COUNTER, [counter.pk])
        assert cursor.fetchone()[0] == counter.pk


@pytest.mark.django_db(transaction=True)
def test_a_failed_first_use_is_looked_up_before_the_next(counter):
    insert = (
        "INSERT INTO queueing_counter (id, branch_id, number, label, is_open, is_paused)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
    )
    name = sql._statement_name(insert)
    values = [counter.pk, counter.branch_id, 99, "dup", False, False]
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        sql.execute(cursor, insert, values)  # the id exists: the EXECUTE fails, the PREPARE stuck
    assert connection.prepared_statements[name] is None  # unknown
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        sql.execute(cursor, insert, values)  # not "prepared statement already exists"
    assert connection.prepared_statements[name] is True


@pytest.mark.django_db
def test_switched_off_the_statement_is_sent_as_it_is(counter, settings):
    settings.DB_PREPARED_STATEMENTS = False
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        sql.execute(cursor, SELECT_COUNTER, [counter.pk])
    assert queries[0]["sql"] == SELECT_COUNTER % counter.pk


@pytest.mark.django_db
def test_rows_become_models_whatever_the_column_order_with_extra_columns(counter):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 7 AS extra, c.* FROM queueing_counter c WHERE c.id = %s", [counter.pk]
        )
        (found,) = sql.models_from(cursor, Counter)
    assert found == counter and found.extra == 7
    assert (found.number, found.label, found.branch_id) == (
        counter.number,
        counter.label,
        counter.branch_id,
    )
    assert not found._state.adding and found._state.db == "default"


@pytest.mark.django_db
def test_the_hot_statements_are_prepared(branch, cash, counter):
    from queueing import services as queue

    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    connection.prepared_statements.clear()
    queue.ticket_issue(branch=branch, service=cash)
    statements.lock_counter(counter.pk, branch_id=branch.pk)
    assert len(prepared_names()) >= 3  # the day's number, ticket + history, counter lock
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_generic_plans_still_use_the_partial_index_of_tickets_at_a_counter(branch, cash, counter):
    """After a few runs PostgreSQL may keep one generic plan for every parameter value. The
    look at the counter's current ticket must still use ticket_at_counter_now (counter, while
    called or serving), not the counter's whole history: the statuses are written into the SQL,
    since no plan can prove that `status IN ($1, $2)` matches the index's condition."""
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute("SET enable_seqscan = off")  # a tiny test table would be scanned anyway
    try:
        with CaptureQueriesContext(connection) as queries:
            statements.lock_counter(counter.pk, branch_id=branch.pk)
            statements.lock_counter(counter.pk, branch_id=branch.pk)  # by name now
        run = queries[-1]["sql"]
        assert run.startswith("EXECUTE ")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + run)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "ticket_at_counter_now" in plan, plan
        assert "$1" in plan  # the generic plan indeed
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET plan_cache_mode")
            cursor.execute("RESET enable_seqscan")
