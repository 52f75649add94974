"""Remote queueing (issue 9, part 2): a customer joins today's queue from their phone, the
ticket waits as "remote" until they check in at the branch, a remote ticket whose turn passed is
kept for the branch's grace time, then expires as a no-show."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import Interaction
from queueing import routing, selectors
from queueing import services as queue
from queueing.links import ticket_status_token
from queueing.models import Ticket, TicketEvent
from queueing.remote import RemoteFate, grace_left_minutes, remote_fate, turn_passed
from queueing.states import (
    InvalidTransition,
    TicketAction,
    TicketStatus,
    allowed_actions,
    next_status,
)
from reception import services as reception
from reception import verification
from reception.links import branch_token
from reception.models import Visit

from .factories import BranchFactory, CustomerFactory, ServiceFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
PHONE = "13800138000"

# Pages and the test build the same signed links (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen_link_time")


@pytest.fixture(autouse=True)
def _mid_morning():
    """A working morning at the branch, whatever the real clock says (the clock still ticks,
    so arrivals are in order)."""
    with time_machine.travel(T0, tick=True):
        yield


@pytest.fixture
def remote_branch(branch):
    branch.remote_queue_enabled = True
    branch.remote_grace_minutes = 10
    branch.opens_at, branch.closes_at = time(9, 0), time(17, 0)
    branch.save()
    return branch


def join(branch, service, phone=PHONE, name="") -> Visit:
    return reception.remote_join(branch=branch, service=service, phone=phone, name=name)


def walk_in(branch, service, **kwargs) -> Ticket:
    return queue.ticket_issue(branch=branch, service=service, **kwargs)


def status_url(ticket) -> str:
    return reverse("queueing:ticket_status", args=[ticket_status_token(ticket.pk)])


def verify(client, phone=PHONE) -> None:
    session = client.session
    session[verification.SESSION_KEY] = {
        "phone": phone,
        "until": (timezone.now() + timedelta(minutes=30)).isoformat(),
    }
    session.save()


# --- Pure rules ----------------------------------------------------------------------------------


def test_the_state_machine_checks_in_cancels_or_expires_a_remote_ticket_and_nothing_else():
    assert next_status(TicketStatus.REMOTE, TicketAction.CHECK_IN) == TicketStatus.WAITING
    assert next_status(TicketStatus.REMOTE, TicketAction.EXPIRE) == TicketStatus.NO_SHOW
    assert allowed_actions(TicketStatus.REMOTE) == {
        TicketAction.CHECK_IN,
        TicketAction.CANCEL,
        TicketAction.EXPIRE,
    }
    for action in (TicketAction.CALL, TicketAction.START, TicketAction.NO_SHOW):
        with pytest.raises(InvalidTransition):
            next_status(TicketStatus.REMOTE, action)
    for status in (TicketStatus.WAITING, TicketStatus.NO_SHOW, TicketStatus.DONE):
        with pytest.raises(InvalidTransition):
            next_status(status, TicketAction.CHECK_IN)


NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
GRACE = timedelta(minutes=10)


def test_a_turn_passes_only_when_a_later_arrival_of_no_higher_priority_was_called():
    arrived = NOW - timedelta(minutes=20)
    later, earlier = arrived + timedelta(minutes=1), arrived - timedelta(minutes=1)
    regular, vip = routing.PriorityClass.REGULAR, routing.PriorityClass.VIP
    assert turn_passed(arrived_at=arrived, priority=regular, latest_called_arrival={regular: later})
    assert not turn_passed(
        arrived_at=arrived, priority=regular, latest_called_arrival={regular: earlier}
    )
    # A VIP who came later goes ahead anyway: the regular remote customer's turn is not past.
    assert not turn_passed(arrived_at=arrived, priority=regular, latest_called_arrival={vip: later})
    assert turn_passed(arrived_at=arrived, priority=vip, latest_called_arrival={regular: later})
    assert not turn_passed(arrived_at=arrived, priority=regular, latest_called_arrival={})


def test_the_fate_of_a_remote_ticket_skip_then_grace_then_expire():
    arrived = NOW - timedelta(minutes=30)
    called_later = {5: arrived + timedelta(minutes=5)}
    fate = lambda **kw: remote_fate(  # noqa: E731
        arrived_at=arrived, priority=5, grace=GRACE, **{"day_over": False, "now": NOW, **kw}
    )
    assert fate(skipped_at=None, latest_called_arrival={}) == RemoteFate(skip=False, expire=False)
    assert fate(skipped_at=None, latest_called_arrival=called_later) == RemoteFate(True, False)
    # Once skipped, never again; the grace runs from the first skip.
    skipped = NOW - timedelta(minutes=9)
    assert fate(skipped_at=skipped, latest_called_arrival=called_later) == RemoteFate(False, False)
    assert fate(skipped_at=NOW - GRACE, latest_called_arrival=called_later) == RemoteFate(
        False, True
    )
    # The branch's day is over: every remote ticket goes, its turn come or not.
    assert fate(skipped_at=None, latest_called_arrival={}, day_over=True) == RemoteFate(False, True)


def test_grace_left_is_rounded_up_and_never_negative():
    assert grace_left_minutes(skipped_at=NOW, grace=GRACE, now=NOW) == 10
    assert grace_left_minutes(skipped_at=NOW, grace=GRACE, now=NOW + timedelta(seconds=61)) == 9
    assert grace_left_minutes(skipped_at=NOW, grace=GRACE, now=NOW + timedelta(hours=1)) == 0


# --- queueing services ---------------------------------------------------------------------------


def test_a_remote_ticket_is_issued_as_remote_with_its_place_counted_from_joining(branch, cash):
    with CaptureQueriesContext(connection) as queries:
        ticket = walk_in(branch, cash, remote=True)
    assert len(queries) <= (4 if connection.vendor == "postgresql" else 5)  # the issue budget
    ticket.refresh_from_db()
    assert (ticket.status, ticket.is_remote, ticket.code) == (TicketStatus.REMOTE, True, "A001")
    assert ticket.arrived_at == ticket.issued_at
    assert ticket.events.get().action == TicketAction.ISSUE


def test_check_in_keeps_the_number_and_place_and_records_the_event(branch, cash, lobby_manager):
    ticket = walk_in(branch, cash, remote=True)
    checked = queue.ticket_check_in(ticket_id=ticket.pk, branch=branch, by=lobby_manager)
    checked.refresh_from_db()
    assert checked.status == TicketStatus.WAITING
    assert (checked.code, checked.arrived_at) == (ticket.code, ticket.arrived_at)
    assert checked.checked_in_at is not None
    event = checked.events.last()
    assert (event.action, event.from_status, event.to_status, event.by) == (
        TicketAction.CHECK_IN,
        TicketStatus.REMOTE,
        TicketStatus.WAITING,
        lobby_manager,
    )


def test_check_in_is_refused_for_a_waiting_ticket_an_expired_one_and_another_branch(
    branch, other_branch, cash
):
    waiting = walk_in(branch, cash)
    with pytest.raises(queue.QueueError) as refused:
        queue.ticket_check_in(ticket_id=waiting.pk, branch=branch)
    assert refused.value.code == "invalid_transition"

    remote = walk_in(branch, cash, remote=True)
    with pytest.raises(queue.QueueError) as refused:
        queue.ticket_check_in(ticket_id=remote.pk, branch=other_branch)
    assert refused.value.code == "not_found"

    queue.remote_tickets_sweep(now=timezone.now() + timedelta(days=1))  # the day is over
    remote.refresh_from_db()
    assert remote.status == TicketStatus.NO_SHOW
    with pytest.raises(queue.QueueError) as refused:
        queue.ticket_check_in(ticket_id=remote.pk, branch=branch)
    assert refused.value.code == "expired"


def test_call_next_never_calls_a_remote_ticket(branch, cash, counter, teller):
    remote = walk_in(branch, cash, remote=True)  # first in line, but not here
    walked_in = walk_in(branch, cash)
    assert queue.ticket_call_next(counter=counter, teller=teller).pk == walked_in.pk
    queue.ticket_start(ticket_id=walked_in.pk, by=teller)
    queue.ticket_finish(ticket_id=walked_in.pk, by=teller)
    assert queue.ticket_call_next(counter=counter, teller=teller) is None
    remote.refresh_from_db()
    assert remote.status == TicketStatus.REMOTE and remote.called_at is None


def test_the_board_and_waiting_counts_leave_remote_tickets_out(branch, cash):
    walk_in(branch, cash, remote=True)
    walk_in(branch, cash, remote=True)
    walk_in(branch, cash)
    rows = {
        row["service"].code: row["waiting"] for row in selectors.waiting_by_service(branch=branch)
    }
    assert rows["cash"] == 1
    assert selectors.remote_by_service(branch=branch) == {cash.pk: 2}


def test_sweep_skips_then_keeps_for_the_grace_then_expires_as_a_no_show(
    remote_branch, cash, counter, teller, django_capture_on_commit_callbacks
):
    visit = join(remote_branch, cash)
    remote = visit.ticket
    later = walk_in(remote_branch, cash)
    assert queue.remote_tickets_sweep() == (0, 0)  # nobody called yet: the turn is not past
    assert queue.ticket_call_next(counter=counter, teller=teller).pk == later.pk

    now = timezone.now()
    assert queue.remote_tickets_sweep(now=now) == (1, 0)
    remote.refresh_from_db()
    assert remote.status == TicketStatus.REMOTE and remote.skipped_at == now
    assert queue.remote_tickets_sweep(now=now + timedelta(minutes=5)) == (0, 0)  # idempotent
    remote.refresh_from_db()
    assert remote.skipped_at == now  # the grace runs from the first skip

    with django_capture_on_commit_callbacks(execute=True):
        assert queue.remote_tickets_sweep(now=now + timedelta(minutes=10)) == (0, 1)
    remote.refresh_from_db()
    assert remote.status == TicketStatus.NO_SHOW and remote.finished_at is not None
    assert remote.events.last().action == TicketAction.EXPIRE
    assert queue.remote_tickets_sweep(now=now + timedelta(minutes=11)) == (0, 0)
    # Published like ticket_no_show: reception records the no-show in the customer's history.
    interaction = Interaction.objects.get(source=f"ticket:{remote.pk}")
    assert interaction.kind == Interaction.Kind.NO_SHOW
    assert interaction.customer == visit.customer


def test_a_check_in_within_the_grace_keeps_the_place_and_is_called_next(
    remote_branch, cash, counter, teller
):
    remote = join(remote_branch, cash).ticket
    first_walk_in = walk_in(remote_branch, cash)
    second_walk_in = walk_in(remote_branch, cash)
    assert queue.ticket_call_next(counter=counter, teller=teller).pk == first_walk_in.pk
    queue.remote_tickets_sweep()
    remote.refresh_from_db()
    assert remote.skipped_at is not None

    reception.remote_check_in(ticket_id=remote.pk, branch=remote_branch, channel="qr")
    queue.ticket_start(ticket_id=first_walk_in.pk, by=teller)
    queue.ticket_finish(ticket_id=first_walk_in.pk, by=teller)
    assert queue.ticket_call_next(counter=counter, teller=teller).pk == remote.pk
    second_walk_in.refresh_from_db()
    assert second_walk_in.status == TicketStatus.WAITING


def test_sweep_expires_every_remote_ticket_once_the_branch_has_closed(remote_branch, cash):
    remote = walk_in(remote_branch, cash, remote=True)
    closing = datetime.combine(T0.date(), time(17, 0), tzinfo=SHANGHAI)
    assert queue.remote_tickets_sweep(now=closing - timedelta(minutes=1)) == (0, 0)
    assert queue.remote_tickets_sweep(now=closing) == (0, 1)
    remote.refresh_from_db()
    assert remote.status == TicketStatus.NO_SHOW


def test_the_sweep_costs_the_same_queries_whatever_the_history(branch, cash, counter, teller):
    def sweep_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            queue.remote_tickets_sweep()
        return len(queries)

    walk_in(branch, cash, remote=True)
    before = sweep_queries()
    for _ in range(20):  # a long history of served tickets, another day and today
        ticket = walk_in(branch, cash)
        queue.ticket_call_next(counter=counter, teller=teller)
        queue.ticket_start(ticket_id=ticket.pk, by=teller)
        queue.ticket_finish(ticket_id=ticket.pk, by=teller)
    Ticket.objects.filter(status=TicketStatus.DONE).update(arrived_at=timezone.now())
    # The remote ticket's turn has passed now: it is skipped (one short transaction)...
    assert queue.remote_tickets_sweep() == (1, 0)
    # ...and the next sweep reads as little as the first.
    assert sweep_queries() == before


def test_remote_status_page_says_not_checked_in_then_turn_come_then_expired(
    client, remote_branch, cash, counter, teller
):
    remote = join(remote_branch, cash).ticket
    html = client.get(status_url(remote)).content.decode()
    assert "You joined the queue from your phone" in html
    assert "Not checked in yet" in html
    assert "People ahead of you" in html and "Estimated wait" in html

    walk_in(remote_branch, cash)
    queue.ticket_call_next(counter=counter, teller=teller)
    now = timezone.now()
    queue.remote_tickets_sweep(now=now)
    html = client.get(status_url(remote)).content.decode()
    assert "Your turn has come: check in within 10 minutes to keep your place." in html

    queue.remote_tickets_sweep(now=now + timedelta(minutes=11))
    html = client.get(status_url(remote)).content.decode()
    assert "this ticket has expired" in html
    assert "data-final" in html


def test_a_remote_ticket_has_an_outlook_as_if_it_were_waiting(remote_branch, cash, counter):
    walk_in(remote_branch, cash)
    remote = walk_in(remote_branch, cash, remote=True)
    outlook = selectors.ticket_outlook(ticket=remote)
    assert outlook["people_ahead"] == 1
    assert 0 < outlook["eta_s"] < float("inf")
    waiting_after = walk_in(remote_branch, cash)
    # A waiting customer is not told to wait for a remote one who is not here.
    assert selectors.ticket_outlook(ticket=waiting_after)["people_ahead"] == 1


def test_status_page_texts_in_chinese(client, remote_branch, cash):
    remote = join(remote_branch, cash).ticket
    response = client.get(status_url(remote), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert 'data-status="remote"' in response.content.decode()


# --- reception services --------------------------------------------------------------------------


def test_remote_join_records_the_visit_without_an_arrival(remote_branch, cash):
    visit = join(remote_branch, cash, name="李四")
    visit.refresh_from_db()
    assert (visit.route, visit.channel) == (Visit.Route.QUEUE, Visit.Channel.REMOTE)
    assert visit.arrived_at is None and visit.triaged_at is not None
    assert visit.ticket.status == TicketStatus.REMOTE
    assert visit.customer.phone == PHONE and visit.customer.name == "李四"
    assert visit.registered_by is None


def test_remote_join_refuses_when_disabled_closed_inactive_or_already_holding_a_ticket(
    remote_branch, cash
):
    inactive = ServiceFactory(branch=remote_branch, code="gone", prefix="G", is_active=False)
    with pytest.raises(reception.ReceptionError) as refused:
        join(remote_branch, inactive)
    assert refused.value.code == "service"
    with pytest.raises(reception.ReceptionError) as refused:
        reception.remote_join(
            branch=remote_branch,
            service=cash,
            phone=PHONE,
            now=datetime.combine(T0.date(), time(18, 0), tzinfo=SHANGHAI),
        )
    assert refused.value.code == "closed"

    first = join(remote_branch, cash)
    with pytest.raises(reception.AlreadyWaiting) as refused:
        join(remote_branch, cash)
    assert refused.value.ticket.pk == first.ticket_id

    disabled = BranchFactory(remote_queue_enabled=False)
    other_cash = ServiceFactory(branch=disabled, code="cash", prefix="A")
    with pytest.raises(reception.ReceptionError) as refused:
        join(disabled, other_cash, phone="13900139000")
    assert refused.value.code == "remote_disabled"
    assert Ticket.objects.count() == 1


def test_remote_join_never_renames_a_known_customer(remote_branch, cash):
    CustomerFactory(phone=PHONE, name="张三")
    visit = join(remote_branch, cash, name="Someone else")
    assert visit.customer.name == "张三"


def test_remote_check_in_records_arrival_and_greeting(remote_branch, cash, lobby_manager):
    visit = join(remote_branch, cash)
    ticket = reception.remote_check_in(
        ticket_id=visit.ticket_id, branch=remote_branch, by=lobby_manager, channel="lobby"
    )
    visit.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING
    assert visit.arrived_at == ticket.checked_in_at == visit.greeted_at
    assert TicketEvent.objects.filter(ticket=ticket, action="check_in", note="lobby").exists()


# --- Customer pages ------------------------------------------------------------------------------


def join_url(branch) -> str:
    return reverse("visit:remote_join", args=[branch_token(branch.pk)])


def check_in_url(branch) -> str:
    return reverse("visit:remote_check_in", args=[branch_token(branch.pk)])


def test_join_page_asks_for_a_verified_phone_then_issues_and_shows_the_ticket(
    client, remote_branch, cash
):
    assert client.get(join_url(remote_branch)).status_code == 200
    response = client.post(join_url(remote_branch), {"service": "cash"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("visit:verify"))
    assert PHONE not in response["Location"]
    assert not Ticket.objects.exists()

    verify(client)
    response = client.post(join_url(remote_branch), {"service": "cash", "name": "王五"})
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == status_url(ticket)
    assert ticket.status == TicketStatus.REMOTE

    again = client.post(join_url(remote_branch), {"service": "cash"})
    assert again.status_code == 200 and status_url(ticket) in again.content.decode()
    assert Ticket.objects.count() == 1


def test_join_page_errors_are_field_errors_not_500(client, remote_branch, cash):
    verify(client)
    response = client.post(join_url(remote_branch), {"service": "nope"})
    assert response.status_code == 400
    assert client.get(reverse("visit:remote_join", args=["forged"])).status_code == 404
    remote_branch.remote_queue_enabled = False
    remote_branch.save()
    html = client.get(join_url(remote_branch)).content.decode()
    assert "data-remote-unavailable" in html


def test_check_in_page_shows_and_checks_in_only_the_phones_own_tickets(client, remote_branch, cash):
    mine = join(remote_branch, cash).ticket
    theirs = join(remote_branch, cash, phone="13900139000").ticket
    response = client.get(check_in_url(remote_branch))
    assert response.status_code == 302  # verify first

    verify(client)
    html = client.get(check_in_url(remote_branch)).content.decode()
    assert mine.code in html and theirs.code not in html
    assert client.post(check_in_url(remote_branch), {"ticket": theirs.pk}).status_code == 400
    assert client.post(check_in_url(remote_branch), {"ticket": "x' OR 1"}).status_code == 400
    theirs.refresh_from_db()
    assert theirs.status == TicketStatus.REMOTE

    response = client.post(check_in_url(remote_branch), {"ticket": mine.pk})
    assert response.status_code == 302 and response["Location"] == status_url(mine)
    mine.refresh_from_db()
    assert mine.status == TicketStatus.WAITING
    assert Visit.objects.get(ticket=mine).arrived_at is not None


# --- Staff pages and API -------------------------------------------------------------------------


def test_lobby_list_masks_phones_and_checks_in(client, remote_branch, cash, lobby_manager, teller):
    ticket = join(remote_branch, cash).ticket
    client.force_login(teller)
    assert client.get(reverse("reception:remote_tickets")).status_code == 403
    assert (
        client.post(reverse("reception:remote_ticket_check_in", args=[ticket.pk])).status_code
        == 403
    )

    client.force_login(lobby_manager)
    html = client.get(reverse("reception:remote_tickets")).content.decode()
    assert ticket.code in html and "138****8000" in html and PHONE not in html
    response = client.post(
        reverse("reception:remote_ticket_check_in", args=[ticket.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response["HX-Trigger"] == "queue-changed"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING
    again = client.post(
        reverse("reception:remote_ticket_check_in", args=[ticket.pk]), HTTP_HX_REQUEST="true"
    )
    assert again.status_code == 400


def test_the_lobby_lists_remote_tickets_and_checks_in_one_typed_at_the_door(
    client, remote_branch, cash, lobby_manager
):
    """The customer who joined from the phone walks in and gives their number: the lobby
    offers to check that ticket in, not a second ticket."""
    ticket = join(remote_branch, cash).ticket
    client.force_login(lobby_manager)
    page = client.get(reverse("reception:lobby")).content.decode()
    assert 'id="remote-tickets"' in page and f'data-remote-ticket="{ticket.code}"' in page

    asked = client.post(
        reverse("reception:lobby"), {"phone": PHONE, "service": cash.pk, "name": ""}
    ).content.decode()
    check_in = reverse("reception:remote_ticket_check_in", args=[ticket.pk])
    assert f'formaction="{check_in}"' in asked
    assert Ticket.objects.filter(branch=remote_branch).count() == 1

    response = client.post(check_in, {"phone": PHONE, "service": cash.pk})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING
    assert Visit.objects.get(ticket=ticket).arrived_at is not None


def test_api_lists_and_checks_in_remote_tickets_with_the_branch_rules(
    as_user, remote_branch, cash, lobby_manager, teller, outsider
):
    ticket = join(remote_branch, cash).ticket
    listing = as_user(lobby_manager).get(reverse("api:reception-remote-ticket-list"))
    assert listing.status_code == 200
    (row,) = listing.json()
    assert row["ticket"]["code"] == ticket.code and row["masked_phone"] == "138****8000"
    assert PHONE not in listing.content.decode()

    url = reverse("api:reception-remote-ticket-check-in", args=[ticket.pk])
    assert as_user(teller).post(url).status_code == 403
    assert as_user(outsider).post(url).status_code == 403
    response = as_user(lobby_manager).post(url)
    assert response.status_code == 200 and response.json()["status"] == "waiting"
    second = as_user(lobby_manager).post(url)
    assert second.status_code == 400 and second.json()["code"] == "invalid_transition"
    missing = as_user(lobby_manager).post(
        reverse("api:reception-remote-ticket-check-in", args=[999999])
    )
    assert missing.status_code == 404


def test_queue_api_check_in_and_status_filter(as_user, remote_branch, cash, lobby_manager, teller):
    branch = remote_branch
    remote = join(branch, cash).ticket
    walk_in(branch, cash)
    listing = as_user(teller).get(reverse("api:queue-ticket-list"), {"status": "remote"})
    assert [t["code"] for t in listing.json()["results"]] == [remote.code]
    assert listing.json()["results"][0]["is_remote"] is True

    url = reverse("api:queue-ticket-check-in", args=[remote.pk])
    assert as_user(teller).post(url).status_code == 403
    response = as_user(lobby_manager).post(url)
    assert response.status_code == 200 and response.json()["status"] == "waiting"
    assert response.json()["checked_in_at"] is not None
    assert Visit.objects.get(ticket=remote).arrived_at is not None

    queue.remote_tickets_sweep()  # nothing left to sweep
    expired = join(branch, cash, phone="13900139000").ticket
    queue.remote_tickets_sweep(now=timezone.now() + timedelta(days=1))
    response = as_user(lobby_manager).post(reverse("api:queue-ticket-check-in", args=[expired.pk]))
    assert response.status_code == 400 and response.json()["code"] == "expired"


def test_the_customer_cancels_their_remote_ticket_from_its_status_page(client, remote_branch, cash):
    ticket = join(remote_branch, cash).ticket
    token = ticket_status_token(ticket.pk)
    page = client.get(status_url(ticket)).content.decode()
    cancel = reverse("queueing:ticket_status_cancel", args=[token])
    assert f'action="{cancel}"' in page

    assert client.get(cancel).status_code == 405
    response = client.post(cancel)
    assert response.status_code == 302 and response["Location"] == status_url(ticket)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CANCELLED
    assert TicketEvent.objects.filter(ticket=ticket, action="cancel", by=None).exists()
    assert f'action="{cancel}"' not in client.get(status_url(ticket)).content.decode()


def test_a_checked_in_ticket_is_not_cancelled_by_its_link(client, remote_branch, cash):
    ticket = join(remote_branch, cash).ticket
    queue.ticket_check_in(ticket_id=ticket.pk, branch=remote_branch)
    token = ticket_status_token(ticket.pk)
    response = client.post(reverse("queueing:ticket_status_cancel", args=[token]))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING
    bad = client.post(reverse("queueing:ticket_status_cancel", args=["not-a-token"]))
    assert bad.status_code == 404
