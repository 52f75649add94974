"""The hot path's query budget: what one request of a teller, a tablet or a screen may cost.

Counted with commit hooks running (transaction=True), so the outbox delivery a request does
after commit (the CRM interaction, the survey invitation) is in the count. The budgets hold
however long the branch's history: the same requests cost the same after a year of tickets.
About four queries of each staff request are the session, the user and the branch membership.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import OutboxDelivery, OutboxEvent
from queueing import live
from queueing import services as queue
from queueing.models import Ticket, TicketEvent
from queueing.states import TicketStatus

BUDGET = {
    # customer (one insert, one audit entry, known at the branch), ticket number, ticket, event,
    # outbox, visit; + the look-up for a ticket the customer already holds today
    "register": 27,
    "issue": 14,
    "call": 18,
    "start": 13,  # + the seat check: the counter is locked before the ticket
    "finish": 26,  # the counter's checklist rules (reception) + after-commit delivery to reception
    "complete": 51,  # + deliveries: CRM interaction (customer seen here), survey invitation
    "version": 1,  # a poll after the cached copy expired; 0 while it holds
}


def add_history(branch, service, days: int = 30, per_day: int = 20) -> None:
    """Finished tickets and delivered outbox events on earlier days."""
    now = timezone.now()
    for day in range(1, days + 1):
        at = now - timedelta(days=day)
        tickets = Ticket.objects.bulk_create(
            Ticket(
                branch=branch,
                service=service,
                business_date=at.date(),
                number=n,
                code=f"{service.prefix}{n:03d}",
                status=TicketStatus.DONE,
                issued_at=at,
                arrived_at=at,
                finished_at=at,
            )
            for n in range(1, per_day + 1)
        )
        TicketEvent.objects.bulk_create(
            TicketEvent(ticket=t, branch=branch, action="finish", to_status="done", at=at)
            for t in tickets
        )
        events = OutboxEvent.objects.bulk_create(
            OutboxEvent(topic="queueing.ticket_finished", payload={}, branch=branch, created_at=at)
            for _ in tickets
        )
        OutboxDelivery.objects.bulk_create(
            OutboxDelivery(event=e, listener="reception.record_ticket_end", status="done")
            for e in events
        )


def one_of_each(as_user, client, branch, counter, teller, lobby_manager, serial: int) -> dict:
    """Each hot-path request once; returns the queries each cost."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    tablet, desk = as_user(lobby_manager), as_user(teller)

    def measure(name, call):
        with CaptureQueriesContext(connection) as queries:
            response = call()
        assert response.status_code < 300, (name, response.status_code)
        counts[name] = len(queries)
        return response

    visit = measure(
        "register",
        lambda: tablet.post(
            reverse("api:reception-visit-list"),
            {"phone": f"1380013{serial:04d}", "service": "cash", "sms_consent": True},
            format="json",
        ),
    ).json()
    measure(
        "issue",
        lambda: tablet.post(reverse("api:queue-ticket-list"), {"service": "cash"}, format="json"),
    )
    called = measure(
        "call", lambda: desk.post(reverse("api:queue-counter-call-next", args=[counter.pk]))
    ).json()
    assert called["id"] == visit["ticket"]["id"]
    measure("start", lambda: desk.post(reverse("api:queue-ticket-start", args=[called["id"]])))
    measure(
        "complete",
        lambda: desk.post(
            reverse("api:reception-visit-complete", args=[visit["id"]]),
            {"outcome": "completed", "identity_verified": True},
            format="json",
        ),
    )
    plain = desk.post(reverse("api:queue-counter-call-next", args=[counter.pk])).json()
    desk.post(reverse("api:queue-ticket-start", args=[plain["id"]]))
    measure(
        "finish",
        lambda: desk.post(
            reverse("api:queue-ticket-finish", args=[plain["id"]]),
            {"outcome": "completed", "identity_verified": True},
            format="json",
        ),
    )
    from django.core.cache import caches

    caches["live"].clear()  # as after the cached copy expired
    measure(
        "version",
        lambda: client.get(reverse("queueing:version", args=[live.live_token(branch.pk)])),
    )
    return counts


@pytest.mark.django_db(transaction=True)
def test_the_hot_path_stays_within_its_query_budget_whatever_the_history(
    as_user, client, branch, cash, counter, teller, lobby_manager
):
    desk = as_user(teller)
    assert desk.post(reverse("api:queue-counter-open", args=[counter.pk])).status_code == 200
    # A running server has looked up the audited models' content types long ago (cached per
    # process); the test starts cold.
    from django.contrib.contenttypes.models import ContentType

    from crm.models import Customer

    ContentType.objects.get_for_model(Customer)
    # The day's first ticket also creates the day's number sequence: not the steady state.
    first = queue.ticket_issue(branch=branch, service=cash)
    queue.ticket_cancel(ticket_id=first.pk, by=teller)

    fresh = one_of_each(as_user, client, branch, counter, teller, lobby_manager, serial=1)
    add_history(branch, cash)
    after_history = one_of_each(as_user, client, branch, counter, teller, lobby_manager, serial=2)

    over = {name: n for name, n in fresh.items() if n > BUDGET[name]}
    assert not over, f"over budget {BUDGET}: {over}"
    assert after_history == fresh  # no query grows with history
