"""The lobby asks before it renames a customer or gives a waiting customer a second ticket:
the rules live in reception.services.visit_register, so the page and the API obey them alike."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from crm.models import Customer
from queueing import services as queue
from queueing.models import Ticket
from queueing.states import TicketStatus
from reception import services as reception
from reception.models import Visit

from .factories import CounterFactory, CustomerFactory, ServiceFactory

PHONE = "13800138000"


def register(client, service, **extra):
    data = {"phone": PHONE, "name": "张三", "service": service.pk, "action": "ticket"}
    data.update(extra)
    return client.post(reverse("reception:lobby"), data)


def api_register(client, **extra):
    return client.post(
        reverse("api:reception-visit-list"),
        {"phone": PHONE, "service": "cash", **extra},
        format="json",
    )


@pytest.fixture
def known(db):
    return CustomerFactory(phone=PHONE, name="张三")


@pytest.fixture
def waiting(branch, lobby_manager, cash, known):
    """张三 holds a waiting ticket today (A001)."""
    return reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone=PHONE, service=cash, name="张三"
    )


# --- A known number with another name -----------------------------------------------------------


def test_another_name_for_a_known_number_is_asked_not_saved(client, lobby_manager, cash, known):
    client.force_login(lobby_manager)
    response = register(client, cash, name="李四", note="挂失")
    html = response.content.decode()
    assert response.status_code == 200
    assert "This number is registered under another name." in html
    # The stored name is shown with both answers; what was typed is kept.
    assert "Name on file: <strong>张三</strong>" in html
    assert "Keep “张三”" in html and "Update to “李四”" in html
    assert 'value="李四"' in html and "挂失" in html
    assert f'name="asked_phone" value="{PHONE}"' in html
    known.refresh_from_db()
    assert known.name == "张三"
    assert not Visit.objects.exists() and not Ticket.objects.exists()


def test_keeping_the_stored_name_registers_without_renaming(client, lobby_manager, cash, known):
    client.force_login(lobby_manager)
    response = register(client, cash, name="李四", name_choice="keep", asked_phone=PHONE)
    assert response.status_code == 302
    known.refresh_from_db()
    assert known.name == "张三"
    assert Visit.objects.get().customer == known


def test_updating_the_name_renames_the_customer(client, lobby_manager, cash, known):
    client.force_login(lobby_manager)
    # The number may be typed differently the second time: it is the same number.
    response = register(
        client, cash, phone="138 0013 8000", name="李四", name_choice="update", asked_phone=PHONE
    )
    assert response.status_code == 302
    known.refresh_from_db()
    assert known.name == "李四"


def test_an_answer_given_for_another_number_does_not_count(client, lobby_manager, cash, known):
    """The manager said "update" for one number, then corrected the number: ask again."""
    client.force_login(lobby_manager)
    response = register(client, cash, name="李四", name_choice="update", asked_phone="13900000000")
    assert "This number is registered under another name." in response.content.decode()
    known.refresh_from_db()
    assert known.name == "张三"


@pytest.mark.parametrize("typed", ["张三", ""])
def test_the_same_name_or_none_is_not_asked(client, lobby_manager, cash, known, typed):
    client.force_login(lobby_manager)
    assert register(client, cash, name=typed).status_code == 302
    known.refresh_from_db()
    assert known.name == "张三"


def test_a_name_for_a_customer_without_one_is_saved_without_asking(client, lobby_manager, cash):
    nameless = CustomerFactory(phone=PHONE, name="")
    client.force_login(lobby_manager)
    assert register(client, cash, name="王五").status_code == 302
    nameless.refresh_from_db()
    assert nameless.name == "王五"


# --- A customer who already holds a ticket today -------------------------------------------------


def test_a_second_ticket_is_refused_with_the_waiting_one_shown(
    client, lobby_manager, cash, waiting
):
    client.force_login(lobby_manager)
    response = register(client, cash, note="还要取钱")
    html = response.content.decode()
    assert response.status_code == 200
    assert "This customer already has ticket A001 today (Waiting)." in html
    print_url = reverse("queueing:ticket_print", args=[waiting.ticket.pk])
    assert f'href="{print_url}?print=1"' in html and "Print A001 again" in html
    assert re.search(r'<input[^>]*name="second_ticket"', html)
    assert "还要取钱" in html  # what was typed is kept
    assert Ticket.objects.count() == 1 and Visit.objects.count() == 1


def test_a_confirmed_second_ticket_is_issued(client, lobby_manager, cash, loans, waiting):
    client.force_login(lobby_manager)
    response = register(client, loans, second_ticket="on", asked_phone=PHONE)
    assert response.status_code == 302
    assert sorted(Ticket.objects.values_list("code", flat=True)) == ["A001", "E001"]


@pytest.mark.parametrize("step", ["call", "start"])
def test_a_customer_called_or_being_served_counts_as_waiting(
    client, lobby_manager, teller, branch, cash, counter, waiting, step
):
    queue.ticket_call_next(counter=counter, teller=teller)
    if step == "start":
        queue.ticket_start(ticket_id=waiting.ticket.pk, by=teller, branch=branch)
    client.force_login(lobby_manager)
    html = register(client, cash).content.decode()
    assert "This customer already has ticket A001 today" in html


def test_a_finished_or_cancelled_ticket_does_not_count(
    client, lobby_manager, branch, cash, waiting
):
    queue.ticket_cancel(ticket_id=waiting.ticket.pk, by=lobby_manager, branch=branch)
    client.force_login(lobby_manager)
    assert register(client, cash).status_code == 302
    assert Ticket.objects.filter(status=TicketStatus.WAITING).count() == 1


def test_a_ticket_at_another_branch_or_yesterday_does_not_count(
    client, lobby_manager, branch, other_branch, cash, known
):
    elsewhere = ServiceFactory(branch=other_branch, code="cash", prefix="A")
    CounterFactory(branch=other_branch, number=1, serves=[elsewhere])
    reception.visit_register(
        branch=other_branch, registered_by=lobby_manager, phone=PHONE, service=elsewhere
    )
    with time_machine.travel(timezone.now() - timedelta(days=1)):
        reception.visit_register(
            branch=branch, registered_by=lobby_manager, phone=PHONE, service=cash
        )
    client.force_login(lobby_manager)
    assert register(client, cash).status_code == 302


def test_the_machines_are_not_a_second_ticket(client, lobby_manager, cash, waiting):
    client.force_login(lobby_manager)
    response = register(client, cash, amount="500", action="divert")
    assert response.status_code == 302
    assert Visit.objects.filter(route=Visit.Route.SELF_SERVICE).count() == 1


# --- The same rules through the API ---------------------------------------------------------------


def test_the_api_refuses_a_second_ticket_with_the_open_one(as_user, lobby_manager, cash, waiting):
    response = api_register(as_user(lobby_manager))
    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "already_waiting"
    assert body["ticket"]["code"] == "A001" and body["ticket"]["id"] == waiting.ticket.pk
    assert body["ticket"]["status"] == "waiting"
    assert "A001" in body["detail"]
    assert Ticket.objects.count() == 1


def test_the_api_issues_a_confirmed_second_ticket(as_user, lobby_manager, cash, waiting):
    response = api_register(as_user(lobby_manager), allow_second_ticket=True)
    assert response.status_code == 201
    assert response.json()["ticket"]["code"] == "A002"


def test_the_api_asks_before_renaming(as_user, lobby_manager, cash, known):
    client = as_user(lobby_manager)
    response = api_register(client, name="李四")
    assert response.status_code == 400
    assert response.json()["code"] == "name_differs"
    assert not Visit.objects.exists()
    kept = api_register(client, name="李四", update_name=False)
    assert kept.status_code == 201 and kept.json()["customer"]["name"] == "张三"
    assert Customer.objects.get(phone=PHONE).name == "张三"


def test_the_api_renames_when_told(as_user, lobby_manager, cash, known):
    response = api_register(as_user(lobby_manager), name="李四", update_name=True)
    assert response.status_code == 201
    known.refresh_from_db()
    assert known.name == "李四"


def test_a_second_ticket_confirmed_for_another_number_is_asked_again(
    client, lobby_manager, cash, waiting
):
    client.force_login(lobby_manager)
    response = register(client, cash, second_ticket="on", asked_phone="13900000000")
    html = response.content.decode()
    assert "This customer already has ticket A001 today" in html
    assert re.search(r'<input[^>]*name="second_ticket"', html)
    assert not re.search(r'<input[^>]*name="second_ticket"[^>]*checked', html)
    assert Ticket.objects.count() == 1


def test_the_customer_card_warns_of_the_waiting_ticket_before_registering(
    client, lobby_manager, cash, waiting
):
    client.force_login(lobby_manager)
    url = reverse("reception:customer_lookup")
    html = client.post(url, {"phone": PHONE}, HTTP_HX_REQUEST="true").content.decode()
    assert "Has ticket A001 today (Waiting)" in html
