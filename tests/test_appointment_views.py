"""Appointment pages: the customer's booking, manage and QR poster pages (/visit/…) and the
staff's day view (/reception/appointments/): flows, field errors, roles and branches."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from feedback.sms import LocmemBackend
from queueing.links import ticket_id_from_token
from queueing.models import Ticket
from queueing.routing import PriorityClass
from reception import links, verification
from reception.models import Appointment, Visit

from .factories import (
    AppointmentFactory,
    AppointmentPlanFactory,
    CustomerFactory,
    MembershipFactory,
    UserFactory,
)

# Pages and the test build the same signed links (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_link_time")]

PHONE = "13800138000"


@pytest.fixture
def plan(branch, loans):
    return AppointmentPlanFactory(service=loans, slot_minutes=30, capacity=2, days_ahead=14)


def _tomorrow(branch):
    return timezone.localtime(timezone.now(), branch.tz).date() + timedelta(days=1)


def _slot_key(branch, hour=10, minute=0):
    return datetime.combine(_tomorrow(branch), time(hour, minute)).strftime("%Y-%m-%dT%H:%M")


def _verify(client, phone=PHONE):
    url = reverse("visit:verify")
    client.post(url, {"action": "send", "phone": phone})
    code = re.search(r"\b(\d{6})\b", LocmemBackend.outbox[-1].body).group(1)
    client.post(url, {"action": "confirm", "code": code})
    assert client.session[verification.SESSION_KEY]["phone"] == phone


# --- The customer books -------------------------------------------------------------------------


def test_customer_books_through_verification(client, branch, loans, plan):
    book = reverse("visit:book", args=[branch.code])
    assert loans.display_name in client.get(book).content.decode()
    page = client.get(book, {"service": loans.pk, "day": _tomorrow(branch).isoformat()})
    assert page.status_code == 200
    assert _slot_key(branch) in page.content.decode()
    response = client.post(
        book,
        {"service": loans.pk, "day": _tomorrow(branch).isoformat(), "slot": _slot_key(branch)},
    )
    confirm = reverse("visit:book_confirm", args=[branch.code])
    assert response["Location"] == confirm
    # Not verified yet: through the verification page and back.
    response = client.get(confirm)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("visit:verify") + "?next=")
    _verify(client)
    page = client.get(confirm)
    assert "138****8000" in page.content.decode()
    response = client.post(confirm)
    assert response.status_code == 200
    appointment = Appointment.objects.get()
    assert appointment.channel == Appointment.Channel.CUSTOMER
    assert appointment.customer.phone == PHONE
    assert links.appointment_url(appointment.pk) in response.content.decode()


def test_booking_a_taken_time_is_a_400_not_a_500(client, branch, loans, plan):
    book = reverse("visit:book", args=[branch.code])
    response = client.post(book, {"service": loans.pk, "slot": "nonsense"})
    assert response.status_code == 400
    assert "choose a free time" in response.content.decode()
    response = client.get(book, {"service": "x' or 1=1", "day": "9999-99-99"})
    assert response.status_code == 200
    assert client.get(reverse("visit:book", args=["nope"])).status_code == 404


def test_confirm_refuses_a_slot_filled_meanwhile(client, branch, loans, plan):
    plan.capacity = 1
    plan.save()
    book = reverse("visit:book", args=[branch.code])
    client.post(
        book, {"service": loans.pk, "day": _tomorrow(branch).isoformat(), "slot": _slot_key(branch)}
    )
    _verify(client)
    AppointmentFactory(
        service=loans,
        starts_at=datetime.combine(_tomorrow(branch), time(10), tzinfo=branch.tz),
    )
    response = client.post(reverse("visit:book_confirm", args=[branch.code]))
    assert response.status_code == 400
    assert "fully booked" in response.content.decode()


# --- The manage page ----------------------------------------------------------------------------


def _booked(branch, loans, hour=10):
    return AppointmentFactory(
        service=loans,
        customer=CustomerFactory(phone=PHONE),
        starts_at=datetime.combine(_tomorrow(branch), time(hour), tzinfo=branch.tz),
    )


def test_manage_page_reschedules_and_cancels(client, branch, loans, plan):
    appointment = _booked(branch, loans)
    url = links.appointment_url(appointment.pk)
    page = client.get(url, {"day": _tomorrow(branch).isoformat()})
    assert page.status_code == 200
    body = page.content.decode()
    assert "10:00" in body and _slot_key(branch, 11) in body
    assert PHONE not in body
    response = client.post(
        url,
        {
            "action": "reschedule",
            "day": _tomorrow(branch).isoformat(),
            "slot": _slot_key(branch, 11),
        },
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert timezone.localtime(appointment.starts_at, branch.tz).hour == 11
    response = client.post(url, {"action": "reschedule", "slot": "bad"})
    assert response.status_code == 400
    client.post(url, {"action": "cancel"})
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED


def test_a_forged_manage_link_is_not_found(client):
    assert client.get(reverse("visit:appointment", args=["forged"])).status_code == 404


# --- The QR poster page and check-in ------------------------------------------------------------


def test_poster_page_lists_what_the_branch_offers(client, branch, plan):
    url = links.branch_url(branch.pk)
    body = client.get(url).content.decode()
    assert "Check in for my appointment" in body and "Book an appointment" in body
    assert "Join the queue" not in body
    branch.remote_queue_enabled = True
    branch.save()
    body = client.get(url).content.decode()
    assert "Join the queue" in body and "I joined from my phone" in body
    assert client.get(reverse("visit:branch", args=["forged"])).status_code == 404


def test_customer_checks_in_from_the_poster_and_lands_on_the_ticket(client, branch, loans):
    appointment = AppointmentFactory(
        service=loans,
        customer=CustomerFactory(phone=PHONE),
        starts_at=timezone.now() + timedelta(minutes=5),
    )
    other = AppointmentFactory(service=loans, starts_at=timezone.now())  # someone else's
    url = reverse("visit:branch_appointments", args=[links.branch_token(branch.pk)])
    assert client.get(url).status_code == 302  # verify first
    _verify(client)
    body = client.get(url).content.decode()
    assert "I am here: check in" in body
    response = client.post(url, {"appointment": other.pk})
    assert response.status_code == 400
    response = client.post(url, {"appointment": appointment.pk})
    assert response.status_code == 302
    token = response["Location"].rstrip("/").split("/")[-1]
    ticket = Ticket.objects.get(pk=ticket_id_from_token(token))
    assert ticket.priority == PriorityClass.APPOINTMENT
    appointment.refresh_from_db()
    assert appointment.visit.channel == Visit.Channel.QR


# --- Staff --------------------------------------------------------------------------------------


def test_day_view_shows_bookings_masked_and_checks_in(client, branch, loans, plan, lobby_manager):
    appointment = AppointmentFactory(
        service=loans,
        customer=CustomerFactory(phone=PHONE, name="王芳"),
        starts_at=datetime.combine(
            timezone.localtime(timezone.now(), branch.tz).date(), time(10), tzinfo=branch.tz
        ),
    )
    client.force_login(lobby_manager)
    page = client.get(reverse("reception:appointments"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "王芳" in body and "138****8000" in body and PHONE not in body
    response = client.post(reverse("reception:appointment_check_in", args=[appointment.pk]))
    assert response.status_code == 302
    appointment.refresh_from_db()
    # Whatever the hour now, the check-in answered (ticket, or the reason in a message).
    assert appointment.status in (Appointment.Status.CHECKED_IN, Appointment.Status.BOOKED)


def test_staff_books_with_field_errors_then_success(client, branch, loans, plan, lobby_manager):
    client.force_login(lobby_manager)
    url = reverse("reception:appointments_book")
    response = client.post(url, {"phone": "12", "service": loans.pk, "slot": "x"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "valid mobile number" in body and "Choose a time" in body
    response = client.post(
        url,
        {
            "phone": PHONE,
            "service": loans.pk,
            "slot": _slot_key(branch),
            "at_the_door": "on",
        },
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.channel == Appointment.Channel.STAFF
    assert appointment.booked_by == lobby_manager
    assert Visit.objects.get().route == Visit.Route.APPOINTMENT_BOOKED


@pytest.mark.parametrize("role", [Role.TELLER])
def test_tellers_may_not_use_the_appointment_pages(client, branch, plan, role):
    user = UserFactory()
    MembershipFactory(user=user, branch=branch, role=role)
    client.force_login(user)
    assert client.get(reverse("reception:appointments")).status_code == 403
    assert client.get(reverse("reception:appointments_poster")).status_code == 403


def test_branch_head_sees_the_day_and_poster(client, branch, plan, branch_head):
    client.force_login(branch_head)
    assert client.get(reverse("reception:appointments")).status_code == 200
    poster = client.get(reverse("reception:appointments_poster"))
    assert poster.status_code == 200
    assert "data:image/svg+xml" in poster.content.decode()


def test_another_branchs_appointment_is_not_found(client, branch, loans, other_branch):
    appointment = AppointmentFactory(service=loans)
    head = UserFactory()
    MembershipFactory(user=head, branch=other_branch, role=Role.LOBBY_MANAGER)
    client.force_login(head)
    url = reverse("reception:appointment_check_in", args=[appointment.pk])
    assert client.post(url).status_code == 404
    assert (
        client.post(reverse("reception:appointment_cancel", args=[appointment.pk])).status_code
        == 404
    )


def test_anonymous_staff_page_goes_to_login(client):
    response = client.get(reverse("reception:appointments"))
    assert response.status_code == 302 and "/login/" in response["Location"]
