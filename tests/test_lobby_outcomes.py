"""Every arrival is recorded with its greeting and triage times, ticket or not (issue 6, item 4),
and the lobby's customer card shows what the manager needs on arrival (item 6)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from crm.models import Customer, Interaction, Tier
from queueing.models import Ticket
from reception import services as reception
from reception.models import Visit

from .factories import AppointmentFactory, CustomerFactory, ServiceFactory

PHONE = "13800138000"
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def lobby_post(client, **data):
    return client.post(reverse("reception:lobby"), data)


# --- Greeting and triage times ------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_ticket_records_arrival_and_greeting_from_the_elapsed_seconds_and_triage_now(
    client, lobby_manager, cash
):
    client.force_login(lobby_manager)
    response = lobby_post(
        client, phone=PHONE, service=cash.pk, action="ticket", greeting_elapsed="95"
    )
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert visit.channel == Visit.Channel.LOBBY
    assert visit.arrived_at == visit.greeted_at == NOW - timedelta(seconds=95)
    assert visit.triaged_at == NOW
    assert visit.ticket is not None


@time_machine.travel(NOW, tick=False)
def test_a_greeting_clock_left_running_is_capped_at_thirty_minutes(lobby_manager, branch, cash):
    visit = reception.visit_register(
        branch=branch,
        registered_by=lobby_manager,
        phone=PHONE,
        service=cash,
        greeting_elapsed_s=7200,
    )
    assert visit.greeted_at == NOW - timedelta(minutes=30)


@time_machine.travel(NOW, tick=False)
def test_without_a_clock_the_greeting_is_the_triage(lobby_manager, branch, cash):
    visit = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone=PHONE, service=cash
    )
    assert visit.arrived_at == visit.greeted_at == visit.triaged_at == NOW


def test_a_negative_or_absurd_elapsed_value_is_a_form_error_not_a_500(client, lobby_manager, cash):
    client.force_login(lobby_manager)
    response = lobby_post(client, phone=PHONE, service=cash.pk, greeting_elapsed="-5")
    assert response.status_code == 200
    assert not Visit.objects.exists()


def test_a_diversion_keeps_its_amount_band(lobby_manager, branch, cash):
    visit = reception.visit_register(
        branch=branch,
        registered_by=lobby_manager,
        phone=PHONE,
        service=cash,
        amount=Decimal("4800"),
        divert=True,
    )
    assert visit.route == Visit.Route.SELF_SERVICE
    assert visit.amount_band == "le5k"
    ticketed = reception.visit_register(
        branch=branch,
        registered_by=lobby_manager,
        phone="13900139000",
        service=cash,
        amount=Decimal("4800"),
    )
    assert ticketed.amount_band == ""  # the band is a diversion's


# --- Outcomes without a ticket ------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_left_before_triage_needs_no_phone_and_no_need(client, lobby_manager):
    client.force_login(lobby_manager)
    response = lobby_post(client, action="left", greeting_elapsed="40")
    assert response.status_code == 302 and response.url == reverse("reception:lobby")
    visit = Visit.objects.get()
    assert visit.route == Visit.Route.LEFT
    assert visit.customer is None and visit.service is None and visit.ticket is None
    assert visit.greeted_at == NOW - timedelta(seconds=40) and visit.triaged_at == NOW
    assert not Customer.objects.exists() and not Ticket.objects.exists()
    page = client.get(reverse("reception:lobby")).content.decode()
    assert "Left before triage" in page


def test_a_ticket_still_needs_phone_and_need(client, lobby_manager):
    client.force_login(lobby_manager)
    response = lobby_post(client, action="ticket")
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"phone", "service"}
    assert not Visit.objects.exists()


def test_a_redirect_to_mobile_banking_goes_into_a_known_customer_s_history(
    client, lobby_manager, branch, cash
):
    customer = CustomerFactory(phone=PHONE)
    client.force_login(lobby_manager)
    response = lobby_post(
        client, phone=PHONE, service=cash.pk, action="digital", digital_channel="online"
    )
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert (visit.route, visit.redirect_to, visit.customer) == ("digital", "online", customer)
    interaction = Interaction.objects.get(customer=customer)
    assert interaction.kind == Interaction.Kind.LOBBY
    assert interaction.outcome == "digital" and interaction.source == f"visit:{visit.pk}"
    assert interaction.service_code == "cash"


def test_another_branch_must_be_named(client, lobby_manager):
    client.force_login(lobby_manager)
    response = lobby_post(client, action="other_branch", redirect_branch="  ")
    assert response.status_code == 200
    assert "redirect_branch" in response.context["form"].errors
    response = lobby_post(client, action="other_branch", redirect_branch="人民路支行")
    assert response.status_code == 302
    assert Visit.objects.get().redirect_to == "人民路支行"


def test_answered_on_the_spot_without_a_number_records_the_visit_only(client, lobby_manager):
    client.force_login(lobby_manager)
    assert lobby_post(client, action="answered", note="问营业时间").status_code == 302
    visit = Visit.objects.get()
    assert visit.route == Visit.Route.ANSWERED and visit.note == "问营业时间"
    assert not Interaction.objects.exists()


def test_the_outcome_service_refuses_a_ticket_route_and_another_branch_s_service(
    lobby_manager, branch, other_branch
):
    with pytest.raises(reception.ReceptionError) as refused:
        reception.visit_record_outcome(
            branch=branch, registered_by=lobby_manager, route=Visit.Route.QUEUE
        )
    assert refused.value.code == "route"
    foreign = ServiceFactory(branch=other_branch)
    with pytest.raises(reception.ReceptionError) as refused:
        reception.visit_record_outcome(
            branch=branch, registered_by=lobby_manager, route="answered", service=foreign
        )
    assert refused.value.code == "service"
    with pytest.raises(reception.ReceptionError) as refused:
        reception.visit_record_outcome(
            branch=branch, registered_by=lobby_manager, route="digital", redirect_to="fax"
        )
    assert refused.value.code == "redirect_to"
    assert not Visit.objects.exists()


def test_the_lobby_shows_the_outcome_buttons_and_the_greeting_clock(client, lobby_manager):
    client.force_login(lobby_manager)
    html = client.get(reverse("reception:lobby")).content.decode()
    for action in ("ticket", "divert", "digital", "other_branch", "answered", "left"):
        assert f'name="action" value="{action}"' in html
    assert 'name="greeting_elapsed"' in html and "data-greeting-clock" in html
    assert f'href="{reverse("reception:appointments")}"' in html  # booking: the appointments page
    assert "<script>" not in html and 'style="' not in html


# --- The API ------------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_the_api_records_an_outcome_without_phone(as_user, lobby_manager):
    response = as_user(lobby_manager).post(
        reverse("api:reception-visit-list"),
        {"route": "left", "greeting_elapsed_seconds": 30},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["route"] == "left" and body["customer"] is None and body["ticket"] is None
    detail = as_user(lobby_manager).get(reverse("api:reception-visit-detail", args=[body["id"]]))
    assert detail.status_code == 200
    data = detail.json()
    assert data["service"] is None and data["channel"] == "lobby"
    assert data["triaged_at"] is not None and data["greeted_at"] != data["triaged_at"]


def test_the_api_still_needs_phone_and_service_for_a_ticket(as_user, lobby_manager, cash):
    response = as_user(lobby_manager).post(
        reverse("api:reception-visit-list"), {"route": "queue"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"phone", "service"}
    response = as_user(lobby_manager).post(
        reverse("api:reception-visit-list"),
        {"route": "self_service", "phone": PHONE, "service": "cash", "amount": "300"},
        format="json",
    )
    assert response.status_code == 201
    visit = Visit.objects.get()
    assert visit.route == "self_service" and visit.amount_band == "le5k" and visit.ticket is None


def test_the_api_refuses_a_redirect_without_where_to(as_user, lobby_manager):
    response = as_user(lobby_manager).post(
        reverse("api:reception-visit-list"), {"route": "other_branch"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "redirect_to"


# --- The customer card --------------------------------------------------------------------------


def test_the_card_shows_tier_consent_last_visits_and_today_s_appointments(
    client, lobby_manager, branch, cash, other_branch
):
    customer = CustomerFactory(phone=PHONE, name="王五", tier=Tier.PLATINUM, sms_consent=False)
    reception.visit_record_outcome(
        branch=branch,
        registered_by=lobby_manager,
        route="digital",
        phone=PHONE,
        redirect_to="mobile",
        service=cash,
    )
    start = timezone.now() + timedelta(minutes=20)
    AppointmentFactory(service=cash, customer=customer, starts_at=start)
    AppointmentFactory(  # another branch's appointment is not this card's
        service=ServiceFactory(branch=other_branch), customer=customer, starts_at=start
    )
    client.force_login(lobby_manager)
    html = client.post(reverse("reception:customer_lookup"), {"phone": PHONE}).content.decode()
    assert "王五" in html and "Platinum" in html
    assert "No SMS consent" in html
    assert "138****8000" in html and PHONE not in html
    assert "Helped in the lobby" in html  # the last visits, at this branch
    assert html.count("badge-appointment") == 1


def test_the_card_of_a_customer_without_history_shows_no_lists(client, lobby_manager):
    CustomerFactory(phone=PHONE, sms_consent=True)
    client.force_login(lobby_manager)
    html = client.post(reverse("reception:customer_lookup"), {"phone": PHONE}).content.decode()
    assert "SMS consent on file" in html
    assert "card-history" not in html and "card-appointments" not in html


def test_the_crm_page_and_api_show_the_tier(client, as_user, lobby_manager, branch, cash):
    visit = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone=PHONE, service=cash
    )
    Customer.objects.filter(pk=visit.customer_id).update(tier=Tier.GOLD)
    client.force_login(lobby_manager)
    html = client.get(reverse("crm:customer", args=[visit.customer_id])).content.decode()
    assert "Segment / VIP tier" in html and "Gold" in html
    body = as_user(lobby_manager).get(reverse("api:crm-customer-detail", args=[visit.customer_id]))
    assert body.json()["tier"] == "gold"
