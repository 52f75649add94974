"""Lobby and counter pages: registration, diversion, serving, and who may see what."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Role
from queueing import services as queue
from queueing.models import Ticket
from queueing.states import TicketStatus
from reception import services as reception
from reception.models import Visit

from .factories import CounterFactory, MembershipFactory, UserFactory

PHONE = "13800138000"
MASKED = "138****8000"


def register(client, cash, **extra):
    data = {"phone": PHONE, "name": "张三", "service": cash.pk, "action": "ticket"}
    data.update(extra)
    return client.post(reverse("reception:lobby"), data)


def act(client, counter, action, htmx=False, **extra):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(
        reverse("reception:counter_action", args=[counter.pk]),
        {"action": action, **extra},
        **headers,
    )


def page_of(client, counter) -> str:
    return client.get(reverse("reception:counter", args=[counter.pk])).content.decode()


@pytest.fixture
def at_the_counter(client, teller, branch, cash, counter):
    """A registered customer called to counter 1 and being served there."""
    visit = reception.visit_register(
        branch=branch, registered_by=teller, phone=PHONE, service=cash, name="张三", note="新卡"
    )
    client.force_login(teller)
    for action in ("open", "call", "start"):
        assert act(client, counter, action).status_code == 302
    visit.ticket.refresh_from_db()
    assert visit.ticket.status == TicketStatus.SERVING
    return visit


# --- Lobby ------------------------------------------------------------------------------------


def test_it_registers_a_walk_in_and_shows_the_ticket(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    response = register(client, cash, elderly="on", amount="300")
    visit = Visit.objects.select_related("ticket").get()
    assert response.status_code == 302
    assert response.url == reverse("reception:visit_done", args=[visit.pk])
    assert (visit.ticket.code, visit.is_elderly, visit.amount) == ("A001", True, Decimal("300"))
    done = client.get(response.url).content.decode()
    assert "A001" in done and 'class="ticket-big"' in done
    assert reverse("queueing:ticket_print", args=[visit.ticket.pk]) in done
    lobby = client.get(reverse("reception:lobby")).content.decode()
    assert "A001" in lobby and MASKED in lobby
    assert PHONE not in lobby  # today's list shows the masked number only


def test_it_shows_an_invalid_phone_and_creates_nothing(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    response = register(client, cash, phone="12345", name="李四")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid mobile phone number." in html
    assert "李四" in html  # what was typed is kept
    assert not Visit.objects.exists() and not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"appointment": "on"}, "appointment_at"),
        ({"service": ""}, "service"),
    ],
)
def test_it_refuses_bad_amounts_missing_needs_and_appointments_without_time(
    client, lobby_manager, cash, extra, field
):
    client.force_login(lobby_manager)
    response = register(client, cash, **extra)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not Visit.objects.exists()


def test_it_diverts_a_small_cash_job_to_the_machines(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    response = register(client, cash, amount="5000", action="divert")
    visit = Visit.objects.get()
    assert (visit.route, visit.ticket) == (Visit.Route.SELF_SERVICE, None)
    assert not Ticket.objects.exists()
    assert "Please use the self-service machines" in client.get(response.url).content.decode()


def test_it_refuses_to_divert_a_large_job_and_keeps_the_form(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    response = register(client, cash, amount="50000", action="divert", note="大额取现")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Only cash jobs up to ¥20,000 can go to the self-service machines." in html
    assert "大额取现" in html and 'value="50000"' in html
    assert not Visit.objects.exists() and not Ticket.objects.exists()


def test_it_marks_only_divertible_services_for_the_self_service_button(
    client, lobby_manager, cash, loans
):
    client.force_login(lobby_manager)
    html = client.get(reverse("reception:lobby")).content.decode()
    assert f'value="{cash.pk}"' in html and 'data-divertible="true"' in html
    assert 'data-divertible="false"' in html  # loans
    assert "¥20,000" in html  # the branch's threshold is shown as a hint


def test_it_looks_up_a_known_customer_with_the_number_masked(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    register(client, cash)
    url = reverse("reception:customer_lookup")
    html = client.post(url, {"phone": "138 0013 8000"}, HTTP_HX_REQUEST="true").content.decode()
    assert "张三" in html and MASKED in html and PHONE not in html
    assert "1 visit" in html and "<html" not in html
    assert "New customer" in client.post(url, {"phone": "13900000000"}).content.decode()
    assert "New customer" not in client.post(url, {"phone": "1390"}).content.decode()  # typing


def test_it_cancels_a_waiting_ticket_when_the_customer_leaves(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    register(client, cash)
    ticket = Ticket.objects.get()
    response = client.post(
        reverse("reception:ticket_cancel", args=[ticket.pk]), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CANCELLED
    assert 'id="visits"' in html and "<html" not in html and "A001 cancelled" in html
    # A second cancel is refused with the state machine's message, not a 500.
    again = client.post(reverse("reception:ticket_cancel", args=[ticket.pk]))
    assert again.status_code == 302


def test_the_visits_list_refreshes_as_a_partial(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    register(client, cash)
    html = client.get(reverse("reception:lobby_visits"), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="visits"' in html and "A001" in html and "<html" not in html


# --- Counter ----------------------------------------------------------------------------------


def test_it_lists_the_counters_open_or_closed(client, teller, branch, counter):
    closed = CounterFactory(branch=branch, number=2, is_open=False)
    client.force_login(teller)
    response = client.get(reverse("reception:counters"))
    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("reception:counter", args=[counter.pk]) in html
    assert reverse("reception:counter", args=[closed.pk]) in html
    assert "Cash" in html and "Loans" in html


def test_a_teller_serves_a_customer_from_call_to_finish(client, at_the_counter, counter):
    visit = at_the_counter
    html = page_of(client, counter)
    assert visit.ticket.code in html and MASKED in html and PHONE not in html
    assert "新卡" in html and 'class="timer"' in html  # the visit's note and the handling timer
    response = act(
        client,
        counter,
        "finish",
        outcome="completed",
        identity_verified="on",
        documents_signed="on",
        funds_handed_over="on",
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    visit.ticket.refresh_from_db()
    assert visit.ticket.status == TicketStatus.DONE
    assert (visit.outcome, visit.identity_verified, visit.funds_handed_over) == (
        Visit.Outcome.COMPLETED,
        True,
        True,
    )


@pytest.mark.parametrize("htmx", [False, True])
def test_it_refuses_to_complete_without_identity_check(client, at_the_counter, counter, htmx):
    response = act(client, counter, "finish", htmx=htmx, outcome="completed", documents_signed="on")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Verify the customer&#x27;s identity before completing the service." in html
    # What the teller ticked is kept: documents signed stays ticked, identity stays unticked.
    assert re.search(r'<input[^>]*value="documents_signed"[^>]* checked[ >]', html)
    assert re.search(r'<input[^>]*value="identity_verified"', html)
    assert not re.search(r'<input[^>]*value="identity_verified"[^>]* checked[ >]', html)
    at_the_counter.ticket.refresh_from_db()
    assert at_the_counter.ticket.status == TicketStatus.SERVING


def test_it_says_when_nobody_is_waiting(client, teller, counter):
    client.force_login(teller)
    act(client, counter, "open")
    response = act(client, counter, "call", htmx=True)
    assert "Nobody is waiting for your services." in response.content.decode()


def test_it_recalls_and_marks_a_no_show(client, teller, branch, cash, counter):
    ticket = queue.ticket_issue(branch=branch, service=cash)
    client.force_login(teller)
    act(client, counter, "open")
    act(client, counter, "call")
    html = act(client, counter, "recall", htmx=True).content.decode()
    assert f"(1/{branch.max_recalls})" in html
    act(client, counter, "no_show")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NO_SHOW


def test_it_transfers_to_another_service(client, at_the_counter, counter, loans):
    # No commit hooks run here: the visit must follow in the transfer's own transaction.
    response = act(client, counter, "transfer", to_service=loans.pk, note="贷款咨询")
    assert response.status_code == 302
    old = at_the_counter.ticket
    old.refresh_from_db()
    new = Ticket.objects.get(transferred_from=old)
    assert (old.status, new.service, new.status) == (
        TicketStatus.TRANSFERRED,
        loans,
        TicketStatus.WAITING,
    )
    at_the_counter.refresh_from_db()
    assert at_the_counter.ticket == new  # the visit follows the customer


def test_a_transfer_without_a_target_is_refused(client, at_the_counter, counter):
    html = act(client, counter, "transfer", htmx=True).content.decode()
    assert "Choose a service or a counter to transfer to." in html
    at_the_counter.ticket.refresh_from_db()
    assert at_the_counter.ticket.status == TicketStatus.SERVING


def test_an_htmx_action_returns_only_the_panel(client, teller, counter):
    client.force_login(teller)
    act(client, counter, "open")
    response = act(client, counter, "pause", htmx=True)
    html = response.content.decode()
    assert response.status_code == 200 and 'id="panel"' in html and "<html" not in html
    assert "Resume" in html
    assert response["HX-Trigger"] == "queue-changed"  # the waiting panel refreshes at once
    counter.refresh_from_db()
    assert counter.is_paused


def test_the_waiting_panel_is_a_partial_refreshed_by_queue_changes(
    client, teller, branch, cash, counter
):
    queue.ticket_issue(branch=branch, service=cash)
    client.force_login(teller)
    response = client.get(
        reverse("reception:counter_waiting", args=[counter.pk]), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert 'id="waiting"' in html and "<html" not in html
    # No timer: live.js fires queue-changed when the branch's version moves.
    assert 'hx-trigger="queue-changed from:body"' in html and "every 3s" not in html
    assert '<span class="count">1</span>' in html


# --- Who may see what -------------------------------------------------------------------------


def test_another_branch_cannot_see_or_use_this_branch(client, outsider, counter, cash, branch):
    ticket = queue.ticket_issue(branch=branch, service=cash)
    client.force_login(outsider)
    assert client.get(reverse("reception:counter", args=[counter.pk])).status_code == 404
    assert act(client, counter, "close").status_code == 404
    assert act(client, counter, "call").status_code == 404
    assert client.get(reverse("reception:counter_waiting", args=[counter.pk])).status_code == 404
    assert client.get(reverse("reception:lobby")).status_code == 403
    assert client.post(reverse("reception:ticket_cancel", args=[ticket.pk])).status_code == 403
    counter.refresh_from_db()
    assert counter.is_open  # unchanged (the factory opens it)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING


def test_a_lobby_manager_of_another_branch_gets_nothing_of_this_one(
    client, other_branch, lobby_manager, cash, branch
):
    visit = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone=PHONE, service=cash
    )
    stranger = UserFactory(username="stranger")
    MembershipFactory(user=stranger, branch=other_branch, role=Role.LOBBY_MANAGER)
    client.force_login(stranger)
    assert client.get(reverse("reception:visit_done", args=[visit.pk])).status_code == 404
    client.post(reverse("reception:ticket_cancel", args=[visit.ticket.pk]))
    visit.ticket.refresh_from_db()
    assert visit.ticket.status == TicketStatus.WAITING  # refused: not this branch's ticket
    assert "A001" not in client.get(reverse("reception:lobby")).content.decode()


def test_roles_are_checked(client, lobby_manager, teller, counter):
    client.force_login(lobby_manager)
    assert client.get(reverse("reception:counter", args=[counter.pk])).status_code == 403
    assert act(client, counter, "close").status_code == 403
    client.force_login(teller)
    assert client.get(reverse("reception:lobby")).status_code == 403


def test_a_teller_cannot_reach_another_branchs_counter_by_number(client, teller, other_branch):
    foreign = CounterFactory(branch=other_branch, number=1)
    client.force_login(teller)
    assert client.get(reverse("reception:counter", args=[foreign.pk])).status_code == 404


def test_it_shows_the_customers_recent_history_with_names(
    client, teller, branch, cash, counter, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the CRM records the ended visit
        earlier = reception.visit_register(
            branch=branch, registered_by=teller, phone=PHONE, service=cash
        )
        queue.counter_open(counter=counter, teller=teller)
        queue.ticket_call_next(counter=counter, teller=teller)
        queue.ticket_start(ticket_id=earlier.ticket.pk, by=teller, branch=branch)
        reception.visit_complete_service(
            ticket=earlier.ticket, teller=teller, outcome="completed", identity_verified=True
        )
    reception.visit_register(branch=branch, registered_by=teller, phone=PHONE, service=cash)
    client.force_login(teller)
    act(client, counter, "call")
    html = page_of(client, counter)
    assert "A002" in html
    assert "Served at a counter" in html and "Cash · Completed" in html


# --- A transfer hands the customer on with what they said (issue 4 of 11, item 6) ---------------


def test_the_receiving_counter_sees_the_need_notes_and_checks_of_a_transfer(
    client, at_the_counter, teller, branch, loans, counter
):
    teller.first_name = "李明"
    teller.save(update_fields=["first_name"])
    response = act(
        client,
        counter,
        "transfer",
        to_service=loans.pk,
        note="要办房贷",
        handover_identity_verified="on",
    )
    assert response.status_code == 302
    old = at_the_counter.ticket
    handover = at_the_counter.handovers.get()
    assert (handover.from_ticket, handover.note, handover.by) == (old, "要办房贷", teller)
    assert (handover.identity_verified, handover.documents_signed) == (True, False)

    colleague = UserFactory(username="teller2", first_name="张伟")
    MembershipFactory(user=colleague, branch=branch, role=Role.TELLER)
    desk = CounterFactory(branch=branch, number=2, serves=[loans], is_open=False)
    client.force_login(colleague)
    for action in ("open", "call"):
        assert act(client, desk, action).status_code == 302
    html = page_of(client, desk)
    new = Ticket.objects.get(transferred_from=old)
    assert new.code in html
    panel = re.sub(r"\s+", " ", html)
    # The need at the lobby and where the customer was sent, both.
    assert "Need at the lobby</dt><dd>Cash" in panel and "Transferred to</dt><dd>Loans" in panel
    assert "新卡" in panel  # the lobby's note
    assert f"From Cash ({old.code}) to Loans" in panel
    assert "by 李明, Counter 1," in panel and "要办房贷" in panel
    assert "Identity verified: yes" in panel
    assert "Documents signed: not yet" in panel and "Funds handed over: not yet" in panel


def test_a_plain_visit_shows_no_handover(client, at_the_counter, counter):
    html = page_of(client, counter)
    assert "Handed over" not in html and "Need at the lobby" not in html


def test_the_lobby_looks_a_number_up_by_post_never_in_a_url(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    url = reverse("reception:customer_lookup")
    assert client.get(url, {"phone": PHONE}).status_code == 405
    page = client.get(reverse("reception:lobby")).content.decode()
    assert f'hx-post="{url}"' in page and 'hx-params="phone"' in page
