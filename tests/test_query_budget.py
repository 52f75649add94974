"""The hot path's query budget: what one request of a teller, a tablet or a screen may cost.

Every statement counts, BEGIN and COMMIT included, authentication included. Measured in the
steady state: the session, the signed-in user, their memberships and the branch's set-up are
in the shared cache (accounts.sessions, accounts.backends, queueing.selectors.branch_setup);
what a cold cache costs is measured too. Counted with commit hooks running
(transaction=True); the outbox deliveries a change causes run in a worker, not in the request
(OUTBOX_NUDGE = "task"), and have their own budget. The budgets hold however long the branch's
history: the same requests cost the same after a year of tickets.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import OutboxDelivery, OutboxEvent
from queueing import live
from queueing import services as queue
from queueing.models import Ticket, TicketEvent
from queueing.states import TicketStatus

BUDGET = {
    # One statement: the day's number (an upsert), the ticket and its history row, which
    # commits itself (no BEGIN or COMMIT: queueing.services._change_transaction)
    "issue": 1,
    # BEGIN, lock the counter (with its current ticket) and read the queue version and the
    # waiting tickets it may call (one statement), the claim (one conditional UPDATE) with the
    # history row, COMMIT
    "call": 4,
    # One conditional UPDATE (status and seat checked in it) with the history row, committing
    # itself
    "start": 1,
    # One statement, committing itself: the conditional UPDATE with its history row, outbox
    # event and deliveries, the outcome onto the visit (none here) and the visit's event
    # (reception.services.desk._complete_at_once)
    "finish": 1,
    "call_empty": 3,  # nobody waiting: BEGIN, lock with version and waiting tickets, COMMIT
    # The "Next" key (finish and call next, one transaction): the ticket's counter locked first
    # (the lock order of every counter action), the finish's one statement (with the visit),
    # then the call's counter lock with the waiting tickets, claim with its history row, between
    # one BEGIN and one COMMIT, where two requests cost 5.
    "finish_call": 6,
    "finish_call_empty": 5,  # nobody waiting: no claim
    # Not the teller's hot path, but at the tablet and counter all day: the customer (insert,
    # audit entry, known at the branch), the visit, the ticket; the checklist on the visit:
    # the visit read with its ticket, the finish's one statement (with the visit's outcome and
    # event), the visit read again for the answer
    "register": 20,
    "complete": 3,
    "version": 0,  # a poll: the cached version
    "version_expired": 1,  # the same after the cached copy expired: one indexed query
}
# What a worker does after commit for each change (accounts.outbox.deliver_due), per request.
# + 7: kpi.mark_day (issue 9) on the same ticket_finished event, in its own delivery transaction
# (BEGIN, claim, savepoint, the day's one-statement upsert, release, mark done, COMMIT). The
# request itself costs nothing more: event and deliveries are one statement whatever listens.
KPI_DELIVERY = 7
DELIVERY_BUDGET = {
    # reception: the ticket's end on its visit (none here), then a last look
    "finish": 12 + KPI_DELIVERY,
    # The same finish event (the call writes none: nobody listens to calls).
    "finish_call": 12 + KPI_DELIVERY,
    "finish_call_empty": 12 + KPI_DELIVERY,
    # reception + the CRM interaction (whose own event then invites to the survey)
    "complete": 21 + KPI_DELIVERY,
}
# A request whose caches are all cold (first request after a deploy or a set-up change).
COLD_BUDGET = 10


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
    """Each hot-path request once; returns the queries each cost (and its deliveries')."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts import outbox

    counts = {}
    tablet, desk = as_user(lobby_manager), as_user(teller)
    nudged: list[int] = []

    def measure(name, call):
        nudged.clear()
        with CaptureQueriesContext(connection) as queries:
            response = call()
        assert response.status_code < 300, (name, response.status_code)
        counts[name] = len(queries)
        if nudged:  # what the worker then does
            with CaptureQueriesContext(connection) as delivery:
                outbox.deliver_due(event_ids=list(nudged))
            counts[f"delivery:{name}"] = len(delivery)
        return response

    with mock.patch.object(outbox, "nudge", lambda ids, **kwargs: nudged.extend(ids)):
        for user_client in (tablet, desk):  # the steady state: a session already in use
            assert user_client.get(reverse("api:queue-service-list")).status_code == 200
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
            lambda: tablet.post(
                reverse("api:queue-ticket-list"), {"service": "cash"}, format="json"
            ),
        )
        call_next = reverse("api:queue-counter-call-next", args=[counter.pk])
        called = measure("call", lambda: desk.post(call_next)).json()
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
        plain = desk.post(call_next).json()
        desk.post(reverse("api:queue-ticket-start", args=[plain["id"]]))
        measure(
            "finish",
            lambda: desk.post(
                reverse("api:queue-ticket-finish", args=[plain["id"]]),
                {"outcome": "completed", "identity_verified": True},
                format="json",
            ),
        )
        # The "Next" key: finish the customer and call the next in one request; then again
        # with nobody left waiting.
        for _ in range(2):
            tablet.post(reverse("api:queue-ticket-list"), {"service": "cash"}, format="json")
        first = desk.post(call_next).json()
        desk.post(reverse("api:queue-ticket-start", args=[first["id"]]))
        finish_call = "api:reception-ticket-finish-and-call-next"
        checklist = {"outcome": "completed", "identity_verified": True}
        both = measure(
            "finish_call",
            lambda: desk.post(reverse(finish_call, args=[first["id"]]), checklist, format="json"),
        ).json()
        assert both["finished"]["id"] == first["id"] and both["called"] is not None
        second = both["called"]["id"]
        desk.post(reverse("api:queue-ticket-start", args=[second]))
        last = measure(
            "finish_call_empty",
            lambda: desk.post(reverse(finish_call, args=[second]), checklist, format="json"),
        ).json()
        assert last["called"] is None
        assert measure("call_empty", lambda: desk.post(call_next)).status_code == 204
    version_url = reverse("queueing:version", args=[live.live_token(branch.pk)])
    client.get(version_url)  # the steady state: another screen's poll cached it
    measure("version", lambda: client.get(version_url))
    from django.core.cache import caches

    caches["live"].clear()  # as after the cached copy expired
    measure("version_expired", lambda: client.get(version_url))
    return counts


ON_POSTGRES = connection.vendor == "postgresql"


# Production's database: on SQLite (make run) the outbox's event and deliveries take two
# statements instead of one.
@pytest.mark.skipif(not ON_POSTGRES, reason="the budgets are PostgreSQL's")
@pytest.mark.postgres
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
    # A service's first finish publishes its control points (the defaults): not the steady
    # state either (existing services got theirs from a migration, the demo's from its seed).
    from queueing.models import Service
    from reception.services import control_points_publish

    for service in Service.objects.filter(branch=branch):
        control_points_publish(service)

    fresh = one_of_each(as_user, client, branch, counter, teller, lobby_manager, serial=1)
    add_history(branch, cash)
    after_history = one_of_each(as_user, client, branch, counter, teller, lobby_manager, serial=2)

    budget = {**BUDGET, **{f"delivery:{k}": v for k, v in DELIVERY_BUDGET.items()}}
    assert set(fresh) == set(budget)
    over = {name: n for name, n in fresh.items() if n > budget[name]}
    assert not over, f"over budget {budget}: {over} (all: {fresh})"
    # No query grows with history (the first registration also warms a per-process cache).
    grown = {name: (fresh[name], n) for name, n in after_history.items() if n > fresh[name]}
    assert not grown, grown


@pytest.mark.django_db(transaction=True)
def test_a_request_with_every_cache_cold_costs_a_few_queries_more(
    as_user, branch, cash, counter, teller
):
    """The first request of a session after a deploy: session, user, memberships, set-up."""
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    desk = as_user(teller)
    assert desk.post(reverse("api:queue-counter-open", args=[counter.pk])).status_code == 200
    from queueing.selectors import forget_local_setups

    for cache in caches.all():
        cache.clear()
    forget_local_setups()  # and this process's copy of the set-up
    with CaptureQueriesContext(connection) as queries:
        response = desk.post(reverse("api:queue-counter-call-next", args=[counter.pk]))
    assert response.status_code == 204
    # SQLite: the counter's lock and the waiting tickets are two statements, and an idle call
    # reads the queue version in a third (PostgreSQL reads all three in one).
    budget = COLD_BUDGET if ON_POSTGRES else COLD_BUDGET + 2
    assert len(queries) <= budget, [q["sql"][:80] for q in queries]
    with CaptureQueriesContext(connection) as queries:
        desk.post(reverse("api:queue-counter-call-next", args=[counter.pk]))
    assert len(queries) == BUDGET["call_empty"] + budget - COLD_BUDGET  # warm again
