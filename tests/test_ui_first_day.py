"""First-day fixes on the lobby and counter pages: "customer left" and no-show ask first, and
"customer left" can be taken back for a few minutes (queueing.services.ticket_reinstate)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Role
from queueing import services as queue
from queueing.states import TicketStatus
from reception import services as reception

from .factories import MembershipFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
HTMX = {"HTTP_HX_REQUEST": "true"}
PHONE = "13800138000"


@pytest.fixture
def waiting(branch, cash, lobby_manager):
    """A registered walk-in's ticket, waiting (the lobby lists visits, not bare tickets)."""
    visit = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone=PHONE, service=cash, name="张三"
    )
    return visit.ticket


@pytest.fixture
def lobby(client, lobby_manager, waiting):
    client.force_login(lobby_manager)
    return client


def visits(client, **params) -> str:
    return client.get(reverse("reception:lobby_visits"), params, **HTMX).content.decode()


# --- "Customer left": a question first ----------------------------------------------------------


def test_customer_left_asks_first_and_cancels_nothing(lobby, waiting):
    html = visits(lobby)
    # The row's button only asks (a GET, so it works without JS); the cancel form is not there.
    assert f"?confirm={waiting.pk}" in html
    assert reverse("reception:ticket_cancel", args=[waiting.pk]) not in html

    asked = visits(lobby, confirm=waiting.pk)
    assert "Has the customer with ticket A001 left?" in asked
    assert reverse("reception:ticket_cancel", args=[waiting.pk]) in asked
    # The 10-second poll keeps the question open until it is answered.
    assert f'hx-get="{reverse("reception:lobby_visits")}?confirm={waiting.pk}"' in asked
    waiting.refresh_from_db()
    assert waiting.status == TicketStatus.WAITING


def test_the_question_works_without_javascript(lobby, waiting):
    response = lobby.get(reverse("reception:lobby"), {"confirm": waiting.pk})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert "Has the customer with ticket A001 left?" in html
    assert f'id="confirm-{waiting.pk}"' in html
    assert "autofocus" not in html  # the page opens at the question, not at the phone field


@pytest.mark.parametrize("confirm", ["", "abc", "99999", "١٢"])
def test_no_question_for_a_ticket_not_waiting_in_the_list(lobby, waiting, confirm):
    html = visits(lobby, confirm=confirm)
    assert "Has the customer" not in html and 'id="visits"' in html


def test_no_question_once_the_ticket_is_called(lobby, waiting, counter, teller):
    queue.ticket_call_next(counter=counter, teller=teller)
    html = visits(lobby, confirm=waiting.pk)
    assert "Has the customer" not in html
    assert "?confirm=" not in html  # the poll goes back to the plain list


# --- ... and an undo for a few minutes -----------------------------------------------------------


def test_a_cancel_offers_undo_and_undo_puts_the_ticket_back(lobby, waiting):
    reinstate_url = reverse("reception:ticket_reinstate", args=[waiting.pk])
    html = lobby.post(reverse("reception:ticket_cancel", args=[waiting.pk]), **HTMX).content
    assert reinstate_url in html.decode()

    response = lobby.post(reinstate_url, **HTMX)
    html = response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == TicketStatus.WAITING
    assert 'id="visits"' in html and "<html" not in html
    assert "Ticket A001 is waiting again, in its place." in html
    assert reinstate_url not in html and f"?confirm={waiting.pk}" in html


def test_undo_without_javascript_redirects_to_the_lobby(lobby, waiting, lobby_manager):
    queue.ticket_cancel(ticket_id=waiting.pk, by=lobby_manager)
    response = lobby.post(reverse("reception:ticket_reinstate", args=[waiting.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("reception:lobby")
    assert "is waiting again" in lobby.get(response["Location"]).content.decode()
    waiting.refresh_from_db()
    assert waiting.status == TicketStatus.WAITING


def test_undo_is_gone_after_the_window_and_refused_if_pressed(lobby, waiting, lobby_manager):
    reinstate_url = reverse("reception:ticket_reinstate", args=[waiting.pk])
    start = datetime.now(SHANGHAI).replace(hour=10, minute=0)
    with time_machine.travel(start, tick=False) as clock:
        waiting.business_date = start.date()
        waiting.save(update_fields=["business_date"])
        queue.ticket_cancel(ticket_id=waiting.pk, by=lobby_manager)
        clock.shift(queue.REINSTATE_WINDOW.total_seconds() + 1)
        assert reinstate_url not in visits(lobby)
        html = lobby.post(reinstate_url, **HTMX).content.decode()
    assert "was cancelled more than 5 minutes ago" in html
    waiting.refresh_from_db()
    assert waiting.status == TicketStatus.CANCELLED


def test_only_the_lobby_may_undo(client, teller, waiting, lobby_manager):
    queue.ticket_cancel(ticket_id=waiting.pk, by=lobby_manager)
    client.force_login(teller)
    assert client.post(reverse("reception:ticket_reinstate", args=[waiting.pk])).status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == TicketStatus.CANCELLED


def test_another_branch_cannot_undo(client, outsider, other_branch, waiting, lobby_manager):
    MembershipFactory(user=outsider, branch=other_branch, role=Role.LOBBY_MANAGER)
    queue.ticket_cancel(ticket_id=waiting.pk, by=lobby_manager)
    client.force_login(outsider)
    response = client.post(reverse("reception:ticket_reinstate", args=[waiting.pk]))
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == TicketStatus.CANCELLED


# --- No-show: a question first -------------------------------------------------------------------


@pytest.fixture
def called(client, teller, counter, waiting):
    client.force_login(teller)
    queue.ticket_call_next(counter=counter, teller=teller)
    waiting.refresh_from_db()
    assert waiting.status == TicketStatus.CALLED
    return waiting


def act(client, counter, action, **headers):
    url = reverse("reception:counter_action", args=[counter.pk])
    return client.post(url, {"action": action}, **headers)


def test_the_no_show_button_only_asks(client, counter, called):
    page = client.get(reverse("reception:counter", args=[counter.pk])).content.decode()
    assert 'value="ask_no_show"' in page and 'value="no_show"' not in page

    for headers in (HTMX, {}):  # with htmx the panel, without it the whole page
        response = act(client, counter, "ask_no_show", **headers)
        html = response.content.decode()
        assert response.status_code == 200
        assert "Mark A001 as a no-show?" in html and 'value="no_show"' in html
        assert ("<html" in html) is not bool(headers)
        called.refresh_from_db()
        assert called.status == TicketStatus.CALLED

    act(client, counter, "no_show", **HTMX)
    called.refresh_from_db()
    assert called.status == TicketStatus.NO_SHOW


def test_asking_with_nobody_at_the_counter_says_so(client, teller, counter):
    client.force_login(teller)
    html = act(client, counter, "ask_no_show", **HTMX).content.decode()
    assert "There is no customer at this counter." in html and "as a no-show?" not in html
