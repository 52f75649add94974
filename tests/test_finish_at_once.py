"""The finish as one statement (reception.services.desk._complete_at_once, queueing's
ticket_finish_at_once): the ticket, its history row, its visit's outcome and both outbox events,
without BEGIN and COMMIT. It must write exactly what the transaction of separate statements
writes, and check the control points of the ticket's own service, although it checks them
before it knows which service that is."""

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import OutboxDelivery, OutboxEvent, Role
from queueing import services as queue
from queueing.models import TicketEvent
from queueing.states import TicketStatus
from reception import selectors as reception_selectors
from reception import services as reception
from reception.models import ControlPointVersion, Visit
from reception.services import desk

from .conftest import _member
from .factories import ControlPointFactory
from .test_counter_handling import serve

ON_POSTGRES = connection.vendor == "postgresql"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not ON_POSTGRES, reason="one statement only on PostgreSQL"),
]

OUTCOME = {
    "outcome": "incomplete",
    "incomplete_reason": "documents",
    "error_note": "ID card expired",
    "checked_points": ["documents_signed", "not_a_point_of_loans"],
}


@pytest.fixture
def published(cash, loans):
    """Both services' points published and cached, as on a branch that has worked a day; cash
    asks for a signature too."""
    reception.control_points_publish(loans)
    reception.control_points_publish(cash)
    ControlPointFactory(
        service=cash, key="not_a_point_of_loans", label_en="Signature checked", required=True
    )
    versions = {service.pk: reception.control_points_publish(service) for service in (cash, loans)}
    reception_selectors.control_versions_published(service_ids=versions)
    return versions


def finish(ticket_id: int, teller, branch, **outcome):
    """The finish as the counter's API calls it: by id, in the user's branch."""
    return reception.visit_complete_service(
        ticket=ticket_id, teller=teller, branch=branch, **outcome
    )


def refused_points(visit: Visit, teller, branch, **outcome) -> reception.ReceptionError:
    """The finish refused for its control points, having written nothing."""
    with pytest.raises(reception.ReceptionError) as refused:
        finish(visit.ticket_id, teller, branch, **outcome)
    assert refused.value.code == "checked_points"
    assert_nothing_written(visit)
    return refused.value


def assert_nothing_written(visit: Visit) -> None:
    """The ticket still being served, its visit without an outcome, no event for it."""
    visit.refresh_from_db()
    visit.ticket.refresh_from_db()
    assert visit.ticket.status == TicketStatus.SERVING and visit.outcome == ""
    assert not OutboxEvent.objects.filter(payload__ticket_id=visit.ticket_id).exists()


def written(visit: Visit) -> dict:
    """What a finish wrote about a visit: its outcome fields, its ticket's history row and both
    outbox events with their deliveries (ids left out)."""
    visit.refresh_from_db()
    events = OutboxEvent.objects.filter(payload__ticket_id=visit.ticket_id).order_by("id")
    return {
        "visit": {
            field: getattr(visit, field)
            for field in (
                "outcome",
                "incomplete_reason",
                "error_note",
                "served_by_id",
                "identity_verified",
                "documents_signed",
                "funds_handed_over",
                "checked_points",
                "control_version_id",
            )
        },
        "ticket": visit.ticket.status,
        "history": list(
            TicketEvent.objects.filter(ticket=visit.ticket, action="finish").values_list(
                "from_status", "to_status", "by_id", "counter_id", "note"
            )
        ),
        "events": [
            (
                event.topic,
                {k: v for k, v in event.payload.items() if k not in ("visit_id", "ticket_id")},
                event.branch_id,
                sorted(
                    OutboxDelivery.objects.filter(event=event).values_list("listener", "status")
                ),
            )
            for event in events
        ],
        "visit_event_names_the_visit": [
            event.payload.get("visit_id") == visit.pk
            for event in events
            if event.topic == reception.VISIT_COMPLETED
        ],
    }


def test_one_statement_writes_what_the_transaction_of_separate_statements_wrote(
    branch, cash, counter, teller, published, outbox_listeners
):
    for name in ("crm.visit_done", "kpi.visit_done"):  # nobody listens yet: two, for the test
        outbox_listeners(name, lambda event: None, (reception.VISIT_COMPLETED,))
    at_once = serve(branch, cash, counter, teller, phone="13800138001")
    with CaptureQueriesContext(connection) as queries:
        finish(at_once.ticket_id, teller, branch, **OUTCOME)
    assert len(queries) == 1, [q["sql"][:80] for q in queries]
    assert queries[0]["sql"].startswith("WITH changed AS (UPDATE")

    separately = serve(branch, cash, counter, teller, phone="13800138002")
    with (
        mock.patch.object(desk, "change_is_one_statement", return_value=False),
        CaptureQueriesContext(connection) as queries,
    ):
        finish(separately.ticket_id, teller, branch, **OUTCOME)
    assert len(queries) > 1  # the other path, so that the comparison means something

    ours, theirs = written(at_once), written(separately)
    assert ours == theirs
    assert ours["ticket"] == TicketStatus.DONE
    assert ours["visit"]["control_version_id"] == published[cash.pk].pk
    assert ours["visit"]["checked_points"] == ["documents_signed", "not_a_point_of_loans"]
    assert ours["visit_event_names_the_visit"] == [True]
    assert {topic for topic, *_ in ours["events"]} == {
        "queueing.ticket_finished",
        reception.VISIT_COMPLETED,
    }


def test_the_ticket_s_own_service_s_points_decide(branch, cash, loans, counter, teller, published):
    """The outcome "completed" with only the identity ticked passes loans' points (the
    defaults) but not cash's (which also ask for a signature): the statement must finish a loans ticket and
    refuse a cash ticket, with the reason, having written nothing."""
    cash_visit = serve(branch, cash, counter, teller, phone="13800138003")
    refused = refused_points(
        cash_visit, teller, branch, outcome="completed", checked_points=["identity_verified"]
    )
    assert "Signature checked" in str(refused.message)
    # The cash customer is still at the counter: finish them properly, then a loans customer.
    finish(
        cash_visit.ticket_id,
        teller,
        branch,
        outcome="completed",
        checked_points=["identity_verified", "not_a_point_of_loans"],
    )

    loans_visit = serve(branch, loans, counter, teller, phone="13800138004")
    with CaptureQueriesContext(connection) as queries:
        finish(
            loans_visit.ticket_id,
            teller,
            branch,
            outcome="completed",
            checked_points=["identity_verified"],
        )
    assert len(queries) == 1
    loans_visit.refresh_from_db()
    assert loans_visit.outcome == "completed"
    assert loans_visit.control_version_id == published[loans.pk].pk
    assert loans_visit.checked_points == ["identity_verified"]


def test_a_point_unknown_to_the_ticket_s_service_is_refused(
    branch, loans, counter, teller, published
):
    """cash knows "not_a_point_of_loans"; a loans ticket must not be finished with it."""
    visit = serve(branch, loans, counter, teller, phone="13800138005")
    refused_points(
        visit, teller, branch, outcome="referred", checked_points=["not_a_point_of_loans"]
    )


def test_only_the_seated_teller_finishes_and_nothing_is_written_otherwise(
    branch, cash, counter, teller, published
):
    visit = serve(branch, cash, counter, teller, phone="13800138006")
    colleague = _member(branch, Role.TELLER, "colleague")
    with pytest.raises(queue.QueueError):
        finish(visit.ticket_id, colleague, branch, **OUTCOME)
    assert_nothing_written(visit)


def test_a_ticket_without_a_visit_is_finished_in_one_statement_with_no_visit_event(
    branch, cash, counter, teller, published
):
    ticket = queue.ticket_issue(branch=branch, service=cash)
    queue.ticket_call_next(counter=counter, teller=teller)
    queue.ticket_start(ticket_id=ticket.pk, by=teller)
    with CaptureQueriesContext(connection) as queries:
        finished = finish(ticket.pk, teller, branch, outcome="referred")
    assert len(queries) == 1
    assert finished.status == TicketStatus.DONE
    assert list(
        OutboxEvent.objects.filter(payload__ticket_id=ticket.pk).values_list("topic", flat=True)
    ) == ["queueing.ticket_finished"]


def test_points_not_cached_are_read_once_and_a_service_never_published_takes_the_transaction(
    branch, cash, loans, counter, teller
):
    """No version of loans yet: the finish of a loans ticket publishes the defaults (the other
    path); the versions read from the database are cached, "none yet" included."""
    reception.control_points_publish(cash)
    assert ControlPointVersion.objects.filter(service=loans).count() == 0
    visit = serve(branch, loans, counter, teller, phone="13800138007")
    finish(visit.ticket_id, teller, branch, outcome="referred")
    assert ControlPointVersion.objects.filter(service=loans).count() == 1
    visit.refresh_from_db()
    assert visit.outcome == "referred"
    assert visit.control_version == ControlPointVersion.objects.get(service=loans)
    # Both now known to the cache (loans' version once its publish commits: here, read again).
    reception_selectors.forget_control_version(loans.pk)
    with CaptureQueriesContext(connection) as queries:
        versions = reception_selectors.control_versions_published(service_ids=[cash.pk, loans.pk])
    assert set(versions) == {cash.pk, loans.pk} and len(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        assert reception_selectors.control_versions_published(service_ids=[cash.pk, loans.pk])
    assert len(queries) == 0
