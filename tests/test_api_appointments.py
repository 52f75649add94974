"""/api/reception/slots/ and /api/reception/appointments/…: roles, branches, 400s with field
errors, and the check-in answering the ticket."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from queueing.models import Ticket
from queueing.routing import PriorityClass
from reception.models import Appointment

from .factories import (
    AppointmentFactory,
    AppointmentPlanFactory,
    CustomerFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

BASE = "/api/reception"


@pytest.fixture
def plan(branch, loans):
    return AppointmentPlanFactory(service=loans, slot_minutes=30, capacity=2, days_ahead=14)


def _tomorrow(branch):
    return timezone.localtime(timezone.now(), branch.tz).date() + timedelta(days=1)


def _at(branch, hour, minute=0):
    return datetime.combine(_tomorrow(branch), time(hour, minute), tzinfo=branch.tz)


def test_slots_of_a_day(as_user, branch, plan, lobby_manager):
    client = as_user(lobby_manager)
    response = client.get(f"{BASE}/slots/", {"service": "loan", "date": _tomorrow(branch)})
    assert response.status_code == 200
    assert len(response.data) == 16
    assert response.data[0]["remaining"] == 2
    assert response.data[0]["starts_at"].startswith(f"{_tomorrow(branch).isoformat()}T09:00")


def test_slots_bad_input_is_a_400_naming_the_field(as_user, branch, plan, lobby_manager):
    client = as_user(lobby_manager)
    response = client.get(f"{BASE}/slots/", {"service": "loan", "date": "not-a-date"})
    assert response.status_code == 400 and "date" in response.data
    response = client.get(f"{BASE}/slots/", {"service": "nope", "date": _tomorrow(branch)})
    assert response.status_code == 400 and "service" in response.data
    response = client.get(f"{BASE}/slots/", {"service": "cash", "date": _tomorrow(branch)})
    assert response.status_code == 400 and "service" in response.data


def test_book_read_reschedule_cancel(as_user, branch, plan, lobby_manager):
    client = as_user(lobby_manager)
    response = client.post(
        f"{BASE}/appointments/",
        {"phone": "13800138000", "service": "loan", "starts_at": _at(branch, 10).isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["customer_phone"] == "138****8000"
    assert response.data["status"] == "booked"
    pk = response.data["id"]
    assert Appointment.objects.get(pk=pk).channel == Appointment.Channel.API
    assert client.get(f"{BASE}/appointments/{pk}/").data["id"] == pk
    listed = client.get(f"{BASE}/appointments/", {"date": _tomorrow(branch).isoformat()})
    assert [row["id"] for row in listed.data["results"]] == [pk]
    response = client.post(
        f"{BASE}/appointments/{pk}/reschedule/",
        {"starts_at": _at(branch, 11).isoformat()},
        format="json",
    )
    assert response.status_code == 200 and response.data["reschedule_count"] == 1
    response = client.post(f"{BASE}/appointments/{pk}/cancel/")
    assert response.status_code == 200 and response.data["status"] == "cancelled"
    response = client.post(f"{BASE}/appointments/{pk}/cancel/")
    assert response.status_code == 400 and response.data["code"] == "status"


def test_booking_errors_name_their_fields(as_user, branch, plan, lobby_manager):
    client = as_user(lobby_manager)
    url = f"{BASE}/appointments/"
    response = client.post(url, {}, format="json")
    assert response.status_code == 400
    assert {"phone", "service", "starts_at"} <= set(response.data)
    response = client.post(
        url,
        {"phone": "123", "service": "loan", "starts_at": _at(branch, 10).isoformat()},
        format="json",
    )
    assert response.status_code == 400 and "phone" in response.data
    response = client.post(
        url,
        {"phone": "13800138000", "service": "loan", "starts_at": _at(branch, 10, 7).isoformat()},
        format="json",
    )
    assert response.status_code == 400 and "starts_at" in response.data
    response = client.post(
        url,
        {"phone": "13800138000", "service": "loan", "starts_at": "yesterday"},
        format="json",
    )
    assert response.status_code == 400 and "starts_at" in response.data
    response = client.post(
        url,
        {"phone": "13800138000", "service": "loan", "starts_at": "9999-12-31T23:59:00Z"},
        format="json",
    )
    assert response.status_code == 400 and "starts_at" in response.data
    assert client.get(url, {"date": "x"}).status_code == 400
    assert client.get(url, {"date": "9999-12-31"}).status_code == 400
    assert client.get(url, {"date": "0001-01-01"}).status_code == 400
    response = client.get(f"{BASE}/slots/", {"service": "loan", "date": "9999-12-31"})
    assert response.status_code == 200 and response.data == []


def test_check_in_returns_the_ticket(as_user, branch, loans, lobby_manager):
    appointment = AppointmentFactory(
        service=loans, customer=CustomerFactory(), starts_at=timezone.now()
    )
    client = as_user(lobby_manager)
    response = client.post(f"{BASE}/appointments/{appointment.pk}/check-in/")
    assert response.status_code == 201, response.data
    assert response.data["priority"] == "appointment"
    assert Ticket.objects.get(code=response.data["code"]).priority == PriorityClass.APPOINTMENT
    response = client.post(f"{BASE}/appointments/{appointment.pk}/check-in/")
    assert response.status_code == 400 and response.data["code"] == "status"


def test_check_in_too_early_is_a_400_with_its_code(as_user, branch, loans, lobby_manager):
    appointment = AppointmentFactory(service=loans, starts_at=timezone.now() + timedelta(hours=3))
    response = as_user(lobby_manager).post(f"{BASE}/appointments/{appointment.pk}/check-in/")
    assert response.status_code == 400 and response.data["code"] == "too_early"


def test_roles_and_branches(as_user, branch, loans, plan, teller, branch_head, other_branch):
    appointment = AppointmentFactory(service=loans)
    assert as_user(None).get(f"{BASE}/appointments/").status_code == 403
    assert as_user(teller).get(f"{BASE}/appointments/").status_code == 403
    assert as_user(branch_head).get(f"{BASE}/appointments/{appointment.pk}/").status_code == 200
    stranger = UserFactory()
    MembershipFactory(user=stranger, branch=other_branch, role=Role.LOBBY_MANAGER)
    client = as_user(stranger)
    assert client.get(f"{BASE}/appointments/{appointment.pk}/").status_code == 404
    assert client.post(f"{BASE}/appointments/{appointment.pk}/cancel/").status_code == 404
    response = client.get(f"{BASE}/slots/", {"service": "loan", "date": _tomorrow(branch)})
    assert response.status_code == 400  # not a service of their branch
