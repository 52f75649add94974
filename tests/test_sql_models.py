"""Rows of the hot path's SQL become model instances without a RawQuerySet (accounts.sql)."""

import pytest
from django.db import connection

from accounts import sql
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
