"""Rows of the hot path's SQL become model instances without a RawQuerySet (accounts.sql)."""

from unittest import mock

import pytest
from django.db import connection

from accounts import sql
from queueing import services as queue
from queueing import statements
from queueing.models import Counter


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
def test_waiting_rows_give_routing_columns_and_build_only_the_ticket_asked_for(
    branch, cash, loans, counter
):
    first = queue.ticket_issue(branch=branch, service=cash)
    second = queue.ticket_issue(branch=branch, service=loans)
    rows = statements.waiting_for_counter(
        branch_id=branch.pk, counter_id=counter.pk, service_ids=[cash.pk, loans.pk]
    )
    assert len(rows) == 2
    values = sorted(rows.values("id", "service_id", "arrived_at", "target_counter_id"))
    assert values == [
        (first.pk, cash.pk, first.arrived_at, None),
        (second.pk, loans.pk, second.arrived_at, None),
    ]
    index = [row[0] for row in rows.values("id")].index(second.pk)
    built = rows.instance(index)
    assert built == second and (built.code, built.status, built.service_id) == (
        second.code,
        "waiting",
        loans.pk,
    )
    assert not built._state.adding and built._state.db == "default"
    # The same answers where each row is built as a RawQuerySet would (no driver conversion).
    with mock.patch.object(sql, "_needs_conversion", return_value=True):
        raw = statements.waiting_for_counter(
            branch_id=branch.pk, counter_id=counter.pk, service_ids=[cash.pk, loans.pk]
        )
    assert sorted(raw.values("id", "service_id", "arrived_at", "target_counter_id")) == values
    assert raw.instance([row[0] for row in raw.values("id")].index(second.pk)) == second
