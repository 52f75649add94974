"""Lobby and counter pages: registration, diversion, serving, and who may see what."""

import pytest
from django.urls import reverse

from queueing import services as queue
from queueing.models import Ticket
from queueing.states import TicketStatus
from reception.models import Visit


def register(client, cash, **extra):
    data = {"phone": "13800138000", "name": "张三", "service": cash.pk, "action": "ticket"}
    data.update(extra)
    return client.post(reverse("reception:lobby"), data)


@pytest.mark.django_db
def test_it_registers_a_walk_in_and_shows_the_ticket(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    response = register(client, cash, elderly="on")
    visit = Visit.objects.get()
    assert response.status_code == 302
    assert visit.ticket.code == "A001"
    page = client.get(response.url)
    assert "A001" in page.content.decode()
    assert "13800138000" not in client.get(reverse("reception:lobby")).content.decode()


@pytest.mark.django_db
def test_it_shows_an_invalid_phone_and_creates_nothing(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    response = register(client, cash, phone="12345", name="李四")
    assert response.status_code == 200
    assert "李四" in response.content.decode()  # what was typed is kept
    assert response.context["form"].errors["phone"]
    assert not Visit.objects.exists() and not Ticket.objects.exists()


@pytest.mark.django_db
def test_it_diverts_a_small_cash_job_but_not_a_large_one(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    register(client, cash, amount="5000", action="divert")
    assert Visit.objects.get().route == Visit.Route.SELF_SERVICE
    response = register(client, cash, amount="50000", action="divert")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert Visit.objects.count() == 1 and not Ticket.objects.exists()


@pytest.mark.django_db
def test_it_looks_up_a_known_customer_with_the_number_masked(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    register(client, cash)
    response = client.get(reverse("reception:customer_lookup"), {"phone": "138 0013 8000"})
    html = response.content.decode()
    assert "张三" in html and "138****8000" in html and "13800138000" not in html


def act(client, counter, action, **extra):
    return client.post(
        reverse("reception:counter_action", args=[counter.pk]), {"action": action, **extra}
    )


@pytest.mark.django_db
def test_a_teller_serves_a_customer_from_call_to_finish(client, teller, branch, cash, counter):
    ticket = queue.ticket_issue(branch=branch, service=cash)
    client.force_login(teller)
    for action in ("open", "call", "start"):
        assert act(client, counter, action).status_code == 302
    page = client.get(reverse("reception:counter", args=[counter.pk])).content.decode()
    assert ticket.code in page
    act(client, counter, "finish", outcome="completed", identity_verified="on")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.DONE


@pytest.mark.django_db
def test_it_refuses_to_complete_without_identity_check(client, teller, branch, cash, counter):
    ticket = queue.ticket_issue(branch=branch, service=cash)
    client.force_login(teller)
    for action in ("open", "call", "start"):
        act(client, counter, action)
    response = act(client, counter, "finish", outcome="completed")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.SERVING
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages


@pytest.mark.django_db
def test_an_htmx_action_returns_only_the_panel(client, teller, counter):
    client.force_login(teller)
    response = client.post(
        reverse("reception:counter_action", args=[counter.pk]),
        {"action": "open"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="panel"' in html and "<html" not in html
    assert response["HX-Trigger"] == "queue-changed"


@pytest.mark.django_db
def test_another_branch_cannot_see_or_use_this_branch(client, outsider, counter, cash, branch):
    ticket = queue.ticket_issue(branch=branch, service=cash)
    client.force_login(outsider)
    assert client.get(reverse("reception:counter", args=[counter.pk])).status_code == 404
    assert act(client, counter, "open").status_code == 404
    assert client.post(reverse("reception:ticket_cancel", args=[ticket.pk])).status_code == 403
    counter.refresh_from_db()
    assert counter.is_open  # unchanged (the factory opens it)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING


@pytest.mark.django_db
def test_it_lists_the_counters_open_or_closed(client, teller, branch, counter):
    closed = type(counter).objects.create(branch=branch, number=2)
    client.force_login(teller)
    response = client.get(reverse("reception:counters"))
    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("reception:counter", args=[closed.pk]) in html


@pytest.mark.django_db
def test_roles_are_checked(client, lobby_manager, teller, counter):
    client.force_login(lobby_manager)
    assert client.get(reverse("reception:counter", args=[counter.pk])).status_code == 403
    client.force_login(teller)
    assert client.get(reverse("reception:lobby")).status_code == 403
