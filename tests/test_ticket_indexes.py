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
